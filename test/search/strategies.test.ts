import { describe, expect, it } from 'vitest';
import { parseSpace, toMixtureFile, InputError } from '../../src/config/index.js';
import { searchDims, toMixture, pointKey, fromMixtureFile, boxSize, features, type Point, type SearchDims } from '../../src/search/encoding.js';
import { STRATEGIES, checkExhaustive, enumeratePoints, initialDesign, integerNeighbours, fixedFidelity } from '../../src/search/strategies/index.js';
import { chooseAnswer } from '../../src/search/answer.js';
import { fitModel } from '../../src/search/surrogate.js';
import { knowledgeGradient } from '../../src/search/knowledge-gradient.js';
import type { Strategy } from '../../src/search/strategies/types.js';
import { SyntheticStudy } from './_synthetic.js';

function space(n: number, maxCopies = 3, aggregators?: string[], layers = '2') {
  const models = Array.from({ length: n }, (_, i) => `  - { id: M${i}, provider: p, price: { input: 1, output: 1 }, maxCopies: ${maxCopies} }`).join('\n');
  const search = `search: { layers: ${layers}${aggregators ? `, aggregators: [${aggregators.join(', ')}]` : ''} }\n`;
  return parseSpace(`providers:\n  p: { baseURL: "http://127.0.0.1:1/v1", keyless: true }\nmodels:\n${models}\n${search}`, 'synthetic.yaml');
}

/** A smooth synthetic objective with diminishing returns and an interior optimum (known by enumeration). */
function objective(dims: SearchDims) {
  const w = [6, 4.5, 3, 2, 1, -1, 2.5, 1.5, 0.5, -0.5, 1, 0.2];
  return (p: Point) => {
    let s = 40 + (p.agg === 1 ? 3 : 0) - (p.depth ? 2 : 0);
    let total = 0;
    p.counts.forEach((c, i) => {
      s += w[i % w.length]! * Math.sqrt(c);
      total += c;
    });
    return s - 0.35 * total ** 1.5 / Math.sqrt(dims.proposers.length / 6);
  };
}

const optimum = (study: SyntheticStudy) => Math.max(...enumeratePoints(study.dims).map((p) => study.truth(p)));

function regretOf(study: SyntheticStudy, seed = 0): number {
  const a = chooseAnswer(fitModel(study.trials, study.observations, study.items, study.dims, seed))!;
  return optimum(study) - study.truth(fromMixtureFile(study.dims, a.trial.mixture)!);
}

describe('encoding', () => {
  it('maps points to mixtures and back, with the aggregator alone at zero and depth when searched', () => {
    const dims = searchDims(space(3));
    expect(boxSize(dims)).toBe(63);
    const p = { counts: [2, 0, 1], agg: 0 };
    expect(fromMixtureFile(dims, toMixtureFile(toMixture(dims, p)))).toEqual(p);
    expect(toMixture(dims, { counts: [0, 0, 0], agg: 0 }).proposerLayers).toEqual([]);
    expect(fromMixtureFile(dims, { layers: 1, aggregator: 'M0', mode: 'synthesize' })).toEqual({ counts: [0, 0, 0], agg: 0 });
    expect(fromMixtureFile(dims, { layers: 3, proposers: { M0: 1 }, aggregator: 'M0', mode: 'synthesize' })).toBeUndefined();
    expect(fromMixtureFile(dims, { layers: 2, proposers: { M0: 4 }, aggregator: 'M0', mode: 'synthesize' })).toBeUndefined();
    const deep = searchDims(space(3, 3, undefined, '[2, 3]'));
    expect(deep.layerOptions).toEqual([2, 3]);
    expect(boxSize(deep)).toBe(126);
    const q = { counts: [1, 0, 2], agg: 0, depth: 1 };
    expect(toMixture(deep, q).proposerLayers).toHaveLength(2);
    expect(fromMixtureFile(deep, toMixtureFile(toMixture(deep, q)))).toEqual(q);
    expect(features(deep, q).at(-1)).toBe(1);
  });

  it('rounds a continuous optimum to its integer neighbours', () => {
    const dims = searchDims(space(3));
    const ns = integerNeighbours(dims, [0.5, 1, 0], 0).map(pointKey);
    expect(ns).toContain('0:1,3,0');
    expect(ns).toContain('0:2,3,0');
    expect(ns).toContain('0:2,2,0'); // a ±1 move
    for (const k of ns) for (const c of k.split(':')[1]!.split(',').map(Number)) expect(c).toBeGreaterThanOrEqual(0);
  });
});

describe('knowledge gradient', () => {
  it('matches a Monte Carlo estimate of E[max(a + bZ)] − max a', () => {
    const a = [1, 0.5, 0.8, -1];
    const b = [0.2, 1.5, -0.7, 2];
    let s = 0;
    const N = 200_000;
    for (let i = 0; i < N; i++) {
      const u1 = (i + 0.5) / N;
      // inverse-CDF sampling on a grid is smooth enough here
      const z = Math.SQRT2 * erfinv(2 * u1 - 1);
      s += Math.max(...a.map((ai, j) => ai + b[j]! * z));
    }
    expect(knowledgeGradient(a, b)).toBeCloseTo(s / N - 1, 3);
    expect(knowledgeGradient([1, 0], [0, 0])).toBe(0);
  });
});

function erfinv(x: number): number {
  const a = 0.147;
  const l = Math.log(1 - x * x);
  const t = 2 / (Math.PI * a) + l / 2;
  let y = Math.sign(x) * Math.sqrt(Math.sqrt(t * t - l / a) - t);
  // two Newton steps on erf(y) = x
  for (let k = 0; k < 2; k++) y -= (erf(y) - x) / ((2 / Math.sqrt(Math.PI)) * Math.exp(-y * y));
  return y;
}
function erf(x: number): number {
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y = 1 - t * Math.exp(-x * x - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? y : -y;
}

describe('strategies on a synthetic objective', () => {
  const dims = searchDims(space(6));
  const f = objective(dims);

  it('bfgs starts with all-models-once plus a space-filling design, then screens, promotes and answers near the optimum', () => {
    const design = initialDesign(dims, 7);
    expect(design[0]).toEqual({ counts: [1, 1, 1, 1, 1, 1], agg: 0 });
    expect(new Set(design.map(pointKey)).size).toBe(design.length);
    const s = new SyntheticStudy(dims, f, { seed: 7, budget: 30 }).run(STRATEGIES.bfgs, 7, 80);
    // The design as far as its share of the budget goes (at least three points), in order.
    const used = s.trials.findIndex((t, i) => pointKey(fromMixtureFile(dims, t.mixture)!) !== pointKey(design[i] ?? { counts: [], agg: -1 }));
    expect(used).toBeGreaterThanOrEqual(3);
    const purposes = new Set(s.observations.map((o) => o.purpose));
    expect(purposes.has('screen') && purposes.has('promote')).toBe(true);
    // Promotions pay only for new prompts: no prompt is judged twice at one sample offset.
    for (const t of s.trials) {
      const seen = s.observations.filter((o) => o.trial === t.number).flatMap((o) => o.promptIds.map((id) => `${o.sampleOffset}:${id}`));
      expect(new Set(seen).size).toBe(seen.length);
    }
    expect(s.spent).toBeLessThanOrEqual(30);
    expect(regretOf(s)).toBeLessThan(2.5);
  });

  it('bfgs beats random under the same budget, on average', () => {
    let rb = 0;
    let rr = 0;
    for (const seed of [1, 2, 3]) {
      rb += regretOf(new SyntheticStudy(dims, f, { seed, budget: 20 }).run(STRATEGIES.bfgs, seed, 80));
      rr += regretOf(new SyntheticStudy(dims, f, { seed, budget: 20 }).run(STRATEGIES.random, seed, 200));
    }
    expect(rb).toBeLessThan(rr);
  });

  it('gives the same next suggestion from the same stored records (resume)', () => {
    const s = new SyntheticStudy(dims, f, { seed: 5, budget: 50 }).run(STRATEGIES.bfgs, 5, 14);
    for (const name of ['bfgs', 'random', 'greedy', 'archon', 'exhaustive'] as const) {
      const a = STRATEGIES[name].suggest(s.view, s.ctx(5));
      const b = STRATEGIES[name].suggest(JSON.parse(JSON.stringify(s.view)), s.ctx(5));
      expect(a && [pointKey(a.point), a.fidelity, a.sampleOffset]).toEqual(b && [pointKey(b.point), b.fidelity, b.sampleOffset]);
    }
  });

  it('random stays in the box, never repeats, measures every mixture at one fidelity and exhausts a small box', () => {
    const small = searchDims(space(2, 2));
    const s = new SyntheticStudy(small, objective(small), { seed: 3, budget: 1e6 }).run(STRATEGIES.random, 3, 50);
    expect(s.trials).toHaveLength(boxSize(small));
    expect(new Set(s.trials.map((t) => t.mixtureKey)).size).toBe(s.trials.length);
    expect(new Set(s.observations.map((o) => o.fidelity)).size).toBe(1);
    expect(STRATEGIES.random.suggest(s.view, s.ctx(3))).toBeNull();
  });

  it('fixed-fidelity baselines measure on fewer prompts when the budget is small', () => {
    const s = new SyntheticStudy(dims, f, { seed: 1 });
    const levels = s.ctx(1).fidelity.levels;
    expect(levels).toEqual([25, 50, 100]);
    expect(fixedFidelity(s.ctx(1, { budget: { total: 1e6, spent: 0 } }))).toBe(100);
    expect(fixedFidelity(s.ctx(1, { budget: { total: 10, spent: 0 } }))).toBe(25);
  });

  it('greedy does forward selection under each aggregator and stops when nothing helps', () => {
    const s = new SyntheticStudy(dims, f, { seed: 0, noiseSd: 0, difficultySd: 0, budget: 1e6 }).run(STRATEGIES.greedy, 0, 100);
    const pts = s.trials.map((t) => fromMixtureFile(dims, t.mixture)!);
    expect(pts.slice(0, 6).map((p) => p.counts)).toEqual([0, 1, 2, 3, 4, 5].map((i) => [0, 1, 2, 3, 4, 5].map((j) => (j === i ? 1 : 0))));
    // Round 1 adds one copy to the best single proposer (M0, weight 6)
    expect(pts[6]!.counts).toEqual([2, 0, 0, 0, 0, 0]);
    for (const p of pts.slice(6)) expect(pts.some((q) => q.counts.reduce((a, c, i) => a + Math.abs(c - p.counts[i]!), 0) === 1)).toBe(true);
    expect(s.trials.length).toBeLessThan(100);
    expect(STRATEGIES.greedy.suggest(s.view, s.ctx(0))).toBeNull();
  });

  it('archon screens random mixtures on the smallest level, then re-ranks its top 10 on every prompt', () => {
    const s = new SyntheticStudy(dims, f, { seed: 4, budget: 25 }).run(STRATEGIES.archon, 4, 500);
    const levels = s.ctx(4).fidelity.levels;
    const screens = s.observations.filter((o) => o.purpose === 'screen');
    const promotions = s.observations.filter((o) => o.purpose === 'promote');
    expect(screens.every((o) => o.fidelity === levels[0])).toBe(true);
    expect(promotions.length).toBeGreaterThan(0);
    expect(promotions.length).toBeLessThanOrEqual(10);
    expect(promotions.every((o) => o.fidelity === levels.at(-1))).toBe(true);
    // Every promotion comes after the last screen, in order of screening score.
    expect(Math.max(...screens.map((o) => o.number))).toBeLessThan(Math.min(...promotions.map((o) => o.number)));
    const screenScore = (t: number) => screens.find((o) => o.trial === t)!.score ?? s.trials[t]!.score!;
    const order = promotions.map((o) => screenScore(o.trial));
    expect(order).toEqual([...order].sort((a, b) => b - a));
  });

  it('exhaustive enumerates everything once and refuses big spaces', () => {
    const small = searchDims(space(3, 2));
    const s = new SyntheticStudy(small, objective(small), { seed: 1, budget: 1e6 }).run(STRATEGIES.exhaustive, 1, 100);
    expect(s.trials).toHaveLength(26);
    const big = searchDims(space(12));
    expect(() => checkExhaustive(big, 'big.yaml')).toThrow(InputError);
    expect(() => checkExhaustive(big, 'big.yaml')).toThrow(/16777215 mixtures/);
  });

  it('searches several aggregators and depths through one surrogate', () => {
    const two = searchDims(space(4, 2, ['M0', 'M1'], '[2, 3]'));
    const s = new SyntheticStudy(two, objective(two), { seed: 2, budget: 25 }).run(STRATEGIES.bfgs, 2, 40);
    expect(new Set(s.trials.map((t) => t.mixture.aggregator))).toEqual(new Set(['M0', 'M1']));
    expect(new Set(s.trials.map((t) => fromMixtureFile(two, t.mixture)!.depth ?? 0))).toEqual(new Set([0, 1]));
    expect(regretOf(s)).toBeLessThan(4);
  });

  it('answers with the best posterior mean, not the luckiest score, and prints it without the luck', () => {
    // Twelve mixtures of equal truth, each judged once on the same 25 prompts: the raw best is pure luck.
    const flat = (p: Point) => 60 + 0 * p.counts[0]!;
    const s = new SyntheticStudy(dims, flat, { seed: 9, noiseSd: 20, budget: 1e6 });
    const pts = enumeratePoints(dims).filter((_, i) => i % 300 === 7).slice(0, 12);
    for (const p of pts) s.apply({ point: p, mixture: toMixture(dims, p), fidelity: 25, sampleOffset: 0, purpose: 'screen' }, 9);
    const a = chooseAnswer(fitModel(s.trials, s.observations, s.items, dims, 0))!;
    const luckiest = Math.max(...s.trials.map((t) => t.score!));
    const truth = s.truth(pts[0]!);
    expect(a.estimate.ci[0]).toBeLessThan(truth);
    expect(a.estimate.ci[1]).toBeGreaterThan(truth);
    expect(Math.abs(a.estimate.mean - truth)).toBeLessThan(Math.abs(luckiest - truth));
  });
});

describe('inner optimizer', () => {
  it('bfgs strategy also runs with fmin Nelder–Mead on the acquisition', async () => {
    const { loadFmin } = await import('../../src/search/bfgs.js');
    await loadFmin();
    const dims = searchDims(space(4, 2));
    const strategy: Strategy = { name: 'bfgs-nm', suggest: (v, c) => STRATEGIES.bfgs.suggest(v, { ...c, inner: 'nelder-mead' }) };
    const s = new SyntheticStudy(dims, objective(dims), { seed: 1, budget: 15 }).run(strategy, 1, 20);
    expect(s.observations.length).toBeGreaterThan(8);
    expect(regretOf(s)).toBeLessThan(3);
  });
});
