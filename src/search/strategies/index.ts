import { archonStrategy } from './archon.js';
import { bfgsStrategy } from './bfgs.js';
import { exhaustiveStrategy } from './exhaustive.js';
import { greedyStrategy } from './greedy.js';
import { randomStrategy } from './random.js';
import type { Strategy, StrategyName } from './types.js';

export const STRATEGIES: Record<StrategyName, Strategy> = {
  bfgs: bfgsStrategy,
  random: randomStrategy,
  greedy: greedyStrategy,
  archon: archonStrategy,
  exhaustive: exhaustiveStrategy,
};

export { bfgsStrategy, initialDesign, integerNeighbours } from './bfgs.js';
export { archonStrategy, ARCHON_TOP } from './archon.js';
export { exhaustiveStrategy, checkExhaustive, EXHAUSTIVE_LIMIT } from './exhaustive.js';
export { greedyStrategy } from './greedy.js';
export { randomStrategy, enumeratePoints, randomPoint } from './random.js';
export { boxTrials, fixedFidelity, searchMeasurements, triedPoints, type BoxTrial } from './_history.js';
export * from './types.js';
