export type * from './types.js';
export { createProvider, createBatchClient, checkProviderKeys, type CreateProviderOptions } from './registry.js';
export { BatchApiError, FINAL_STATUSES, batchInputLine, parseBatchOutput, type BatchClient, type BatchCallOptions, type BatchLineResult, type MalformedLine, type RemoteBatch, type RemoteBatchStatus } from './batch-client.js';
export { createOpenAIBatchClient } from './openai-batch-client.js';
export { createOpenAIProvider, type OpenAIProviderOptions } from './openai-provider.js';
export { ProviderError, isProviderError, type ProviderFailure } from './errors.js';
export { estimateTokens, estimatePromptTokens } from './estimate-tokens.js';
export { Limiter, withLimits, sleep } from './limits.js';
