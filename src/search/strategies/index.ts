import { bfgsStrategy } from './bfgs.js';
import { exhaustiveStrategy } from './exhaustive.js';
import { greedyStrategy } from './greedy.js';
import { randomStrategy } from './random.js';
import type { Strategy, StrategyName } from './types.js';

export const STRATEGIES: Record<StrategyName, Strategy> = {
  bfgs: bfgsStrategy,
  random: randomStrategy,
  greedy: greedyStrategy,
  exhaustive: exhaustiveStrategy,
};

export { bfgsStrategy, initialDesign, integerNeighbours } from './bfgs.js';
export { exhaustiveStrategy, checkExhaustive, EXHAUSTIVE_LIMIT } from './exhaustive.js';
export { greedyStrategy } from './greedy.js';
export { randomStrategy, enumeratePoints } from './random.js';
export { observations, noiseFromCi } from './_history.js';
export * from './types.js';
