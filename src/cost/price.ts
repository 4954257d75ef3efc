import type { ModelSpec } from '../config/space.js';

/**
 * USD of one call: prompt tokens × input price + completion tokens × output price.
 * Prices in the space are USD per 1M tokens.
 */
export function callCostUsd(model: Pick<ModelSpec, 'price'>, promptTokens: number, completionTokens: number): number {
  return (promptTokens * model.price.input + completionTokens * model.price.output) / 1e6;
}
