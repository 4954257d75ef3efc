import { pointKey, seedFor, toMixture, type Point } from '../encoding.js';
import { fitModel } from '../surrogate.js';
import { boxTrials } from './_history.js';
import type { StrategyContext, StudyView } from './types.js';

/** The warm design's note: its screens are counted by it, so the design stays stateless and resumes exactly. */
export const WARM_DESIGN_NOTE = 'warm design';
/** The warm design may use at most this share of the budget (like the cold initial design), and this many leaders. */
const SHARE = 0.3;
const LEADERS = 3;
/** Screens the design takes whatever their cost (the next one must still fit the budget). */
const MIN_SCREENS = 2;

export const isWarmStarted = (view: StudyView) => view.trials.some((t) => t.strategy === 'warm-start');

/**
 * A warm-started study's first screens, where what it imported says nothing: the imported leaders (by the model of
 * all observations) with each aggregator none of them used, and with one copy of each proposer none of them used.
 * Imported data already covers the old box, so the cold space-filling design would mostly re-learn it. Empty once
 * the design's screens reach its share of the budget.
 */
export function warmDesign(view: StudyView, ctx: StrategyContext, tried: ReadonlySet<string>): Point[] {
  const ids = ctx.fidelity.order.slice(0, ctx.fidelity.levels[0]!);
  const spent = view.observations.filter((o) => o.note === WARM_DESIGN_NOTE).reduce((a, o) => a + (o.projectedUsd ?? 0), 0);
  const { dims } = ctx;
  const imported = boxTrials(view, ctx).filter((b) => b.trial.strategy === 'warm-start');
  if (!imported.length) return [];
  const newAggs = dims.aggregators.map((_, i) => i).filter((i) => !imported.some((b) => b.point.agg === i));
  const newProps = dims.proposers.map((_, i) => i).filter((i) => !imported.some((b) => b.point.counts[i]! > 0));
  const model = fitModel(view.trials, view.observations, ctx.items, dims, seedFor(ctx.seed, view.observations.length));
  const mean = new Map(model.inBox.map((p) => [p.trial.number, p.estimate.mean]));
  const swaps = (point: Point): Point[] => newAggs.map((agg) => ({ ...point, agg }));
  const adds = (point: Point): Point[] => newProps.filter((i) => dims.proposers[i]!.max > 0).map((i) => ({ ...point, counts: point.counts.map((c, k) => (k === i ? 1 : c)) }));
  // Leaders with references (the aggregator-alone references say little about mixing), best first; each leader's
  // variants together, so that a small budget still tries every new model with the best leader.
  const ranked = imported.filter((b) => b.point.counts.some((c) => c > 0)).sort((a, b) => (mean.get(b.trial.number) ?? -Infinity) - (mean.get(a.trial.number) ?? -Infinity));
  const leaders = ranked.slice(0, LEADERS).map((b) => b.point);
  const out = leaders.flatMap((p) => [...swaps(p), ...adds(p)]);
  // Within the share: the untried screens' projected cost, in order.
  let usd = spent;
  let taken = view.observations.filter((o) => o.note === WARM_DESIGN_NOTE).length;
  return out.filter((p) => {
    if (tried.has(pointKey(p))) return false;
    usd += ctx.cost.measurement(toMixture(dims, p), ids, 0);
    return taken++ < MIN_SCREENS || usd <= SHARE * ctx.budget.total;
  });
}
