export { withBatching, type BatchingExecutor } from './batching-executor.js';
export { BatchJobStore, type JobRow, type JobItem, type JobState } from './job-store.js';
export { checkBatchProviders } from './check-batch.js';
export type { BatchEvent, BatchStats, BatchingOptions } from './types.js';
