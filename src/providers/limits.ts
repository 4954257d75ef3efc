import type { CallOptions, ChatProvider, ProviderRequest, ProviderResponse } from './types.js';

function abortReason(signal: AbortSignal): Error {
  const r = signal.reason;
  return r instanceof Error ? r : new DOMException('The operation was aborted.', 'AbortError');
}

/** Sleep that ends early (rejecting) when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  if (ms <= 0) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(abortReason(signal!));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Per-provider limits: at most `maxConcurrency` requests in flight and, optionally, at most
 * `requestsPerMinute` request starts in any sliding 60 s window. Waiters are served in order.
 */
export class Limiter {
  private active = 0;
  private readonly queue: Array<() => void> = [];
  /** Start times of recent requests (for the per-minute window). */
  private readonly starts: number[] = [];

  constructor(
    readonly maxConcurrency: number = Infinity,
    readonly requestsPerMinute?: number,
  ) {}

  get inFlight(): number {
    return this.active;
  }

  async run<T>(fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(signal);
    try {
      await this.waitForRate(signal);
      return await fn();
    } finally {
      this.release();
    }
  }

  private acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    if (this.active < this.maxConcurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        this.active++;
        resolve();
      };
      const onAbort = () => {
        const i = this.queue.indexOf(grant);
        if (i >= 0) this.queue.splice(i, 1);
        reject(abortReason(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(grant);
    });
  }

  private release(): void {
    this.active--;
    const next = this.queue.shift();
    if (next) next();
  }

  private async waitForRate(signal?: AbortSignal): Promise<void> {
    const rpm = this.requestsPerMinute;
    if (!rpm) return;
    const windowMs = 60_000;
    for (;;) {
      const now = Date.now();
      while (this.starts.length && this.starts[0]! <= now - windowMs) this.starts.shift();
      if (this.starts.length < rpm) {
        this.starts.push(now);
        return;
      }
      // Wait until the oldest start leaves the window, then look again (others may have taken the slot).
      await sleep(this.starts[0]! + windowMs - now + 1, signal);
    }
  }
}

/** A provider whose calls pass through a limiter (used for providers that do not limit themselves, like the sim). */
export function withLimits(provider: ChatProvider, limiter: Limiter): ChatProvider {
  return {
    name: provider.name,
    complete(req: ProviderRequest, opts?: CallOptions): Promise<ProviderResponse> {
      return limiter.run(() => provider.complete(req, opts), opts?.signal);
    },
    close: provider.close ? () => provider.close!() : undefined,
  };
}
