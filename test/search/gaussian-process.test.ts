import { describe, expect, it } from 'vitest';
import { GaussianProcess } from '../../src/search/gaussian-process.js';
import { mulberry32 } from '../../src/random.js';
import { expectedImprovement, normalCdf, upperConfidenceBound } from '../../src/search/acquisition.js';

const rand = mulberry32(42);
const f2 = (x: number[]) => Math.sin(3 * x[0]!) + Math.cos(2 * x[1]!) + x[0]! * x[1]!;

function sample(n: number, d: number, f: (x: number[]) => number, noiseVar = 1e-4) {
  const X = Array.from({ length: n }, () => Array.from({ length: d }, () => rand()));
  return { X, y: X.map(f), noise: X.map(() => noiseVar) };
}

function fdCheck(fn: (x: number[]) => number, grad: number[], x: number[], tol: number) {
  grad.forEach((g, i) => {
    const h = 1e-6;
    const xp = x.slice(); xp[i]! += h;
    const xm = x.slice(); xm[i]! -= h;
    const fd = (fn(xp) - fn(xm)) / (2 * h);
    expect(Math.abs(fd - g)).toBeLessThan(tol * Math.max(1, Math.abs(fd)));
  });
}

describe('Gaussian process', () => {
  it('interpolates a smooth 2-D function and predicts held-out points', () => {
    const data = sample(40, 2, f2);
    const gp = GaussianProcess.fit(data, { seed: 1 });
    // Nearly noiseless data: the posterior passes through the training points
    data.X.slice(0, 5).forEach((x, i) => expect(gp.predict(x).mean).toBeCloseTo(data.y[i]!, 1));
    let err = 0;
    for (let i = 0; i < 50; i++) {
      const x = [rand(), rand()];
      err += (gp.predict(x).mean - f2(x)) ** 2;
    }
    expect(Math.sqrt(err / 50)).toBeLessThan(0.05);
  });

  it('is uncertain far from data and confident near it', () => {
    const X = [[0.1], [0.2], [0.3]];
    const gp = GaussianProcess.fit({ X, y: X.map((x) => x[0]! * 10), noise: [0.01, 0.01, 0.01] }, { seed: 0 });
    expect(gp.predict([0.2]).variance).toBeLessThan(gp.predict([0.95]).variance);
    expect(gp.predict([0.2]).variance).toBeLessThan(0.02);
  });

  it('uses per-point noise: a noisy outlier moves the mean less than a precise point', () => {
    const X = [[0], [0.25], [0.5], [0.75], [1]];
    const y = [0, 0, 5, 0, 0];
    const precise = GaussianProcess.fit({ X, y, noise: [0.01, 0.01, 0.01, 0.01, 0.01] }, { hyper: { lengthscales: [0.2], signalVar: 1, nugget: 1e-6 } });
    const noisy = GaussianProcess.fit({ X, y, noise: [0.01, 0.01, 100, 0.01, 0.01] }, { hyper: { lengthscales: [0.2], signalVar: 1, nugget: 1e-6 } });
    expect(precise.predict([0.5]).mean).toBeGreaterThan(4);
    expect(noisy.predict([0.5]).mean).toBeLessThan(2);
  });

  it('learns a long lengthscale for an irrelevant dimension (ARD)', () => {
    const data = sample(40, 2, (x) => Math.sin(4 * x[0]!));
    const gp = GaussianProcess.fit(data, { seed: 3 });
    expect(gp.hyper.lengthscales[1]!).toBeGreaterThan(2 * gp.hyper.lengthscales[0]!);
  });

  it('gives analytic gradients of mean and variance that match finite differences', () => {
    const data = sample(15, 3, (x) => x[0]! ** 2 - x[1]! + Math.sin(5 * x[2]!), 0.01);
    const gp = GaussianProcess.fit(data, { seed: 2 });
    for (const x of [[0.3, 0.6, 0.1], [0.9, 0.05, 0.5]]) {
      const p = gp.predictWithGradient(x);
      fdCheck((z) => gp.predict(z).mean, p.dMean, x, 1e-4);
      fdCheck((z) => gp.predict(z).variance, p.dVariance, x, 1e-4);
    }
  });

  it('fits with a single point', () => {
    const gp = GaussianProcess.fit({ X: [[0.5, 0.5]], y: [40], noise: [25] });
    expect(Number.isFinite(gp.predict([0.1, 0.1]).mean)).toBe(true);
  });
});

describe('acquisition', () => {
  it('normal CDF is accurate', () => {
    expect(normalCdf(0)).toBeCloseTo(0.5, 6);
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
    expect(normalCdf(-3)).toBeCloseTo(0.0013499, 6);
  });

  it('EI and UCB gradients match finite differences, and EI prefers promising unexplored points', () => {
    const X = [[0.1, 0.1], [0.5, 0.5], [0.9, 0.2], [0.3, 0.8]];
    const y = X.map((x) => 10 * x[0]! + 5 * x[1]!);
    const gp = GaussianProcess.fit({ X, y, noise: X.map(() => 0.1) }, { seed: 0 });
    const best = Math.max(...X.map((x) => gp.predict(x).mean));
    for (const x of [[0.7, 0.7], [0.2, 0.4]]) {
      fdCheck((z) => expectedImprovement(gp, z, best).value, expectedImprovement(gp, x, best).grad, x, 1e-4);
      fdCheck((z) => upperConfidenceBound(gp, z).value, upperConfidenceBound(gp, x).grad, x, 1e-4);
    }
    expect(expectedImprovement(gp, [1, 1], best).value).toBeGreaterThan(expectedImprovement(gp, [0, 0], best).value);
    expect(expectedImprovement(gp, [0, 0], best).value).toBeGreaterThanOrEqual(0);
  });
});
