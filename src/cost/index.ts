// Cost, compute and Pareto fronts. Units: USD; TFLOPs = 10^12 floating-point operations; params in billions.
// A TFLOPs figure that would need an unknown parameter count is `null` (never guessed); the models
// responsible are listed by `unknownParamModels` / `unknownParams`.
export { callCostUsd } from './price.js';
export { callTflops, activeParamsB, runTflops, latencyProxyTflops, unknownParamModels } from './tflops.js';
export { runCost, runTokens, layerWallLatencyMs, spread } from './run-cost.js';
export type { Spread } from './run-cost.js';
export { runMetrics } from './run-metrics.js';
export type { RunMetrics } from './run-metrics.js';
export { tokenStatsFromRuns, mergeTokenStats, emptyTokenStats } from './token-stats.js';
export type { TokenStats, TokenRole, RoleTokens, MeanStat } from './token-stats.js';
export { projectQueryCost, projectJudgeCost, expectedCompletionTokens, TOKEN_PRIORS, JUDGE_PRIORS } from './projection.js';
export type { QueryProjection, JudgeProtocol } from './projection.js';
export { paretoFront, bestWithinCost, dominates, frontQualityAt } from './pareto.js';
export type { ParetoPoint, ParetoResult, ParetoStatus, ClassifiedPoint } from './pareto.js';
