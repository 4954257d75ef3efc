// The search: BFGS, the Gaussian-process surrogate, acquisition, strategies, the study store and the search loop.
export * from './types.js';
export { StudyStore, StudyError, studyScope, STUDY_LEASE_MS, type NewTrial, type NewObservation, type ObservationResult, type StudyPatch } from './study-store.js';
export { bfgs, bfgsFG, finiteDifferenceGradient, nelderMead, loadFmin, type OptimizeResult, type BfgsOptions, type ValueAndGradient, type NelderMeadOptions } from './bfgs.js';
export { mulberry32 } from '../random.js';
export { GaussianProcess, type GpData, type GpHyper, type GpFitOptions, type Posterior, type PosteriorWithGradient } from './gaussian-process.js';
export { expectedImprovement, upperConfidenceBound, acquisition, normalCdf, normalPdf, type Acquisition, type AcquisitionKind } from './acquisition.js';
export { knowledgeGradient } from './knowledge-gradient.js';
export { searchDims, toMixture, fromMixtureFile, features, boxSize, pointKey, type SearchDims, type Point } from './encoding.js';
export { estimateScores, promptWeights, type EstimateSet, type MixtureEstimate } from './estimates.js';
export { fitModel, fitGp, type SurrogateModel, type ModelPoint } from './surrogate.js';
export { chooseAnswer, bestTrial, type Answer } from './answer.js';
export { mergeOutcomes, aggregateMeasurements } from './observations.js';
export { fidelityPlan, fidelityLevels, stratifiedOrder, stratifiedSubset, promptsSeen, promptsToMeasure, levelReached, MIN_LEVEL } from './fidelity.js';
export { costModel, paidSamples, projectTrialCost, trialMixture, type CostModel } from './budget-plan.js';
export { STRATEGIES, STRATEGY_NAMES, initialDesign, checkExhaustive, type Strategy, type StrategyContext, type StrategyName, type Suggestion, type StudyView } from './strategies/index.js';
export { runSearch, referenceMixtures, PAPER_MIXTURES, inSearchBox, type SearchOptions, type SearchOutcome, type SearchEvent, type StopReason, type Comparison } from './run-search.js';
export { runWorker, answerStudy, observationLease, type WorkerOptions, type WorkerOutcome } from './run-worker.js';
export { withFantasies, believedScore } from './fantasies.js';
