import { mulberry32 } from '../../random.js';
import { cheapEnd } from '../cost-design.js';
import type { DeploymentView } from '../constraints.js';
import { features, pointKey, seedFor, toMixture, type Point, type SearchDims } from '../encoding.js';
import { expectedHvImprovement, nonDominated, type Reference } from '../hypervolume.js';
import { fitModel, type SurrogateModel } from '../surrogate.js';
import { boxTrials, triedPoints, screen, type BoxTrial } from './_history.js';
import { affordableDesign } from './bfgs.js';
import { randomPoint } from './random.js';
import type { Strategy, StrategyContext, StudyView, Suggestion } from './types.js';

/** Random box points scored per step besides the cheap end and the neighbours of the front. */
const RANDOM_CANDIDATES = 600;
/** Screens priced exactly per step (by value, and by value per deployment dollar). */
const PRICED = 40;
/** Below this expected hypervolume gain (USD per query × score points) nothing is worth measuring. */
const CONVERGED_EHVI = 1e-8;

/** Hypervolume reference of a study: the cheapest single model's cost × 20, score 0 (the benchmark's too). */
export function frontReference(dims: SearchDims, deploy: DeploymentView): Reference {
  const singles = dims.aggregators.map((_, agg) => deploy.cost({ counts: dims.proposers.map(() => 0), agg }).usd);
  return { cost: 20 * Math.min(...singles), quality: 0 };
}

interface Option {
  suggestion: Suggestion;
  value: number;
  usd: number;
}

/** ±1 copy of each proposer and each other aggregator: the local moves around a front member. */
function neighbours(dims: SearchDims, p: Point): Point[] {
  const out: Point[] = [];
  p.counts.forEach((c, i) => {
    for (const d of [-1, 1]) {
      const n = c + d;
      if (n < 0 || n > dims.proposers[i]!.max) continue;
      const counts = [...p.counts];
      counts[i] = n;
      out.push({ ...p, counts });
    }
  });
  dims.aggregators.forEach((_, agg) => agg !== p.agg && out.push({ ...p, agg }));
  return out;
}

/**
 * `--objective pareto`: spend the budget on the whole quality-vs-cost front. Quality comes from the surrogate (the
 * GP's posterior mean, the answer rule's number), cost from the deployment projection (measured once evaluated).
 * Every option — screening a new mixture on the first or second fidelity level, or promoting an evaluated one to
 * its next level — is priced by the expected hypervolume improvement of the front of posterior means it would bring
 * (the change of a posterior mean after a measurement is normal, with the knowledge-gradient's spread) per
 * projected dollar; the best one the remaining budget affords is taken. The initial design covers the cost range.
 */
export const paretoStrategy: Strategy = {
  name: 'pareto',
  suggest(view, ctx) {
    const deploy = ctx.deployment;
    if (!deploy) throw new Error('the pareto strategy needs the study\'s deployment view');
    const level0 = ctx.fidelity.levels[0]!;
    const tried = triedPoints(view, ctx.dims);
    for (const p of affordableDesign(ctx)) if (!tried.has(pointKey(p))) return screen(ctx.dims, p, level0, 'initial design (cost range)');
    const model = fitModel(view.trials, view.observations, ctx.items, ctx.dims, seedFor(ctx.seed, view.observations.length));
    if (!model.gp) return null;
    return chooseForFront(view, ctx, deploy, model, tried);
  },
};

function chooseForFront(view: StudyView, ctx: StrategyContext, deploy: DeploymentView, model: SurrogateModel, tried: Set<string>): Suggestion | null {
  const { dims, fidelity } = ctx;
  const gp = model.gp!;
  const ref = frontReference(dims, deploy);
  const estimated = new Set(model.inBox.map((p) => p.trial.number));
  const box = boxTrials(view, ctx).filter((b) => estimated.has(b.trial.number) && deploy.feasible(b.point));
  const current = box.map((b) => ({ b, cost: deploy.cost(b.point).usd, quality: gp.predict(features(dims, b.point)).mean }));
  const front = nonDominated(current, ref);
  const options: Option[] = [];
  // Promotions of front members: a tighter estimate can move the front (up or down) and gives its interval.
  for (const f of front) {
    const others = front.filter((o) => o !== f);
    for (const o of promotions(f.b, model, ctx)) {
      const sd = spreadAfter(model, f.b.point, o.noise);
      const value = expectedHvImprovement(others, ref, f.cost, f.quality, sd) - expectedHvImprovement(others, ref, f.cost, f.quality, 0);
      options.push({ suggestion: o.suggestion, value, usd: o.usd });
    }
  }
  const screens: Array<Option & { proxy: number; mixture: ReturnType<typeof toMixture>; ids: string[] }> = [];
  const screenNoise = fidelity.levels.slice(0, 2).map((level) => model.estimates.noiseOf(new Map(fidelity.order.slice(0, level).map((id) => [id, 1]))));
  for (const p of candidates(dims, deploy, front.map((f) => f.b.point), tried, mulberry32(seedFor(ctx.seed, view.observations.length, 0xfa7e)))) {
    const { mean, variance } = gp.predict(features(dims, p));
    const mixture = toMixture(dims, p);
    for (const [k, level] of fidelity.levels.slice(0, 2).entries()) {
      const ids = fidelity.order.slice(0, level);
      const value = expectedHvImprovement(front, ref, deploy.cost(p).usd, mean, variance / Math.sqrt(variance + screenNoise[k]!));
      screens.push({ suggestion: screen(dims, p, level, '', mean), value, usd: NaN, proxy: value / (level * deploy.cost(p).usd), mixture, ids });
    }
  }
  // Pricing a measurement is the costly part: only the leaders by value, and by value per deployment dollar, are priced.
  const leaders = new Set([...[...screens].sort((a, b) => b.value - a.value).slice(0, PRICED), ...[...screens].sort((a, b) => b.proxy - a.proxy).slice(0, PRICED)]);
  for (const o of leaders) options.push({ suggestion: o.suggestion, value: o.value, usd: ctx.cost.measurement(o.mixture, o.ids, 0) });
  const left = ctx.budget.total - ctx.budget.spent;
  const worth = options.filter((o) => o.value >= CONVERGED_EHVI);
  if (!worth.length) return null;
  const fit = worth.filter((o) => o.usd <= left);
  // What is worth measuring but does not fit goes back as is: the loop stops on the budget.
  if (!fit.length) return worth.reduce((x, y) => (y.usd < x.usd ? y : x)).suggestion;
  const pick = fit.reduce((x, y) => (y.value / y.usd > x.value / x.usd ? y : x));
  return { ...pick.suggestion, note: `EHVI ${pick.value.toPrecision(3)} for $${pick.usd.toFixed(4)}` };
}

/** Spread of the posterior mean at `p` after one more observation with `noise` variance there. */
function spreadAfter(model: SurrogateModel, p: Point, noise: number): number {
  const v = model.gp!.predict(features(model.dims, p)).variance;
  return v / Math.sqrt(v + noise);
}

/** New mixtures worth scoring: the cheap end, neighbours of the front and random box points, likely feasible and untried. */
function candidates(dims: SearchDims, deploy: DeploymentView, front: Point[], tried: Set<string>, rand: () => number): Point[] {
  const out = new Map<string, Point>();
  const pool = [...cheapEnd(dims), ...front.flatMap((p) => neighbours(dims, p)), ...Array.from({ length: RANDOM_CANDIDATES }, () => randomPoint(dims, rand))];
  for (const p of pool) {
    const k = pointKey(p);
    if (!tried.has(k) && !out.has(k) && deploy.feasible(p)) out.set(k, p);
  }
  return [...out.values()];
}

/** The next fidelity level of an evaluated mixture at offset 0 (only the prompts it has not seen). */
function promotions(b: BoxTrial, model: SurrogateModel, ctx: StrategyContext): Array<{ suggestion: Suggestion; noise: number; usd: number }> {
  const { fidelity, dims } = ctx;
  const current = model.estimates.byTrial.get(b.trial.number)?.noise;
  const have = b.seen.get(0) ?? new Set<string>();
  const level = fidelity.levels.find((l) => l > have.size);
  if (current === undefined || level === undefined) return [];
  const ids = fidelity.order.slice(0, level).filter((id) => !have.has(id));
  const after = new Map<string, number>();
  for (const s of b.seen.values()) for (const id of s) after.set(id, (after.get(id) ?? 0) + 1);
  for (const id of ids) after.set(id, (after.get(id) ?? 0) + 1);
  const v = model.estimates.noiseOf(after);
  if (!(v < current) || !ids.length) return [];
  const mixture = toMixture(dims, b.point);
  return [{ suggestion: { point: b.point, mixture, fidelity: level, sampleOffset: 0, purpose: 'promote', note: '' }, noise: 1 / (1 / v - 1 / current), usd: ctx.cost.measurement(mixture, ids, 0) }];
}
