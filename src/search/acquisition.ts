import type { GaussianProcess } from './gaussian-process.js';

/**
 * Acquisition functions to MAXIMIZE, with their gradients w.r.t. x so BFGS on them is exact.
 * No cost-aware variant: the budget is enforced by the search loop's cost projection, and the objective
 * is quality for a budget, so candidates are not discounted by their price.
 */
export interface Acquisition {
  value: number;
  grad: number[];
}

export type AcquisitionKind = 'ei' | 'ucb';

const INV_SQRT2PI = 1 / Math.sqrt(2 * Math.PI);

export function normalPdf(z: number): number {
  return INV_SQRT2PI * Math.exp(-0.5 * z * z);
}

/** Standard normal CDF via a Chebyshev fit of erfc (relative error < 1.2e-7, ample for ranking candidates). */
export function normalCdf(z: number): number {
  const x = -z / Math.SQRT2;
  // Numerical Recipes' erfc Chebyshev fit
  const t = 1 / (1 + 0.5 * Math.abs(x));
  const y =
    t *
    Math.exp(
      -x * x -
        1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  const erfc = x >= 0 ? y : 2 - y;
  return 0.5 * erfc;
}

/**
 * Expected improvement over `best` (the best posterior mean among evaluated points: with noisy scores the
 * best raw score is an optimistic, lucky target). `xi` asks for a margin of improvement.
 */
export function expectedImprovement(gp: GaussianProcess, x: number[], best: number, xi = 0): Acquisition {
  const p = gp.predictWithGradient(x);
  const sigma = Math.sqrt(p.variance);
  const imp = p.mean - best - xi;
  if (sigma < 1e-9) return { value: Math.max(0, imp), grad: imp > 0 ? p.dMean : p.dMean.map(() => 0) };
  const z = imp / sigma;
  const Phi = normalCdf(z);
  const phi = normalPdf(z);
  const value = imp * Phi + sigma * phi;
  // dEI = Φ(z)·dμ + φ(z)·dσ, with dσ = dVar / (2σ)
  const grad = p.dMean.map((dm, i) => Phi * dm + (phi * p.dVariance[i]!) / (2 * sigma));
  return { value, grad };
}

/** Upper confidence bound μ + β·σ. */
export function upperConfidenceBound(gp: GaussianProcess, x: number[], beta = 2): Acquisition {
  const p = gp.predictWithGradient(x);
  const sigma = Math.sqrt(p.variance);
  const grad = p.dMean.map((dm, i) => dm + (sigma > 1e-9 ? (beta * p.dVariance[i]!) / (2 * sigma) : 0));
  return { value: p.mean + beta * sigma, grad };
}

export function acquisition(kind: AcquisitionKind, gp: GaussianProcess, x: number[], best: number): Acquisition {
  return kind === 'ei' ? expectedImprovement(gp, x, best) : upperConfidenceBound(gp, x);
}
