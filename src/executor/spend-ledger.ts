import { BudgetExceeded, type SpendSnapshot } from './types.js';

/** A budget hold for one in-flight call. */
export interface Reservation {
  readonly id: number;
  readonly usd: number;
  readonly model: string;
}

/**
 * USD spent per account, plus an optional budget enforced with reservations: an uncached call first
 * reserves its worst-case cost (synchronously, so concurrent callers cannot both squeeze past the
 * limit), then settles with its real cost or releases the hold if it failed.
 */
export class SpendLedger {
  private readonly byAccount = new Map<string, number>();
  private readonly held = new Map<number, Reservation>();
  private spent = 0;
  private reserved = 0;
  private nextId = 1;
  private made = 0;
  private cached = 0;
  private failed = 0;

  constructor(readonly budget?: number) {
    if (budget !== undefined && !(budget >= 0)) throw new RangeError(`budget must be a non-negative number of USD, got ${budget}`);
  }

  /** Hold `usd` for a call to `model`, or throw BudgetExceeded when spent + reserved + usd would pass the budget. */
  reserve(model: string, usd: number): Reservation {
    if (this.budget !== undefined && this.spent + this.reserved + usd > this.budget) {
      throw new BudgetExceeded(this.budget, this.spent, this.reserved, usd, model);
    }
    const r: Reservation = { id: this.nextId++, usd, model };
    this.held.set(r.id, r);
    this.reserved += usd;
    return r;
  }

  /** The call succeeded: drop the hold and book its real cost on `account`. */
  settle(r: Reservation | undefined, account: string, usd: number): void {
    if (r) this.drop(r);
    this.spent += usd;
    this.byAccount.set(account, (this.byAccount.get(account) ?? 0) + usd);
    this.made++;
  }

  /** The call failed (nothing billed): drop the hold. `failed: false` when it was not a failed call (re-routed). */
  release(r: Reservation | undefined, opts: { failed?: boolean } = {}): void {
    if (r) this.drop(r);
    if (opts.failed !== false) this.failed++;
  }

  countCached(): void {
    this.cached++;
  }

  private drop(r: Reservation): void {
    if (!this.held.delete(r.id)) return;
    this.reserved -= r.usd;
    // Float drift must not leave a phantom hold once nothing is in flight.
    if (this.held.size === 0) this.reserved = 0;
  }

  snapshot(): SpendSnapshot {
    const byAccount: Record<string, number> = {};
    for (const [k, v] of [...this.byAccount].sort(([a], [b]) => a.localeCompare(b))) byAccount[k] = v;
    const s: SpendSnapshot = { byAccount, total: this.spent, reserved: this.reserved, calls: { made: this.made, cached: this.cached, failed: this.failed } };
    if (this.budget !== undefined) s.budget = this.budget;
    return s;
  }
}
