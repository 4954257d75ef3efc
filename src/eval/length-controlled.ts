import type { PromptOutcome } from './types.js';

/**
 * Length-controlled win rate, in the manner of AlpacaEval 2.0 (Dubois et al., 2024): a logistic GLM of the
 * judge's preference with
 *   logit p(mixture j beats the reference on prompt i) = θ_j + (β + b_j) · tanh(Δ_ij / σ) + d_i
 * where Δ_ij = candidate chars − reference chars, σ the standard deviation of Δ over the whole study,
 * θ_j a per-mixture term, β + b_j its length slope (β the judge's shared length bias, b_j a per-mixture
 * deviation as in AlpacaEval's per-model length weight), d_i a per-prompt difficulty shared by all mixtures.
 * The LC win rate of j is 100 · mean_i sigmoid(θ_j + d_i): the prediction at zero length difference.
 *
 * Differences from AlpacaEval, on purpose: AlpacaEval takes the instruction difficulty from a fit over its
 * whole leaderboard; here it is fit jointly over the mixtures given (a study), with an L2 penalty
 * (`difficultyPenalty`, default 1) so it is identifiable and shrinks toward 0 when data is scarce. With a
 * single mixture (one `eval`) the difficulty term is then purely regularized per-prompt noise and the LC rate
 * mostly reflects the length correction. A mixture whose answers are all longer than the references cannot
 * separate quality from verbosity on its own; the slope is learned from the variation of lengths within and
 * across mixtures, and penalized (`slopePenalty`; per-mixture deviations more, `slopeDeviationPenalty`), so without evidence the
 * correction stays small rather than arbitrary. Preferences are used as soft labels (a 0.73 preference is 0.73 of a
 * win), as AlpacaEval does with its continuous preferences.
 */
export interface LengthControlOptions {
  /** Only outcomes from this source are used (default `alpaca_eval`; `null` uses every source). */
  source?: string | null;
  difficultyPenalty?: number;
  /** L2 penalty on the judge's shared length slope β (default 0.5). */
  slopePenalty?: number;
  /** L2 penalty on each mixture's deviation b_j from the shared slope (default 2: with ~50 prompts a per-mixture slope is mostly noise). */
  slopeDeviationPenalty?: number;
  maxIterations?: number;
}

export interface LengthControlled {
  /** LC win rate, 0–100. */
  lc: number;
  /** β + b_j: how much longer answers sway the judge for this mixture (logit per unit of tanh(Δ/σ)). */
  lengthSlope: number;
  /** Prompts used. */
  n: number;
}

const sigmoid = (z: number) => (z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)));

function sampleSd(xs: number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Solve H x = g for symmetric positive-definite H (dense Cholesky; 2J+1 unknowns after the Schur complement). */
function choleskySolve(H: Float64Array, g: Float64Array, P: number): Float64Array {
  const L = new Float64Array(P * P);
  for (let i = 0; i < P; i++) {
    for (let j = 0; j <= i; j++) {
      let s = H[i * P + j]!;
      for (let k = 0; k < j; k++) s -= L[i * P + k]! * L[j * P + k]!;
      if (i === j) L[i * P + i] = Math.sqrt(Math.max(s, 1e-12));
      else L[i * P + j] = s / L[j * P + j]!;
    }
  }
  const y = new Float64Array(P);
  for (let i = 0; i < P; i++) {
    let s = g[i]!;
    for (let k = 0; k < i; k++) s -= L[i * P + k]! * y[k]!;
    y[i] = s / L[i * P + i]!;
  }
  const x = new Float64Array(P);
  for (let i = P - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < P; k++) s -= L[k * P + i]! * x[k]!;
    x[i] = s / L[i * P + i]!;
  }
  return x;
}

/**
 * Fit the GLM over every mixture evaluated in a study and return each one's LC win rate.
 * Mixtures with no outcome of the chosen source are left out of the result.
 */
export function lengthControlledWinRates(
  outcomesByMixture: ReadonlyMap<string, readonly PromptOutcome[]> | Readonly<Record<string, readonly PromptOutcome[]>>,
  opts: LengthControlOptions = {},
): Map<string, LengthControlled> {
  const entries: Array<[string, readonly PromptOutcome[]]> =
    outcomesByMixture instanceof Map ? [...outcomesByMixture.entries()] : Object.entries(outcomesByMixture as Record<string, readonly PromptOutcome[]>);
  const data = glmData(entries, opts.source === undefined ? 'alpaca_eval' : opts.source);
  const out = new Map<string, LengthControlled>();
  const J = data.mixtures.length;
  if (!J) return out;
  const g = glm(data, opts);
  const w = fitGlm(g, opts.maxIterations ?? 50);
  data.mixtures.forEach((key, j) => {
    const mine = data.obs.filter((o) => o.j === j);
    const lc = (100 * mine.reduce((a, o) => a + sigmoid(w[j]! + w[g.A + o.i]!), 0)) / mine.length;
    out.set(key, { lc, lengthSlope: w[g.B]! + w[J + j]!, n: mine.length });
  });
  return out;
}

interface GlmObs {
  j: number;
  i: number;
  x: number;
  y: number;
}

/** Mixture j, prompt i, squashed length difference x, preference y: one row per outcome of the source. */
function glmData(entries: Array<[string, readonly PromptOutcome[]]>, source: string | null): { mixtures: string[]; obs: GlmObs[]; prompts: number } {
  const mixtures: string[] = [];
  const promptIndex = new Map<string, number>();
  const obs: GlmObs[] = [];
  const raw: Array<{ j: number; o: PromptOutcome }> = [];
  for (const [key, outcomes] of entries) {
    const rows = outcomes.filter((o) => source === null || o.source === source);
    if (!rows.length) continue;
    const j = mixtures.length;
    mixtures.push(key);
    for (const o of rows) raw.push({ j, o });
  }
  // One scale for the whole study (AlpacaEval scales per model; on its own annotations the two agree within
  // ~1 point of LC, and a shared scale keeps the shared slope comparable across mixtures).
  const sd = sampleSd(raw.map(({ o }) => o.candidateChars - o.referenceChars));
  for (const { j, o } of raw) {
    let i = promptIndex.get(o.id);
    if (i === undefined) promptIndex.set(o.id, (i = promptIndex.size));
    const delta = o.candidateChars - o.referenceChars;
    obs.push({ j, i, x: sd > 0 ? Math.tanh(delta / sd) : 0, y: Math.min(1, Math.max(0, o.preference)) });
  }
  return { mixtures, obs, prompts: promptIndex.size };
}

/** The penalized logistic problem: parameters θ_0..θ_{J−1}, b_0..b_{J−1}, β (the "a" block), then d_0..d_{I−1}. */
function glm(data: { mixtures: string[]; obs: GlmObs[]; prompts: number }, opts: LengthControlOptions) {
  const J = data.mixtures.length;
  const I = data.prompts;
  const lamD = opts.difficultyPenalty ?? 1;
  const lamB = opts.slopePenalty ?? 0.5;
  const lamDev = opts.slopeDeviationPenalty ?? 2;
  const lamT = 1e-4;
  const A = 2 * J + 1;
  const B = 2 * J;
  const P = A + I;
  const penalty = (k: number) => (k < J ? lamT : k < B ? lamDev : k === B ? lamB : lamD);
  const objective = (v: Float64Array) => {
    let f = 0;
    for (const o of data.obs) {
      const z = v[o.j]! + (v[B]! + v[J + o.j]!) * o.x + v[A + o.i]!;
      // −[y log σ(z) + (1−y) log(1−σ(z))], computed stably.
      f += Math.max(z, 0) - o.y * z + Math.log1p(Math.exp(-Math.abs(z)));
    }
    for (let k = 0; k < P; k++) f += 0.5 * penalty(k) * v[k]! ** 2;
    return f;
  };
  return { obs: data.obs, J, I, A, B, P, lamD, penalty, objective };
}
type Glm = ReturnType<typeof glm>;

/** Damped Newton from zero until the penalized loss stops falling. */
function fitGlm(g: Glm, maxIterations: number): Float64Array {
  const w = new Float64Array(g.P);
  let f = g.objective(w);
  for (let iter = 0; iter < maxIterations; iter++) {
    const step = newtonStep(g, w);
    // Damped Newton: halve the step until the penalized loss does not increase.
    let t = 1;
    let next = w;
    let fNext = f;
    for (let h = 0; h < 30; h++) {
      const cand = new Float64Array(g.P);
      for (let k = 0; k < g.P; k++) cand[k] = w[k]! - t * step[k]!;
      const fc = g.objective(cand);
      if (fc <= f) {
        next = cand;
        fNext = fc;
        break;
      }
      t /= 2;
    }
    const moved = f - fNext;
    w.set(next);
    f = fNext;
    if (moved < 1e-10) break;
  }
  return w;
}

/**
 * The Newton step at w. The Hessian's difficulty block is diagonal (a prompt's d_i meets no other prompt), so the
 * step is solved through the Schur complement: a (2J+1)-sized system instead of one the size of the set.
 */
function newtonStep(g: Glm, w: Float64Array): Float64Array {
  const { J, I, A, B, P } = g;
  const grad = new Float64Array(P);
  const Haa = new Float64Array(A * A);
  const Hab = new Float64Array(A * I);
  const Dd = new Float64Array(I);
  for (let k = 0; k < A; k++) {
    grad[k] = g.penalty(k) * w[k]!;
    Haa[k * A + k] = g.penalty(k);
  }
  for (let i = 0; i < I; i++) {
    grad[A + i] = g.lamD * w[A + i]!;
    Dd[i] = g.lamD;
  }
  for (const o of g.obs) {
    const idx = [o.j, J + o.j, B];
    const feat = [1, o.x, o.x];
    const p = sigmoid(w[o.j]! + (w[B]! + w[J + o.j]!) * o.x + w[A + o.i]!);
    const r = p - o.y;
    const s = Math.max(p * (1 - p), 1e-10);
    for (let a = 0; a < 3; a++) {
      grad[idx[a]!] += r * feat[a]!;
      Hab[idx[a]! * I + o.i] += s * feat[a]!;
      for (let b = 0; b < 3; b++) Haa[idx[a]! * A + idx[b]!] += s * feat[a]! * feat[b]!;
    }
    grad[A + o.i] += r;
    Dd[o.i] += s;
  }
  const S = new Float64Array(A * A);
  const rhs = new Float64Array(A);
  for (let a = 0; a < A; a++) {
    let acc = grad[a]!;
    for (let i = 0; i < I; i++) acc -= (Hab[a * I + i]! / Dd[i]!) * grad[A + i]!;
    rhs[a] = acc;
    for (let b = 0; b <= a; b++) {
      let v = Haa[a * A + b]!;
      for (let i = 0; i < I; i++) v -= (Hab[a * I + i]! * Hab[b * I + i]!) / Dd[i]!;
      S[a * A + b] = v;
      S[b * A + a] = v;
    }
  }
  const stepA = choleskySolve(S, rhs, A);
  const step = new Float64Array(P);
  step.set(stepA);
  for (let i = 0; i < I; i++) {
    let acc = grad[A + i]!;
    for (let a = 0; a < A; a++) acc -= Hab[a * I + i]! * stepA[a]!;
    step[A + i] = acc / Dd[i]!;
  }
  return step;
}
