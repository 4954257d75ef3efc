import { describe, expect, it } from 'vitest';
import { findModel } from '../../src/config/index.js';
import {
  callCostUsd,
  callTflops,
  latencyProxyTflops,
  layerWallLatencyMs,
  runCost,
  runMetrics,
  runTflops,
  spread,
  unknownParamModels,
} from '../../src/cost/index.js';
import { call, run, space } from './_fixtures.js';

const A = findModel(space, 'A')!;
const B = findModel(space, 'B')!;

// 2 layers: 2 copies of A and one B propose, B aggregates. Known token counts throughout.
const moa = run([
  call({ layer: 1, role: 'proposer', model: 'A', sample: 0, promptTokens: 100, completionTokens: 300, costUsd: callCostUsd(A, 100, 300), startMs: 0, endMs: 40 }),
  call({ layer: 1, role: 'proposer', model: 'A', sample: 1, promptTokens: 100, completionTokens: 500, costUsd: callCostUsd(A, 100, 500), startMs: 2, endMs: 55, cached: true }),
  call({ layer: 1, role: 'proposer', model: 'B', promptTokens: 110, completionTokens: 200, costUsd: callCostUsd(B, 110, 200), startMs: 1, endMs: 70 }),
  call({ layer: 2, role: 'aggregator', model: 'B', promptTokens: 1300, completionTokens: 400, costUsd: callCostUsd(B, 1300, 400), startMs: 71, endMs: 171 }),
]);

describe('cost per call and per run', () => {
  it('prices tokens per million', () => {
    expect(callCostUsd(A, 1_000_000, 0)).toBe(1);
    expect(callCostUsd(B, 1000, 500)).toBeCloseTo((1000 * 3 + 500 * 6) / 1e6, 12);
  });

  it('sums the calls of a run, cached ones included (deployment cost)', () => {
    const expected = (100 * 1 + 300 * 2 + 100 * 1 + 500 * 2 + 110 * 3 + 200 * 6 + 1300 * 3 + 400 * 6) / 1e6;
    expect(runCost(moa)).toBeCloseTo(expected, 12);
  });
});

describe('TFLOPs and the latency proxy', () => {
  it('is 2 × active params (billions) × tokens / 1e12', () => {
    expect(callTflops(70, 1000)).toBeCloseTo(140, 9); // 2 × 70e9 × 1000 = 1.4e14 FLOPs
    expect(callTflops(1, 0)).toBe(0);
  });

  it('sums every call for the total and takes the per-layer maximum for the proxy', () => {
    const a0 = callTflops(10, 400);
    const a1 = callTflops(10, 600);
    const b1 = callTflops(20, 310); // MoE: active params, not total
    const agg = callTflops(20, 1700);
    expect(runTflops(moa, space)).toBeCloseTo(a0 + a1 + b1 + agg, 12);
    // layer 1's largest agent is B (12.4 TFLOPs) ahead of A's 600-token copy (12)
    expect(latencyProxyTflops(moa, space)).toBeCloseTo(Math.max(a0, a1, b1) + agg, 12);
    expect(Math.max(a0, a1, b1)).toBe(b1);
  });

  it('counts a summarizer as its own sequential step', () => {
    const r = run([
      call({ layer: 1, role: 'proposer', model: 'A', promptTokens: 100, completionTokens: 100 }),
      call({ layer: 1, role: 'proposer', model: 'B', promptTokens: 100, completionTokens: 100 }),
      call({ layer: 1, role: 'summarizer', model: 'A', promptTokens: 400, completionTokens: 100 }),
      call({ layer: 2, role: 'aggregator', model: 'A', promptTokens: 300, completionTokens: 100 }),
    ]);
    expect(latencyProxyTflops(r, space)).toBeCloseTo(callTflops(20, 200) + callTflops(10, 500) + callTflops(10, 400), 12);
  });

  it('flags a model with an unknown parameter count instead of guessing', () => {
    const r = run([...moa.calls.slice(0, 3), call({ layer: 2, role: 'aggregator', model: 'C', promptTokens: 1000, completionTokens: 100 })]);
    expect(runTflops(r, space)).toBeNull();
    expect(latencyProxyTflops(r, space)).toBeNull();
    expect(unknownParamModels(r, space)).toEqual(['C']);
    expect(unknownParamModels(moa, space)).toEqual([]);
    expect(unknownParamModels(['C', 'ghost', 'A'], space)).toEqual(['C', 'ghost']);
    const m = runMetrics(r, space);
    expect(m.tflops).toBeNull();
    expect(m.unknownParams).toEqual(['C']);
    expect(m.costUsd).toBeGreaterThan(0);
  });
});

describe('measured latency', () => {
  it('spans each layer from first start to last end', () => {
    expect(layerWallLatencyMs(moa)).toEqual([70, 100]);
    expect(runMetrics(moa, space)).toMatchObject({ layerWallMs: [70, 100], promptTokens: 1610, completionTokens: 1400 });
  });

  it('spread gives mean, sample sd, min and max', () => {
    expect(spread([1, 2, 3])).toEqual({ n: 3, mean: 2, sd: 1, min: 1, max: 3 });
    expect(spread([]).n).toBe(0);
  });
});
