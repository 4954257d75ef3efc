import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { bootstrapScores, pairedDifference, scoreOutcomes, winRate, winRateStandardError, UnpairedOutcomesError } from '../../src/eval/index.js';
import { mulberry32 } from '../../src/random.js';
import type { PromptOutcome } from '../../src/eval/types.js';
import { HAVE_SHARED, shared } from './_data.js';

function outcome(id: string, source: string, preference: number): PromptOutcome {
  return { id, source, preference, candidateChars: 100, referenceChars: 100, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 };
}

/** n prompts per source with preferences drawn around p (deterministic). */
function sample(n: number, ps: Record<string, number>, seed = 1): PromptOutcome[] {
  const r = mulberry32(seed);
  const out: PromptOutcome[] = [];
  for (const [s, p] of Object.entries(ps)) for (let i = 0; i < n; i++) out.push(outcome(`${s}-${i}`, s, r() < p ? 1 : r() < 0.1 ? 0.5 : 0));
  return out;
}

describe('scores', () => {
  it('headline = mean of per-source win rates, not the pooled mean', () => {
    const o = [outcome('a1', 'a', 1), outcome('a2', 'a', 1), outcome('a3', 'a', 0), outcome('b1', 'b', 0)];
    const s = scoreOutcomes(o, { resamples: 200 });
    expect(s.bySource.a!.winRate).toBeCloseTo(200 / 3, 10);
    expect(s.bySource.b!.winRate).toBe(0);
    expect(s.score).toBeCloseTo(100 / 3, 10);
    expect(s.bySource.a!.n).toBe(3);
  });

  it('the bootstrap CI contains the estimate, is seeded, and shrinks with n', () => {
    const small = sample(25, { alpaca_eval: 0.6, arena_hard: 0.3 });
    const big = sample(400, { alpaca_eval: 0.6, arena_hard: 0.3 });
    const a = bootstrapScores(small, { seed: 3 });
    const b = bootstrapScores(big, { seed: 3 });
    for (const r of [a, b]) {
      expect(r.ci[0]).toBeLessThan(r.estimate);
      expect(r.ci[1]).toBeGreaterThan(r.estimate);
      for (const s of Object.values(r.bySource)) expect(s.ci[0] <= s.estimate && s.estimate <= s.ci[1]).toBe(true);
    }
    const width = (r: typeof a) => r.ci[1] - r.ci[0];
    // Width scales like 1/sqrt(n): 16× the data should give about a quarter of the width.
    expect(width(b)).toBeLessThan(width(a) / 2.5);
    expect(width(b)).toBeGreaterThan(width(a) / 6);
    expect(bootstrapScores(small, { seed: 3 })).toEqual(a);
    expect(bootstrapScores(small, { seed: 4 }).ci).not.toEqual(a.ci);
  });
});

describe('paired difference', () => {
  it('detects a consistent improvement that two overlapping CIs would hide', () => {
    const base = sample(50, { alpaca_eval: 0.5, arena_hard: 0.5 }, 7);
    // `better` is a copy of `base` that turns its first 6 losses per source into wins: small but consistent.
    const flipped = new Map<string, number>();
    const better = base.map((o) => {
      const k = flipped.get(o.source) ?? 0;
      if (o.preference !== 0 || k >= 6) return o;
      flipped.set(o.source, k + 1);
      return { ...o, preference: 1 };
    });
    const gain = 6; // 6 of 50 prompts per source gain 1 each: 12 points per source, ... averaged below
    const d = pairedDifference(better, base, { seed: 1 });
    expect(d.diff).toBeCloseTo((100 * gain) / 50, 10);
    expect(d.diff).toBeGreaterThan(0);
    expect(d.distinguishable).toBe(true);
    expect(d.ci[0]).toBeGreaterThanOrEqual(0);
    const sa = scoreOutcomes(better), sb = scoreOutcomes(base);
    expect(sa.ci[0]).toBeLessThan(sb.ci[1]); // the unpaired intervals overlap
    expect(d.n).toBe(100);
  });

  it('is not distinguishable for noise, is antisymmetric, and pairs by id', () => {
    const a = sample(40, { x: 0.5 }, 11);
    const b = sample(40, { x: 0.5 }, 12);
    const d = pairedDifference(a, b, { seed: 2 });
    expect(d.ci[0]).toBeLessThan(d.diff);
    expect(d.ci[1]).toBeGreaterThan(d.diff);
    expect(d.distinguishable).toBe(d.ci[0] > 0 || d.ci[1] < 0);
    expect(pairedDifference(b, a, { seed: 2 }).diff).toBeCloseTo(-d.diff, 10);
    // Order of the second list does not matter: pairing is by id.
    expect(pairedDifference(a, [...b].reverse(), { seed: 2 })).toEqual(d);
    const same = pairedDifference(a, a);
    expect(same).toMatchObject({ diff: 0, ci: [0, 0], distinguishable: false });
    expect(() => pairedDifference(a, [outcome('zzz', 'x', 1)])).toThrow(UnpairedOutcomesError);
  });
});

describe.skipIf(!HAVE_SHARED)('real AlpacaEval 2.0 annotations', () => {
  it('reproduce the leaderboard win_rate (±0.01) and standard_error (±0.05) for all nine models', () => {
    const csv = readFileSync(shared('alpaca_eval/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const col = (name: string) => head.indexOf(name);
    const board = new Map(csv.slice(1).map((l) => l.split(',')).map((c) => [c[0]!, { wr: Number(c[col('win_rate')]), se: Number(c[col('standard_error')]) }]));
    const files = readdirSync(shared('alpaca_eval/proxy_annotations')).filter((f) => f.endsWith('.json'));
    expect(files).toHaveLength(9);
    for (const f of files) {
      const rows = JSON.parse(readFileSync(shared(`alpaca_eval/proxy_annotations/${f}`), 'utf8')) as Array<{ generator_2: string; preference: number | null }>;
      // AlpacaEval's preference is in [1, 2] (2 = output_2, the model, wins): our preference is preference − 1.
      const outcomes = rows.map((r, i) => outcome(`ae-${i}`, 'alpaca_eval', r.preference === null ? 0.5 : r.preference - 1));
      const model = rows[0]!.generator_2;
      const want = board.get(model);
      expect(want, model).toBeDefined();
      const prefs = outcomes.map((o) => o.preference);
      expect(Math.abs(winRate(prefs) - want!.wr), model).toBeLessThan(0.01);
      expect(Math.abs(winRateStandardError(prefs) - want!.se), model).toBeLessThan(0.05);
      expect(Math.abs(scoreOutcomes(outcomes, { resamples: 200 }).score - want!.wr)).toBeLessThan(0.01);
    }
  });
});
