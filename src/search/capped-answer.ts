import type { Answer } from './answer.js';
import { measuredFits, type DeploymentCaps } from './constraints.js';
import type { Estimate, TrialRecord } from './types.js';

/** The answer under deployment caps, beside what the search would have answered without them. */
export interface CappedAnswer {
  /** The answer rule among mixtures whose measured cost meets the caps (ranking restricted to them); none fits → undefined. */
  answer?: Answer;
  /** The unconstrained answer (the best mixture the search saw, whatever its cost). */
  unconstrained: { trial: TrialRecord; estimate: Estimate };
  /** The cheapest evaluated mixture by measured cost (what to show when nothing fits). */
  cheapest?: TrialRecord;
}

/**
 * One rule with or without caps: rank by the model's estimate (`chooseAnswer`) and take the first mixture whose
 * *measured* deployment cost meets the caps — the same pick `bestTrial(trials, maxCost)` makes from stored ranks.
 */
export function capAnswer(a: Answer, trials: readonly TrialRecord[], caps: DeploymentCaps): CappedAnswer {
  const byNumber = new Map(trials.map((t) => [t.number, t]));
  const fits = (t: TrialRecord) => measuredFits(byNumber.get(t.number) ?? t, caps);
  const ranking = a.ranking.filter((r) => fits(r.trial));
  const measured = trials.filter((t) => t.state === 'COMPLETE' && t.costPerQuery !== undefined);
  const cheapest = measured.length ? measured.reduce((x, y) => (y.costPerQuery! < x.costPerQuery! ? y : x)) : undefined;
  return {
    ...(ranking.length ? { answer: { ...a, trial: ranking[0]!.trial, estimate: ranking[0]!.estimate, ranking } } : {}),
    unconstrained: { trial: a.trial, estimate: a.estimate },
    ...(cheapest ? { cheapest } : {}),
  };
}
