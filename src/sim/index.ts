export { createSimProvider, simComplete, streamPieces, type SimProviderOptions, type SimCompletion } from './provider.js';
export { PROFILES, getProfile, profileNames, type SimProfile } from './_profiles.js';
export { simTruth, createTruthOracle, SimTruthError, type TruthOptions, type TruthOracle, type TruthResult } from './truth.js';
export { startSimServer, type SimServer, type SimServerOptions } from './server.js';
export { SimBatchService, type BatchAnswer, type BatchServiceOptions, type FinishedJob, type FinalStatus } from './batch-service.js';
export { handleBatchApi } from './batch-http.js';
export { createSimBatchClient, simBatchAnswer } from './batch-client.js';
