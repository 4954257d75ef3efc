import type { SearchSpace } from '../config/space.js';
import type { MixtureRun } from '../moa/types.js';
import { layerWallLatencyMs, runCost, runTokens } from './run-cost.js';
import { latencyProxyTflops, runTflops, unknownParamModels } from './tflops.js';

/** Everything the cost model says about one run, in one call (what an evaluation stores per prompt). */
export interface RunMetrics {
  costUsd: number;
  /** null when `unknownParams` is non-empty. */
  tflops: number | null;
  latencyProxyTflops: number | null;
  unknownParams: string[];
  promptTokens: number;
  completionTokens: number;
  layerWallMs: number[];
}

export function runMetrics(run: MixtureRun, space: SearchSpace): RunMetrics {
  return {
    costUsd: runCost(run),
    tflops: runTflops(run, space),
    latencyProxyTflops: latencyProxyTflops(run, space),
    unknownParams: unknownParamModels(run, space),
    ...runTokens(run),
    layerWallMs: layerWallLatencyMs(run),
  };
}
