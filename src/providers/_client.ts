import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError } from 'openai';
import type { ProviderSpec } from '../config/space.js';
import { InputError } from '../config/input-error.js';
import type { ProviderFailure } from './errors.js';
import { isRetryableStatus, retryAfterMs } from './_retry.js';
import { idleTimeoutFetch, isIdleTimeout } from './_idle-timeout.js';

/**
 * Keyless endpoints (local vLLM, Ollama, `sim serve`) get no Authorization header at all;
 * the SDK insists on some apiKey string, so it gets this placeholder, which is then stripped.
 */
const KEYLESS_PLACEHOLDER = 'keyless';

/** A failure of one attempt, before we decide whether to try again. */
export interface AttemptFailure {
  reason: ProviderFailure;
  status?: number;
  retryable: boolean;
  detail: string;
  waitMs?: number;
  cause: unknown;
}

/** Thrown inside an attempt when a 2xx answer is not what the protocol promises. */
export class BadResponse extends Error {}

/**
 * The SDK client for an OpenAI-compatible provider, with the key read from the environment now (a missing
 * key is an InputError naming the provider) and `scrub`, which hides the key in any text.
 */
export function openAIClient(
  name: string,
  spec: ProviderSpec,
  env: Record<string, string | undefined>,
  opts: { maxRetries: number },
): { client: OpenAI; scrub: (s: string) => string } {
  if (!spec.baseURL) throw new InputError(`provider "${name}" has no baseURL`, { field: `providers.${name}.baseURL` });
  let apiKey: string;
  if (spec.keyless) {
    apiKey = KEYLESS_PLACEHOLDER;
  } else {
    const varName = spec.apiKeyEnv;
    if (!varName) throw new InputError(`provider "${name}" names no apiKeyEnv (set keyless: true for endpoints without auth)`, { field: `providers.${name}.apiKeyEnv` });
    const v = env[varName];
    if (!v || !v.trim()) throw new InputError(`provider "${name}" needs an API key: environment variable ${varName} is not set`, { field: `providers.${name}.apiKeyEnv` });
    apiKey = v.trim();
  }
  const client = new OpenAI({
    apiKey,
    baseURL: spec.baseURL,
    maxRetries: opts.maxRetries,
    timeout: spec.timeoutMs,
    // Never forward OpenAI account ids from the environment to an arbitrary endpoint.
    organization: null,
    project: null,
    defaultHeaders: spec.keyless ? { Authorization: null } : undefined,
    // `timeout` ends at the response headers; a body or stream that stalls after them is caught here.
    fetch: idleTimeoutFetch(idleMsOf(spec)),
  });
  // The key must never reach a message, even if a server echoes it back in an error body.
  const scrub = (s: string) => (spec.keyless || apiKey.length < 4 ? s : s.split(apiKey).join('***'));
  return { client, scrub };
}

const idleMsOf = (spec: ProviderSpec) => spec.idleTimeoutMs ?? spec.timeoutMs;

/** What went wrong with one SDK call, and whether trying again may help. */
export function classifyFailure(e: unknown, spec: ProviderSpec, scrub: (s: string) => string): AttemptFailure {
  if (isIdleTimeout(e)) return { reason: 'timeout', retryable: true, detail: `the answer stalled: no data for ${idleMsOf(spec)} ms (idleTimeoutMs)`, cause: e };
  if (e instanceof APIConnectionTimeoutError) return { reason: 'timeout', retryable: true, detail: `no answer within ${spec.timeoutMs} ms`, cause: e };
  if (e instanceof APIConnectionError) {
    const cause = (e as any).cause;
    const why = cause?.code ?? cause?.cause?.code ?? cause?.message ?? e.message;
    return { reason: 'connection', retryable: true, detail: `cannot reach ${spec.baseURL}: ${why}`, cause: e };
  }
  if (e instanceof APIError && typeof e.status === 'number') {
    const msg = (e.error as any)?.message ?? (typeof e.error === 'string' ? e.error : undefined) ?? e.message;
    return {
      reason: 'http',
      status: e.status,
      retryable: isRetryableStatus(e.status),
      detail: scrub(String(msg)).slice(0, 500),
      waitMs: retryAfterMs(e.headers as any),
      cause: e,
    };
  }
  if (e instanceof BadResponse) return { reason: 'bad-response', retryable: false, detail: e.message, cause: e };
  if (e instanceof SyntaxError) return { reason: 'bad-response', retryable: false, detail: `the answer is not valid JSON: ${scrub(e.message)}`, cause: e };
  // Errors thrown mid-stream by the socket (e.g. "terminated") are connection failures.
  const err = e as Error;
  return { reason: 'connection', retryable: true, detail: scrub(err?.message ?? String(e)), cause: e };
}
