/** Calls, dollars and tokens behind a piece of generated data. */
export interface Usage {
  /** Calls that returned (from the provider or the cache). */
  calls: number;
  /** Of those, served from the cache (free). */
  cached: number;
  /** Calls that failed after the executor's retries. */
  failed: number;
  /** List price of every call that returned, cached or not: what the data costs from an empty cache. */
  costUsd: number;
  /** USD actually paid: calls that were not cached. */
  spentUsd: number;
  promptTokens: number;
  completionTokens: number;
}

export function emptyUsage(): Usage {
  return { calls: 0, cached: 0, failed: 0, costUsd: 0, spentUsd: 0, promptTokens: 0, completionTokens: 0 };
}

export interface UsageCall {
  cached: boolean;
  costUsd: number;
  promptTokens: number;
  completionTokens: number;
  error?: string;
}

export function addCall(u: Usage, c: UsageCall): Usage {
  if (c.error) {
    u.failed++;
    return u;
  }
  u.calls++;
  if (c.cached) u.cached++;
  else u.spentUsd += c.costUsd;
  u.costUsd += c.costUsd;
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
