import { randomBytes } from 'node:crypto';
import { ownerIsDeadHere, PROCESS_OWNER } from './owner.js';
import type { Storage } from './storage.js';

/**
 * Leases: a named claim (a study, a trial, an in-flight generation) held by one owner until it expires by the
 * database clock. The holder renews it (a heartbeat); a holder that dies — kill -9, a lost machine, a zombie whose
 * pid still answers — stops renewing, and once the lease expires anyone may take it. A holder on this machine that is
 * provably dead (its pid gone, or a zombie) is taken over at once, so a search killed with -9 resumes without
 * waiting. Each acquisition gets its own token, so a late renew or release from a former holder can never touch its
 * successor's lease.
 */

const ACQUIRE = `INSERT INTO leases (name, owner, token, ttl_ms, expires_at, acquired_at, renewed_at)
  VALUES (?, ?, ?, ?, moa_now_ms() + ?, moa_now_ms(), moa_now_ms())
  ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, token = excluded.token, ttl_ms = excluded.ttl_ms,
    expires_at = excluded.expires_at, acquired_at = excluded.acquired_at, renewed_at = excluded.renewed_at
  WHERE leases.expires_at <= moa_now_ms()`;
const RENEW = 'UPDATE leases SET expires_at = moa_now_ms() + ttl_ms, renewed_at = moa_now_ms() WHERE name = ? AND token = ?';
const RELEASE = 'DELETE FROM leases WHERE name = ? AND token = ?';
const HOLDER = 'SELECT owner, expires_at - moa_now_ms() AS remaining_ms FROM leases WHERE name = ?';
/** Take a lease from a holder proven dead, whatever its expiry; only one taker can match the old owner. */
const TAKE_OVER = `UPDATE leases SET owner = ?, token = ?, ttl_ms = ?, expires_at = moa_now_ms() + ?, acquired_at = moa_now_ms(),
  renewed_at = moa_now_ms() WHERE name = ? AND owner = ?`;

export interface LeaseHolder {
  owner: string;
  /** Milliseconds until the lease expires by the database clock (≤ 0: expired, free to take). */
  remainingMs: number;
  /** The holder is a process of this machine that provably died: free to take now. */
  dead: boolean;
}

export interface HeartbeatOptions {
  /** How often to renew (default: a third of the lease's time to live). */
  intervalMs?: number;
  /** Called once if a renewal finds the lease gone (expired and taken, or released elsewhere). */
  onLost?: () => void;
}

/** A timer renewing a lease; `stop()` ends it. */
export interface Heartbeat {
  stop(): void;
}

export class Lease {
  private beat: Heartbeat | undefined;
  private released = false;

  constructor(
    private readonly storage: Storage,
    readonly name: string,
    readonly owner: string,
    private readonly token: string,
    readonly ttlMs: number,
  ) {}

  /** Extend the lease by its time to live from now. False when it is no longer ours. */
  async renew(): Promise<boolean> {
    if (this.released) return false;
    return (await this.storage.run(RENEW, [this.name, this.token])).changes > 0;
  }

  /** Give the lease up (idempotent); stops its heartbeat. */
  async release(): Promise<void> {
    this.beat?.stop();
    if (this.released) return;
    this.released = true;
    await this.storage.run(RELEASE, [this.name, this.token]);
  }

  /** Renew on a timer until `stop()` or `release()`. A renewal that fails for a moment (database busy) is retried at the next tick. */
  keepAlive(opts: HeartbeatOptions = {}): Heartbeat {
    this.beat?.stop();
    const every = Math.max(1, Math.floor(opts.intervalMs ?? this.ttlMs / 3));
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      this.renew().then(
        (ok) => {
          busy = false;
          if (!ok && !this.released) {
            clearInterval(timer);
            opts.onLost?.();
          }
        },
        () => (busy = false),
      );
    }, every);
    // A heartbeat alone must not keep the process alive.
    timer.unref();
    const beat = { stop: () => clearInterval(timer) };
    this.beat = beat;
    return beat;
  }
}

export class Leases {
  constructor(
    private readonly storage: Storage,
    readonly owner: string = PROCESS_OWNER,
  ) {}

  /**
   * Take `name` for `ttlMs`, or undefined when someone (this process included) holds it: unexpired, and not
   * provably dead.
   */
  async acquire(name: string, ttlMs: number): Promise<Lease | undefined> {
    if (!(ttlMs > 0)) throw new RangeError(`lease time to live must be positive, got ${ttlMs}`);
    const token = randomBytes(12).toString('hex');
    const ttl = Math.round(ttlMs);
    let r = await this.storage.run(ACQUIRE, [name, this.owner, token, ttl, ttl]);
    if (r.changes === 0) {
      const h = await this.holder(name);
      if (h?.dead) r = await this.storage.run(TAKE_OVER, [this.owner, token, ttl, ttl, name, h.owner]);
    }
    return r.changes > 0 ? new Lease(this.storage, name, this.owner, token, ttl) : undefined;
  }

  /** Who holds `name` and for how long yet; undefined when nobody does. */
  async holder(name: string): Promise<LeaseHolder | undefined> {
    const r = await this.storage.get<{ owner: string; remaining_ms: number }>(HOLDER, [name]);
    return r ? { owner: r.owner, remainingMs: Number(r.remaining_ms), dead: ownerIsDeadHere(r.owner) } : undefined;
  }
}
