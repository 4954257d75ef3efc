import type { DeploymentView } from '../constraints.js';
import type { Mixture } from '../../config/mixture.js';
import type { ValidationItem } from '../../eval/types.js';
import type { CostModel } from '../budget-plan.js';
import type { SearchDims, Point } from '../encoding.js';
import type { FidelityPlan, MeasurementPurpose, ObservationRecord, TrialRecord } from '../types.js';

/** What a strategy reads: the study's stored records (RUNNING measurements included, so parallel workers can plan around them). */
export interface StudyView {
  trials: readonly TrialRecord[];
  observations: readonly ObservationRecord[];
}

export interface StrategyContext {
  dims: SearchDims;
  seed: number;
  /**
   * Inner optimizer of the acquisition for model-based strategies: BFGS with analytic gradients (default), or
   * fmin's Nelder–Mead (derivative-free; call `loadFmin()` first).
   */
  inner?: 'bfgs' | 'nelder-mead';
  /** The study's validation prompts (in file order) and fidelity levels. */
  items: readonly ValidationItem[];
  fidelity: FidelityPlan;
  /** USD of the whole study, and spent so far (all sessions). */
  budget: { total: number; spent: number };
  /** Projected USD of a measurement given what the study already paid for (the cache serves shared answers). */
  cost: CostModel;
  /** The same projection from priors alone, nothing paid: for plans that must not drift as the study runs. */
  prior: CostModel;
  /** Cap on search measurements (`--max-evals`). */
  maxEvals?: number;
  /** When cost matters: each point's deployment cost and whether it likely meets the caps (propose only those). */
  deployment?: DeploymentView;
  /** When cost matters: an initial design covering the feasible cost range (replaces the strategy's own). */
  design?: Point[];
}

export interface Suggestion {
  point: Point;
  mixture: Mixture;
  /** Measure the prompts of this fidelity level that the mixture has not been judged on at `sampleOffset`. */
  fidelity: number;
  sampleOffset: number;
  purpose: Exclude<MeasurementPurpose, 'reference'>;
  /** Surrogate posterior mean at the point, for model-based strategies. */
  posteriorMean?: number;
  /** Why this measurement (initial design, acquisition value…), for logs. */
  note?: string;
}

/**
 * Optuna-style strategy: stateless. Everything is rebuilt from the stored records, and randomness comes from the
 * seed and the record counts, so a resumed study makes the same next suggestion as an uninterrupted one.
 * `null` means the strategy has nothing left worth measuring (converged or exhausted).
 */
export interface Strategy {
  readonly name: string;
  suggest(view: StudyView, ctx: StrategyContext): Suggestion | null;
}

export const STRATEGY_NAMES = ['bfgs', 'random', 'greedy', 'archon', 'exhaustive'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];
