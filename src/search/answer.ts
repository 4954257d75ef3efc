import type { SurrogateModel } from './surrogate.js';
import type { Estimate, TrialRecord } from './types.js';

const Z95 = 1.959964;

export interface Answer {
  trial: TrialRecord;
  /** What the search prints: the model's estimate for the whole validation set and its 95% interval. */
  estimate: Estimate;
  /** Competing mixtures by estimate, best first (the answer is [0], the runner-up [1]). */
  ranking: Array<{ trial: TrialRecord; estimate: Estimate }>;
  /** Every evaluated mixture's estimate by trial number (references of another shape included, unranked). */
  estimates: Map<number, Estimate>;
}

function estimateOf(mean: number, variance: number, prompts: number, measurements: number): Estimate {
  const sd = Math.sqrt(Math.max(0, variance));
  return { mean, sd, ci: [mean - Z95 * sd, mean + Z95 * sd], prompts, measurements };
}

/**
 * The search's answer, one rule for every strategy: the evaluated mixture in the search box with the best posterior
 * mean of the model of all observations (not the luckiest noisy score). Its printed score is that posterior mean —
 * the GP shrinks a lucky measurement toward what its neighbours and its own other measurements say, which removes
 * the winner's curse of reporting the best of many noisy scores — and its interval adds the difficulty of prompts no
 * mixture was judged on. Fixed references outside the box are estimated from their own data for comparison only.
 */
export function chooseAnswer(model: SurrogateModel): Answer | undefined {
  if (!model.points.length) return undefined;
  const shared = model.estimates.shared;
  const estimates = new Map<number, Estimate>();
  const ranked: Array<{ trial: TrialRecord; estimate: Estimate }> = [];
  for (const p of model.points) {
    const { prompts, measurements } = p.estimate;
    if (p.point) {
      const post = model.posterior(p.point);
      const e = estimateOf(post.mean, post.variance + shared, prompts, measurements);
      ranked.push({ trial: p.trial, estimate: e });
      estimates.set(p.trial.number, e);
    } else estimates.set(p.trial.number, estimateOf(p.estimate.mean, p.estimate.noise + shared, prompts, measurements));
  }
  // Only with nothing in the box do references compete (e.g. a study of fixed mixtures).
  if (!ranked.length) for (const p of model.points) ranked.push({ trial: p.trial, estimate: estimates.get(p.trial.number)! });
  // Ties (rare) go to the earlier trial, so the answer is stable.
  ranked.sort((a, b) => b.estimate.mean - a.estimate.mean || a.trial.number - b.trial.number);
  ranked.forEach((r, i) => (r.estimate.rank = i + 1));
  return { trial: ranked[0]!.trial, estimate: ranked[0]!.estimate, ranking: ranked, estimates };
}

/**
 * "The best" wherever it is asked (search summary, report, `pareto`): the competing mixture with the best estimate,
 * optionally among those whose deployment cost per query is within `maxCost`. Studies written before estimates fall
 * back to the highest measured score (ties: cheaper, then earlier).
 */
export function bestTrial<T extends Pick<TrialRecord, 'number' | 'score' | 'estimate' | 'costPerQuery'>>(trials: readonly T[], maxCost = Infinity): T | undefined {
  const fits = (t: T) => (t.costPerQuery ?? Infinity) <= maxCost || maxCost === Infinity;
  const ranked = trials.filter((t) => t.estimate?.rank !== undefined && fits(t));
  if (ranked.length) return ranked.reduce((a, b) => (b.estimate!.rank! < a.estimate!.rank! ? b : a));
  if (trials.some((t) => t.estimate?.rank !== undefined)) return undefined;
  let best: T | undefined;
  for (const t of trials) {
    if (t.score === undefined || !fits(t)) continue;
    const better = !best || t.score > best.score! || (t.score === best.score && ((t.costPerQuery ?? Infinity) < (best.costPerQuery ?? Infinity) || ((t.costPerQuery ?? Infinity) === (best.costPerQuery ?? Infinity) && t.number < best.number)));
    if (better) best = t;
  }
  return best;
}
