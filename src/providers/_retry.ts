/** HTTP statuses worth another attempt: timeouts, conflicts, rate limits and server errors. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/** Longest wait we accept from a server's Retry-After before giving up on honouring it literally. */
export const MAX_RETRY_AFTER_MS = 120_000;

type HeaderBag = { get(name: string): string | null } | undefined;

/**
 * The server's requested wait in ms, from `retry-after-ms` (ms) or `Retry-After`
 * (seconds, or an HTTP date). Undefined when absent or unparseable.
 */
export function retryAfterMs(headers: HeaderBag, now = Date.now()): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms != null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.min(n, MAX_RETRY_AFTER_MS);
  }
  const ra = headers.get('retry-after');
  if (ra == null || ra.trim() === '') return undefined;
  const secs = Number(ra);
  if (Number.isFinite(secs)) return secs >= 0 ? Math.min(secs * 1000, MAX_RETRY_AFTER_MS) : undefined;
  const date = Date.parse(ra);
  if (Number.isNaN(date)) return undefined;
  return Math.min(Math.max(0, date - now), MAX_RETRY_AFTER_MS);
}

/**
 * Exponential backoff with jitter for attempt `n` (1 = the first retry): base·2^(n−1), capped,
 * then scaled by a random factor in [0.5, 1] so that many clients that failed together do not retry together.
 */
export function backoffMs(n: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, n - 1));
  return exp * (0.5 + 0.5 * random());
}
