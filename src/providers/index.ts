export type * from './types.js';
export { createProvider, checkProviderKeys, type CreateProviderOptions } from './registry.js';
export { createOpenAIProvider, type OpenAIProviderOptions } from './openai-provider.js';
export { ProviderError, isProviderError, type ProviderFailure } from './errors.js';
export { estimateTokens, estimatePromptTokens } from './estimate-tokens.js';
export { Limiter, withLimits, sleep } from './limits.js';
