import { Matrix } from 'ml-matrix';

/** Objective value and gradient at one point. */
export type ValueAndGradient = (x: number[]) => { f: number; g: number[] };

export interface OptimizeResult {
  x: number[];
  fx: number;
  /** Max-norm of the gradient at `x` (NaN for derivative-free methods). */
  gradNorm: number;
  iterations: number;
  /** Objective evaluations, counting those spent on finite differences. */
  evaluations: number;
  converged: boolean;
  message: string;
}

export interface BfgsOptions {
  /** Analytic gradient; central finite differences when absent. */
  grad?: (x: number[]) => number[];
  /** Stop when max |g_i| ≤ gtol (scipy's default 1e-5). */
  gtol?: number;
  /** Iteration cap (scipy's default 200·n). */
  maxIter?: number;
  /** Wolfe constants (scipy: 1e-4 and 0.9). */
  c1?: number;
  c2?: number;
}

/** Central differences; step ~ eps^(1/3) balances truncation and rounding error. */
export function finiteDifferenceGradient(f: (x: number[]) => number, x: number[]): number[] {
  const g = new Array<number>(x.length);
  const xs = x.slice();
  for (let i = 0; i < x.length; i++) {
    const h = 6.055e-6 * Math.max(1, Math.abs(x[i]!));
    xs[i] = x[i]! + h;
    const fp = f(xs);
    xs[i] = x[i]! - h;
    const fm = f(xs);
    xs[i] = x[i]!;
    g[i] = (fp - fm) / (2 * h);
  }
  return g;
}

const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);
const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const axpy = (x: number[], a: number, d: number[]) => x.map((v, i) => v + a * d[i]!);

/** Minimizer of the cubic through (a, fa, ga) and (b, fb, gb), or undefined when it is not well defined. */
function cubicMin(a: number, fa: number, ga: number, b: number, fb: number, gb: number): number | undefined {
  const d1 = ga + gb - 3 * ((fa - fb) / (a - b));
  const disc = d1 * d1 - ga * gb;
  if (!(disc >= 0)) return undefined;
  const d2 = Math.sign(b - a) * Math.sqrt(disc);
  const t = b - (b - a) * ((gb + d2 - d1) / (gb - ga + 2 * d2));
  return Number.isFinite(t) ? t : undefined;
}

interface LineSearchResult {
  alpha: number;
  f: number;
  g: number[];
  ok: boolean;
}

/**
 * Line search for the strong Wolfe conditions (Nocedal & Wright, Algorithms 3.5 and 3.6):
 * bracket a step, then zoom with safeguarded cubic interpolation.
 */
function wolfeLineSearch(
  fg: ValueAndGradient,
  x: number[],
  d: number[],
  f0: number,
  g0: number[],
  c1: number,
  c2: number,
  alpha1: number,
): LineSearchResult {
  const dphi0 = dot(g0, d);
  const phi = (a: number) => {
    const r = fg(axpy(x, a, d));
    return { a, f: r.f, g: r.g, dphi: dot(r.g, d) };
  };
  type P = ReturnType<typeof phi>;
  const zoom = (lo: P, hi: P): LineSearchResult => {
    for (let i = 0; i < 30; i++) {
      const lower = Math.min(lo.a, hi.a);
      const width = Math.abs(hi.a - lo.a);
      let a = cubicMin(lo.a, lo.f, lo.dphi, hi.a, hi.f, hi.dphi);
      // Keep the trial step well inside the bracket, else bisect.
      if (a === undefined || a < lower + 0.1 * width || a > lower + 0.9 * width) a = (lo.a + hi.a) / 2;
      const p = phi(a);
      if (!Number.isFinite(p.f) || p.f > f0 + c1 * a * dphi0 || p.f >= lo.f) hi = p;
      else {
        if (Math.abs(p.dphi) <= -c2 * dphi0) return { alpha: a, f: p.f, g: p.g, ok: true };
        if (p.dphi * (hi.a - lo.a) >= 0) hi = lo;
        lo = p;
      }
      if (Math.abs(hi.a - lo.a) < 1e-14 * Math.max(1, lo.a)) break;
    }
    // Not strictly Wolfe, but a decrease: usable, flagged.
    return { alpha: lo.a, f: lo.f, g: lo.g, ok: false };
  };
  let prev: P = { a: 0, f: f0, g: g0, dphi: dphi0 };
  let a = alpha1;
  for (let i = 0; i < 40; i++) {
    const p = phi(a);
    if (!Number.isFinite(p.f) || p.f > f0 + c1 * a * dphi0 || (i > 0 && p.f >= prev.f)) return zoom(prev, p);
    if (Math.abs(p.dphi) <= -c2 * dphi0) return { alpha: a, f: p.f, g: p.g, ok: true };
    if (p.dphi >= 0) return zoom(p, prev);
    prev = p;
    a *= 2;
  }
  return { alpha: prev.a, f: prev.f, g: prev.g, ok: false };
}

/**
 * BFGS quasi-Newton minimization with an inverse-Hessian update and a strong-Wolfe line search,
 * with scipy.optimize.minimize(method='BFGS')'s defaults.
 */
export function bfgs(f: (x: number[]) => number, x0: number[], opts: BfgsOptions = {}): OptimizeResult {
  let evaluations = 0;
  const counted = (x: number[]) => {
    evaluations++;
    return f(x);
  };
  const grad = opts.grad;
  const fg: ValueAndGradient = grad
    ? (x) => ({ f: counted(x), g: grad(x) })
    : (x) => ({ f: counted(x), g: finiteDifferenceGradient(counted, x) });
  const res = bfgsFG(fg, x0, opts);
  return { ...res, evaluations };
}

/** BFGS on a function that returns its value and gradient together (cheaper when they share work). */
export function bfgsFG(fg: ValueAndGradient, x0: number[], opts: Omit<BfgsOptions, 'grad'> = {}): OptimizeResult {
  const n = x0.length;
  const gtol = opts.gtol ?? 1e-5;
  const maxIter = opts.maxIter ?? 200 * n;
  const c1 = opts.c1 ?? 1e-4;
  const c2 = opts.c2 ?? 0.9;
  let evaluations = 0;
  const call: ValueAndGradient = (x) => {
    evaluations++;
    return fg(x);
  };

  let x = x0.slice();
  let { f: fx, g } = call(x);
  if (!Number.isFinite(fx)) return { x, fx, gradNorm: NaN, iterations: 0, evaluations, converged: false, message: 'objective is not finite at the start point' };
  let H = Matrix.eye(n);
  let fPrev = fx + maxAbs(g) / 2; // scipy's first-step heuristic: expect a decrease of |g|/2
  let iterations = 0;
  const done = (converged: boolean, message: string): OptimizeResult => ({ x, fx, gradNorm: maxAbs(g), iterations, evaluations, converged, message });

  while (iterations < maxIter) {
    if (maxAbs(g) <= gtol) return done(true, 'gradient norm below gtol');
    const gcol = Matrix.columnVector(g);
    let d = H.mmul(gcol).mul(-1).to1DArray();
    let slope = dot(g, d);
    if (!(slope < 0)) {
      // The inverse Hessian lost positive definiteness: restart along steepest descent.
      H = Matrix.eye(n);
      d = g.map((v) => -v);
      slope = dot(g, d);
    }
    const alpha1 = Math.min(1, (1.01 * 2 * (fx - fPrev)) / slope);
    const ls = wolfeLineSearch(call, x, d, fx, g, c1, c2, alpha1 > 0 && Number.isFinite(alpha1) ? alpha1 : 1);
    iterations++;
    if (!(ls.f < fx) && !ls.ok) return done(maxAbs(g) <= gtol, 'line search found no decrease (precision loss)');
    const s = d.map((v) => v * ls.alpha);
    const xNew = axpy(x, 1, s);
    const y = ls.g.map((v, i) => v - g[i]!);
    fPrev = fx;
    x = xNew;
    fx = ls.f;
    g = ls.g;
    const sy = dot(s, y);
    if (sy > 1e-12 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (iterations === 1) H = Matrix.eye(n).mul(sy / dot(y, y)); // scale the first guess (N&W eq. 6.20)
      // H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
      const rho = 1 / sy;
      const S = Matrix.columnVector(s);
      const Y = Matrix.columnVector(y);
      const A = Matrix.eye(n).sub(S.mmul(Y.transpose()).mul(rho));
      H = A.mmul(H).mmul(A.transpose()).add(S.mmul(S.transpose()).mul(rho));
    }
    if (Math.abs(fPrev - fx) <= 1e-16 * Math.max(1, Math.abs(fx)) && maxAbs(s) < 1e-14) {
      return done(maxAbs(g) <= gtol, 'no further progress possible');
    }
  }
  return done(maxAbs(g) <= gtol, 'maximum iterations reached');
}

declare global {
  // fmin's ESM entry exports nothing; its UMD build sets globalThis.fmin.
  var fmin: { nelderMead: (f: (x: number[]) => number, x0: number[], p?: Record<string, unknown>) => { x: number[]; fx: number } } | undefined;
}

let fminLoaded: Promise<void> | undefined;
/** Load fmin once (its module registers itself on globalThis). */
export function loadFmin(): Promise<void> {
  fminLoaded ??= import('fmin').then(() => undefined);
  return fminLoaded;
}

export interface NelderMeadOptions {
  maxIter?: number;
  /** Stop when the simplex's function spread and size are both below these. */
  ftol?: number;
  xtol?: number;
}

/** fmin's Nelder–Mead as a derivative-free alternative inner optimizer (call `await loadFmin()` first). */
export function nelderMead(f: (x: number[]) => number, x0: number[], opts: NelderMeadOptions = {}): OptimizeResult {
  const nm = globalThis.fmin?.nelderMead;
  if (!nm) throw new Error('fmin is not loaded: await loadFmin() before nelderMead()');
  let evaluations = 0;
  const maxIter = opts.maxIter ?? 200 * x0.length;
  const objective = (x: number[]) => {
    evaluations++;
    return f(x.slice()); // fmin mutates and reuses its arrays: hand the objective a copy
  };
  // fmin 0.0.4's shrink step assigns an undeclared loop variable and throws in strict mode. With sigma = 1 it
  // stops where it would shrink instead; restarting from the best vertex (a fresh, smaller simplex) stands in.
  let x = x0.slice();
  let fx = Infinity;
  let restarts = 0;
  while (evaluations < maxIter && restarts < 50) {
    const r = nm(objective, x.slice(), { maxIterations: Math.max(10, maxIter - evaluations), minErrorDelta: opts.ftol ?? 1e-8, minTolerance: opts.xtol ?? 1e-8, sigma: 1 });
    restarts++;
    const improved = r.fx < fx - Math.max(opts.ftol ?? 1e-8, 1e-12 * Math.abs(fx));
    if (r.fx < fx) {
      fx = r.fx;
      x = Array.from(r.x);
    }
    if (!improved) break;
  }
  return {
    x,
    fx,
    gradNorm: NaN,
    // fmin reports neither its iteration count nor why it stopped.
    iterations: NaN,
    evaluations,
    converged: Number.isFinite(fx) && evaluations < maxIter,
    message: `Nelder–Mead (fmin), ${restarts} simplex start${restarts === 1 ? '' : 's'}`,
  };
}
