import { createHash } from 'node:crypto';
import type { ChatProvider, ProviderRequest, ProviderResponse } from '../src/providers/types.js';
import { createSimProvider } from '../src/sim/index.js';

/**
 * The sim is deterministic: identical requests across a benchmark's runs are answered from memory (each run still
 * pays for them through its own executor, so its dollars are what it would pay from an empty cache).
 */
export function memoSim(limit = 100_000): ChatProvider {
  const sim = createSimProvider({ worldSeed: 0 });
  const memo = new Map<string, ProviderResponse>();
  return {
    name: 'sim',
    async complete(req: ProviderRequest): Promise<ProviderResponse> {
      const key = createHash('sha1').update(JSON.stringify(req)).digest('base64');
      const hit = memo.get(key);
      if (hit) return hit;
      const r = await sim.complete(req);
      if (memo.size < limit) memo.set(key, r);
      return r;
    },
  };
}
