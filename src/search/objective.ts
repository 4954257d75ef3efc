import type { Mixture } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import type { TokenStats } from '../cost/index.js';
import { evaluateMixture } from '../eval/evaluate.js';
import type { ValidationItem } from '../eval/types.js';
import type { Executor } from '../executor/types.js';
import { costModel, type CostModel } from './budget-plan.js';
import { searchDims, type SearchDims } from './encoding.js';
import type { Measured } from './types.js';

/**
 * What a study optimizes (stored as `StudyConfig.objective`): `quality`, the mixture's judged win rate on a
 * validation set (the default); `pareto`, quality against cost; `judge`, a judging mixture's agreement with
 * reference preferences (MoAA's reward model).
 */
export type ObjectiveName = 'quality' | 'pareto' | 'judge';

/** One measurement's inputs: the mixture on some of the study's items at one sample offset. */
export interface MeasureInput {
  mixture: Mixture;
  promptIds: readonly string[];
  executor: Executor;
  concurrency: number;
  sampleOffset: number;
  signal?: AbortSignal;
  onProgress?: (p: { done: number; total: number }) => void;
}

/** A measurement's result as stored on the observation (the session adds the spend). */
export type Measurement = Omit<Measured, 'spent' | 'spentCumulative'> & { score: number };

/**
 * How the search scores a mixture. The search machinery (fidelity levels, replicates, estimates, the answer rule,
 * budget, resume) is the same for every objective: it sees items by id and source, and per-item outcomes in 0–1.
 */
export interface SearchObjective {
  readonly name: ObjectiveName;
  /** What a score is, for messages and reports: "win rate" or "agreement". */
  readonly metric: string;
  /** The search box. */
  dims(space: SearchSpace): SearchDims;
  measure(input: MeasureInput): Promise<Measurement>;
  /** Projected USD of measurements, from the token statistics measured so far (`paid`: cached layer-1 samples). */
  costModel(stats: TokenStats | undefined, paid: ReadonlySet<string>): CostModel;
  /** Whether fixed reference mixtures (the paper's MoA-Lite) are worth measuring for comparison. */
  readonly paperReferences: boolean;
}

/** The default objective: the mixture's answers judged against references on a validation set (its win rate). */
export function qualityObjective(space: SearchSpace, items: readonly ValidationItem[]): SearchObjective {
  const byId = new Map(items.map((it) => [it.id, it]));
  return {
    name: 'quality',
    metric: 'win rate',
    paperReferences: true,
    dims: searchDims,
    measure: (m) =>
      evaluateMixture({
        mixture: m.mixture,
        space,
        items: m.promptIds.map((id) => byId.get(id)!),
        executor: m.executor,
        concurrency: m.concurrency,
        sampleOffset: m.sampleOffset,
        ...(m.signal ? { signal: m.signal } : {}),
        ...(m.onProgress ? { onProgress: m.onProgress } : {}),
      }),
    costModel: (stats, paid) => costModel(space, items, stats, paid),
  };
}

