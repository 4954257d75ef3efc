export { runMixture, runTotals, layerAgents, MixtureRunError } from './engine.js';
export type { MixtureContext, GenerationParams, MixtureFailure, RunTotals } from './engine.js';
export {
  AGGREGATE_TEMPLATE,
  RANK_TEMPLATE,
  SUMMARIZE_TEMPLATE,
  BUILTIN_TEMPLATES,
  aggregateMessages,
  rankMessages,
  summarizeMessages,
  checkTemplate,
  formatResponses,
  injectSystem,
  loadTemplates,
  parseRankChoice,
  renderTemplate,
} from './prompts.js';
export type { PromptTemplates, TemplateKind } from './prompts.js';
export type { AgentRole, MixtureRun, TraceCall, ChatMessage } from './types.js';
export { checkMixtureKeys, mixtureModels } from './check-keys.js';
