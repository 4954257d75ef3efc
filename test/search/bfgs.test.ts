import { describe, expect, it } from 'vitest';
import { bfgs, finiteDifferenceGradient, loadFmin, nelderMead } from '../../src/search/bfgs.js';

const rosen = (x: number[]) => 100 * (x[1]! - x[0]! ** 2) ** 2 + (1 - x[0]!) ** 2;
const rosenGrad = (x: number[]) => [-400 * x[0]! * (x[1]! - x[0]! ** 2) - 2 * (1 - x[0]!), 200 * (x[1]! - x[0]! ** 2)];

describe('bfgs', () => {
  it('finds the exact optimum of a quadratic', () => {
    // f = ½ xᵀAx − bᵀx with A SPD: optimum A⁻¹b = (1, −2, 0.5)
    const A = [
      [4, 1, 0],
      [1, 3, 0.5],
      [0, 0.5, 2],
    ];
    const xs = [1, -2, 0.5];
    const b = A.map((row) => row.reduce((s, v, j) => s + v * xs[j]!, 0));
    const f = (x: number[]) => 0.5 * A.reduce((s, row, i) => s + x[i]! * row.reduce((t, v, j) => t + v * x[j]!, 0), 0) - b.reduce((s, v, i) => s + v * x[i]!, 0);
    const grad = (x: number[]) => A.map((row, i) => row.reduce((t, v, j) => t + v * x[j]!, 0) - b[i]!);
    const r = bfgs(f, [0, 0, 0], { grad });
    expect(r.converged).toBe(true);
    r.x.forEach((v, i) => expect(v).toBeCloseTo(xs[i]!, 6));
    expect(r.gradNorm).toBeLessThanOrEqual(1e-5);
    // A quadratic in 3-D: BFGS with exact-ish line searches needs few iterations.
    expect(r.iterations).toBeLessThan(20);
  });

  it('solves Rosenbrock from (−1.2, 1) with the analytic gradient', () => {
    const r = bfgs(rosen, [-1.2, 1], { grad: rosenGrad });
    expect(r.converged).toBe(true);
    expect(Math.abs(r.x[0]! - 1)).toBeLessThan(1e-4);
    expect(Math.abs(r.x[1]! - 1)).toBeLessThan(1e-4);
    expect(r.fx).toBeLessThan(1e-8);
  });

  it('solves Rosenbrock from (−1.2, 1) with finite differences', () => {
    const r = bfgs(rosen, [-1.2, 1]);
    expect(Math.abs(r.x[0]! - 1)).toBeLessThan(1e-4);
    expect(Math.abs(r.x[1]! - 1)).toBeLessThan(1e-4);
    expect(r.evaluations).toBeGreaterThan(r.iterations); // FD evaluations are counted
  });

  it('minimizes a 10-D extended Rosenbrock', () => {
    const f = (x: number[]) => {
      let s = 0;
      for (let i = 0; i < x.length - 1; i++) s += 100 * (x[i + 1]! - x[i]! ** 2) ** 2 + (1 - x[i]!) ** 2;
      return s;
    };
    const x0 = Array.from({ length: 10 }, (_, i) => (i % 2 ? 1 : -1.2));
    const r = bfgs(f, x0, { grad: (x) => finiteDifferenceGradient(f, x) });
    expect(r.fx).toBeLessThan(1e-8);
    r.x.forEach((v) => expect(Math.abs(v - 1)).toBeLessThan(1e-3));
  });

  it('respects bounds through x = max·sigmoid(z)', () => {
    // Unconstrained optimum at x = (5, −1) lies outside [0, 3]²: the bounded optimum is (3, 0).
    const max = 3;
    const sig = (z: number) => 1 / (1 + Math.exp(-z));
    const toX = (z: number[]) => z.map((v) => max * sig(v));
    const g = (x: number[]) => (x[0]! - 5) ** 2 + (x[1]! + 1) ** 2;
    const r = bfgs((z) => g(toX(z)), [0, 0]);
    const x = toX(r.x);
    expect(x[0]!).toBeGreaterThan(2.99);
    expect(x[1]!).toBeLessThan(0.01);
    x.forEach((v) => {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(max);
    });
    // Interior optimum is found exactly.
    const r2 = bfgs((z) => { const x = toX(z); return (x[0]! - 1) ** 2 + (x[1]! - 2.5) ** 2; }, [0, 0]);
    const x2 = toX(r2.x);
    expect(x2[0]!).toBeCloseTo(1, 4);
    expect(x2[1]!).toBeCloseTo(2.5, 4);
  });

  it('stops at once when started at the optimum, and caps iterations', () => {
    const r = bfgs(rosen, [1, 1], { grad: rosenGrad });
    expect(r.iterations).toBe(0);
    expect(r.converged).toBe(true);
    const capped = bfgs(rosen, [-1.2, 1], { grad: rosenGrad, maxIter: 3 });
    expect(capped.iterations).toBe(3);
    expect(capped.converged).toBe(false);
    expect(capped.message).toMatch(/maximum iterations/);
  });
});

describe('nelderMead (fmin)', () => {
  it('minimizes Rosenbrock without derivatives', async () => {
    await loadFmin();
    const r = nelderMead(rosen, [-1.2, 1], { maxIter: 2000 });
    expect(Math.abs(r.x[0]! - 1)).toBeLessThan(1e-2);
    expect(Math.abs(r.x[1]! - 1)).toBeLessThan(2e-2);
    expect(r.evaluations).toBeGreaterThan(10);
  });
});
