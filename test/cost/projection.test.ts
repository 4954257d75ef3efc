import { describe, expect, it } from 'vitest';
import { findModel, singleModelMixture, uniformMixture, type Mixture } from '../../src/config/index.js';
import {
  TOKEN_PRIORS,
  callCostUsd,
  callTflops,
  emptyTokenStats,
  mergeTokenStats,
  projectJudgeCost,
  projectQueryCost,
  runCost,
  runTflops,
  latencyProxyTflops,
  tokenStatsFromRuns,
} from '../../src/cost/index.js';
import { call, run, space } from './_fixtures.js';

const A = findModel(space, 'A')!;
const B = findModel(space, 'B')!;
const OVERHEAD = 50;

/** A run shaped like the engine's: user prompt U, proposers' outputs, aggregator reads U + refs + overhead. */
function moaRun(U: number, a: number, b: number, agg: number) {
  return run([
    call({ layer: 1, role: 'proposer', model: 'A', promptTokens: U, completionTokens: a, costUsd: callCostUsd(A, U, a) }),
    call({ layer: 1, role: 'proposer', model: 'B', promptTokens: U + 3, completionTokens: b, costUsd: callCostUsd(B, U + 3, b) }),
    call({ layer: 2, role: 'aggregator', model: 'B', promptTokens: U + a + b + OVERHEAD, completionTokens: agg, costUsd: callCostUsd(B, U + a + b + OVERHEAD, agg) }),
  ]);
}

describe('token statistics', () => {
  const runs = [moaRun(100, 300, 200, 400), moaRun(200, 500, 400, 600)];
  const stats = tokenStatsFromRuns(runs);

  it('has per-model, per-role means, the user prompt and the template overhead', () => {
    expect(stats.models.A!.proposer).toEqual({ n: 2, prompt: 150, completion: 400 });
    expect(stats.models.B!.proposer).toEqual({ n: 2, prompt: 153, completion: 300 });
    expect(stats.models.B!.aggregator).toMatchObject({ n: 2, completion: 500 });
    expect(stats.userPrompt).toEqual({ n: 2, mean: 150 });
    expect(stats.templateOverhead).toEqual({ n: 2, mean: OVERHEAD });
  });

  it('takes given user-prompt sizes over the inferred ones', () => {
    expect(tokenStatsFromRuns(runs, [90, 190]).userPrompt.mean).toBe(140);
  });

  it('merges exactly as if computed together', () => {
    const merged = mergeTokenStats(tokenStatsFromRuns([runs[0]!]), tokenStatsFromRuns([runs[1]!]));
    expect(merged).toEqual(stats);
    expect(mergeTokenStats(emptyTokenStats(), stats)).toEqual(stats);
  });

  it('files a rank-mode final call under ranker', () => {
    const s = tokenStatsFromRuns([moaRun(100, 300, 200, 3)], undefined, { mode: 'rank' });
    expect(s.models.B!.ranker).toMatchObject({ n: 1, completion: 3 });
    expect(s.models.B!.aggregator).toBeUndefined();
  });
});

describe('projected query cost', () => {
  it('reproduces the measured cost and compute of the mixture the stats came from', () => {
    const r = moaRun(100, 300, 200, 400);
    const m: Mixture = uniformMixture({ A: 1, B: 1 }, 'B');
    const p = projectQueryCost(m, space, tokenStatsFromRuns([r], [103]));
    // B's layer-1 prompt is 103 in the run (its tokenizer), the projection uses one user-prompt size
    const s = tokenStatsFromRuns([r], [100]);
    const q = projectQueryCost(m, space, s);
    expect(q.calls).toBe(3);
    expect(q.usd).toBeCloseTo(runCost(r) - callCostUsd(B, 3, 0), 12);
    expect(q.tflops).toBeCloseTo(runTflops(r, space)! - callTflops(20, 3), 9);
    expect(q.latencyProxyTflops).toBeCloseTo(latencyProxyTflops(r, space)! - callTflops(20, 3), 9);
    expect(p.usd).toBeGreaterThan(q.usd);
  });

  it('uses documented priors without statistics', () => {
    const p = projectQueryCost(singleModelMixture('A'), space);
    expect(p.usd).toBeCloseTo(callCostUsd(A, TOKEN_PRIORS.userPrompt, TOKEN_PRIORS.completion), 12);
    const two = projectQueryCost(uniformMixture({ A: 2 }, 'A', 3), space);
    // layer 1: 2 × (U, 400); layer 2: 2 × (U + 800 + overhead, 400); aggregator: (U + 800 + overhead, 400)
    const U = TOKEN_PRIORS.userPrompt;
    const reader = U + 800 + TOKEN_PRIORS.templateOverhead;
    expect(two.promptTokens).toBe(2 * U + 3 * reader);
    expect(two.completionTokens).toBe(5 * 400);
    expect(two.latencyProxyTflops).toBeCloseTo(callTflops(10, U + 400) + 2 * callTflops(10, reader + 400), 9);
  });

  it('falls back from an unseen model to the mean of its role and flags unknown params', () => {
    const stats = tokenStatsFromRuns([moaRun(100, 300, 200, 400)]);
    const p = projectQueryCost(uniformMixture({ C: 1, A: 1 }, 'A'), space, stats);
    // C never measured as a proposer: mean of measured proposers = (300 + 200) / 2
    expect(p.completionTokens).toBe(300 + 250 + 300); // A agg falls back to A's own proposer length
    expect(p.tflops).toBeNull();
    expect(p.latencyProxyTflops).toBeNull();
    expect(p.unknownParams).toEqual(['C']);
  });

  it('projects rank mode with a short final answer and a summarizer as an extra step', () => {
    const rank = projectQueryCost({ ...uniformMixture({ A: 2 }, 'B'), mode: 'rank' }, space);
    expect(rank.completionTokens).toBe(800 + TOKEN_PRIORS.rankerCompletion);
    const summ = projectQueryCost({ ...uniformMixture({ A: 2 }, 'B'), summarizer: 'A' }, space);
    expect(summ.calls).toBe(4);
    const U = TOKEN_PRIORS.userPrompt;
    const O = TOKEN_PRIORS.templateOverhead;
    // the aggregator reads the summary, not the two answers
    expect(summ.promptTokens).toBe(2 * U + (U + 800 + O) + (U + TOKEN_PRIORS.summarizerCompletion + O));
  });

  it('projects judge cost per protocol', () => {
    const alpaca = projectJudgeCost(B, { protocol: 'alpaca_eval', userPromptTokens: 100, candidateTokens: 300, referenceTokens: 300 });
    expect(alpaca).toBeCloseTo(callCostUsd(B, 400 + 700, 2), 12);
    expect(projectJudgeCost(B, { protocol: 'arena_hard' })).toBeGreaterThan(alpaca);
  });
});
