import { describe, expect, it } from 'vitest';
import { expectedHvImprovement, hypervolume, nonDominated } from '../../src/search/hypervolume.js';
import { mulberry32 } from '../../src/random.js';

const ref = { cost: 10, quality: 0 };
const front = [
  { cost: 1, quality: 20 },
  { cost: 3, quality: 50 },
  { cost: 6, quality: 70 },
];

describe('hypervolume', () => {
  it('is the area dominated by the front up to the reference; dominated and out-of-reference points add nothing', () => {
    // Staircase: (3−1)·20 + (6−3)·50 + (10−6)·70 = 40 + 150 + 280.
    expect(hypervolume(front, ref)).toBeCloseTo(470, 9);
    expect(hypervolume([...front, { cost: 4, quality: 40 }, { cost: 12, quality: 99 }], ref)).toBeCloseTo(470, 9);
    expect(nonDominated([...front, { cost: 4, quality: 40 }], ref)).toEqual(front);
  });

  it('expected improvement: a certain point adds exactly its hypervolume gain; an uncertain one matches Monte Carlo', () => {
    const gain = (q: number) => hypervolume([...front, { cost: 2, quality: q }], ref) - hypervolume(front, ref);
    expect(expectedHvImprovement(front, ref, 2, 40, 0)).toBeCloseTo(gain(40), 6);
    expect(expectedHvImprovement(front, ref, 2, 10, 0)).toBe(0);
    const rand = mulberry32(7);
    let sum = 0;
    const n = 40_000;
    for (let i = 0; i < n; i++) {
      const z = Math.sqrt(-2 * Math.log(rand() + 1e-300)) * Math.cos(2 * Math.PI * rand());
      sum += gain(45 + 15 * z);
    }
    expect(expectedHvImprovement(front, ref, 2, 45, 15)).toBeCloseTo(sum / n, 0);
    // Beyond the reference cost nothing counts.
    expect(expectedHvImprovement(front, ref, 11, 99, 5)).toBe(0);
  });
});
