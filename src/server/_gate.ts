/** Thrown when the wait queue is full: the server answers 429. */
export class Overloaded extends Error {
  override readonly name = 'Overloaded';
  constructor(readonly running: number, readonly queued: number) {
    super(`server busy: ${running} requests running and ${queued} waiting`);
  }
}

/**
 * At most `limit` mixture runs at once; up to `maxQueue` more wait in FIFO order; beyond that,
 * requests are refused at once (429) rather than piling up unbounded memory and latency.
 */
export class Gate {
  private running = 0;
  private readonly waiting: Array<{ go: () => void; fail: (e: unknown) => void }> = [];
  constructor(
    readonly limit: number,
    readonly maxQueue: number,
  ) {}

  get active(): number {
    return this.running;
  }
  get queued(): number {
    return this.waiting.length;
  }

  /** Wait for a slot. The returned release must be called exactly once. A queued waiter leaves on abort. */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    if (this.running < this.limit) {
      this.running++;
      return this.releaser();
    }
    if (this.waiting.length >= this.maxQueue) throw new Overloaded(this.running, this.waiting.length);
    await new Promise<void>((resolve, reject) => {
      const entry = {
        go: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(entry);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason ?? new Error('aborted'));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(entry);
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiting.shift();
      // Hand the slot straight to the next waiter, so the count never dips and lets a newcomer jump the queue.
      if (next) next.go();
      else this.running--;
    };
  }
}
