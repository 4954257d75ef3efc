import { latentUniform, modelHash, type PromptWorld } from './_world.js';
import { sigmoid } from './_hash.js';
import type { SimProfile } from './_profiles.js';

// What one model knows and does on one prompt. The text generator and the ground-truth oracle both
// read these numbers, so the oracle's expectation is over exactly the randomness the text carries.

/** Probability that a sample (temperature > 0) states a point its model does not know. */
export const BLUFF = 0.04;
/** Probability that a sample states a misconception its model does not hold. */
export const SLIP = 0.03;
/** Same two rates for an aggregator's own additions. */
export const AGG_BLUFF = 0.02;
export const AGG_SLIP = 0.02;
/** Sim answers are this fraction of the leaderboards' lengths (keeps offline searches cheap; see docs). */
export const LENGTH_SCALE = 0.5;
/** Mean characters of a sim sentence (measured on generated text; used to turn lengths into sentence counts). */
export const CHARS_PER_SENTENCE = 70;

export interface ModelOnPrompt {
  known: Uint8Array;
  believes: Uint8Array;
  /** Per-sample probability of stating each point / misconception as a proposer (temperature > 0). */
  pointProb: Float64Array;
  misProb: Float64Array;
  /** As an aggregator: probability of adding each point / misconception from its own knowledge. */
  ownPoint: Float64Array;
  ownMis: Float64Array;
  /** Filler sentences of a proposer answer. */
  filler: number;
  /** Number of points the model knows. */
  nKnown: number;
  /** Target sentence count before subtracting stated points (verbosity of this model on this prompt). */
  target: number;
}

const cache = new WeakMap<SimProfile, Map<string, ModelOnPrompt>>();

export function modelOnPrompt(worldSeed: number, p: SimProfile, w: PromptWorld): ModelOnPrompt {
  let byPrompt = cache.get(p);
  if (!byPrompt) cache.set(p, (byPrompt = new Map()));
  const ck = `${worldSeed}:${w.key}:${w.kind}:${w.topic}`;
  const hit = byPrompt.get(ck);
  if (hit) return hit;
  const mh = modelHash(p.name);
  const J = w.pointWeights.length;
  const I = w.misWeights.length;
  const known = new Uint8Array(J);
  const believes = new Uint8Array(I);
  const pointProb = new Float64Array(J);
  const misProb = new Float64Array(I);
  const ownPoint = new Float64Array(J);
  const ownMis = new Float64Array(I);
  const base = p.skill[w.kind] + (p.topics[w.topic] ?? 0) - w.difficulty;
  let nKnown = 0;
  for (let j = 0; j < J; j++) {
    const k = latentUniform(worldSeed, mh, w.key, 1, j) < sigmoid(base - w.pointHardness[j]!);
    known[j] = k ? 1 : 0;
    if (k) nKnown++;
    pointProb[j] = k ? p.recall : BLUFF;
    ownPoint[j] = k ? p.agg.own : AGG_BLUFF;
  }
  for (let i = 0; i < I; i++) {
    const b = latentUniform(worldSeed, mh, w.key, 2, i) < sigmoid(p.misProne + w.misLure[i]! + 0.5 * w.difficulty);
    believes[i] = b ? 1 : 0;
    misProb[i] = b ? p.recall : SLIP;
    ownMis[i] = b ? p.agg.own : AGG_SLIP;
  }
  const chars = w.kind === 'alpaca' ? p.lengths.alpacaChars : p.lengths.arenaTokens * 4;
  const jitter = 0.8 + 0.4 * latentUniform(worldSeed, mh, w.key, 3, 0);
  const target = (chars * LENGTH_SCALE * jitter) / CHARS_PER_SENTENCE;
  const filler = Math.max(1, Math.round(target - nKnown * p.recall) - 2);
  const r: ModelOnPrompt = { known, believes, pointProb, misProb, ownPoint, ownMis, filler, nKnown, target };
  if (byPrompt.size > 20_000) byPrompt.clear();
  byPrompt.set(ck, r);
  return r;
}

/**
 * Attention: an aggregator reads `cap` references fully; beyond that each reference gets a shrinking share,
 * (cap/n)^dilution. With dilution > 1 a crowd of references costs more than its extra mentions bring back,
 * which is what makes "every model at max copies" a poor mixture.
 */
export function attention(p: SimProfile, n: number): number {
  return n <= p.agg.cap ? 1 : Math.pow(p.agg.cap / n, p.agg.dilution);
}

/** Per-reference keep rate of a true point for this prompt kind. */
export function keepRate(p: SimProfile, kind: PromptWorld['kind']): number {
  return kind === 'arena' ? p.agg.keepArena : p.agg.keep;
}

/** Filler sentences of an aggregated answer built from n references (aggregates grow with n). */
export function aggregateFiller(p: SimProfile, m: ModelOnPrompt, n: number): number {
  return Math.max(1, Math.round(m.target * (1 + p.agg.growth * Math.log2(1 + n)) - m.nKnown * p.agg.own) - 2);
}

/** P(state) of an item an aggregator sees in c of its references, given its own rate. */
export function aggregateProb(own: number, perRef: number, c: number): number {
  return 1 - (1 - own) * Math.pow(1 - perRef, c);
}

/** Temperature 0 answers with the mode; above 0 a sample draws. */
export function decide(prob: number, temperature: number, u: number): boolean {
  return temperature > 0 ? u < prob : prob >= 0.5;
}
