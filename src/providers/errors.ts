/** Why a provider call failed, in a word a program can branch on. */
export type ProviderFailure =
  | 'http' // the endpoint answered with an error status
  | 'timeout'
  | 'connection'
  | 'bad-response' // a 2xx answer that is not a chat completion
  | 'stream-broken'; // the stream failed after tokens were already delivered

/**
 * A provider call that failed for good (after retries, or at once for 400/401/403/404).
 * The message names the provider and the model; it never holds the API key.
 */
export class ProviderError extends Error {
  override readonly name = 'ProviderError';
  readonly provider: string;
  readonly model: string;
  readonly status?: number;
  readonly reason: ProviderFailure;
  /** How many attempts were made, the failing one included. */
  readonly attempts: number;
  readonly retryable: boolean;

  constructor(init: {
    provider: string;
    model: string;
    status?: number;
    reason: ProviderFailure;
    attempts: number;
    retryable: boolean;
    detail: string;
    cause?: unknown;
  }) {
    const what = init.reason === 'http' && init.status !== undefined ? `HTTP ${init.status}` : init.status !== undefined ? `${init.reason} (HTTP ${init.status})` : init.reason;
    const tries = init.attempts > 1 ? ` after ${init.attempts} attempts` : '';
    super(`provider "${init.provider}", model "${init.model}": ${what}${tries}: ${init.detail}`.replace(/\s*\n\s*/g, ' '), {
      cause: init.cause,
    });
    this.provider = init.provider;
    this.model = init.model;
    this.status = init.status;
    this.reason = init.reason;
    this.attempts = init.attempts;
    this.retryable = init.retryable;
  }
}

export function isProviderError(e: unknown): e is ProviderError {
  return e instanceof ProviderError;
}
