import { bfgsFG, nelderMead } from '../bfgs.js';
import { expectedImprovement } from '../acquisition.js';
import { boxSize, features, featuresOf, gradientToU, pointKey, seedFor, toMixture, totalCount, type Point, type SearchDims } from '../encoding.js';
import type { GaussianProcess } from '../gaussian-process.js';
import { knowledgeGradient } from '../knowledge-gradient.js';
import { fitModel, type SurrogateModel } from '../surrogate.js';
import { mulberry32 } from '../../random.js';
import { boxTrials, countNonEmpty, screen, triedPoints, type BoxTrial } from './_history.js';
import { randomPoint } from './random.js';
import { isWarmStarted, warmDesign, WARM_DESIGN_NOTE } from './_warm-design.js';
import type { Strategy, StrategyContext, StudyView, Suggestion } from './types.js';

const PRIMES = [2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97];

function halton(index: number, base: number): number {
  let f = 1;
  let r = 0;
  for (let i = index; i > 0; i = Math.floor(i / base)) {
    f /= base;
    r += f * (i % base);
  }
  return r;
}

/**
 * A point from d + 1 numbers in [0, 1): the last, t, sets the total number of copies (1 + ⌊t²·Σ maxCopies⌋: small
 * mixtures more often), the others how it is shared out (largest remainder, each model capped at its maxCopies).
 * Uniform counts per model would put almost every point near half the box's total, and good mixtures are often small.
 */
export function spreadPoint(dims: SearchDims, share: readonly number[], totalU: number, agg: number): Point {
  const cap = dims.proposers.map((m) => m.max);
  const all = cap.reduce((a, b) => a + b, 0);
  let left = Math.min(all, 1 + Math.floor(totalU * totalU * all));
  const counts = cap.map(() => 0);
  const w = share.map((x) => x + 1e-9);
  while (left > 0) {
    const open = counts.map((c, i) => (c < cap[i]! ? i : -1)).filter((i) => i >= 0);
    const sum = open.reduce((a, i) => a + w[i]!, 0);
    const want = open.map((i) => ({ i, x: (left * w[i]!) / sum }));
    let placed = 0;
    for (const { i, x } of want) {
      const n = Math.min(cap[i]! - counts[i]!, Math.floor(x));
      counts[i]! += n;
      placed += n;
    }
    left -= placed;
    if (left > 0 && placed === 0) {
      // Largest remainder: one copy to the most wanted model with room.
      const best = want.reduce((a, b) => (b.x - Math.floor(b.x) > a.x - Math.floor(a.x) ? b : a));
      counts[best.i]!++;
      left--;
    }
  }
  return { counts, agg };
}

/** How many space-filling points follow the all-models-once mixture. */
export function spaceFillingCount(dims: SearchDims): number {
  return (dims.proposers.length <= 8 ? 4 : 6) + (dims.aggregators.length - 1) + (dims.layerOptions.length - 1);
}

/**
 * Initial design: every proposer once, then a Halton sequence with a seeded random shift (Cranley–Patterson
 * rotation) rounded to counts, cycling through aggregators and depths. Depends on the seed only.
 */
export function initialDesign(dims: SearchDims, seed: number): Point[] {
  const d = dims.proposers.length;
  const out: Point[] = [{ counts: dims.proposers.map(() => 1), agg: 0 }];
  const seen = new Set(out.map(pointKey));
  const rand = mulberry32(seedFor(seed, 0xd5));
  const shift = Array.from({ length: d + 2 }, () => rand());
  const want = 1 + spaceFillingCount(dims);
  for (let i = 1; out.length < want && i < 10_000; i++) {
    const u = (k: number) => (halton(i, PRIMES[k % PRIMES.length]!) + shift[k]!) % 1;
    const p = spreadPoint(dims, Array.from({ length: d }, (_, k) => u(k)), u(d), out.length % dims.aggregators.length);
    const depth = Math.floor(out.length / dims.aggregators.length) % dims.layerOptions.length;
    if (depth) p.depth = depth;
    if (totalCount(p) === 0 || seen.has(pointKey(p))) continue;
    seen.add(pointKey(p));
    out.push(p);
  }
  return out;
}

/** The initial design may use at most this share of the budget (it is screened on the smallest fidelity level). */
const INITIAL_SHARE = 0.3;
const MIN_INITIAL = 3;

/** The design points the budget affords: the first MIN_INITIAL always, then while the design stays within its share. */
export function affordableDesign(ctx: StrategyContext): Point[] {
  const ids = ctx.fidelity.order.slice(0, ctx.fidelity.levels[0]!);
  const out: Point[] = [];
  let usd = 0;
  for (const p of ctx.design ?? initialDesign(ctx.dims, ctx.seed)) {
    usd += ctx.prior.measurement(toMixture(ctx.dims, p), ids, 0);
    if (out.length >= MIN_INITIAL && usd > INITIAL_SHARE * ctx.budget.total) break;
    out.push(p);
  }
  return out;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (u: number) => Math.log(u / (1 - u));

/** Integer neighbours of a continuous optimum: floor/ceil of its most ambiguous coordinates, and ±1 moves. */
export function integerNeighbours(dims: SearchDims, u: number[], agg: number, depth = 0): Point[] {
  const x = u.map((v, i) => v * dims.proposers[i]!.max);
  const base = x.map((v, i) => Math.min(dims.proposers[i]!.max, Math.max(0, Math.round(v))));
  const ambiguous = x
    .map((v, i) => ({ i, dist: Math.abs((v % 1) - 0.5) }))
    .filter((a) => a.dist < 0.3)
    .sort((a, b) => a.dist - b.dist)
    .slice(0, 8)
    .map((a) => a.i);
  const out = new Map<string, Point>();
  const add = (counts: number[]) => {
    const p: Point = depth ? { counts, agg, depth } : { counts, agg };
    out.set(pointKey(p), p);
  };
  for (let mask = 0; mask < 1 << ambiguous.length; mask++) {
    const c = base.slice();
    ambiguous.forEach((i, b) => (c[i] = mask & (1 << b) ? Math.ceil(x[i]!) : Math.floor(x[i]!)));
    add(c);
  }
  for (let i = 0; i < base.length; i++) {
    for (const step of [-1, 1]) {
      const c = base.slice();
      c[i]! += step;
      if (c[i]! >= 0 && c[i]! <= dims.proposers[i]!.max) add(c);
    }
  }
  return [...out.values()];
}

/** New points worth screening: per aggregator and depth, the untried integer points with the best expected improvement. */
function newCandidates(gp: GaussianProcess, dims: SearchDims, tried: Set<string>, incumbent: number, starts: Point[], rand: () => number, inner: 'bfgs' | 'nelder-mead', perGroup = 2, allowed: (p: Point) => boolean = () => true): Array<{ p: Point; ei: number }> {
  const d = dims.proposers.length;
  const out: Array<{ p: Point; ei: number }> = [];
  const ei = (p: Point) => expectedImprovement(gp, features(dims, p), incumbent).value;
  for (let depth = 0; depth < dims.layerOptions.length; depth++) {
    for (let agg = 0; agg < dims.aggregators.length; agg++) {
      const group = new Map<string, { p: Point; ei: number }>();
      const consider = (p: Point) => {
        const k = pointKey(p);
        if (totalCount(p) === 0 || tried.has(k) || group.has(k) || !allowed(p)) return;
        group.set(k, { p, ei: ei(p) });
      };
      const us: number[][] = starts.filter((p) => p.agg === agg && (p.depth ?? 0) === depth).map((p) => p.counts.map((c, i) => c / dims.proposers[i]!.max));
      while (us.length < 5) us.push(Array.from({ length: d }, () => rand()));
      for (const u0 of us) {
        const z0 = u0.map((u) => logit(Math.min(0.95, Math.max(0.05, u))));
        // Minimize −EI over z; u = sigmoid(z) is the count scaled to [0, 1], so du/dz = u(1 − u).
        const negEi = (z: number[]) => {
          const u = z.map(sigmoid);
          const a = expectedImprovement(gp, featuresOf(dims, u, agg, depth), incumbent);
          const g = gradientToU(dims, a.grad);
          return { f: -a.value, g: u.map((ui, i) => -g[i]! * ui * (1 - ui)) };
        };
        const res = inner === 'nelder-mead' ? nelderMead((z) => negEi(z).f, z0, { maxIter: 100 * d }) : bfgsFG(negEi, z0, { maxIter: 100, gtol: 1e-7 });
        for (const p of integerNeighbours(dims, res.x.map(sigmoid), agg, depth)) consider(p);
      }
      for (let i = 0; i < 200; i++) {
        const p = spreadPoint(dims, Array.from({ length: d }, () => rand()), rand(), agg);
        if (depth) p.depth = depth;
        consider(p);
      }
      out.push(...[...group.values()].sort((a, b) => b.ei - a.ei).slice(0, perGroup));
    }
  }
  return out;
}

interface Action {
  suggestion: Suggestion;
  /** Index into the KG point set of the point measured (existing) or -1 (a new point, appended). */
  index: number;
  /** Observation-noise variance of the new information, as one more GP observation. */
  noise: number;
  usd: number;
}

/** Judged prompts (id → replicates) of a mixture, from its complete measurements. */
function judgedOf(b: BoxTrial): Map<string, number> {
  const out = new Map<string, number>();
  for (const ids of b.seen.values()) for (const id of ids) out.set(id, (out.get(id) ?? 0) + 1);
  return out;
}

/**
 * More measurements of an evaluated mixture: promotions to each higher fidelity level at offset 0 (only the prompts it
 * has not seen), then, once it has every prompt, replicates on fresh samples at the next sample offset.
 */
function extensions(b: BoxTrial, model: SurrogateModel, ctx: StrategyContext, index: number): Action[] {
  const { fidelity, dims } = ctx;
  const est = model.estimates;
  const current = est.byTrial.get(b.trial.number)?.noise;
  if (current === undefined) return [];
  const judged = judgedOf(b);
  const out: Action[] = [];
  const mixture = toMixture(dims, b.point);
  const full = fidelity.levels.at(-1)!;
  let offset = 0;
  while ((b.seen.get(offset)?.size ?? 0) >= full) offset += fidelity.stride;
  const have = b.seen.get(offset) ?? new Set<string>();
  for (const level of fidelity.levels) {
    const ids = fidelity.order.slice(0, level).filter((id) => !have.has(id));
    if (!ids.length) continue;
    const after = new Map(judged);
    for (const id of ids) after.set(id, (after.get(id) ?? 0) + 1);
    const v = est.noiseOf(after);
    if (!(v < current)) continue;
    out.push({
      suggestion: { point: b.point, mixture, fidelity: level, sampleOffset: offset, purpose: offset === 0 ? 'promote' : 'replicate' },
      index,
      noise: 1 / (1 / v - 1 / current),
      usd: ctx.cost.measurement(mixture, ids, offset),
    });
  }
  return out;
}

/** KG of every action: how much the best posterior mean among measured mixtures is expected to rise. */
function scoreActions(model: SurrogateModel, measured: Point[], fresh: Point[], actions: Action[], dims: SearchDims): number[] {
  const gp = model.gp!;
  const xs = [...measured, ...fresh].map((p) => features(dims, p));
  const cov = gp.covariance(xs);
  const mu = xs.map((x) => gp.predict(x).mean);
  const n = measured.length;
  const base = mu.slice(0, n);
  return actions.map((a) => {
    const i = a.index;
    const sd = Math.sqrt(Math.max(1e-12, cov[i]![i]! + a.noise));
    if (i < n) return knowledgeGradient(base, base.map((_, j) => cov[j]![i]! / sd));
    return knowledgeGradient([...base, mu[i]!], [...base.map((_, j) => cov[j]![i]! / sd), cov[i]![i]! / sd]);
  });
}

/** Below this expected gain (score points) from any affordable measurement, the search has converged. */
const CONVERGED_KG = 1e-4;

/**
 * Multi-fidelity Bayesian optimization under noise. The model of all observations (prompt-adjusted estimates and a
 * GP over counts, aggregator and depth, each estimate with its own noise) prices every possible next measurement —
 * screening a new mixture (candidates from BFGS on expected improvement, the paper's continuous relaxation done right)
 * on the smallest or next fidelity level, promoting a measured one to a higher level (only the prompts it has not
 * seen), or replicating one on fresh samples — by its knowledge gradient (expected rise of the best posterior mean,
 * the quantity the answer is chosen by) per projected dollar, and takes the best one the remaining budget affords.
 * Cheap screens win while the model is unsure where the good region is; promotions and replicates of the few
 * leaders win once it must tell them apart.
 */
export const bfgsStrategy: Strategy = {
  name: 'bfgs',
  suggest(view, ctx) {
    const { dims, seed, fidelity } = ctx;
    const level0 = fidelity.levels[0]!;
    const tried = triedPoints(view, dims);
    if (isWarmStarted(view)) for (const p of warmDesign(view, ctx, tried)) return screen(dims, p, level0, WARM_DESIGN_NOTE);
    else for (const p of affordableDesign(ctx)) if (!tried.has(pointKey(p))) return screen(dims, p, level0, 'initial design');
    const model = fitModel(view.trials, view.observations, ctx.items, dims, seedFor(seed, view.observations.length));
    const rand = mulberry32(seedFor(seed, view.observations.length, 0xbf65));
    if (!model.gp) return randomScreen(view, ctx, rand);
    return choose(view, ctx, model, tried, rand);
  },
};

function randomScreen(view: StudyView, ctx: StrategyContext, rand: () => number): Suggestion | null {
  const tried = triedPoints(view, ctx.dims);
  if (countNonEmpty(view, ctx.dims) >= boxSize(ctx.dims)) return null;
  // Under caps the likely-feasible part of the box may be empty: give up after a bounded search.
  for (let i = 0; !ctx.deployment || i < 10_000; i++) {
    const p = randomPoint(ctx.dims, rand);
    if (!tried.has(pointKey(p)) && (ctx.deployment?.feasible(p) ?? true)) return screen(ctx.dims, p, ctx.fidelity.levels[0]!, 'random (no model yet)');
  }
  return null;
}

function choose(view: StudyView, ctx: StrategyContext, model: SurrogateModel, tried: Set<string>, rand: () => number): Suggestion | null {
  const { dims, fidelity } = ctx;
  const gp = model.gp!;
  const estimated = new Set(model.inBox.map((p) => p.trial.number));
  // Under deployment caps only feasible mixtures compete: the best among them is what a measurement should raise.
  const feasible = (p: Point) => ctx.deployment?.feasible(p) ?? true;
  const box = boxTrials(view, ctx).filter((b) => estimated.has(b.trial.number) && feasible(b.point));
  const measured = box.map((b) => b.point);
  const means = measured.map((p) => gp.predict(features(dims, p)).mean);
  const incumbent = means.length ? Math.max(...means) : Math.min(...model.inBox.map((p) => p.estimate.mean));
  const starts = box.map((b, i) => ({ b, m: means[i]! })).sort((a, b) => b.m - a.m).slice(0, 4).map(({ b }) => b.point);
  const exhausted = countNonEmpty(view, dims) >= boxSize(dims);
  const fresh = exhausted ? [] : newCandidates(gp, dims, tried, incumbent, starts, rand, ctx.inner ?? 'bfgs', 2, feasible).map((c) => c.p);

  const actions: Action[] = [];
  box.forEach((b, i) => actions.push(...extensions(b, model, ctx, i)));
  fresh.forEach((p, k) => {
    const mixture = toMixture(dims, p);
    for (const level of fidelity.levels.slice(0, 2)) {
      const ids = fidelity.order.slice(0, level);
      actions.push({
        suggestion: screen(dims, p, level, '', gp.predict(features(dims, p)).mean),
        index: measured.length + k,
        noise: model.estimates.noiseOf(new Map(ids.map((id) => [id, 1]))),
        usd: ctx.cost.measurement(mixture, ids, 0),
      });
    }
  });
  if (!actions.length) return null;
  const kg = scoreActions(model, measured, fresh, actions, dims);
  const left = ctx.budget.total - ctx.budget.spent;
  let pick = -1;
  for (let i = 0; i < actions.length; i++) {
    if (actions[i]!.usd > left) continue;
    if (pick < 0 || kg[i]! / actions[i]!.usd > kg[pick]! / actions[pick]!.usd) pick = i;
  }
  if (pick < 0 || kg[pick]! < CONVERGED_KG) {
    // What is still worth measuring does not fit: hand it back, and the loop stops on the budget.
    const worth = actions.map((a, i) => ({ a, v: kg[i]! })).filter((x) => x.v >= CONVERGED_KG);
    if (!worth.length) return null;
    return worth.reduce((x, y) => (y.a.usd < x.a.usd ? y : x)).a.suggestion;
  }
  const a = actions[pick]!;
  return { ...a.suggestion, note: `KG ${kg[pick]!.toPrecision(3)} for $${a.usd.toFixed(4)}` };
}


