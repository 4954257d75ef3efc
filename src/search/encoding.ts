import { InputError } from '../config/input-error.js';
import { singleModelMixture, uniformMixture, type Mixture, type MixtureFile, type ModelCounts } from '../config/mixture.js';
import { modelsWithRole, type SearchSpace } from '../config/space.js';

/**
 * The search's variables: one integer count per proposer model (0..maxCopies, 0 drops the model), the same
 * multiset in every proposer layer (the paper's shape), which aggregator, and (when the space lists several) how many
 * layers.
 */
export interface SearchDims {
  proposers: Array<{ id: string; max: number }>;
  aggregators: string[];
  /** Layer counts searched (aggregator included), in the space's order; the first is the default. */
  layerOptions: number[];
  /** The first layer option (kept for callers that search one depth). */
  layers: number;
}

/** A point of the integer box: counts per proposer (in `dims.proposers` order), an aggregator and a depth index. */
export interface Point {
  counts: number[];
  agg: number;
  /** Index into `dims.layerOptions` (0 when absent). */
  depth?: number;
}

export function searchDims(space: SearchSpace): SearchDims {
  const proposers = modelsWithRole(space, 'proposer').map((m) => ({ id: m.id, max: m.maxCopies }));
  if (!proposers.length) throw new InputError('no model has the proposer role: nothing to search', { file: space.file, field: 'models' });
  // Without an explicit list, the first model allowed to aggregate is the aggregator (the space's order says preference).
  const aggregators = space.search.aggregators ?? modelsWithRole(space, 'aggregator').slice(0, 1).map((m) => m.id);
  if (!aggregators.length) throw new InputError('no aggregator: give search.aggregators or a model with the aggregator role', { file: space.file, field: 'search.aggregators' });
  const raw = space.search.layers;
  const layerOptions = [...new Set(typeof raw === 'number' ? [raw] : raw)];
  if (layerOptions.some((l) => l < 2)) throw new InputError('search.layers must be at least 2 to search proposers', { file: space.file, field: 'search.layers' });
  return { proposers, aggregators, layerOptions, layers: layerOptions[0]! };
}

export function pointKey(p: Point): string {
  return `${p.agg}:${p.counts.join(',')}${p.depth ? `:L${p.depth}` : ''}`;
}

export function totalCount(p: Point): number {
  return p.counts.reduce((a, b) => a + b, 0);
}

/** The mixture a point stands for; all-zero counts is the aggregator answering alone (at any depth). */
export function toMixture(dims: SearchDims, p: Point): Mixture {
  const agg = dims.aggregators[p.agg]!;
  if (totalCount(p) === 0) return singleModelMixture(agg);
  const counts: ModelCounts = {};
  p.counts.forEach((c, i) => {
    if (c > 0) counts[dims.proposers[i]!.id] = c;
  });
  return uniformMixture(counts, agg, dims.layerOptions[p.depth ?? 0]!);
}

/** The point a stored mixture stands for, or undefined when it lies outside the search's box (other shape). */
export function fromMixtureFile(dims: SearchDims, mf: MixtureFile): Point | undefined {
  if ((mf.mode ?? 'synthesize') !== 'synthesize' || mf.summarizer || mf.prompts) return undefined;
  const agg = dims.aggregators.indexOf(mf.aggregator);
  if (agg < 0) return undefined;
  const counts = dims.proposers.map(() => 0);
  let proposers: ModelCounts | undefined;
  let total: number;
  if (typeof mf.layers === 'number') {
    if (mf.layers === 1) return { counts, agg };
    total = mf.layers;
    proposers = mf.proposers;
  } else {
    total = mf.layers.length + 1;
    const first = JSON.stringify(sortKeys(mf.layers[0]!));
    if (!mf.layers.every((l) => JSON.stringify(sortKeys(l)) === first)) return undefined;
    proposers = mf.layers[0];
  }
  const depth = dims.layerOptions.indexOf(total);
  if (depth < 0 || !proposers) return undefined;
  for (const [id, n] of Object.entries(proposers)) {
    const i = dims.proposers.findIndex((p) => p.id === id);
    if (i < 0 || n > dims.proposers[i]!.max) return undefined;
    counts[i] = n;
  }
  return depth ? { counts, agg, depth } : { counts, agg };
}

function sortKeys(c: ModelCounts): ModelCounts {
  return Object.fromEntries(Object.entries(c).sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * GP inputs: counts scaled to [0, 1]; the total number of proposer copies scaled to [0, 1] (how many references the
 * aggregator reads matters on its own — too few and too many both hurt — and is a diagonal a product kernel on the
 * counts learns slowly); a one-hot aggregator block when there is a choice of aggregator; the depth scaled to [0, 1]
 * when there is a choice of layer count.
 */
export function features(dims: SearchDims, p: Point): number[] {
  return featuresOf(dims, p.counts.map((c, i) => c / dims.proposers[i]!.max), p.agg, p.depth ?? 0);
}

/** `features` of a continuous point: u = counts / maxCopies in [0, 1]. */
export function featuresOf(dims: SearchDims, u: readonly number[], agg: number, depth = 0): number[] {
  const x = [...u, totalFeature(dims, u)];
  if (dims.aggregators.length > 1) dims.aggregators.forEach((_, a) => x.push(a === agg ? 1 : 0));
  if (dims.layerOptions.length > 1) x.push(depth / (dims.layerOptions.length - 1));
  return x;
}

function totalFeature(dims: SearchDims, u: readonly number[]): number {
  const all = dims.proposers.reduce((s, p) => s + p.max, 0);
  return u.reduce((s, v, i) => s + v * dims.proposers[i]!.max, 0) / all;
}

/** Chain rule back to u: the gradient of a function of `featuresOf(dims, u, …)` with respect to u. */
export function gradientToU(dims: SearchDims, grad: readonly number[]): number[] {
  const d = dims.proposers.length;
  const all = dims.proposers.reduce((s, p) => s + p.max, 0);
  return dims.proposers.map((p, i) => grad[i]! + (grad[d]! * p.max) / all);
}

/** Number of mixtures with at least one proposer. */
export function boxSize(dims: SearchDims): number {
  const per = dims.proposers.reduce((s, p) => s * (p.max + 1), 1) - 1;
  return per * dims.aggregators.length * dims.layerOptions.length;
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
