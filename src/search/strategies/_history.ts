import { fromMixtureFile, pointKey, toMixture, totalCount, type Point, type SearchDims } from '../encoding.js';
import { levelReached, promptsSeen } from '../fidelity.js';
import type { TrialRecord } from '../types.js';
import type { StrategyContext, StudyView, Suggestion } from './types.js';

/** A mixture of the box the study has measured (or started to), with what it was judged on. */
export interface BoxTrial {
  trial: TrialRecord;
  point: Point;
  /** Prompts judged per sample offset (complete measurements). */
  seen: Map<number, Set<string>>;
  /** Highest fidelity level complete at offset 0. */
  level: number;
}

export function boxTrials(view: StudyView, ctx: Pick<StrategyContext, 'dims' | 'fidelity'>): BoxTrial[] {
  const out: BoxTrial[] = [];
  for (const t of view.trials) {
    const point = fromMixtureFile(ctx.dims, t.mixture);
    if (!point) continue;
    const seen = promptsSeen(view.observations, t.number);
    out.push({ trial: t, point, seen, level: levelReached(ctx.fidelity, seen, 0) });
  }
  return out;
}

/** Points already tried in any state: a failed mixture is not proposed again as a new one. */
export function triedPoints(view: StudyView, dims: SearchDims): Set<string> {
  const s = new Set<string>();
  for (const t of view.trials) {
    const p = fromMixtureFile(dims, t.mixture);
    if (p) s.add(pointKey(p));
  }
  return s;
}

/** How many distinct points with at least one proposer were tried (to know when the box is exhausted). */
export function countNonEmpty(view: StudyView, dims: SearchDims): number {
  let n = 0;
  for (const t of view.trials) {
    const p = fromMixtureFile(dims, t.mixture);
    if (p && totalCount(p) > 0) n++;
  }
  return n;
}

/** Search measurements so far (what `--max-evals` counts), RUNNING ones included; those a warm start imported are not this study's. */
export function searchMeasurements(view: StudyView): number {
  return view.observations.filter((o) => o.purpose !== 'reference' && o.strategy !== 'warm-start').length;
}

/** Measurements fixed-fidelity baselines aim to afford: enough points for the answer's model to work with. */
export const FIXED_FIDELITY_EVALS = 12;

/**
 * The fidelity of strategies that measure every mixture once on the same prompts (random, greedy, exhaustive): the
 * most prompts at which the budget affords about FIXED_FIDELITY_EVALS measurements of a typical mixture (every
 * proposer once, averaged over aggregators), from priors so it never drifts while the study runs.
 */
export function fixedFidelity(ctx: StrategyContext): number {
  const { dims, fidelity } = ctx;
  const typical = dims.aggregators.map((_, agg) => toMixture(dims, { counts: dims.proposers.map(() => 1), agg }));
  let chosen = fidelity.levels[0]!;
  for (const level of fidelity.levels) {
    const ids = fidelity.order.slice(0, level);
    const usd = typical.reduce((a, m) => a + ctx.prior.measurement(m, ids, 0), 0) / typical.length;
    if (usd * FIXED_FIDELITY_EVALS <= ctx.budget.total) chosen = level;
  }
  return chosen;
}

/** A first measurement of a new point at `fidelity`, offset 0. */
export function screen(dims: SearchDims, p: Point, fidelity: number, note: string, posteriorMean?: number): Suggestion {
  return { point: p, mixture: toMixture(dims, p), fidelity, sampleOffset: 0, purpose: 'screen', note, ...(posteriorMean !== undefined ? { posteriorMean } : {}) };
}
