import type { PromptOutcome, ValidationItem } from '../eval/types.js';
import type { StudyView } from './strategies/types.js';
import type { ObservationRecord, TrialRecord } from './types.js';

/**
 * The value a running measurement is believed to return, on the score scale (0–100): the mixture's own mean so far
 * (it was measured before), else the surrogate's posterior mean stored when the strategy proposed it (kriging
 * believer), else the mean of every complete measurement of the study (constant liar), else an even 50.
 */
export function believedScore(trial: TrialRecord, complete: readonly ObservationRecord[]): number {
  if (trial.state === 'COMPLETE' && trial.score !== undefined) return trial.score;
  if (trial.posteriorMean !== undefined) return trial.posteriorMean;
  const scores = complete.map((o) => o.score).filter((x): x is number => x !== undefined);
  return scores.length ? scores.reduce((a, b) => a + b, 0) / scores.length : 50;
}

function fantasyOutcome(id: string, source: string, score: number): PromptOutcome {
  return { id, source, preference: Math.min(1, Math.max(0, score / 100)), candidateChars: 0, referenceChars: 0, costUsd: 0, tflops: 0, latencyProxyTflops: 0, promptTokens: 0, completionTokens: 0 };
}

/**
 * The study as a strategy should see it while other workers' measurements are still running: each RUNNING
 * observation is taken as complete at its believed score, on every prompt it is judging. So a strategy that knows
 * nothing of parallelism neither proposes a mixture being screened nor promotes one a second time, and a model-based
 * one lowers its uncertainty where a result is on its way (Ginsbourger's kriging believer / constant liar). The
 * fantasies never reach the store: they only shape the next choice.
 */
export function withFantasies(view: StudyView, items: readonly ValidationItem[]): StudyView {
  const running = view.observations.filter((o) => o.state === 'RUNNING');
  if (!running.length) return view;
  const source = new Map(items.map((it) => [it.id, it.source]));
  const complete = view.observations.filter((o) => o.state === 'COMPLETE');
  const believed = new Map<number, number>();
  for (const o of running) {
    const t = view.trials.find((x) => x.number === o.trial);
    if (t && !believed.has(t.number)) believed.set(t.number, believedScore(t, complete));
  }
  const observations = view.observations.map((o): ObservationRecord => {
    if (o.state !== 'RUNNING') return o;
    const score = believed.get(o.trial) ?? 50;
    const perPrompt = o.promptIds.map((id) => fantasyOutcome(id, source.get(id) ?? 'unknown', score));
    return { ...o, state: 'COMPLETE', score, perPrompt };
  });
  const trials = view.trials.map((t): TrialRecord => {
    if (t.state === 'COMPLETE' || !believed.has(t.number)) return t;
    const prompts = running.filter((o) => o.trial === t.number).reduce((n, o) => n + o.promptIds.length, 0);
    return { ...t, state: 'COMPLETE', score: believed.get(t.number)!, prompts, measurements: 1 };
  });
  return { trials, observations };
}
