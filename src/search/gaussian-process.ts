import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { choleskyInverse } from './_cholesky-inverse.js';
import { bfgsFG } from './bfgs.js';
import { mulberry32 } from '../random.js';

/**
 * Gaussian-process regression with an ARD Matérn-5/2 kernel, a constant mean (profiled out in closed form),
 * known per-point noise (heteroscedastic: each trial's bootstrap variance) plus a small learned nugget.
 *
 * Inputs are expected in [0, 1] per dimension (counts / maxCopies); targets are standardized internally.
 * Hyperparameters (log lengthscales, log signal variance, log nugget) are fitted by maximizing the log marginal
 * likelihood plus weak log-normal priors (MAP): with 5–40 noisy points in 6–12 dimensions pure ML-II
 * lengthscales run off to 0 or ∞, and a gentle prior keeps them sane.
 */
export interface GpData {
  X: number[][];
  y: number[];
  /** Noise variance of each y (same units as y squared). */
  noise: number[];
}

export interface GpHyper {
  lengthscales: number[];
  signalVar: number;
  /** Extra homoscedastic noise variance (standardized units). */
  nugget: number;
}

export interface GpFitOptions {
  restarts?: number;
  /** Seeds the restart points (deterministic). */
  seed?: number;
  /** Use these hyperparameters instead of fitting. */
  hyper?: GpHyper;
  /** Log-normal prior per input dimension on its lengthscale, `{ mu, sd }` of log ℓ (default: median 1, sd 1). */
  lengthscalePriors?: ReadonlyArray<{ mu: number; sd: number }>;
}

export interface Posterior {
  mean: number;
  variance: number;
}

export interface PosteriorWithGradient extends Posterior {
  dMean: number[];
  dVariance: number[];
}

const SQRT5 = Math.sqrt(5);

// Weak priors on log-hyperparameters (standardized targets, inputs in [0, 1]).
const PRIOR = { logLen: { mu: Math.log(1.0), sd: 1.0 }, logSig: { mu: 0, sd: 1.0 }, logNug: { mu: Math.log(1e-2), sd: 2.0 } };
const BOUNDS = { logLen: [Math.log(0.03), Math.log(30)], logSig: [Math.log(0.01), Math.log(100)], logNug: [Math.log(1e-6), Math.log(10)] } as const;


const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/** Matérn-5/2 with ARD lengthscales: value, and the pieces its derivatives need. */
function matern(a: number[], b: number[], invL2: number[], s2: number): { k: number; r: number; e: number } {
  let r2 = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i]! - b[i]!;
    r2 += d * d * invL2[i]!;
  }
  const r = Math.sqrt(r2);
  const e = Math.exp(-SQRT5 * r);
  return { k: s2 * (1 + SQRT5 * r + (5 / 3) * r2) * e, r, e };
}

function cholesky(K: Matrix): CholeskyDecomposition {
  // Add jitter until the matrix factors: rounding can make a PSD kernel matrix look indefinite.
  let jitter = 0;
  for (let attempt = 0; attempt < 8; attempt++) {
    const A = jitter ? K.clone().add(Matrix.eye(K.rows).mul(jitter)) : K;
    const c = new CholeskyDecomposition(A);
    if (c.isPositiveDefinite()) return c;
    jitter = jitter ? jitter * 10 : 1e-8;
  }
  throw new Error('Gaussian process: kernel matrix is not positive definite even with jitter');
}

interface Fitted {
  hyper: GpHyper;
  mu: number; // standardized
  alpha: number[];
  Kinv: number[][];
  nll: number;
}

export class GaussianProcess {
  readonly dim: number;
  readonly hyper: GpHyper;
  /** Objective at the fitted hyperparameters: negative log marginal likelihood (standardized). */
  readonly negLogLik: number;
  private readonly X: number[][];
  private readonly yMean: number;
  private readonly yStd: number;
  private readonly fitted: Fitted;
  private readonly invL2: number[];

  private constructor(data: GpData, yMean: number, yStd: number, fitted: Fitted) {
    this.X = data.X.map((r) => r.slice());
    this.dim = data.X[0]!.length;
    this.yMean = yMean;
    this.yStd = yStd;
    this.fitted = fitted;
    this.hyper = fitted.hyper;
    this.negLogLik = fitted.nll;
    this.invL2 = fitted.hyper.lengthscales.map((l) => 1 / (l * l));
  }

  /** Fit a GP to the data (at least one point). */
  static fit(data: GpData, opts: GpFitOptions = {}): GaussianProcess {
    const n = data.y.length;
    if (n === 0) throw new Error('Gaussian process: no data');
    if (data.X.length !== n || data.noise.length !== n) throw new Error('Gaussian process: X, y and noise differ in length');
    const d = data.X[0]!.length;
    const yMean = data.y.reduce((a, b) => a + b, 0) / n;
    const sd = Math.sqrt(data.y.reduce((a, b) => a + (b - yMean) ** 2, 0) / Math.max(1, n - 1));
    // Standardize by the spread of the scores, but never by less than the typical noise: a handful of
    // near-equal noisy scores should not be blown up into big signals.
    const meanNoiseSd = Math.sqrt(data.noise.reduce((a, b) => a + b, 0) / n);
    const yStd = Math.max(sd, meanNoiseSd, 1e-6);
    const ys = data.y.map((v) => (v - yMean) / yStd);
    const noise = data.noise.map((v) => Math.max(0, v) / (yStd * yStd));

    if (opts.hyper) {
      const f = evaluate(data.X, ys, noise, opts.hyper, false);
      return new GaussianProcess(data, yMean, yStd, f);
    }
    const lenPrior = (i: number) => opts.lengthscalePriors?.[i] ?? PRIOR.logLen;
    // θ = [log ℓ_1..d, log σ², log nugget]
    const toHyper = (t: number[]): GpHyper => ({
      lengthscales: t.slice(0, d).map((v) => Math.exp(clamp(v, BOUNDS.logLen[0], BOUNDS.logLen[1]))),
      signalVar: Math.exp(clamp(t[d]!, BOUNDS.logSig[0], BOUNDS.logSig[1])),
      nugget: Math.exp(clamp(t[d + 1]!, BOUNDS.logNug[0], BOUNDS.logNug[1])),
    });
    const objective = (t: number[]) => {
      const h = toHyper(t);
      const r = evaluate(data.X, ys, noise, h, true);
      let f = r.nll;
      const g = r.grad!.slice();
      // Log-normal priors (MAP) and a soft wall at the bounds (the clamp zeroes the gradient there).
      const pen = (i: number, p: { mu: number; sd: number }, lo: number, hi: number) => {
        const v = t[i]!;
        // Outside the bounds the clamp makes the likelihood flat: only the prior and a soft wall act.
        if (v < lo || v > hi) g[i] = 0;
        f += 0.5 * ((v - p.mu) / p.sd) ** 2;
        g[i] = g[i]! + (v - p.mu) / (p.sd * p.sd);
        if (v < lo) { f += 10 * (lo - v) ** 2; g[i] = g[i]! - 20 * (lo - v); }
        if (v > hi) { f += 10 * (v - hi) ** 2; g[i] = g[i]! + 20 * (v - hi); }
      };
      for (let i = 0; i < d; i++) pen(i, lenPrior(i), BOUNDS.logLen[0], BOUNDS.logLen[1]);
      pen(d, PRIOR.logSig, BOUNDS.logSig[0], BOUNDS.logSig[1]);
      pen(d + 1, PRIOR.logNug, BOUNDS.logNug[0], BOUNDS.logNug[1]);
      if (!Number.isFinite(f)) return { f: 1e10, g: g.map(() => 0) };
      return { f, g };
    };
    const rand = mulberry32((opts.seed ?? 0) * 7919 + 17);
    const restarts = Math.max(1, opts.restarts ?? 3);
    let best: { t: number[]; f: number } | undefined;
    for (let r = 0; r < restarts; r++) {
      const t0 =
        r === 0
          ? [...Array.from({ length: d }, (_, i) => lenPrior(i).mu), 0, PRIOR.logNug.mu]
          : [...Array.from({ length: d }, (_, i) => lenPrior(i).mu + (rand() * 2 - 1) * 1.2), (rand() * 2 - 1), PRIOR.logNug.mu + (rand() * 2 - 1) * 2];
      const res = bfgsFG(objective, t0, { gtol: 1e-4, maxIter: 60 + 10 * d });
      if (!best || res.fx < best.f) best = { t: res.x, f: res.fx };
    }
    const fitted = evaluate(data.X, ys, noise, toHyper(best!.t), false);
    return new GaussianProcess(data, yMean, yStd, fitted);
  }

  /** Posterior of the latent function at x (no observation noise). */
  predict(x: number[]): Posterior {
    const { mean, variance } = this.predictWithGradient(x, false);
    return { mean, variance };
  }

  /** Posterior covariance of the latent function between points (no observation noise). */
  covariance(xs: number[][]): number[][] {
    const { X, invL2 } = this;
    const { Kinv, hyper } = this.fitted;
    const ks = xs.map((x) => X.map((xj) => matern(x, xj, invL2, hyper.signalVar).k));
    const vs = ks.map((k) => Kinv.map((row) => row.reduce((s, v, b) => s + v * k[b]!, 0)));
    const scale2 = this.yStd * this.yStd;
    return xs.map((x, i) =>
      xs.map((y, j) => {
        let c = matern(x, y, invL2, hyper.signalVar).k;
        for (let b = 0; b < X.length; b++) c -= ks[i]![b]! * vs[j]![b]!;
        return c * scale2;
      }),
    );
  }

  /** Posterior mean and variance with their gradients w.r.t. x (analytic). */
  predictWithGradient(x: number[], withGradient = true): PosteriorWithGradient {
    const { X, invL2 } = this;
    const { alpha, Kinv, mu, hyper } = this.fitted;
    const n = X.length;
    const d = this.dim;
    const s2 = hyper.signalVar;
    const k = new Array<number>(n);
    const dk: number[][] = withGradient ? new Array(n) : [];
    for (let j = 0; j < n; j++) {
      const m = matern(x, X[j]!, invL2, s2);
      k[j] = m.k;
      if (withGradient) {
        // ∂k/∂x_i = −(5/3) s² (1 + √5 r) e^{−√5 r} (x_i − x'_i)/ℓ_i²: finite at r = 0.
        const c = -(5 / 3) * s2 * (1 + SQRT5 * m.r) * m.e;
        const row = new Array<number>(d);
        for (let i = 0; i < d; i++) row[i] = c * (x[i]! - X[j]![i]!) * invL2[i]!;
        dk[j] = row;
      }
    }
    let meanS = mu;
    for (let j = 0; j < n; j++) meanS += k[j]! * alpha[j]!;
    const v = new Array<number>(n).fill(0); // K⁻¹ k
    for (let a = 0; a < n; a++) {
      const row = Kinv[a]!;
      let s = 0;
      for (let b = 0; b < n; b++) s += row[b]! * k[b]!;
      v[a] = s;
    }
    let varS = s2;
    for (let j = 0; j < n; j++) varS -= k[j]! * v[j]!;
    varS = Math.max(varS, 1e-12 * s2);
    const scale2 = this.yStd * this.yStd;
    const out: PosteriorWithGradient = { mean: this.yMean + this.yStd * meanS, variance: varS * scale2, dMean: [], dVariance: [] };
    if (withGradient) {
      const dMean = new Array<number>(d).fill(0);
      const dVar = new Array<number>(d).fill(0);
      for (let j = 0; j < n; j++) {
        const row = dk[j]!;
        for (let i = 0; i < d; i++) {
          dMean[i]! += row[i]! * alpha[j]!;
          dVar[i]! -= 2 * row[i]! * v[j]!;
        }
      }
      out.dMean = dMean.map((g) => g * this.yStd);
      out.dVariance = varS <= 1e-12 * s2 ? dVar.map(() => 0) : dVar.map((g) => g * scale2);
    }
    return out;
  }
}

/** Negative log marginal likelihood (with the constant mean profiled out) and its gradient in log-hyperparameters. */
function evaluate(X: number[][], y: number[], noise: number[], h: GpHyper, withGrad: boolean): Fitted & { grad?: number[] } {
  const n = y.length;
  const d = X[0]!.length;
  const invL2 = h.lengthscales.map((l) => 1 / (l * l));
  const K = new Matrix(n, n);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      const v = matern(X[a]!, X[b]!, invL2, h.signalVar).k;
      K.set(a, b, v);
      K.set(b, a, v);
    }
    K.set(a, a, K.get(a, a) + noise[a]! + h.nugget);
  }
  const chol = cholesky(K);
  const Kinv = choleskyInverse(chol);
  // Symmetrize: the solve leaves rounding asymmetry that would bias the variance.
  for (let a = 0; a < n; a++) for (let b = 0; b < a; b++) Kinv[a]![b] = Kinv[b]![a] = (Kinv[a]![b]! + Kinv[b]![a]!) / 2;
  const rowSums = Kinv.map((r) => r.reduce((s, v) => s + v, 0));
  const total = rowSums.reduce((s, v) => s + v, 0);
  const mu = rowSums.reduce((s, v, i) => s + v * y[i]!, 0) / total;
  const r = y.map((v) => v - mu);
  const alpha = Kinv.map((row) => row.reduce((s, v, j) => s + v * r[j]!, 0));
  const L = chol.lowerTriangularMatrix;
  let logDet = 0;
  for (let i = 0; i < n; i++) logDet += 2 * Math.log(L.get(i, i));
  const nll = 0.5 * r.reduce((s, v, i) => s + v * alpha[i]!, 0) + 0.5 * logDet + 0.5 * n * Math.log(2 * Math.PI);
  const out: Fitted & { grad?: number[] } = { hyper: h, mu, alpha, Kinv, nll };
  if (!withGrad) return out;
  // ∂NLL/∂θ = −½ tr((ααᵀ − K⁻¹) ∂K/∂θ); W = ααᵀ − K⁻¹ is symmetric.
  const grad = new Array<number>(d + 2).fill(0);
  for (let a = 0; a < n; a++) {
    for (let b = 0; b <= a; b++) {
      const w = alpha[a]! * alpha[b]! - Kinv[a]![b]!;
      const mult = a === b ? 1 : 2;
      const m = matern(X[a]!, X[b]!, invL2, h.signalVar);
      grad[d]! += -0.5 * mult * w * m.k; // ∂K/∂log σ² = K (noise excluded)
      if (a !== b) {
        const c = (5 / 3) * h.signalVar * (1 + SQRT5 * m.r) * m.e;
        for (let i = 0; i < d; i++) {
          const diff = X[a]![i]! - X[b]![i]!;
          // ∂k/∂log ℓ_i = (5/3) s² (1 + √5 r) e^{−√5 r} (Δ_i/ℓ_i)²
          grad[i]! += -0.5 * mult * w * c * diff * diff * invL2[i]!;
        }
      } else {
        grad[d + 1]! += -0.5 * w * h.nugget; // ∂K/∂log nugget = nugget·I
      }
    }
  }
  out.grad = grad;
  return out;
}
