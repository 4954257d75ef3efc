import { describe, expect, it } from 'vitest';
import { bearerChecker } from '../../src/server/_auth.js';
import { Gate, Overloaded } from '../../src/server/_gate.js';
import { criticalPathMs, percentile } from '../../src/server/index.js';
import type { TraceCall } from '../../src/moa/index.js';

const call = (layer: number, latencyMs: number, extra: Partial<TraceCall> = {}): TraceCall => ({
  layer,
  role: 'proposer',
  model: 'A',
  sample: 0,
  promptTokens: 1,
  completionTokens: 1,
  estimated: false,
  costUsd: 0,
  latencyMs,
  cached: false,
  finishReason: 'stop',
  key: 'k',
  startMs: 0,
  endMs: latencyMs,
  ...extra,
});

describe('server internals', () => {
  it('critical path: the slowest agent per layer, plus summarizers, cache hits free', () => {
    const calls = [call(1, 40), call(1, 90), call(1, 500, { cached: true }), call(1, 30, { role: 'summarizer' }), call(2, 70, { role: 'aggregator' })];
    expect(criticalPathMs(calls)).toBe(90 + 30 + 70);
    expect(criticalPathMs([])).toBe(0);
  });

  it('nearest-rank percentiles', () => {
    const v = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(v, 0.5)).toBe(50);
    expect(percentile(v, 0.95)).toBe(95);
    expect(percentile([7], 0.95)).toBe(7);
    expect(percentile([], 0.5)).toBeNull();
  });

  it('bearer check accepts only the exact key', () => {
    const ok = bearerChecker('sk-abc');
    expect(ok('Bearer sk-abc')).toBe(true);
    expect(ok('bearer   sk-abc ')).toBe(true);
    expect(ok('Bearer sk-abd')).toBe(false);
    expect(ok('Bearer sk-abcd')).toBe(false);
    expect(ok('sk-abc')).toBe(false);
    expect(ok(undefined)).toBe(false);
    expect(ok('Bearer ')).toBe(false);
  });

  it('gate: FIFO hand-over, a full queue refuses, an aborted waiter leaves the queue', async () => {
    const g = new Gate(1, 2);
    const r1 = await g.acquire();
    const order: number[] = [];
    const ac = new AbortController();
    const w2 = g.acquire().then((r) => (order.push(2), r));
    const w3 = g.acquire(ac.signal).then(
      (r) => (order.push(3), r),
      () => (order.push(-3), undefined),
    );
    expect(g.queued).toBe(2);
    await expect(g.acquire()).rejects.toBeInstanceOf(Overloaded);
    ac.abort();
    await w3;
    expect(g.queued).toBe(1);
    const w4 = g.acquire().then((r) => (order.push(4), r));
    r1();
    (await w2)();
    (await w4)();
    expect(order).toEqual([-3, 2, 4]);
    expect(g.active).toBe(0);
    expect(g.queued).toBe(0);
  });
});
