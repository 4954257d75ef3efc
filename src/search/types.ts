import type { MixtureFile } from '../config/mixture.js';
import type { PromptOutcome } from '../eval/types.js';
import type { TokenStats } from '../cost/token-stats.js';
import type { StudyCompat } from './study-compat.js';

export type TrialState = 'RUNNING' | 'COMPLETE' | 'FAIL';

/** `search`: proposed by the strategy. `reference`: a baseline evaluated for comparison (single models, MoA-Lite). */
export type TrialKind = 'search' | 'reference';

/**
 * Why a measurement was taken: `screen` (a mixture's first measurement), `promote` (the prompts of a higher fidelity
 * level it had not seen), `replicate` (prompts it had seen, on fresh samples), `reference` (a baseline).
 */
export type MeasurementPurpose = 'screen' | 'promote' | 'replicate' | 'reference';

/** What one evaluation on a set of prompts measured (the fields an observation and a trial share). */
export interface Measured {
  /** Mean over sources of the win rate on the measured prompts (0–100), with its stratified bootstrap interval. */
  score?: number;
  ci?: [number, number];
  bySource?: Record<string, { winRate: number; ci: [number, number]; n: number }>;
  lc?: number;
  costPerQuery?: number;
  tflopsPerQuery?: number;
  latencyProxyPerQuery?: number;
  /** USD spent on uncached calls (mixture + judge). */
  spent?: number;
  /** Cumulative USD the study had spent when this finished. */
  spentCumulative?: number;
  calls?: { made: number; cached: number };
  /** Per-prompt outcomes, for paired comparisons, prompt effects and length control. */
  perPrompt?: PromptOutcome[];
  /** Measured token usage of the mixture runs: a resumed study plans its budget like an uninterrupted one. */
  tokenStats?: TokenStats;
}

/**
 * One measurement of one mixture: its prompts (a fidelity level, or the part of it the mixture had not seen at this
 * sample offset) judged once at one sample offset. A mixture has several: screens, promotions, replicates.
 */
export interface ObservationRecord extends Measured {
  studyName: string;
  /** 0-based order over the whole study. */
  number: number;
  /** The trial (mixture) measured. */
  trial: number;
  purpose: MeasurementPurpose;
  strategy: string;
  /** The fidelity level this measurement completes: the first `fidelity` prompts of the study's prompt order. */
  fidelity: number;
  /** Engine sample offset (0: the original samples; replicate r uses r × the study's stride). */
  sampleOffset: number;
  /** Ids of the prompts this measurement judged. */
  promptIds: string[];
  state: TrialState;
  /** Projected USD before it ran (budget planning), for checking the projection. */
  projectedUsd?: number;
  /** Why the strategy chose it (for logs). */
  note?: string;
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

/** The model's estimate of a mixture's expected score on the whole validation set (all its observations pooled). */
export interface Estimate {
  mean: number;
  sd: number;
  /** 95% interval. */
  ci: [number, number];
  /** Distinct validation prompts this mixture was judged on. */
  prompts: number;
  /** Its complete measurements (observations). */
  measurements: number;
  /**
   * 1-based rank among the mixtures that compete for the answer (the search box), by `mean`; absent for fixed
   * references of another shape, which are estimated for comparison only.
   */
  rank?: number;
}

/**
 * One mixture of a study. Its measured fields aggregate its complete observations: per-prompt outcomes averaged over
 * replicates, score and interval on the prompts it was judged on, spend and calls summed.
 */
export interface TrialRecord extends Measured {
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
  /** COMPLETE once any measurement completed; else the state of its latest measurement. */
  state: TrialState;
  /** Distinct prompts behind `score`, and complete measurements. */
  prompts?: number;
  measurements?: number;
  /** The model's estimate over all observations (set when the search answers). */
  estimate?: Estimate;
  /** Surrogate posterior mean when the strategy proposed it. */
  posteriorMean?: number;
  /** Projected USD of all its measurements before they ran. */
  projectedUsd?: number;
  error?: string;
  startedAt: string;
  finishedAt?: string;
}

/** The study's validation prompts in a seeded stratified order; fidelity level n is the first n of them. */
export interface FidelityPlan {
  order: string[];
  /** Increasing prompt counts, the last one the whole order. */
  levels: number[];
  /**
   * Sample offset between replicates: replicate r runs at offset r × stride. SAMPLE_STRIDE (64) for new studies, the
   * project's one mapping (`withSampleOffset`); studies created before it keep the largest maxCopies they stored.
   */
  stride: number;
}

export interface StudyConfig {
  spaceFile: string;
  validationFile: string;
  strategy: string;
  seed: number;
  budget: number;
  maxEvals?: number;
  /** Layer counts searched (the first is the default), and aggregators. */
  layers: number | number[];
  aggregators: string[];
  simulated: boolean;
  /** `--prompts n`: the ids of the validation prompts this study uses (all when absent). */
  promptIds?: string[];
  /** Fidelity levels and prompt order (fixed when the study is created, so a resume is exact). */
  fidelity?: FidelityPlan;
  /** Inner optimizer of the acquisition for `bfgs` (default `bfgs`; `nelder-mead` is fmin's simplex). */
  inner?: 'bfgs' | 'nelder-mead';
  /** What the study optimizes (absent: `quality`). `judge`: `validationFile` is the reference-preference set. */
  objective?: 'quality' | 'pareto' | 'judge';
  /** Deployment caps: USD per 1,000 queries (`--max-cost`) and TFLOPs per query (`--max-latency`). */
  maxCost?: number;
  maxLatency?: number;
  /** What makes measurements comparable across studies (judge, generation, models, prompts): see study-compat.ts. */
  compat?: StudyCompat;
  /** `--warm-start`: the studies whose compatible observations this one started with, and what was skipped. */
  warmStart?: WarmStartRecord;
}

export interface WarmStartRecord {
  from: string[];
  /** Set once the import finished (a resume re-runs an unfinished one). */
  imported?: number;
  skipped?: Array<{ study: string; count: number; reason: string }>;
}

/** The search's answer: one rule (best model estimate in the search box) shared by search, report and `pareto`. */
export interface AnswerRecord {
  trial: number;
  /** Model estimate of its expected score on the whole validation set, without selection bias, and its 95% interval. */
  score: number;
  sd: number;
  ci: [number, number];
  /** Validation prompts and measurements behind the estimate of this mixture. */
  prompts: number;
  measurements: number;
  /** Prompts in the validation set. */
  validationPrompts: number;
  /** Kept for studies written before estimates: same as `score`. */
  posteriorMean: number;
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
  /** The search's answer when it last stopped (what the report and `pareto` recommend). */
  best?: AnswerRecord;
}
