import { bootstrapScores, standardError, type BootstrapOptions } from './statistics.js';
import type { PromptOutcome, SourceScore } from './types.js';

export interface Scores {
  /** Mean of per-source win rates, 0–100 (the MoA paper's metric). */
  score: number;
  ci: [number, number];
  bySource: Record<string, SourceScore>;
}

/** Win rate (0–100) of a list of preferences: 100 × mean preference, draws counting half as they come. */
export function winRate(preferences: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < preferences.length; i++) s += preferences[i]!;
  return (100 * s) / preferences.length;
}

/** Standard error of a win rate, in points (AlpacaEval's `standard_error`). */
export function winRateStandardError(preferences: ArrayLike<number>): number {
  return 100 * standardError(preferences);
}

/** Per-source win rates, the headline score and their bootstrap intervals (stratified by source). */
export function scoreOutcomes(outcomes: readonly PromptOutcome[], opts: BootstrapOptions = {}): Scores {
  if (!outcomes.length) throw new RangeError('no outcomes to score');
  const b = bootstrapScores(outcomes, opts);
  const bySource: Record<string, SourceScore> = {};
  for (const [s, v] of Object.entries(b.bySource)) bySource[s] = { winRate: v.estimate, ci: v.ci, n: v.n };
  return { score: b.estimate, ci: b.ci, bySource };
}
