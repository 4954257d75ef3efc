import { uniformMixture, type Mixture, type ModelCounts } from '../config/mixture.js';
import { modelsWithRole, type SearchSpace } from '../config/space.js';
import type { ValidationItem } from '../eval/types.js';
import { createTruthOracle, type TruthOptions } from './truth.js';

// The whole search box of a sim space scored by the exact truth: what "the optimum" and "regret" mean in the
// benchmarks and the docs. The box is the search's: every proposer at 0..maxCopies copies (at least one copy in
// all), the same multiset in each proposer layer, under each searched aggregator.

export interface ScoredMixture {
  mixture: Mixture;
  counts: ModelCounts;
  aggregator: string;
  score: number;
  bySource: Record<string, number>;
}

export interface LandscapeOptions extends Omit<TruthOptions, 'space' | 'items'> {
  /** Default: the space's `search.aggregators`, else its first model with the aggregator role. */
  aggregators?: string[];
}

/** The aggregators a space searches (its `search.aggregators`, else the first model allowed to aggregate). */
export function searchedAggregators(space: SearchSpace): string[] {
  return space.search.aggregators ?? modelsWithRole(space, 'aggregator').slice(0, 1).map((m) => m.id);
}

/** Every mixture of the box (each searched depth when `search.layers` is a list), best first (ties keep enumeration order). 4^7 × 2 mixtures take about 10 s. */
export function rankAllMixtures(space: SearchSpace, items: ValidationItem[], opts: LandscapeOptions = {}): ScoredMixture[] {
  const oracle = createTruthOracle({ ...opts, space, items });
  const proposers = modelsWithRole(space, 'proposer');
  const raw = space.search.layers;
  const out: ScoredMixture[] = [];
  for (const layers of typeof raw === 'number' ? [raw] : [...new Set(raw)])
    for (const aggregator of opts.aggregators ?? searchedAggregators(space)) {
      for (const counts of allCounts(proposers.map((m) => ({ id: m.id, max: m.maxCopies })))) {
        const mixture = uniformMixture(counts, aggregator, layers);
        const r = oracle(mixture);
        out.push({ mixture, counts, aggregator, score: r.score, bySource: r.bySource });
      }
    }
  return out.sort((a, b) => b.score - a.score);
}

/** Every non-empty multiset with 0..max copies of each model (mixed radix). */
function* allCounts(dims: Array<{ id: string; max: number }>): Generator<ModelCounts> {
  const total = dims.reduce((n, d) => n * (d.max + 1), 1);
  for (let code = 1; code < total; code++) {
    const counts: ModelCounts = {};
    let c = code;
    for (const d of dims) {
      const n = c % (d.max + 1);
      c = Math.floor(c / (d.max + 1));
      if (n) counts[d.id] = n;
    }
    yield counts;
  }
}

/** 1-based rank of a mixture with these proposer counts and aggregator in a ranked landscape (0 if absent). */
export function rankOf(ranked: ScoredMixture[], counts: ModelCounts, aggregator: string): number {
  const key = countsKey(counts);
  return ranked.findIndex((x) => x.aggregator === aggregator && countsKey(x.counts) === key) + 1;
}

const countsKey = (c: ModelCounts) => JSON.stringify(Object.entries(c).filter(([, n]) => n > 0).sort(([a], [b]) => a.localeCompare(b)));
