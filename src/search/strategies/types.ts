import type { Mixture } from '../../config/mixture.js';
import type { SearchDims, Point } from '../encoding.js';
import type { TrialRecord } from '../types.js';

export interface StrategyContext {
  dims: SearchDims;
  seed: number;
  /**
   * Inner optimizer of the acquisition for model-based strategies: BFGS with analytic gradients (default), or
   * fmin's Nelder–Mead (derivative-free; call `loadFmin()` first).
   */
  inner?: 'bfgs' | 'nelder-mead';
}

export interface Suggestion {
  point: Point;
  mixture: Mixture;
  /** Surrogate posterior mean at the point, for model-based strategies. */
  posteriorMean?: number;
  /** Why this point (initial design, acquisition value…), for logs. */
  note?: string;
}

/**
 * Optuna-style strategy: stateless. Everything is rebuilt from the stored trials, and randomness comes from the
 * seed and the trial number, so a resumed study makes the same next suggestion as an uninterrupted one.
 * `null` means the strategy has nothing left to try (converged or exhausted).
 */
export interface Strategy {
  readonly name: string;
  suggest(history: TrialRecord[], ctx: StrategyContext): Suggestion | null;
}

export const STRATEGY_NAMES = ['bfgs', 'random', 'greedy', 'exhaustive'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
