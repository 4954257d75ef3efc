import { bfgsFG, nelderMead } from '../bfgs.js';
import { expectedImprovement } from '../acquisition.js';
import { fitSurrogate } from '../answer.js';
import { boxSize, features, pointKey, seedFor, toMixture, totalCount, type Point, type SearchDims } from '../encoding.js';
import { mulberry32 } from '../../random.js';
import type { GaussianProcess } from '../gaussian-process.js';
import { countNonEmpty, observations, triedPoints } from './_history.js';
import type { Strategy, Suggestion } from './types.js';

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

/** How many space-filling points follow the all-models-once mixture. */
export function spaceFillingCount(dims: SearchDims): number {
  return (dims.proposers.length <= 8 ? 4 : 6) + (dims.aggregators.length - 1);
}

/**
 * Initial design: every proposer once under each aggregator in turn, then a Halton sequence with a seeded random
 * shift (Cranley–Patterson rotation), rounded to counts. Depends on the seed only.
 */
export function initialDesign(dims: SearchDims, seed: number): Point[] {
  const d = dims.proposers.length;
  const out: Point[] = [{ counts: dims.proposers.map(() => 1), agg: 0 }];
  const seen = new Set(out.map(pointKey));
  const rand = mulberry32(seedFor(seed, 0xd5));
  const shift = Array.from({ length: d + 1 }, () => rand());
  const want = 1 + spaceFillingCount(dims);
  for (let i = 1; out.length < want && i < 10_000; i++) {
    const u = (k: number) => (halton(i, PRIMES[k % PRIMES.length]!) + shift[k]!) % 1;
    const p: Point = {
      counts: dims.proposers.map((m, k) => Math.min(m.max, Math.floor(u(k) * (m.max + 1)))),
      agg: out.length % dims.aggregators.length,
    };
    if (totalCount(p) === 0 || seen.has(pointKey(p))) continue;
    seen.add(pointKey(p));
    out.push(p);
  }
  return out;
}

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));
const logit = (u: number) => Math.log(u / (1 - u));

/** Integer neighbours of a continuous optimum: floor/ceil of its most ambiguous coordinates, and ±1 moves. */
export function integerNeighbours(dims: SearchDims, u: number[], agg: number): Point[] {
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
    const p = { counts, agg };
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

/** EI below this (score points) everywhere: the surrogate expects nothing more from the box. */
const CONVERGED_EI = 1e-3;

/**
 * The paper's continuous relaxation done right: a GP surrogate of score against counts, BFGS from several starts
 * on expected improvement through x = maxCopies·sigmoid(z), then round and repair to the best untried integer
 * neighbour. Several aggregators share one GP through a one-hot block; the acquisition is maximized under each.
 */
export const bfgsStrategy: Strategy = {
  name: 'bfgs',
  suggest(history, { dims, seed, inner = 'bfgs' }) {
    const tried = triedPoints(history, dims);
    if (countNonEmpty(history, dims) >= boxSize(dims)) return null;
    for (const p of initialDesign(dims, seed)) {
      if (!tried.has(pointKey(p))) return { point: p, mixture: toMixture(dims, p), note: 'initial design' };
    }
    const obs = observations(history, dims);
    if (obs.length < 2) return randomSweep(dims, tried, seed, history.length, undefined, 0)?.suggestion ?? null;
    const gp = fitSurrogate(obs, dims, seedFor(seed, history.length));
    const best = Math.max(...obs.map((o) => gp.predict(features(dims, o.point)).mean));
    const rand = mulberry32(seedFor(seed, history.length, 0xbf65));
    const d = dims.proposers.length;
    const ei = (p: Point) => expectedImprovement(gp, features(dims, p), best).value;

    let choice: { p: Point; ei: number } | undefined;
    const consider = (p: Point) => {
      if (totalCount(p) === 0 || tried.has(pointKey(p))) return;
      const v = ei(p);
      if (!choice || v > choice.ei) choice = { p, ei: v };
    };
    for (let agg = 0; agg < dims.aggregators.length; agg++) {
      const ownObs = obs.filter((o) => o.point.agg === agg);
      const starts: number[][] = ownObs
        .map((o) => ({ o, m: gp.predict(features(dims, o.point)).mean }))
        .sort((a, b) => b.m - a.m)
        .slice(0, 3)
        .map(({ o }) => o.point.counts.map((c, i) => c / dims.proposers[i]!.max));
      while (starts.length < 6) starts.push(Array.from({ length: d }, () => rand()));
      for (const u0 of starts) {
        const z0 = u0.map((u) => logit(Math.min(0.95, Math.max(0.05, u))));
        const oneHot = dims.aggregators.length > 1 ? dims.aggregators.map((_, a) => (a === agg ? 1 : 0)) : [];
        // Minimize −EI over z; u = sigmoid(z) is the count scaled to [0, 1], so du/dz = u(1 − u).
        const negEi = (z: number[]) => {
          const u = z.map(sigmoid);
          const a = expectedImprovement(gp, [...u, ...oneHot], best);
          return { f: -a.value, g: u.map((ui, i) => -a.grad[i]! * ui * (1 - ui)) };
        };
        const res = inner === 'nelder-mead' ? nelderMead((z) => negEi(z).f, z0, { maxIter: 100 * d }) : bfgsFG(negEi, z0, { maxIter: 100, gtol: 1e-7 });
        for (const p of integerNeighbours(dims, res.x.map(sigmoid), agg)) consider(p);
      }
    }
    const modelTrials = history.length - initialDesign(dims, seed).length;
    if (choice && choice.ei < CONVERGED_EI && modelTrials >= 5) {
      // Double-check with a random sweep before declaring convergence: the starts may all sit in flat regions.
      const sweep = randomSweep(dims, tried, seed, history.length, gp, best);
      if (!sweep || sweep.ei < CONVERGED_EI) return null;
      return sweep.suggestion;
    }
    if (!choice) return randomSweep(dims, tried, seed, history.length, gp, best)?.suggestion ?? null;
    return withMean(gp, dims, choice.p, `EI=${choice.ei.toPrecision(3)}`);
  },
};

function withMean(gp: GaussianProcess, dims: SearchDims, p: Point, note: string): Suggestion {
  return { point: p, mixture: toMixture(dims, p), posteriorMean: gp.predict(features(dims, p)).mean, note };
}

/** Best of many random untried points by EI (or the first random one without a model). */
function randomSweep(
  dims: SearchDims,
  tried: Set<string>,
  seed: number,
  n: number,
  gp: GaussianProcess | undefined,
  best: number,
): { suggestion: Suggestion; ei: number } | undefined {
  const rand = mulberry32(seedFor(seed, n, 0xfa11));
  let choice: { p: Point; ei: number } | undefined;
  for (let i = 0; i < 2000; i++) {
    const p: Point = { counts: dims.proposers.map((m) => Math.floor(rand() * (m.max + 1))), agg: Math.floor(rand() * dims.aggregators.length) };
    if (totalCount(p) === 0 || tried.has(pointKey(p))) continue;
    if (!gp) return { suggestion: { point: p, mixture: toMixture(dims, p), note: 'random (no model yet)' }, ei: NaN };
    const v = expectedImprovement(gp, features(dims, p), best).value;
    if (!choice || v > choice.ei) choice = { p, ei: v };
  }
  if (!choice || !gp) return undefined;
  return { suggestion: withMean(gp, dims, choice.p, `EI=${choice.ei.toPrecision(3)} (random sweep)`), ei: choice.ei };
}
