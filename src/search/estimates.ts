import { CholeskyDecomposition, Matrix } from 'ml-matrix';
import { choleskyInverse } from './_cholesky-inverse.js';
import type { ValidationItem } from '../eval/types.js';
import type { ObservationRecord } from './types.js';

/**
 * Every mixture's score on the whole validation set, estimated from whatever prompts and samples it was judged on.
 *
 * Model (scores ×100, per judged answer): y(m, p, r) = a(m) + d(p) + e, with prompt difficulty d ~ N(0, σd²) shared
 * by all mixtures (a random effect), a(m) free, and e = g(m, p) + ε: a mixture-specific per-prompt part (σg²) plus
 * sampling and judging noise (σε²) that a replicate on fresh samples draws anew. A cell — one mixture on one prompt,
 * its replicates averaged — has variance σg² + σε²/r. A mixture's expected score on the validation set is
 * T(m) = a(m) + Σp w(p)·d(p), with w the score's weights (mean over sources of per-source means).
 *
 * a and d are solved jointly (generalized least squares; a is eliminated, leaving a system in the prompts), so a
 * mixture judged on 12 prompts and one judged on 100 are put on one scale: the difficulty of the 12 is learned from
 * every mixture judged on them, and what is not known about the difficulty of prompts a mixture did not see widens
 * its variance. Variance components are estimated from the data: σε² from replicates, σg² from what is left, σd² from
 * the spread of the fitted difficulties.
 *
 * `noise` is each estimate's variance minus `shared`, the part every estimate has in common (e.g. how hard the
 * prompts everyone was judged on are, relative to the whole set): shared error shifts every estimate alike, so it
 * does not enter comparisons, but it does widen each interval.
 */
export interface MixtureEstimate {
  trial: number;
  mean: number;
  /** Variance of the estimate beyond what every estimate shares. */
  noise: number;
  prompts: number;
  measurements: number;
}

export interface EstimateSet {
  byTrial: Map<number, MixtureEstimate>;
  /**
   * `noise` of a mixture judged `reps` times on each of these prompts (ids), given everything else measured: what a
   * planned measurement would leave, for strategies weighing it. Prompts outside the validation set are ignored.
   */
  noiseOf(judged: ReadonlyMap<string, number>): number;
  /** Variance every estimate shares. */
  shared: number;
  components: { epsilon: number; interaction: number; difficulty: number };
}

interface Cell {
  trial: number;
  prompt: number;
  /** Mean of the replicates, ×100. */
  y: number;
  reps: number;
  /** Sum of squared deviations of the replicates from their mean (for σε²). */
  ss: number;
}

const FLOOR = 1; // points²: keeps degenerate data (one prompt, identical outcomes) from claiming certainty
const SWEEPS = 4;

/** The score's weight of each prompt: mean over sources of per-source means. */
export function promptWeights(items: readonly ValidationItem[]): Map<string, number> {
  const n = new Map<string, number>();
  for (const it of items) n.set(it.source, (n.get(it.source) ?? 0) + 1);
  return new Map(items.map((it) => [it.id, 1 / (n.size * n.get(it.source)!)]));
}

function collectCells(observations: readonly ObservationRecord[], index: ReadonlyMap<string, number>): { cells: Cell[]; measurements: Map<number, number> } {
  const acc = new Map<string, { trial: number; prompt: number; xs: number[] }>();
  const measurements = new Map<number, number>();
  for (const o of observations) {
    if (o.state !== 'COMPLETE' || !o.perPrompt) continue;
    measurements.set(o.trial, (measurements.get(o.trial) ?? 0) + 1);
    for (const out of o.perPrompt) {
      const p = index.get(out.id);
      if (p === undefined) continue; // a prompt no longer in the validation set
      const k = `${o.trial}:${p}`;
      (acc.get(k) ?? acc.set(k, { trial: o.trial, prompt: p, xs: [] }).get(k)!).xs.push(100 * out.preference);
    }
  }
  const out: Cell[] = [];
  for (const { trial, prompt, xs } of acc.values()) {
    const y = xs.reduce((a, b) => a + b, 0) / xs.length;
    out.push({ trial, prompt, y, reps: xs.length, ss: xs.reduce((a, x) => a + (x - y) ** 2, 0) });
  }
  return { cells: out, measurements };
}

interface Solved {
  a: Map<number, number>;
  d: Float64Array; // over seen prompts (local index)
  /** Covariance of d over seen prompts (local index), when asked for. */
  cov?: number[][];
}

/** Where the cells sit: the mixtures (trials), the prompts any mixture was judged on and their local index. */
interface Layout {
  cells: Cell[];
  trials: number[];
  seen: number[];
  local: Map<number, number>;
  byTrial: Map<number, Cell[]>;
}

/** Variance components (points²): sampling and judging noise, mixture×prompt interaction, prompt difficulty. */
interface Components {
  eps: number;
  inter: number;
  diff: number;
}

export function estimateScores(observations: readonly ObservationRecord[], items: readonly ValidationItem[]): EstimateSet {
  const index = new Map(items.map((it, i) => [it.id, i]));
  const weights = promptWeights(items);
  const w = items.map((it) => weights.get(it.id)!);
  const { cells, measurements } = collectCells(observations, index);
  const g = layout(cells);
  const { comps, final } = fitComponents(g);
  const cov = final.cov ?? [];
  const unseen = items.reduce((s, _, p) => s + (g.local.has(p) ? 0 : w[p]! ** 2 * comps.diff), 0);
  const dTotal = g.seen.reduce((s, p, i) => s + w[p]! * final.d[i]!, 0);

  const us = g.trials.map((t) => weightsOf(g, w, comps, g.byTrial.get(t)!));
  const q = us.map((x) => quad(cov, x.u, x.u));
  const shared = sharedVariance(cov, us, q);
  const out = new Map<number, MixtureEstimate>();
  g.trials.forEach((t, k) => {
    const xs = g.byTrial.get(t)!;
    out.set(t, { trial: t, mean: final.a.get(t)! + dTotal, noise: Math.max(1e-3, us[k]!.invL + Math.max(0, q[k]! - shared)), prompts: xs.length, measurements: measurements.get(t) ?? 0 });
  });
  const noiseOf = (judged: ReadonlyMap<string, number>) => {
    const js = [...judged].flatMap(([id, reps]) => (index.has(id) && reps > 0 ? [{ prompt: index.get(id)!, reps }] : []));
    if (!js.length) return Infinity;
    const x = weightsOf(g, w, comps, js);
    return Math.max(1e-3, x.invL + Math.max(0, quad(cov, x.u, x.u) + x.fresh - shared));
  };
  return { byTrial: out, noiseOf, shared: shared + unseen, components: { epsilon: comps.eps, interaction: comps.inter, difficulty: comps.diff } };
}

function layout(cells: Cell[]): Layout {
  const trials = [...new Set(cells.map((c) => c.trial))].sort((x, y) => x - y);
  const seen = [...new Set(cells.map((c) => c.prompt))].sort((x, y) => x - y);
  return { cells, trials, seen, local: new Map(seen.map((p, i) => [p, i])), byTrial: new Map(trials.map((t) => [t, cells.filter((c) => c.trial === t)])) };
}

const cellWeight = (c: Components, reps: number) => 1 / (c.inter + c.eps / reps);

/**
 * Variance components by alternating with the GLS fit: σε² from replicates (or most of the residual before there
 * are any), σg² from the residual left, σd² from the spread and uncertainty of the fitted difficulties.
 */
function fitComponents(g: Layout): { comps: Components; final: Solved } {
  const P = g.seen.length;
  // Starting variance components: no replicates yet → most of the residual is taken to be sampling noise (per-prompt
  // judge and sampling noise dwarfs the mixture×prompt interaction in LLM judging; measured on the sim too).
  const repDf = g.cells.reduce((s, c) => s + c.reps - 1, 0);
  const repSs = g.cells.reduce((s, c) => s + c.ss, 0);
  const eps = repDf >= 5 ? Math.max(FLOOR, repSs / repDf) : 500;
  const comps: Components = { eps, inter: repDf >= 5 ? Math.max(FLOOR, 0.1 * eps) : 90, diff: 500 };
  let sol = solveGls(g, comps, false);
  for (let sweep = 0; sweep < SWEEPS && P > 0; sweep++) {
    // Each cell's residual has variance σg² + σε²/reps, less what fitting a and d absorbed (degrees of freedom).
    const dfR = g.cells.length - g.trials.length - P;
    if (dfR >= 3) {
      const res = g.cells.map((c) => (c.y - sol.a.get(c.trial)! - sol.d[g.local.get(c.prompt)!]!) ** 2);
      if (repDf >= 5) comps.inter = Math.max(FLOOR, g.cells.reduce((s, c, i) => s + res[i]! - comps.eps / c.reps, 0) / dfR);
      else {
        const r = res.reduce((s, x) => s + x, 0) / dfR;
        comps.eps = Math.max(FLOOR, 0.85 * r);
        comps.inter = Math.max(FLOOR, 0.15 * r);
      }
    }
    if (P >= 3) {
      const withCov = solveGls(g, comps, true);
      const v = withCov.d.reduce((s, x) => s + x * x, 0) / P;
      const tr = withCov.cov!.reduce((s, row, i) => s + row[i]!, 0) / P;
      comps.diff = Math.max(25, v + tr);
    }
    sol = solveGls(g, comps, false);
  }
  return { comps, final: P > 0 ? solveGls(g, comps, true) : sol };
}

/** GLS for (a, d): a eliminated per mixture (its block is diagonal), leaving the prompts' Schur complement S. */
function solveGls(g: Layout, comps: Components, withCov: boolean): Solved {
  const P = g.seen.length;
  const S = Matrix.eye(P, P).mul(1 / comps.diff);
  const rhs = new Float64Array(P);
  for (const t of g.trials) {
    const xs = g.byTrial.get(t)!;
    const lam = xs.map((c) => cellWeight(comps, c.reps));
    const L = lam.reduce((s, x) => s + x, 0);
    const ybar = xs.reduce((s, c, i) => s + lam[i]! * c.y, 0) / L;
    xs.forEach((c, i) => {
      const pi = g.local.get(c.prompt)!;
      S.set(pi, pi, S.get(pi, pi) + lam[i]!);
      rhs[pi]! += lam[i]! * (c.y - ybar);
      xs.forEach((c2, j) => {
        const pj = g.local.get(c2.prompt)!;
        S.set(pi, pj, S.get(pi, pj) - (lam[i]! * lam[j]!) / L);
      });
    });
  }
  const chol = new CholeskyDecomposition(S);
  const d = Float64Array.from(chol.solve(Matrix.columnVector(Array.from(rhs))).to1DArray());
  const a = new Map<number, number>();
  for (const t of g.trials) {
    const xs = g.byTrial.get(t)!;
    const lam = xs.map((c) => cellWeight(comps, c.reps));
    const L = lam.reduce((s, x) => s + x, 0);
    a.set(t, xs.reduce((s, c, i) => s + lam[i]! * (c.y - d[g.local.get(c.prompt)!]!), 0) / L);
  }
  return withCov ? { a, d, cov: choleskyInverse(chol) } : { a, d };
}

/** (u − w) over seen prompts, 1/L, and the difficulty variance of unseen prompts this mixture was judged on. */
function weightsOf(g: Layout, w: number[], comps: Components, judged: ReadonlyArray<{ prompt: number; reps: number }>) {
  const lam = judged.map((c) => cellWeight(comps, c.reps));
  const L = lam.reduce((s, x) => s + x, 0);
  const u = g.seen.map((p) => -w[p]!);
  let fresh = 0;
  judged.forEach((c, i) => {
    const li = g.local.get(c.prompt);
    if (li !== undefined) u[li]! += lam[i]! / L;
    else fresh += ((lam[i]! / L - w[c.prompt]!) ** 2 - w[c.prompt]! ** 2) * comps.diff;
  });
  return { u, invL: 1 / L, fresh };
}

/** uᵀ·cov·v. */
function quad(cov: number[][], u: number[], v: number[]): number {
  let s = 0;
  for (let i = 0; i < cov.length; i++) {
    const row = cov[i]!;
    let r = 0;
    for (let j = 0; j < cov.length; j++) r += row[j]! * v[j]!;
    s += u[i]! * r;
  }
  return s;
}

/** The part all estimates share: a low quantile of their covariances, never more than any one's own difficulty part. */
function sharedVariance(cov: number[][], us: ReadonlyArray<{ u: number[] }>, q: number[]): number {
  if (us.length < 2) return 0;
  const vs = us.map((x) => cov.map((row) => row.reduce((s, c, j) => s + c * x.u[j]!, 0)));
  const off: number[] = [];
  for (let m = 0; m < us.length; m++) for (let n = m + 1; n < us.length; n++) off.push(us[m]!.u.reduce((s, x, i) => s + x * vs[n]![i]!, 0));
  off.sort((x, y) => x - y);
  return Math.max(0, Math.min(off[Math.floor(0.1 * (off.length - 1))]!, ...q));
}
