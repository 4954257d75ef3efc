/** A response body (plain or streamed) that stopped arriving: no bytes for `ms` milliseconds. */
export class IdleTimeout extends Error {
  // Not 'AbortError': the SDK ends a stream quietly on an abort, which would pass a cut-off answer as complete.
  override readonly name = 'IdleTimeout';
  constructor(readonly ms: number) {
    super(`the response stopped arriving: no data for ${ms} ms`);
  }
}

/** True when `e` or an error in its cause chain is an IdleTimeout (the SDK may wrap what the body throws). */
export function isIdleTimeout(e: unknown): e is IdleTimeout {
  for (let c = e, depth = 0; c && depth < 5; c = (c as { cause?: unknown }).cause, depth++) if (c instanceof IdleTimeout) return true;
  return false;
}

/**
 * A fetch whose response bodies fail with IdleTimeout when no bytes arrive for `idleMs`, aborting the request
 * (and freeing its socket). The OpenAI SDK's own timeout stops at the response headers; this covers the body and
 * every gap between stream chunks (keep-alive comments count as data).
 */
export function idleTimeoutFetch(idleMs: number, base: typeof fetch = fetch): typeof fetch {
  return async (input, init) => {
    const request = new AbortController();
    const outer = init?.signal;
    if (outer?.aborted) request.abort(outer.reason);
    else outer?.addEventListener('abort', () => request.abort(outer.reason), { once: true });
    const res = await base(input, { ...init, signal: request.signal });
    if (!res.body) return res;
    const reader = res.body.getReader();
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const stalled = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new IdleTimeout(idleMs)), idleMs);
        });
        try {
          const { done, value } = await Promise.race([reader.read(), stalled]);
          if (done) controller.close();
          else controller.enqueue(value);
        } catch (e) {
          controller.error(e);
          if (e instanceof IdleTimeout) request.abort(e);
        } finally {
          clearTimeout(timer);
        }
      },
      cancel(reason) {
        clearTimeout(timer);
        return reader.cancel(reason);
      },
    });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}
