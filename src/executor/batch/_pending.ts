import type { Reservation } from '../spend-ledger.js';
import type { GenerationRequest, GenerationResult } from '../types.js';
import type { BatchStats } from './types.js';

/** How a batched request ends for its waiters. `shared`: another process's job produced it. */
export type Outcome = { result: GenerationResult; shared?: boolean } | { fallback: string } | { error: unknown };

/** One uncached request waiting on the batch stage, shared by every caller asking for the same key. */
export interface Pending {
  key: string;
  /** Resolved (defaults filled in), as keyed. */
  req: GenerationRequest;
  provider: string;
  account: string;
  purpose?: string;
  state: 'placing' | 'queued' | 'in-job' | 'settled';
  /** Callers awaiting it; when the last one aborts before submission, it leaves the queue. */
  waiters: number;
  reservation?: Reservation;
  outcome: Promise<Outcome>;
  settle(o: Outcome): void;
}

export function newPending(init: Pick<Pending, 'key' | 'req' | 'provider' | 'account' | 'purpose'>): Pending {
  let resolve!: (o: Outcome) => void;
  const outcome = new Promise<Outcome>((r) => (resolve = r));
  const p: Pending = {
    ...init,
    state: 'placing',
    waiters: 0,
    outcome,
    settle(o) {
      if (p.state === 'settled') return;
      p.state = 'settled';
      resolve(o);
    },
  };
  return p;
}

/** Count a fallback under its short reason (`malformed`, `failed in batch`, `expired`, ...); returns that reason. */
export function countFallback(stats: BatchStats, reason: string): string {
  const kind = reason.split(':')[0]!.trim();
  stats.fallback++;
  stats.fallbackReasons[kind] = (stats.fallbackReasons[kind] ?? 0) + 1;
  return kind;
}
