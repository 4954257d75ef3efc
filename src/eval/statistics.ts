import { mulberry32 } from '../random.js';
import type { PromptOutcome } from './types.js';

export interface BootstrapOptions {
  /** Number of bootstrap resamples (default 2000). */
  resamples?: number;
  /** PRNG seed: same seed, same interval. */
  seed?: number;
  /** Two-sided confidence level (default 0.95). */
  confidence?: number;
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i]!;
  return xs.length ? s / xs.length : NaN;
}

/** Standard error of the mean, with the n−1 sample variance (what AlpacaEval reports, ×100). */
export function standardError(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return NaN;
  const m = mean(xs);
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (xs[i]! - m) ** 2;
  return Math.sqrt(ss / (n - 1) / n);
}

/** Linear-interpolated quantile of an ascending-sorted array. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (!n) return NaN;
  const pos = (n - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

/** Values grouped by source, sources in sorted order (so the PRNG stream, hence the CI, is deterministic). */
function groupBySource(outcomes: readonly PromptOutcome[], value: (o: PromptOutcome, i: number) => number): Array<[string, Float64Array]> {
  const groups = new Map<string, number[]>();
  outcomes.forEach((o, i) => {
    let g = groups.get(o.source);
    if (!g) groups.set(o.source, (g = []));
    g.push(value(o, i));
  });
  return [...groups.keys()].sort().map((s) => [s, Float64Array.from(groups.get(s)!)]);
}

export interface StratifiedBootstrap {
  /** The statistic on the data: mean over sources of per-source means. */
  estimate: number;
  ci: [number, number];
  bySource: Record<string, { estimate: number; ci: [number, number]; n: number }>;
}

/**
 * Percentile bootstrap of "mean over sources of the per-source mean", resampling prompts with replacement
 * within each source (stratified), so every resample keeps the sources' sizes and weights.
 */
export function stratifiedBootstrap(groups: Array<[string, Float64Array]>, opts: BootstrapOptions = {}): StratifiedBootstrap {
  const B = opts.resamples ?? 2000;
  const alpha = (1 - (opts.confidence ?? 0.95)) / 2;
  const rand = mulberry32(opts.seed ?? 0);
  const S = groups.length;
  if (!S) throw new RangeError('bootstrap of an empty sample');
  const perSource = groups.map(() => new Float64Array(B));
  const overall = new Float64Array(B);
  for (let b = 0; b < B; b++) {
    let total = 0;
    for (let s = 0; s < S; s++) {
      const xs = groups[s]![1];
      const n = xs.length;
      let sum = 0;
      for (let k = 0; k < n; k++) sum += xs[Math.floor(rand() * n)]!;
      const m = sum / n;
      perSource[s]![b] = m;
      total += m;
    }
    overall[b] = total / S;
  }
  const interval = (arr: Float64Array): [number, number] => {
    arr.sort();
    return [quantileSorted(arr, alpha), quantileSorted(arr, 1 - alpha)];
  };
  const bySource: StratifiedBootstrap['bySource'] = {};
  let est = 0;
  groups.forEach(([name, xs], s) => {
    const m = mean(xs);
    est += m;
    bySource[name] = { estimate: m, ci: interval(perSource[s]!), n: xs.length };
  });
  return { estimate: est / S, ci: interval(overall), bySource };
}

/** Bootstrap the headline score (0–100) and per-source win rates of one mixture's outcomes. */
export function bootstrapScores(outcomes: readonly PromptOutcome[], opts: BootstrapOptions = {}): StratifiedBootstrap {
  const r = stratifiedBootstrap(groupBySource(outcomes, (o) => 100 * o.preference), opts);
  return r;
}

export interface PairedDifference {
  /** score(a) − score(b) on the shared prompts, 0–100 points. */
  diff: number;
  ci: [number, number];
  /** True when the interval excludes 0: the data can tell the two mixtures apart. */
  distinguishable: boolean;
  /** Number of shared prompts. */
  n: number;
  bySource: Record<string, { diff: number; ci: [number, number]; n: number }>;
}

export class UnpairedOutcomesError extends Error {
  override readonly name = 'UnpairedOutcomesError';
  constructor(readonly reason: string) {
    super(`cannot pair outcomes: ${reason}`);
  }
}

/**
 * Paired difference between two mixtures evaluated on the same prompts: each resample draws the same
 * prompts for both, so prompt difficulty cancels and the interval is much narrower than comparing two CIs.
 * Prompts are matched by id; prompts only one side has are ignored (and an empty overlap is an error).
 */
export function pairedDifference(a: readonly PromptOutcome[], b: readonly PromptOutcome[], opts: BootstrapOptions = {}): PairedDifference {
  const byId = new Map(b.map((o) => [o.id, o]));
  const shared: PromptOutcome[] = [];
  const diffs: number[] = [];
  for (const o of a) {
    const other = byId.get(o.id);
    if (!other) continue;
    if (other.source !== o.source) throw new UnpairedOutcomesError(`prompt ${o.id} has source ${o.source} in one and ${other.source} in the other`);
    shared.push(o);
    diffs.push(100 * (o.preference - other.preference));
  }
  if (!shared.length) throw new UnpairedOutcomesError('the two evaluations share no prompt id');
  const r = stratifiedBootstrap(groupBySource(shared, (_o, i) => diffs[i]!), opts);
  const bySource: PairedDifference['bySource'] = {};
  for (const [s, v] of Object.entries(r.bySource)) bySource[s] = { diff: v.estimate, ci: v.ci, n: v.n };
  return { diff: r.estimate, ci: r.ci, distinguishable: r.ci[0] > 0 || r.ci[1] < 0, n: shared.length, bySource };
}
