import { capsOf, costMatters, deploymentView, studyDeployment } from './constraints.js';
import { costCoveringDesign } from './cost-design.js';
import type { Session } from './_session.js';
import { spaceFillingCount } from './strategies/bfgs.js';
import type { StrategyContext } from './strategies/types.js';

/**
 * The strategy context's deployment part when cost matters: costs (measured, else projected with the study's token
 * statistics) with the caps, and an initial design over the feasible cost range. The design is projected from
 * priors so that it does not drift as the study measures tokens (a resumed study rebuilds the same one).
 */
export function deploymentContext(s: Session): Pick<StrategyContext, 'deployment' | 'design'> {
  const c = s.study.config;
  if (!costMatters(c)) return {};
  const caps = capsOf(c);
  const deployment = studyDeployment(s.dims, s.space, caps, s.stats, s.view.trials);
  const prior = deploymentView(s.dims, s.space, caps, undefined, new Map());
  return { deployment, design: costCoveringDesign(s.dims, c.seed, prior, 1 + spaceFillingCount(s.dims)) };
}
