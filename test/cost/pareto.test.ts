import { describe, expect, it } from 'vitest';
import { bestWithinCost, frontQualityAt, paretoFront, type ParetoPoint } from '../../src/cost/index.js';

const ids = (ps: Array<{ id: string }>) => ps.map((p) => p.id);
const status = (r: ReturnType<typeof paretoFront>) => Object.fromEntries(r.points.map((p) => [p.id, p.status]));

describe('paretoFront', () => {
  it('keeps the non-dominated points, sorted by cost', () => {
    const pts: ParetoPoint[] = [
      { id: 'cheap', quality: 30, cost: 1 },
      { id: 'mid', quality: 50, cost: 3 },
      { id: 'worse', quality: 40, cost: 4 },
      { id: 'best', quality: 60, cost: 10 },
      { id: 'pricey', quality: 55, cost: 12 },
    ];
    const r = paretoFront(pts);
    expect(ids(r.front)).toEqual(['cheap', 'mid', 'best']);
    expect(status(r)).toEqual({ cheap: 'front', mid: 'front', worse: 'dominated', best: 'front', pricey: 'dominated' });
    expect(r.points.find((p) => p.id === 'worse')).toMatchObject({ frontQuality: 50, dominatedBy: 'mid' });
  });

  it('puts identical points all on the front', () => {
    const r = paretoFront([
      { id: 'a', quality: 50, cost: 2 },
      { id: 'b', quality: 50, cost: 2 },
      { id: 'c', quality: 40, cost: 3 },
    ]);
    expect(ids(r.front)).toEqual(['a', 'b']);
    expect(status(r).c).toBe('dominated');
  });

  it('breaks a tie on one axis by the other', () => {
    const r = paretoFront([
      { id: 'sameCostLower', quality: 40, cost: 2 },
      { id: 'sameCostHigher', quality: 45, cost: 2 },
      { id: 'sameQualityDearer', quality: 45, cost: 5 },
    ]);
    expect(ids(r.front)).toEqual(['sameCostHigher']);
  });

  it('handles one point and no points', () => {
    expect(ids(paretoFront([{ id: 'only', quality: 1, cost: 1 }]).front)).toEqual(['only']);
    expect(paretoFront([]).front).toEqual([]);
  });

  it('leaves one point when it dominates all others', () => {
    const r = paretoFront([
      { id: 'king', quality: 90, cost: 0.5 },
      { id: 'x', quality: 10, cost: 1 },
      { id: 'y', quality: 80, cost: 0.5 },
      { id: 'z', quality: 90, cost: 2 },
    ]);
    expect(ids(r.front)).toEqual(['king']);
    expect(r.points.filter((p) => p.onFront)).toHaveLength(1);
  });

  it('marks points whose CI reaches the front as indistinguishable', () => {
    const r = paretoFront([
      { id: 'f1', quality: 40, cost: 1, ci: [35, 45] },
      { id: 'f2', quality: 60, cost: 5, ci: [55, 65] },
      { id: 'close', quality: 57, cost: 6, ci: [52, 61] }, // front at cost 6 is 60, CI reaches 61
      { id: 'far', quality: 45, cost: 6, ci: [40, 50] },
      { id: 'noCi', quality: 59.9, cost: 6 },
      { id: 'betweenSteps', quality: 38, cost: 4, ci: [30, 41] }, // front at cost 4 is f1's 40
    ]);
    expect(status(r)).toMatchObject({ close: 'indistinguishable', far: 'dominated', noCi: 'dominated', betweenSteps: 'indistinguishable' });
    expect(r.points.find((p) => p.id === 'close')!.indistinguishable).toBe(true);
  });

  it('excludes points without a measurable cost (unknown TFLOPs)', () => {
    const r = paretoFront([
      { id: 'known', quality: 40, cost: 1 },
      { id: 'unknown', quality: 90, cost: null },
      { id: 'nan', quality: 90, cost: NaN },
    ]);
    expect(ids(r.front)).toEqual(['known']);
    expect(status(r)).toEqual({ known: 'front', unknown: 'excluded', nan: 'excluded' });
  });
});

describe('bestWithinCost and frontQualityAt', () => {
  const pts: ParetoPoint[] = [
    { id: 'a', quality: 30, cost: 1 },
    { id: 'b', quality: 50, cost: 3 },
    { id: 'b2', quality: 50, cost: 2.5 },
    { id: 'c', quality: 60, cost: 10 },
    { id: 'u', quality: 99, cost: null },
  ];
  it('picks the best quality under the cap, the cheaper on ties', () => {
    expect(bestWithinCost(pts, 5)!.id).toBe('b2');
    expect(bestWithinCost(pts, 1)!.id).toBe('a');
    expect(bestWithinCost(pts, 0.5)).toBeUndefined();
    expect(bestWithinCost(pts)!.id).toBe('c');
  });
  it('reads the step function', () => {
    const { front } = paretoFront(pts);
    expect(frontQualityAt(front, 2.6)).toBe(50);
    expect(frontQualityAt(front, 0.1)).toBeUndefined();
  });
});
