import type { ValidationItem } from '../eval/types.js';
import { fromMixtureFile, features, pointKey, type Point, type SearchDims } from './encoding.js';
import { estimateScores, type EstimateSet, type MixtureEstimate } from './estimates.js';
import { GaussianProcess } from './gaussian-process.js';
import type { ObservationRecord, TrialRecord } from './types.js';

/** An evaluated mixture as the model sees it. */
export interface ModelPoint {
  trial: TrialRecord;
  /** Its point in the search box; undefined for references of another shape (they are estimated, not modelled). */
  point?: Point;
  estimate: MixtureEstimate;
}

/**
 * The model of all observations: prompt-adjusted estimates of every mixture (estimates.ts), and a Gaussian process
 * over the search box fitted to them with each estimate's own noise, so a mixture judged on more prompts and samples
 * counts for more. Strategies and the answer share it.
 */
export interface SurrogateModel {
  dims: SearchDims;
  estimates: EstimateSet;
  points: ModelPoint[];
  /** Points in the box, in trial order. */
  inBox: ModelPoint[];
  gp?: GaussianProcess;
  /** Posterior of a mixture's expected score on the whole validation set (GP where fitted, else its own estimate). */
  posterior(p: Point): { mean: number; variance: number };
}

/**
 * Lengthscale priors per feature (log-normal, on inputs scaled to [0, 1]): a proposer's count acts smoothly over its
 * whole range (median 2.5), the total number of copies bends sooner (median 0.5: too few and too many references
 * both hurt), aggregators and depths are categories (median 1).
 */
export function lengthscalePriors(dims: SearchDims): Array<{ mu: number; sd: number }> {
  const out = dims.proposers.map(() => ({ mu: Math.log(2.5), sd: 1 }));
  out.push({ mu: Math.log(0.5), sd: 1 });
  if (dims.aggregators.length > 1) for (const _ of dims.aggregators) out.push({ mu: 0, sd: 1 });
  if (dims.layerOptions.length > 1) out.push({ mu: 0, sd: 1 });
  return out;
}

/** Fit the GP to (point, estimate, noise) triples: scores 0–100. */
export function fitGp(data: Array<{ point: Point; mean: number; noise: number }>, dims: SearchDims, seed: number, restarts = 3): GaussianProcess {
  return GaussianProcess.fit(
    { X: data.map((o) => features(dims, o.point)), y: data.map((o) => o.mean), noise: data.map((o) => o.noise) },
    { seed, restarts, lengthscalePriors: lengthscalePriors(dims) },
  );
}

export function fitModel(trials: readonly TrialRecord[], observations: readonly ObservationRecord[], items: readonly ValidationItem[], dims: SearchDims, seed: number): SurrogateModel {
  const estimates = estimateScores(observations, items);
  const points: ModelPoint[] = [];
  for (const t of trials) {
    const estimate = estimates.byTrial.get(t.number);
    if (!estimate) continue;
    const point = fromMixtureFile(dims, t.mixture);
    points.push({ trial: t, ...(point ? { point } : {}), estimate });
  }
  const inBox = points.filter((p) => p.point);
  const gp = inBox.length >= 2 ? fitGp(inBox.map((p) => ({ point: p.point!, mean: p.estimate.mean, noise: p.estimate.noise })), dims, seed) : undefined;
  const own = new Map(inBox.map((p) => [pointKey(p.point!), p.estimate]));
  return {
    dims,
    estimates,
    points,
    inBox,
    ...(gp ? { gp } : {}),
    posterior(p) {
      if (gp) return gp.predict(features(dims, p));
      const e = own.get(pointKey(p));
      return e ? { mean: e.mean, variance: e.noise } : { mean: NaN, variance: Infinity };
    },
  };
}
