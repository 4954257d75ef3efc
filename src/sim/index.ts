export { createSimProvider, simComplete, streamPieces, type SimProviderOptions, type SimCompletion } from './provider.js';
export { PROFILES, getProfile, profileNames, type SimProfile } from './_profiles.js';
export { simTruth, createTruthOracle, SimTruthError, type TruthOptions, type TruthOracle, type TruthResult } from './truth.js';
export { startSimServer, type SimServer, type SimServerOptions } from './server.js';
export { rankAllMixtures, rankOf, searchedAggregators, type ScoredMixture } from './truth-landscape.js';
export { simAnswerTruth, simPairTruth, type AnswerTruth, type PairTruth, type PairTruthOptions } from './pair-truth.js';
export { simPreferenceSet, type SimPreferenceOptions } from './preference-set.js';
