import type { MixtureFile } from '../config/mixture.js';
import type { PromptOutcome } from '../eval/types.js';
import type { TokenStats } from '../cost/token-stats.js';

export type TrialState = 'RUNNING' | 'COMPLETE' | 'FAIL';

/** `search`: proposed by the strategy. `reference`: a baseline evaluated for comparison (single models, MoA-Lite). */
export type TrialKind = 'search' | 'reference';

export interface TrialRecord {
  studyName: string;
  /** 0-based order within the study. */
  number: number;
  kind: TrialKind;
  strategy: string;
  mixture: MixtureFile;
  /** mixtureKey() of the normalized mixture: one trial per distinct mixture per study. */
  mixtureKey: string;
  /** Short display name (mixtureName()). */
  label: string;
  state: TrialState;
  score?: number;
  ci?: [number, number];
  bySource?: Record<string, { winRate: number; ci: [number, number]; n: number }>;
  lc?: number;
  /** Surrogate posterior mean at this point (filled by model-based strategies). */
  posteriorMean?: number;
  costPerQuery?: number;
  tflopsPerQuery?: number;
  latencyProxyPerQuery?: number;
  /** USD this trial spent on uncached calls (mixture + judge). */
  spent?: number;
  /** Cumulative USD the study had spent when this trial finished. */
  spentCumulative?: number;
  calls?: { made: number; cached: number };
  /** Per-prompt outcomes, for paired comparisons and length control. */
  perPrompt?: PromptOutcome[];
  /** Measured token usage of this trial's mixture runs: a resumed study plans its budget like an uninterrupted one. */
  tokenStats?: TokenStats;
  /** Projected USD of this trial before it ran (budget planning), for checking the projection. */
  projectedUsd?: number;
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

export interface StudyConfig {
  spaceFile: string;
  validationFile: string;
  strategy: string;
  seed: number;
  budget: number;
  maxEvals?: number;
  layers: number;
  aggregators: string[];
  simulated: boolean;
  /** When the budget could not afford the whole validation set: the ids of the prompts this study uses. */
  promptIds?: string[];
  /** Inner optimizer of the acquisition for `bfgs` (default `bfgs`; `nelder-mead` is fmin's simplex). */
  inner?: 'bfgs' | 'nelder-mead';
}

export interface StudyRecord {
  name: string;
  createdAt: string;
  updatedAt: string;
  config: StudyConfig;
  state: 'RUNNING' | 'COMPLETE';
  stopped?: 'budget' | 'max-evals' | 'converged' | 'interrupted';
  /** Total USD spent on uncached calls across all sessions of this study. */
  spent: number;
  /** The search's answer when it last stopped: the trial with the best posterior mean (what the report recommends). */
  best?: { trial: number; posteriorMean: number };
}
