import { describe, expect, it } from 'vitest';
import { analyzeStudy, formatParetoSummary, paretoSummary } from '../../src/report/index.js';
import { reportData } from './_fixtures.js';

describe('paretoSummary', () => {
  const a = analyzeStudy(reportData());

  it('lists the cost front in cost order and the best within a cap', () => {
    const s = paretoSummary(a, 'cost', 0.002);
    const costs = s.front.map((e) => e.costPerQuery!);
    expect(costs).toEqual([...costs].sort((x, y) => x - y));
    expect(s.front.every((e) => e.status === 'front')).toBe(true);
    expect(s.best!.costPerQuery!).toBeLessThanOrEqual(0.002);
    const under = a.points.filter((p) => p.costPerQuery! <= 0.002);
    expect(s.best!.score).toBe(Math.max(...under.map((p) => p.quality)));
    expect(paretoSummary(a, 'cost', 0).best).toBeNull();
    expect(formatParetoSummary(paretoSummary(a, 'cost', 0))).toMatch(/No evaluated mixture within \$0 per query/);
  });

  it('leaves mixtures with unknown TFLOPs out of the latency front, named', () => {
    const s = paretoSummary(a, 'tflops');
    expect(s.excluded).toHaveLength(2);
    expect(s.excluded.every((e) => e.label.includes('GPT-4o'))).toBe(true);
    expect(s.front.every((e) => e.latencyProxyTflops !== null)).toBe(true);
    const text = formatParetoSummary(s);
    expect(text).toMatch(/by latency proxy/);
    expect(text).toMatch(/Not placed \(no TFLOPs: parameter count unknown\): #6 GPT-4o/);
    expect(text).toMatch(/Best overall: #\d+ /);
  });
});
