import { findTokens, MIS_BASE, START_MARK } from './_codec.js';
import { perceivedQuality } from './_judge.js';
import { promptKey } from './_world.js';
import { SimTruthError } from './truth.js';

// Ground truth for one pair of answers: which is truly better. True quality is what the simulated judges
// perceive without their biases: the weights of the distinct true points an answer states minus the weights
// of its distinct misconceptions. No length credit (judges' length bias), no noise, no position bias.

export interface AnswerTruth {
  /** Σ weights of distinct true points − Σ weights of distinct misconceptions. */
  quality: number;
  /** Distinct true points and misconceptions stated. */
  points: number;
  misconceptions: number;
}

export interface PairTruth {
  a: AnswerTruth;
  b: AnswerTruth;
  /** Which answer is truly better, or a tie when their qualities are equal. */
  better: 'a' | 'b' | 'tie';
  /** Preference for b over a: 1, 0 or 0.5 on a tie (the scale of the judges' preferences). */
  preference: number;
}

export interface PairTruthOptions {
  /** Default 0 (the sim spaces' world). */
  worldSeed?: number;
}

/**
 * The true quality of a simulated answer to `prompt` (the question: the last user message). Only statements
 * about this prompt count. Throws SimTruthError when the text is not a simulated answer to it (no answer
 * marker of its prompt), so real-model text is never scored as if the sim knew its truth.
 */
export function simAnswerTruth(prompt: string, answer: string, opts: PairTruthOptions = {}): AnswerTruth {
  const key = promptKey(prompt);
  const tokens = findTokens(answer).filter((t) => t.key === key);
  if (!tokens.some((t) => t.item === START_MARK))
    throw new SimTruthError('unsupported', 'no ground truth: the answer is not a simulated answer to this prompt');
  const claims = tokens.filter((t) => t.item < START_MARK);
  const distinct = new Set(claims.map((t) => t.item));
  const points = [...distinct].filter((i) => i < MIS_BASE).length;
  return { quality: perceivedQuality(opts.worldSeed ?? 0, claims, 0, 0), points, misconceptions: distinct.size - points };
}

/** Which of two simulated answers to `prompt` is truly better. */
export function simPairTruth(prompt: string, a: string, b: string, opts: PairTruthOptions = {}): PairTruth {
  const ta = simAnswerTruth(prompt, a, opts);
  const tb = simAnswerTruth(prompt, b, opts);
  const better = tb.quality > ta.quality ? 'b' : tb.quality < ta.quality ? 'a' : 'tie';
  return { a: ta, b: tb, better, preference: better === 'b' ? 1 : better === 'a' ? 0 : 0.5 };
}
