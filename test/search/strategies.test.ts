import { describe, expect, it } from 'vitest';
import { parseSpace, toMixtureFile, mixtureKey, InputError } from '../../src/config/index.js';
import { searchDims, toMixture, pointKey, fromMixtureFile, boxSize, type Point, type SearchDims } from '../../src/search/encoding.js';
import { STRATEGIES, checkExhaustive, enumeratePoints, initialDesign, integerNeighbours } from '../../src/search/strategies/index.js';
import { chooseBest } from '../../src/search/answer.js';
import { mulberry32 } from '../../src/random.js';
import type { TrialRecord } from '../../src/search/types.js';
import type { Strategy } from '../../src/search/strategies/types.js';

function space(n: number, maxCopies = 3, aggregators?: string[]) {
  const models = Array.from({ length: n }, (_, i) => `  - { id: M${i}, provider: p, price: { input: 1, output: 1 }, maxCopies: ${maxCopies} }`).join('\n');
  const search = aggregators ? `search: { layers: 2, aggregators: [${aggregators.join(', ')}] }\n` : '';
  return parseSpace(`providers:\n  p: { baseURL: "http://127.0.0.1:1/v1", keyless: true }\nmodels:\n${models}\n${search}`, 'synthetic.yaml');
}

/** A smooth synthetic objective with diminishing returns and an interior optimum (known by enumeration). */
function objective(dims: SearchDims) {
  const w = [6, 4.5, 3, 2, 1, -1, 2.5, 1.5, 0.5, -0.5, 1, 0.2];
  return (p: Point) => {
    let s = 30 + (p.agg === 1 ? 3 : 0);
    let total = 0;
    p.counts.forEach((c, i) => {
      s += w[i % w.length]! * Math.sqrt(c);
      total += c;
    });
    return s - 0.35 * total ** 1.5 / Math.sqrt(dims.proposers.length / 6);
  };
}

/** Run a strategy against the objective in memory, with seeded observation noise and an honest CI. */
function run(strategy: Strategy, dims: SearchDims, f: (p: Point) => number, evals: number, seed: number, noiseSd = 2): TrialRecord[] {
  const history: TrialRecord[] = [];
  const rand = mulberry32(seed + 1000);
  for (let i = 0; i < evals; i++) {
    const s = strategy.suggest(history, { dims, seed });
    if (!s) break;
    expect(s.mixture).toEqual(toMixture(dims, s.point));
    const gauss = Math.sqrt(-2 * Math.log(rand() + 1e-12)) * Math.cos(2 * Math.PI * rand());
    const score = f(s.point) + noiseSd * gauss;
    history.push({
      studyName: 't', number: i, kind: 'search', strategy: strategy.name,
      mixture: toMixtureFile(s.mixture), mixtureKey: mixtureKey(s.mixture), label: '', state: 'COMPLETE',
      score, ci: [score - 1.96 * noiseSd, score + 1.96 * noiseSd], startedAt: '',
    });
  }
  return history;
}

function optimum(dims: SearchDims, f: (p: Point) => number) {
  return Math.max(...enumeratePoints(dims).map(f));
}

const regretOf = (history: TrialRecord[], dims: SearchDims, f: (p: Point) => number, best: number) =>
  best - f(fromMixtureFile(dims, chooseBest(history, dims, 0)!.trial.mixture)!);

describe('encoding', () => {
  it('maps points to mixtures and back, with the aggregator alone at zero', () => {
    const dims = searchDims(space(3));
    expect(boxSize(dims)).toBe(63);
    const p = { counts: [2, 0, 1], agg: 0 };
    expect(fromMixtureFile(dims, toMixtureFile(toMixture(dims, p)))).toEqual(p);
    expect(toMixture(dims, { counts: [0, 0, 0], agg: 0 }).proposerLayers).toEqual([]);
    expect(fromMixtureFile(dims, { layers: 1, aggregator: 'M0', mode: 'synthesize' })).toEqual({ counts: [0, 0, 0], agg: 0 });
    expect(fromMixtureFile(dims, { layers: 3, proposers: { M0: 1 }, aggregator: 'M0', mode: 'synthesize' })).toBeUndefined();
    expect(fromMixtureFile(dims, { layers: 2, proposers: { M0: 4 }, aggregator: 'M0', mode: 'synthesize' })).toBeUndefined();
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

describe('strategies on a synthetic objective', () => {
  const dims = searchDims(space(6));
  const f = objective(dims);
  const best = optimum(dims, f);

  it('bfgs starts with all-models-once plus a space-filling design, then finds a near-optimum', () => {
    const design = initialDesign(dims, 7);
    expect(design[0]).toEqual({ counts: [1, 1, 1, 1, 1, 1], agg: 0 });
    expect(new Set(design.map(pointKey)).size).toBe(design.length);
    const h = run(STRATEGIES.bfgs, dims, f, 25, 7);
    expect(h.slice(0, design.length).map((t) => fromMixtureFile(dims, t.mixture))).toEqual(design);
    expect(new Set(h.map((t) => t.mixtureKey)).size).toBe(h.length);
    expect(regretOf(h, dims, f, best)).toBeLessThan(2.5);
  });

  it('bfgs beats random on average at 20 evaluations', () => {
    let rb = 0;
    let rr = 0;
    for (const seed of [1, 2, 3]) {
      rb += regretOf(run(STRATEGIES.bfgs, dims, f, 20, seed), dims, f, best);
      rr += regretOf(run(STRATEGIES.random, dims, f, 20, seed), dims, f, best);
    }
    expect(rb).toBeLessThan(rr);
  });

  it('gives the same next suggestion from the same stored trials (resume)', () => {
    const h = run(STRATEGIES.bfgs, dims, f, 12, 5);
    for (const name of ['bfgs', 'random', 'greedy', 'exhaustive'] as const) {
      const a = STRATEGIES[name].suggest(h.slice(0, 11), { dims, seed: 5 });
      const b = STRATEGIES[name].suggest(JSON.parse(JSON.stringify(h.slice(0, 11))), { dims, seed: 5 });
      expect(a && pointKey(a.point)).toEqual(b && pointKey(b.point));
    }
  });

  it('random stays in the box, never repeats, and exhausts a small box', () => {
    const small = searchDims(space(2, 2));
    const h = run(STRATEGIES.random, small, objective(small), 50, 3);
    expect(h).toHaveLength(boxSize(small));
    expect(new Set(h.map((t) => t.mixtureKey)).size).toBe(h.length);
    expect(STRATEGIES.random.suggest(h, { dims: small, seed: 3 })).toBeNull();
  });

  it('greedy does forward selection and stops when nothing helps', () => {
    // Noise-free: greedy's path is determined by the objective.
    const h = run(STRATEGIES.greedy, dims, f, 100, 0, 0);
    const pts = h.map((t) => fromMixtureFile(dims, t.mixture)!);
    // Round 0: each proposer alone, in order
    expect(pts.slice(0, 6).map((p) => p.counts)).toEqual([0, 1, 2, 3, 4, 5].map((i) => [0, 1, 2, 3, 4, 5].map((j) => (j === i ? 1 : 0))));
    // Round 1 adds one copy to the best single proposer (M0, weight 6)
    expect(pts[6]!.counts).toEqual([2, 0, 0, 0, 0, 0]);
    // Each later point differs from a previous one by exactly one copy
    for (const p of pts.slice(6)) {
      expect(pts.some((q) => q.counts.reduce((s, c, i) => s + Math.abs(c - p.counts[i]!), 0) === 1)).toBe(true);
    }
    expect(h.length).toBeLessThan(100);
    expect(STRATEGIES.greedy.suggest(h, { dims, seed: 0 })).toBeNull();
    expect(regretOf(h, dims, f, best)).toBeLessThan(3);
  });

  it('exhaustive enumerates everything once and refuses big spaces', () => {
    const small = searchDims(space(3, 2));
    const h = run(STRATEGIES.exhaustive, small, objective(small), 100, 1, 0);
    expect(h).toHaveLength(26);
    expect(new Set(h.map((t) => t.mixtureKey)).size).toBe(26);
    const big = searchDims(space(12));
    expect(() => checkExhaustive(big, 'big.yaml')).toThrow(InputError);
    expect(() => checkExhaustive(big, 'big.yaml')).toThrow(/16777215 mixtures/);
  });

  it('searches several aggregators through one surrogate', () => {
    const two = searchDims(space(4, 2, ['M0', 'M1']));
    const g = objective(two);
    const h = run(STRATEGIES.bfgs, two, g, 20, 2, 1);
    const aggs = new Set(h.map((t) => t.mixture.aggregator));
    expect(aggs).toEqual(new Set(['M0', 'M1']));
    expect(regretOf(h, two, g, optimum(two, g))).toBeLessThan(2);
  });

  it('answers with the best posterior mean, not the luckiest score', () => {
    const small = searchDims(space(2, 2));
    const mk = (counts: number[], score: number, half: number, n: number): TrialRecord => {
      const m = toMixture(small, { counts, agg: 0 });
      return { studyName: 't', number: n, kind: 'search', strategy: 'x', mixture: toMixtureFile(m), mixtureKey: mixtureKey(m), label: '', state: 'COMPLETE', score, ci: [score - half, score + half], startedAt: '' };
    };
    // [2,2] got a lucky high score with a huge interval; its neighbours say it is mediocre.
    const h = [mk([1, 0], 50, 1, 0), mk([0, 1], 50, 1, 1), mk([1, 1], 60, 1, 2), mk([2, 1], 50, 1, 3), mk([1, 2], 50, 1, 4), mk([2, 2], 62, 40, 5)];
    expect(chooseBest(h, small, 0)!.trial.number).toBe(2);
  });
});

describe('inner optimizer', () => {
  it('bfgs strategy also runs with fmin Nelder–Mead on the acquisition', async () => {
    const { loadFmin } = await import('../../src/search/bfgs.js');
    await loadFmin();
    const dims = searchDims(space(4, 2));
    const f = objective(dims);
    const strategy = { name: 'bfgs-nm', suggest: (h: TrialRecord[], c: { dims: SearchDims; seed: number }) => STRATEGIES.bfgs.suggest(h, { ...c, inner: 'nelder-mead' }) };
    const h = run(strategy, dims, f, 15, 1, 1);
    expect(h).toHaveLength(15);
    expect(regretOf(h, dims, f, optimum(dims, f))).toBeLessThan(2);
  });
});
