import { InputError } from '../config/input-error.js';
import { singleModelMixture, uniformMixture, type Mixture, type MixtureFile, type ModelCounts } from '../config/mixture.js';
import { modelsWithRole, type SearchSpace } from '../config/space.js';

/**
 * The search's variables: one integer count per proposer model (0..maxCopies, 0 drops the model), the same
 * multiset in every proposer layer (the paper's shape), and which aggregator. Layers come from the space.
 */
export interface SearchDims {
  proposers: Array<{ id: string; max: number }>;
  aggregators: string[];
  /** Total layers including the aggregator's. */
  layers: number;
}

/** A point of the integer box: counts per proposer (in `dims.proposers` order) and an aggregator index. */
export interface Point {
  counts: number[];
  agg: number;
}

export function searchDims(space: SearchSpace): SearchDims {
  const proposers = modelsWithRole(space, 'proposer').map((m) => ({ id: m.id, max: m.maxCopies }));
  if (!proposers.length) throw new InputError('no model has the proposer role: nothing to search', { file: space.file, field: 'models' });
  // Without an explicit list, the first model allowed to aggregate is the aggregator (the space's order says preference).
  const aggregators = space.search.aggregators ?? modelsWithRole(space, 'aggregator').slice(0, 1).map((m) => m.id);
  if (!aggregators.length) throw new InputError('no aggregator: give search.aggregators or a model with the aggregator role', { file: space.file, field: 'search.aggregators' });
  const layers = space.search.layers;
  if (layers < 2) throw new InputError('search.layers must be at least 2 to search proposers', { file: space.file, field: 'search.layers' });
  return { proposers, aggregators, layers };
}

export function pointKey(p: Point): string {
  return `${p.agg}:${p.counts.join(',')}`;
}

export function totalCount(p: Point): number {
  return p.counts.reduce((a, b) => a + b, 0);
}

/** The mixture a point stands for; all-zero counts is the aggregator answering alone. */
export function toMixture(dims: SearchDims, p: Point): Mixture {
  const agg = dims.aggregators[p.agg]!;
  if (totalCount(p) === 0) return singleModelMixture(agg);
  const counts: ModelCounts = {};
  p.counts.forEach((c, i) => {
    if (c > 0) counts[dims.proposers[i]!.id] = c;
  });
  return uniformMixture(counts, agg, dims.layers);
}

/** The point a stored mixture stands for, or undefined when it lies outside the search's box (other shape). */
export function fromMixtureFile(dims: SearchDims, mf: MixtureFile): Point | undefined {
  if ((mf.mode ?? 'synthesize') !== 'synthesize' || mf.summarizer || mf.prompts) return undefined;
  const agg = dims.aggregators.indexOf(mf.aggregator);
  if (agg < 0) return undefined;
  const counts = dims.proposers.map(() => 0);
  let proposers: ModelCounts | undefined;
  if (typeof mf.layers === 'number') {
    if (mf.layers === 1) return { counts, agg };
    if (mf.layers !== dims.layers) return undefined;
    proposers = mf.proposers;
  } else {
    if (mf.layers.length + 1 !== dims.layers) return undefined;
    const first = JSON.stringify(sortKeys(mf.layers[0]!));
    if (!mf.layers.every((l) => JSON.stringify(sortKeys(l)) === first)) return undefined;
    proposers = mf.layers[0];
  }
  if (!proposers) return undefined;
  for (const [id, n] of Object.entries(proposers)) {
    const i = dims.proposers.findIndex((p) => p.id === id);
    if (i < 0 || n > dims.proposers[i]!.max) return undefined;
    counts[i] = n;
  }
  return { counts, agg };
}

function sortKeys(c: ModelCounts): ModelCounts {
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
}

/** GP inputs: counts scaled to [0, 1], then a one-hot aggregator block when there is a choice of aggregator. */
export function features(dims: SearchDims, p: Point): number[] {
  const x = p.counts.map((c, i) => c / dims.proposers[i]!.max);
  if (dims.aggregators.length > 1) dims.aggregators.forEach((_, a) => x.push(a === p.agg ? 1 : 0));
  return x;
}

/** Number of mixtures with at least one proposer. */
export function boxSize(dims: SearchDims): number {
  const per = dims.proposers.reduce((s, p) => s * (p.max + 1), 1) - 1;
  return per * dims.aggregators.length;
}

/** A string seed mixed with integers, for per-trial deterministic randomness. */
export function seedFor(...parts: number[]): number {
  let h = 2166136261;
  for (const v of parts) {
    h ^= v | 0;
    h = Math.imul(h, 16777619);
    h ^= h >>> 13;
  }
  return h >>> 0;
}

