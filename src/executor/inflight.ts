import { Leases, type Lease } from './leases.js';
import type { Storage } from './storage.js';

const CHANNEL = 'moa_generations';
const PREFIX = 'generation:';
const DEFAULT_LEASE_MS = 30_000;
/** Without notifications (SQLite) waiters poll, starting fast and slowing down; with them, polling is only a safety net. */
const POLL_START_MS = 10;
const POLL_MAX_MS = 250;
const POLL_NOTIFIED_MS = 1000;

/**
 * Cross-process in-flight markers for the cache: before paying for a generation a process claims its key with a
 * lease (renewed while the call runs); another process needing the same key waits until the claim goes away —
 * the result is then in the cache — and takes the call over itself if the claim was released without a result,
 * or its holder died (its lease expired, or at once when it was a process of this machine). In-process callers are
 * coalesced before they get here.
 */
export class InflightMarkers {
  private readonly leases: Leases;

  constructor(
    private readonly storage: Storage,
    owner?: string,
    private readonly leaseMs = DEFAULT_LEASE_MS,
  ) {
    this.leases = new Leases(storage, owner);
  }

  /** Claim `key` for a provider call (its lease kept alive until `finish`), or undefined when someone else holds it. */
  async claim(key: string): Promise<Lease | undefined> {
    const lease = await this.leases.acquire(PREFIX + key, this.leaseMs);
    lease?.keepAlive();
    return lease;
  }

  /** The call is over (its result stored, or it failed): free the key and wake the waiters. */
  async finish(key: string, lease: Lease): Promise<void> {
    await lease.release();
    await this.storage.notify(CHANNEL, key);
  }

  /** Resolve once nobody holds a live claim on `key`; reject if `signal` aborts first. */
  async waitFree(key: string, signal?: AbortSignal): Promise<void> {
    let notified = false;
    let wake = () => {};
    const unsubscribe = await this.storage.subscribe(CHANNEL, (payload) => {
      if (payload !== key) return;
      notified = true;
      wake();
    });
    try {
      let pollMs = this.storage.notifiesAcrossProcesses ? POLL_NOTIFIED_MS : POLL_START_MS;
      for (;;) {
        signal?.throwIfAborted();
        notified = false;
        const h = await this.leases.holder(PREFIX + key);
        if (!h || h.remainingMs <= 0 || h.dead) return;
        if (!notified) {
          await new Promise<void>((resolve) => {
            const done = () => {
              clearTimeout(timer);
              signal?.removeEventListener('abort', done);
              resolve();
            };
            // Wake at the notification, the next poll, the lease's expiry, or an abort, whichever comes first.
            const timer = setTimeout(done, Math.max(1, Math.min(pollMs, h.remainingMs + 1)));
            wake = done;
            signal?.addEventListener('abort', done, { once: true });
          });
        }
        if (!this.storage.notifiesAcrossProcesses) pollMs = Math.min(POLL_MAX_MS, pollMs * 1.5);
      }
    } finally {
      wake = () => {};
      await unsubscribe();
    }
  }
}
