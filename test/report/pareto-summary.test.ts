import { describe, expect, it } from 'vitest';
import { analyzeStudy, formatParetoSummary, paretoSummary } from '../../src/report/index.js';
import { reportData } from './_fixtures.js';
import { costAnswers } from '../../src/report/cost-answers.js';

describe('paretoSummary', () => {
  const a = analyzeStudy(reportData());

  it('lists the cost front in cost order and the best within a cap', () => {
    const s = paretoSummary(a, 'cost', 2);
    const costs = s.front.map((e) => e.costPerQuery!);
    expect(costs).toEqual([...costs].sort((x, y) => x - y));
    expect(s.front.every((e) => e.status === 'front')).toBe(true);
    expect(s.best!.costPerQuery!).toBeLessThanOrEqual(0.002);
    const under = a.points.filter((p) => p.costPerQuery! <= 0.002);
    expect(s.best!.score).toBe(Math.max(...under.map((p) => p.quality)));
    expect(paretoSummary(a, 'cost', 0.001).best).toBeNull();
    expect(formatParetoSummary(paretoSummary(a, 'cost', 0.001))).toMatch(/No evaluated mixture within \$0.001 per 1k queries/);
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

  it('answers the cost questions: best at round caps, the knee, the cheapest within a point of the best', () => {
    const c = costAnswers(a);
    expect(c.caps.length).toBeGreaterThan(0);
    for (const { maxCostPer1k, best } of c.caps) {
      const under = a.points.filter((p) => p.costPerQuery! * 1000 <= maxCostPer1k);
      if (!under.length) expect(best).toBeUndefined();
      else {
        expect(best!.costPerQuery! * 1000).toBeLessThanOrEqual(maxCostPer1k);
        expect(best!.quality).toBe(Math.max(...under.map((p) => p.quality)));
      }
    }
    if (c.knee) expect(a.costFront.front.map((f) => f.id)).toContain(c.knee.id);
    const rec = a.recommended!;
    if (c.nearBest) {
      expect(c.nearBest.point.quality).toBeGreaterThanOrEqual(rec.quality - 1);
      expect(c.nearBest.point.costPerQuery!).toBeLessThan(rec.costPerQuery!);
    }
    const s = paretoSummary(a, 'cost');
    expect(s.answers[0]).toMatch(/^Best at ≤ \$[\d.]+ per 1k queries: /);
    expect(formatParetoSummary(s)).toMatch(/Cost answers:\n  Best at ≤ \$/);
  });
});
