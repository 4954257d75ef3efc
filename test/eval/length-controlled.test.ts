import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { lengthControlledWinRates, winRate } from '../../src/eval/index.js';
import { mulberry32 } from '../../src/random.js';
import type { PromptOutcome } from '../../src/eval/types.js';
import { HAVE_SHARED, shared } from './_data.js';

const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

/** A study: prompts with difficulty d_i; a length-biased judge; each mixture has a quality θ and a verbosity. */
function study(mixtures: Record<string, { theta: number; extraChars: number }>, n = 300, lengthBias = 1.5, seed = 5) {
  const r = mulberry32(seed);
  const normal = () => Math.sqrt(-2 * Math.log(r() + 1e-12)) * Math.cos(2 * Math.PI * r());
  const difficulty = Array.from({ length: n }, () => 0.8 * normal());
  const out = new Map<string, PromptOutcome[]>();
  for (const [name, m] of Object.entries(mixtures)) {
    out.set(
      name,
      difficulty.map((d, i) => {
        const referenceChars = 1500;
        const candidateChars = Math.max(50, Math.round(referenceChars + m.extraChars + 400 * normal()));
        const x = Math.tanh((candidateChars - referenceChars) / 800);
        const preference = r() < sigmoid(m.theta + lengthBias * x - d) ? 1 : 0;
        return { id: `ae-${i}`, source: 'alpaca_eval', preference, candidateChars, referenceChars, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 };
      }),
    );
  }
  return out;
}

describe('length-controlled win rate', () => {
  it('removes the advantage of verbosity: equal quality, different lengths → close LC, distant raw rates', () => {
    const s = study({ verbose: { theta: 0, extraChars: 900 }, terse: { theta: 0, extraChars: -900 }, good: { theta: 1, extraChars: 0 } }, 800);
    const raw = (k: string) => winRate(s.get(k)!.map((o) => o.preference));
    const lc = lengthControlledWinRates(s);
    expect(raw('verbose') - raw('terse')).toBeGreaterThan(25);
    expect(Math.abs(lc.get('verbose')!.lc - lc.get('terse')!.lc)).toBeLessThan(10);
    // Quality still shows: θ = 1 beats θ = 0 after length control.
    expect(lc.get('good')!.lc).toBeGreaterThan(lc.get('verbose')!.lc + 8);
    expect(lc.get('verbose')!.lengthSlope).toBeGreaterThan(0.5);
    expect(lc.get('verbose')!.n).toBe(800);
  });

  it('with one mixture and no length effect, LC is close to the raw win rate', () => {
    const s = study({ only: { theta: 0.4, extraChars: 0 } }, 200, 0, 9);
    const lc = lengthControlledWinRates(s).get('only')!;
    expect(Math.abs(lc.lc - winRate(s.get('only')!.map((o) => o.preference)))).toBeLessThan(5);
  });

  it('uses AlpacaEval prompts only by default and is deterministic', () => {
    const s = study({ a: { theta: 0, extraChars: 0 } }, 50);
    const arena = new Map([['a', s.get('a')!.map((o) => ({ ...o, source: 'arena_hard' }))]]);
    expect(lengthControlledWinRates(arena).size).toBe(0);
    expect(lengthControlledWinRates(arena, { source: null }).get('a')!.lc).toBeCloseTo(lengthControlledWinRates(s).get('a')!.lc, 10);
    expect(lengthControlledWinRates(s)).toEqual(lengthControlledWinRates(s));
  });
});

describe.skipIf(!HAVE_SHARED)('length control on the real AlpacaEval 2.0 annotations', () => {
  it('moves every model the way the leaderboard LC does and keeps its order (Spearman ≥ 0.8)', () => {
    const csv = readFileSync(shared('alpaca_eval/weighted_alpaca_eval_gpt4_turbo_leaderboard.csv'), 'utf8').trim().split('\n');
    const head = csv[0]!.split(',');
    const board = new Map(csv.slice(1).map((l) => l.split(',')).map((c) => [c[0]!, Number(c[head.indexOf('length_controlled_winrate')])]));
    const byModel = new Map<string, PromptOutcome[]>();
    for (const f of readdirSync(shared('alpaca_eval/proxy_annotations'))) {
      const rows = JSON.parse(readFileSync(shared(`alpaca_eval/proxy_annotations/${f}`), 'utf8')) as Array<{ generator_2: string; preference: number; output_1: string; output_2: string }>;
      byModel.set(
        rows[0]!.generator_2,
        rows.map((r, i) => ({ id: `ae-${i}`, source: 'alpaca_eval', preference: r.preference - 1, candidateChars: r.output_2.length, referenceChars: r.output_1.length, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 })),
      );
    }
    const lc = lengthControlledWinRates(byModel);
    const names = [...byModel.keys()];
    for (const k of names) {
      const raw = winRate(byModel.get(k)!.map((o) => o.preference));
      // Every one of these models writes shorter answers than the verbose GPT-4 Turbo baseline: LC > raw, as on the board.
      expect(board.get(k)! > raw).toBe(true);
      expect(lc.get(k)!.lc, k).toBeGreaterThan(raw);
      expect(lc.get(k)!.lengthSlope, k).toBeGreaterThan(0);
    }
    const rank = (xs: number[]) => xs.map((x) => xs.filter((y) => y < x).length + (xs.filter((y) => y === x).length - 1) / 2);
    const a = rank(names.map((k) => lc.get(k)!.lc));
    const b = rank(names.map((k) => board.get(k)!));
    const n = names.length;
    const rho = 1 - (6 * a.reduce((s, r, i) => s + (r - b[i]!) ** 2, 0)) / (n * (n * n - 1));
    expect(rho).toBeGreaterThanOrEqual(0.8);
  });
});
