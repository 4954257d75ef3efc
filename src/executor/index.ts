export * from './types.js';
export { openExecutor, promptTokenCeiling, type CachingExecutor, type OpenExecutorOptions } from './executor.js';
export { openDatabase, ensureCacheSchema, migrate, withBusyRetry, BUSY_TIMEOUT_MS, type DB } from './database.js';
export { CacheStore, type CacheStats, type ModelCacheStats, type StoredGeneration } from './cache-store.js';
export { SpendLedger, type Reservation } from './spend-ledger.js';
export { cacheKey, canonicalJson, keyedRequest } from './cache-key.js';
export * from './context-window.js';
export { withSampleOffset, SAMPLE_STRIDE } from './sample-offset.js';
export * from './batch/index.js';
