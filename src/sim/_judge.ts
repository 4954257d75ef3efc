import { END_MARK, findTokens, MIS_BASE, START_MARK, type FoundToken } from './_codec.js';
import { normalCdf, sigmoid } from './_hash.js';
import { countSentences } from './_text.js';
import { worldFromKey } from './_world.js';
import type { SimProfile } from './_profiles.js';

// The simulated judge. It finds the two answers in a judge prompt by the answers' own start/end markers
// (so any template works), scores each by the weights of the true points it states minus its
// misconceptions, plus a credit per sentence (length bias), and decides with position bias and noise.

export const JUDGE_MARK = 62;

/** Arena-Hard verdict thresholds on the noisy preference (in logistic units), weak and strong. */
export const ARENA_WEAK = 0.6;
export const ARENA_STRONG = 1.8;

export type Protocol = 'alpaca_eval' | 'arena_hard';

export function detectProtocol(text: string): Protocol | undefined {
  if (text.includes('[[A>>B]]')) return 'arena_hard';
  // AlpacaEval: the outputs are labelled m and M and the judge is asked to name one (a question that merely
  // quotes "m" and "M" is not a judge prompt: it must also speak of outputs, models or identifiers).
  const labelled = (/["'`]m["'`]/.test(text) && /["'`]M["'`]/.test(text)) || /\bm or M\b|\bM or m\b/.test(text);
  if (labelled && /\b(outputs?|models?|identifiers?)\b/i.test(text)) return 'alpaca_eval';
  return undefined;
}

export interface AnswerRegion {
  start: number;
  end: number;
  tokens: FoundToken[];
  sentences: number;
  marked: boolean;
}

/**
 * Quality as a judge perceives it: Σ weights of distinct true points − Σ weights of distinct
 * misconceptions + lengthCredit × sentences. Integer-valued, which the oracle relies on.
 */
export function perceivedQuality(worldSeed: number, tokens: FoundToken[], sentences: number, lengthCredit: number): number {
  let q = lengthCredit * sentences;
  const seen = new Set<number>();
  for (const t of tokens) {
    if (t.item >= START_MARK) continue;
    const id = t.key * 64 + t.item;
    if (seen.has(id)) continue;
    seen.add(id);
    const w = worldFromKey(worldSeed, t.key);
    if (t.item < MIS_BASE) q += w.pointWeights[t.item] ?? 0;
    else q -= w.misWeights[t.item - MIS_BASE] ?? 0;
  }
  return q;
}

/** Split the judge text into answers, in order of appearance. */
export function findAnswers(text: string, exclude?: string): AnswerRegion[] {
  const tokens = findTokens(text).filter((t) => t.item !== JUDGE_MARK);
  const regions: AnswerRegion[] = [];
  let cur: { start: number; toks: FoundToken[] } | undefined;
  const close = (end: number) => {
    if (!cur) return;
    const body = text.slice(cur.start, end);
    regions.push({ start: cur.start, end, tokens: cur.toks, sentences: countSentences(body), marked: true });
    cur = undefined;
  };
  for (const t of tokens) {
    if (t.item === START_MARK) {
      if (cur) close(t.index);
      // The region starts at the beginning of the marker's sentence.
      const before = text.lastIndexOf('\n', t.index);
      const dot = Math.max(text.lastIndexOf('. ', t.index), text.lastIndexOf('? ', t.index), text.lastIndexOf('! ', t.index));
      cur = { start: Math.max(before + 1, dot >= 0 ? dot + 2 : 0), toks: [] };
    } else if (t.item === END_MARK) {
      if (cur) {
        const stop = text.indexOf('.', t.index);
        close(stop >= 0 ? stop + 1 : text.length);
      }
    } else if (cur) cur.toks.push(t);
  }
  if (cur) close(text.length);
  if (regions.length >= 2) return regions.slice(0, 2);
  // An answer without markers (text from a real model): no points the sim can verify; its length is
  // estimated from the larger stretch of text beside the marked answer (question text removed).
  const strip = (s: string) => (exclude ? s.split(exclude).join(' ') : s);
  if (regions.length === 1) {
    const r = regions[0]!;
    const before = strip(text.slice(0, r.start));
    const after = strip(text.slice(r.end));
    const other = (s: string, first: boolean): AnswerRegion => ({
      start: first ? 0 : r.end,
      end: first ? r.start : text.length,
      tokens: [],
      sentences: Math.min(40, countSentences(s)),
      marked: false,
    });
    return before.length > after.length ? [other(before, true), r] : [r, other(after, false)];
  }
  const mid = Math.floor(text.length / 2);
  const half = (a: number, b: number): AnswerRegion => ({ start: a, end: b, tokens: [], sentences: Math.min(40, countSentences(strip(text.slice(a, b)))), marked: false });
  return [half(0, mid), half(mid, text.length)];
}

export type ArenaVerdict = 'A>>B' | 'A>B' | 'A=B' | 'B>A' | 'B>>A';
export const VERDICTS: ArenaVerdict[] = ['A>>B', 'A>B', 'A=B', 'B>A', 'B>>A'];

/** y > 0 favours B (the second answer). */
export function arenaVerdict(y: number): ArenaVerdict {
  if (y > ARENA_STRONG) return 'B>>A';
  if (y > ARENA_WEAK) return 'B>A';
  if (y >= -ARENA_WEAK) return 'A=B';
  if (y >= -ARENA_STRONG) return 'A>B';
  return 'A>>B';
}

/** A verdict as a signed strength for B: −2..2 (used when a judge weighs other judges' verdicts). */
export function verdictScore(v: ArenaVerdict): number {
  return { 'A>>B': -2, 'A>B': -1, 'A=B': 0, 'B>A': 1, 'B>>A': 2 }[v];
}

// ---- Expected preferences (the oracle's view of the same judge) -------------------------------------

const GH_NODES = 24;
let gh: { x: number[]; w: number[] } | undefined;

/** Gauss–Hermite nodes/weights for E[f(Z)], Z ~ N(0,1) (Golub–Welsch via Newton on Hermite polynomials). */
function gaussHermite(): { x: number[]; w: number[] } {
  if (gh) return gh;
  const n = GH_NODES;
  const x: number[] = new Array(n).fill(0);
  const w: number[] = new Array(n).fill(0);
  // Physicists' Hermite roots by Newton iteration (Numerical Recipes' initial guesses).
  const m = Math.floor((n + 1) / 2);
  let z = 0;
  for (let i = 0; i < m; i++) {
    if (i === 0) z = Math.sqrt(2 * n + 1) - 1.85575 * Math.pow(2 * n + 1, -0.16667);
    else if (i === 1) z -= (1.14 * Math.pow(n, 0.426)) / z;
    else if (i === 2) z = 1.86 * z - 0.86 * x[0]!;
    else if (i === 3) z = 1.91 * z - 0.91 * x[1]!;
    else z = 2 * z - x[i - 2]!;
    let pp = 0;
    for (let it = 0; it < 100; it++) {
      let p1 = Math.PI ** -0.25;
      let p2 = 0;
      for (let j = 1; j <= n; j++) {
        const p3 = p2;
        p2 = p1;
        p1 = z * Math.sqrt(2 / j) * p2 - Math.sqrt((j - 1) / j) * p3;
      }
      pp = Math.sqrt(2 * n) * p2;
      const z1 = z;
      z = z1 - p1 / pp;
      if (Math.abs(z - z1) < 1e-14) break;
    }
    x[i] = z;
    x[n - 1 - i] = -z;
    w[i] = 2 / (pp * pp);
    w[n - 1 - i] = w[i]!;
  }
  // Convert to the standard normal: Z = √2·x, weights / √π.
  gh = { x: x.map((v) => v * Math.SQRT2), w: w.map((v) => v / Math.sqrt(Math.PI)) };
  return gh;
}

/** E over the judge's noise of the AlpacaEval preference for the second answer, given mean logit μ. */
export function expectedSigmoid(mu: number, noise: number): number {
  if (noise <= 0) return sigmoid(mu);
  const { x, w } = gaussHermite();
  let s = 0;
  for (let k = 0; k < x.length; k++) s += w[k]! * sigmoid(mu + noise * x[k]!);
  return s;
}

/** Probabilities of the five verdicts (A>>B … B>>A) when y ~ N(μ, noise²). */
export function verdictProbs(mu: number, noise: number): number[] {
  const sd = Math.max(noise, 1e-9);
  const c = (t: number) => normalCdf((t - mu) / sd);
  const a = c(-ARENA_STRONG);
  const b = c(-ARENA_WEAK);
  const d = c(ARENA_WEAK);
  const e = c(ARENA_STRONG);
  return [a, b - a, d - b, e - d, 1 - e];
}

// Outcome and weight for the candidate when it is B (game 1) — index = verdict.
const OUT_B = [0, 0, 0.5, 1, 1];
const WEIGHT = [3, 1, 1, 1, 3];

/**
 * Expected Arena-Hard preference for a candidate whose perceived quality exceeds the reference's by Δ:
 * game 1 (A = reference, B = candidate) and game 2 (positions swapped), strong verdicts weight 3.
 */
export function expectedArena(delta: number, j: SimProfile['judge']): number {
  const p1 = verdictProbs(delta / j.tau + j.posBias, j.noise); // B = candidate
  const p2 = verdictProbs(-delta / j.tau + j.posBias, j.noise); // B = reference
  let s = 0;
  for (let a = 0; a < 5; a++) {
    for (let b = 0; b < 5; b++) {
      const o1 = OUT_B[a]!;
      const o2 = 1 - OUT_B[b]!; // candidate is A in game 2
      const w1 = WEIGHT[a]!;
      const w2 = WEIGHT[b]!;
      s += p1[a]! * p2[b]! * ((w1 * o1 + w2 * o2) / (w1 + w2));
    }
  }
  return s;
}

/** Expected AlpacaEval preference, averaged over the two presentation orders. */
export function expectedAlpaca(delta: number, j: SimProfile['judge']): number {
  const second = expectedSigmoid(delta / j.tau + j.posBias, j.noise); // candidate shown second (M)
  const first = 1 - expectedSigmoid(-delta / j.tau + j.posBias, j.noise); // candidate shown first (m)
  return 0.5 * (second + first);
}
