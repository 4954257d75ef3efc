import { randomBytes } from 'node:crypto';
import { ownerIsDeadHere, PROCESS_OWNER } from './owner.js';
import type { SqlRunner, Storage } from './storage.js';
import { BudgetExceeded, type SpendSnapshot } from './types.js';

/** A budget hold for one in-flight call. */
export interface Reservation {
  readonly id: string;
  readonly usd: number;
  readonly model: string;
}

/** A scope's spend across every process that books on it. */
export interface ScopeSpend {
  scope: string;
  budget?: number;
  spent: number;
  reserved: number;
  openReservations: number;
  calls: number;
  byAccount: Record<string, number>;
}

/** A successful call's booking: its hold (if any), the account it is booked on, and its real cost. */
export interface Settlement {
  reservation?: Reservation;
  account: string;
  usd: number;
}

export interface LedgerOptions {
  storage: Storage;
  /**
   * The budget scope shared by everyone who books on it (e.g. `study:<name>`). Without one, a budget gets a scope
   * of its own for this run (deleted on close), and no budget means spend is only counted in this process.
   */
  scope?: string;
  /** USD. On a named scope it replaces the stored budget (a resumed study may raise it). */
  budgetUsd?: number;
  /** Owner of this process's reservations (default: the process owner id). */
  owner?: string;
  /** A reservation not renewed for this long is dropped: its owner died (default 30 s; renewed every third of it). */
  reservationTtlMs?: number;
}

const DEFAULT_TTL_MS = 30_000;
/** Scopes of runs that never closed (killed) are removed after a week. */
const STALE_RUN_SCOPE_MS = 7 * 24 * 3600_000;

const ADMIT = `UPDATE ledger_scopes SET reserved_usd = reserved_usd + ?, updated_at = moa_now_ms()
  WHERE scope = ? AND (budget_usd IS NULL OR spent_usd + reserved_usd + ? <= budget_usd)`;
const HOLD = `INSERT INTO ledger_reservations (id, scope, owner, model, usd, expires_at, created_at)
  VALUES (?, ?, ?, ?, ?, moa_now_ms() + ?, moa_now_ms())`;
/** Taken first in every transaction that recomputes `reserved_usd`: it waits for reservers holding the row. */
const LOCK_SCOPE = 'UPDATE ledger_scopes SET updated_at = moa_now_ms() WHERE scope = ?';
const DELETE_HOLD = 'DELETE FROM ledger_reservations WHERE id = ?';
const RECOUNT = `UPDATE ledger_scopes SET spent_usd = spent_usd + ?, calls = calls + ?,
  reserved_usd = (SELECT COALESCE(SUM(usd), 0) FROM ledger_reservations WHERE scope = ?) WHERE scope = ?`;
const BOOK_ACCOUNT = `INSERT INTO ledger_accounts (scope, account, spent_usd, calls) VALUES (?, ?, ?, ?)
  ON CONFLICT (scope, account) DO UPDATE SET spent_usd = ledger_accounts.spent_usd + excluded.spent_usd, calls = ledger_accounts.calls + excluded.calls`;

let runScopes = 0;

/** The account expired reservations are booked on, at their worst case. */
export const UNSETTLED = 'unsettled';

/**
 * USD spent per account, and a budget enforced with reservations that hold across processes and machines: an
 * uncached call first reserves its worst-case cost with one conditional UPDATE of the scope's row (so the sum of
 * settled spend and open reservations never passes the budget, however many processes reserve at once), then
 * settles with its real cost or releases the hold if it failed. Reservations carry an owner and an expiry the
 * owner keeps renewing; a dead owner's reservations expire and are swept into spend at their worst case (its calls
 * may have been billed), so no process waits on them and the budget still holds.
 *
 * After a reservation's row lock, `reserved_usd` is recomputed from the open rows rather than decremented, so
 * float drift and swept rows can never leave phantom holds.
 */
export class SpendLedger {
  private readonly byAccount = new Map<string, number>();
  private readonly held = new Map<string, Reservation>();
  private spent = 0;
  private made = 0;
  private cached = 0;
  private failed = 0;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly storage: Storage,
    /** The scope's row, or undefined when spend is only counted here (no budget, no scope). */
    readonly scope: string | undefined,
    readonly budget: number | undefined,
    private readonly ephemeral: boolean,
    private readonly owner: string,
    private readonly ttlMs: number,
  ) {}

  static async open(opts: LedgerOptions): Promise<SpendLedger> {
    const { storage, budgetUsd } = opts;
    if (budgetUsd !== undefined && !(budgetUsd >= 0)) throw new RangeError(`budget must be a non-negative number of USD, got ${budgetUsd}`);
    const owner = opts.owner ?? PROCESS_OWNER;
    const ttl = opts.reservationTtlMs ?? DEFAULT_TTL_MS;
    if (opts.scope === undefined && budgetUsd === undefined) return new SpendLedger(storage, undefined, undefined, false, owner, ttl);
    const ephemeral = opts.scope === undefined;
    const scope = opts.scope ?? `run:${owner}:${++runScopes}`;
    let budget = budgetUsd;
    if (ephemeral) {
      await storage.run('DELETE FROM ledger_scopes WHERE ephemeral = 1 AND updated_at < moa_now_ms() - ?', [STALE_RUN_SCOPE_MS]);
    }
    await SpendLedger.ensureScope(storage, scope, budgetUsd, ephemeral);
    if (budget === undefined) {
      const row = await storage.get<{ budget_usd: number | null }>('SELECT budget_usd FROM ledger_scopes WHERE scope = ?', [scope]);
      budget = row?.budget_usd ?? undefined;
    }
    return new SpendLedger(storage, scope, budget, ephemeral, owner, ttl);
  }

  private static async ensureScope(storage: SqlRunner, scope: string, budget: number | undefined, ephemeral: boolean): Promise<void> {
    await storage.run(
      `INSERT INTO ledger_scopes (scope, budget_usd, ephemeral, created_at, updated_at) VALUES (?, ?, ?, moa_now_ms(), moa_now_ms())
       ON CONFLICT (scope) DO ${budget === undefined ? 'NOTHING' : 'UPDATE SET budget_usd = excluded.budget_usd, updated_at = excluded.updated_at'}`,
      [scope, budget ?? null, ephemeral ? 1 : 0],
    );
  }

  /** Hold `usd` for a call to `model`, or throw BudgetExceeded when the scope's spent + reserved + usd would pass its budget. */
  async reserve(model: string, usd: number): Promise<Reservation> {
    const scope = this.scope;
    if (scope === undefined) throw new Error('this ledger has no budget scope to reserve on');
    const r: Reservation = { id: randomBytes(12).toString('hex'), usd, model };
    for (let attempt = 0; ; attempt++) {
      const ok = await this.storage.transaction(async (tx) => {
        if ((await tx.run(ADMIT, [usd, scope, usd])).changes === 0) return false;
        await tx.run(HOLD, [r.id, scope, this.owner, model, usd, this.ttlMs]);
        return true;
      });
      if (ok) break;
      // A scope removed as stale (a run idle for a week) comes back; otherwise refuse, with dead owners' holds closed
      // first so that the message tells spent from reserved truly.
      if (attempt === 0 && (await this.restoreScope())) continue;
      await this.sweepExpired();
      const s = await this.scopeSpend();
      throw new BudgetExceeded(s.budget ?? 0, s.spent, s.reserved, usd, model);
    }
    this.held.set(r.id, r);
    this.startHeartbeat();
    return r;
  }

  private async restoreScope(): Promise<boolean> {
    const row = await this.storage.get('SELECT 1 AS one FROM ledger_scopes WHERE scope = ?', [this.scope!]);
    if (row) return false;
    await SpendLedger.ensureScope(this.storage, this.scope!, this.budget, this.ephemeral);
    return true;
  }

  /** The call succeeded: drop the hold and book its real cost on `account`. */
  async settle(r: Reservation | undefined, account: string, usd: number): Promise<void> {
    const items = [{ reservation: r, account, usd }];
    this.tally(items);
    if (this.scope !== undefined) await this.storage.transaction((tx) => this.book(tx, this.scope!, items));
  }

  /**
   * Calls that succeeded (a batch job's results): drop their holds and book their real costs in `tx`, a transaction
   * of the caller's that also stores what they bought. That transaction may run again (a retry), so this process
   * counts them only when the returned function is called, once `tx` has committed.
   */
  async settleIn(tx: SqlRunner, items: readonly Settlement[]): Promise<() => void> {
    if (this.scope !== undefined && items.length) await this.book(tx, this.scope, items);
    return () => this.tally(items);
  }

  /** Count settled calls in this process's spend; their holds are no longer renewed. */
  private tally(items: readonly Settlement[]): void {
    for (const { reservation: r, account, usd } of items) {
      this.spent += usd;
      this.byAccount.set(account, (this.byAccount.get(account) ?? 0) + usd);
      this.made++;
      if (r) this.held.delete(r.id);
    }
  }

  private async book(tx: SqlRunner, scope: string, items: readonly Settlement[]): Promise<void> {
    await tx.run(LOCK_SCOPE, [scope]);
    const accounts = new Map<string, { usd: number; calls: number }>();
    const add = (account: string, usd: number, calls: number) => {
      const a = accounts.get(account) ?? { usd: 0, calls: 0 };
      accounts.set(account, { usd: a.usd + usd, calls: a.calls + calls });
    };
    let spent = 0;
    let calls = 0;
    for (const { reservation: r, account, usd } of items) {
      // A hold swept while we were alive after all (a stalled heartbeat) was booked at its worst case: correct it.
      const swept = r !== undefined && (await tx.run(DELETE_HOLD, [r.id])).changes === 0;
      if (swept) {
        spent += usd - r.usd;
        add(UNSETTLED, -r.usd, -1);
      } else {
        spent += usd;
        calls++;
      }
      add(account, usd, 1);
    }
    await tx.run(RECOUNT, [spent, calls, scope, scope]);
    for (const [account, a] of accounts) await tx.run(BOOK_ACCOUNT, [scope, account, a.usd, a.calls]);
  }

  /** The call failed (nothing billed): drop the hold. `failed: false` when it was not a failed call (re-routed). */
  release(r: Reservation | undefined, opts: { failed?: boolean } = {}): Promise<void> {
    return this.releaseAll([r], opts);
  }

  /** Drop several holds in one transaction, each counted as a failed call unless `failed: false`. */
  async releaseAll(rs: ReadonlyArray<Reservation | undefined>, opts: { failed?: boolean } = {}): Promise<void> {
    if (opts.failed !== false) this.failed += rs.length;
    await this.drop(rs.filter((r): r is Reservation => r !== undefined));
  }

  private async drop(rs: Reservation[]): Promise<void> {
    for (const r of rs) this.held.delete(r.id);
    const scope = this.scope;
    if (scope === undefined || rs.length === 0) return;
    await this.storage.transaction(async (tx) => {
      await tx.run(LOCK_SCOPE, [scope]);
      let unbooked = 0;
      let n = 0;
      for (const r of rs) {
        // Swept already (booked at its worst case): nothing was billed after all, so take that back.
        if ((await tx.run(DELETE_HOLD, [r.id])).changes === 0) {
          unbooked += r.usd;
          n++;
        }
      }
      await tx.run(RECOUNT, [-unbooked, -n, scope, scope]);
      if (n) await tx.run(BOOK_ACCOUNT, [scope, UNSETTLED, -unbooked, -n]);
    });
  }

  countCached(): void {
    this.cached++;
  }

  /**
   * Close the scope's reservations whose owners stopped renewing them or provably died on this machine, booking each at its
   * reserved worst case on the `unsettled` account: the dead owner's call may have been billed, and the budget must
   * hold whatever happened to it. Returns how many were closed.
   */
  async sweepExpired(): Promise<number> {
    const scope = this.scope;
    if (scope === undefined) return 0;
    // Owners on this machine that provably died need not be waited for.
    const owners = await this.storage.all<{ owner: string }>('SELECT DISTINCT owner FROM ledger_reservations WHERE scope = ?', [scope]);
    const dead = owners.map((o) => o.owner).filter(ownerIsDeadHere);
    return this.storage.transaction(async (tx) => {
      await tx.run(LOCK_SCOPE, [scope]);
      const gone = await tx.all<{ usd: number }>(
        `DELETE FROM ledger_reservations WHERE scope = ? AND (expires_at <= moa_now_ms()${dead.map(() => ' OR owner = ?').join('')}) RETURNING usd`,
        [scope, ...dead],
      );
      if (!gone.length) return 0;
      const usd = gone.reduce((a, r) => a + r.usd, 0);
      await tx.run(RECOUNT, [usd, gone.length, scope, scope]);
      await tx.run(BOOK_ACCOUNT, [scope, UNSETTLED, usd, gone.length]);
      return gone.length;
    });
  }

  /** Renew this process's holds while any are open, so that only a dead owner's expire. */
  private startHeartbeat(): void {
    if (this.timer) return;
    this.timer = setInterval(() => {
      if (this.held.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
        return;
      }
      this.storage
        .run('UPDATE ledger_reservations SET expires_at = moa_now_ms() + ? WHERE scope = ? AND owner = ?', [this.ttlMs, this.scope!, this.owner])
        .catch(() => {}); // a missed renewal is retried at the next tick, well before expiry
    }, Math.max(1, Math.floor(this.ttlMs / 3)));
    this.timer.unref();
  }

  /** This process's spend (synchronous, for progress lines); `budget` is the scope's. */
  snapshot(): SpendSnapshot {
    const byAccount: Record<string, number> = {};
    for (const [k, v] of [...this.byAccount].sort(([a], [b]) => a.localeCompare(b))) byAccount[k] = v;
    let reserved = 0;
    for (const r of this.held.values()) reserved += r.usd;
    const s: SpendSnapshot = { byAccount, total: this.spent, reserved, calls: { made: this.made, cached: this.cached, failed: this.failed } };
    if (this.budget !== undefined) s.budget = this.budget;
    return s;
  }

  /** The scope's spend across every process booking on it. */
  async scopeSpend(): Promise<ScopeSpend> {
    const scope = this.scope;
    if (scope === undefined) {
      const s = this.snapshot();
      return { scope: '(this process)', spent: s.total, reserved: s.reserved, openReservations: this.held.size, calls: this.made, byAccount: s.byAccount };
    }
    const row = await this.storage.get<{ budget_usd: number | null; spent_usd: number; reserved_usd: number; calls: number }>(
      'SELECT budget_usd, spent_usd, reserved_usd, calls FROM ledger_scopes WHERE scope = ?',
      [scope],
    );
    const open = await this.storage.get<{ n: number }>('SELECT COUNT(*) AS n FROM ledger_reservations WHERE scope = ?', [scope]);
    const accounts = await this.storage.all<{ account: string; spent_usd: number }>(
      'SELECT account, spent_usd FROM ledger_accounts WHERE scope = ? ORDER BY account',
      [scope],
    );
    const out: ScopeSpend = {
      scope,
      spent: row?.spent_usd ?? 0,
      reserved: row?.reserved_usd ?? 0,
      openReservations: Number(open?.n ?? 0),
      calls: Number(row?.calls ?? 0),
      byAccount: Object.fromEntries(accounts.map((a) => [a.account, a.spent_usd])),
    };
    if (row?.budget_usd != null) out.budget = row.budget_usd;
    return out;
  }

  /** Stop renewing, give back any hold still open, and remove a run's own scope. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.scope === undefined) return;
    await this.drop([...this.held.values()]);
    if (this.ephemeral) await this.storage.run('DELETE FROM ledger_scopes WHERE scope = ?', [this.scope]);
  }
}
