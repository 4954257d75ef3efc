/** Calls, dollars and tokens behind a piece of generated data. */
export interface Usage {
  /** Calls that returned (from the provider or the cache). */
  calls: number;
  /** Of those, served from the cache (free). */
  cached: number;
  /** Calls that failed after the executor's retries. */
  failed: number;
  /** List price of every call that returned, cached or not: what the data costs online from an empty cache. */
  costUsd: number;
  /** USD actually paid: calls that were not cached (a batched call at the batch price). */
  spentUsd: number;
  promptTokens: number;
  completionTokens: number;
}

export function emptyUsage(): Usage {
  return { calls: 0, cached: 0, failed: 0, costUsd: 0, spentUsd: 0, promptTokens: 0, completionTokens: 0 };
}

export interface UsageCall {
  model: string;
  cached: boolean;
  /** What the call cost when it was made (a batched call: the discounted price). */
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
  error?: string;
}

/** List price of a call with these tokens (`Executor.priceOf`). */
export type PriceOf = (model: string, promptTokens: number, completionTokens: number) => number;

/** Count a call: paid at what it cost, and priced at the list price (`price`) for what the data is worth online. */
export function addCall(u: Usage, c: UsageCall, price: PriceOf): Usage {
  if (c.error) {
    u.failed++;
    return u;
  }
  u.calls++;
  if (c.cached) u.cached++;
  else u.spentUsd += c.costUsd;
  u.costUsd += price(c.model, c.promptTokens, c.completionTokens);
  u.promptTokens += c.promptTokens;
  u.completionTokens += c.completionTokens;
  return u;
}

export function addUsage(into: Usage, more: Usage): Usage {
  into.calls += more.calls;
  into.cached += more.cached;
  into.failed += more.failed;
  into.costUsd += more.costUsd;
  into.spentUsd += more.spentUsd;
  into.promptTokens += more.promptTokens;
  into.completionTokens += more.completionTokens;
  return into;
}
