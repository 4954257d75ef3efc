import { pairedDifference } from '../eval/statistics.js';
import { features, type SearchDims } from './encoding.js';
import { GaussianProcess } from './gaussian-process.js';
import { observations, type Observation } from './strategies/_history.js';
import type { TrialRecord } from './types.js';

/** Fit the surrogate to observed trials (scores 0–100, noise from each trial's interval). */
export function fitSurrogate(obs: Observation[], dims: SearchDims, seed: number, restarts = 3): GaussianProcess {
  return GaussianProcess.fit(
    { X: obs.map((o) => features(dims, o.point)), y: obs.map((o) => o.score), noise: obs.map((o) => o.noise) },
    { seed, restarts },
  );
}

export interface Answer {
  trial: TrialRecord;
  /** Surrogate posterior mean at the chosen mixture (its raw score when no surrogate could be fit). */
  posteriorMean: number;
  posteriorSd: number;
  /** Ranked by posterior mean, best first (the answer is [0], the runner-up [1]). */
  ranking: Array<{ trial: TrialRecord; posteriorMean: number }>;
}

/**
 * The search's answer: the evaluated mixture with the best surrogate posterior mean, not the luckiest noisy
 * score. Every strategy's answer is chosen this way, so strategies are compared on equal terms.
 */
export function chooseBest(history: TrialRecord[], dims: SearchDims, seed: number): Answer | undefined {
  const complete = history.filter((t) => t.state === 'COMPLETE' && t.score !== undefined);
  if (!complete.length) return undefined;
  const obs = observations(complete, dims);
  const ranked: Array<{ trial: TrialRecord; posteriorMean: number; sd: number }> = [];
  if (obs.length >= 2) {
    const gp = fitSurrogate(obs, dims, seed);
    for (const o of obs) {
      const p = gp.predict(features(dims, o.point));
      ranked.push({ trial: o.trial, posteriorMean: p.mean, sd: Math.sqrt(p.variance) });
    }
  } else {
    for (const o of obs) ranked.push({ trial: o.trial, posteriorMean: o.score, sd: Math.sqrt(o.noise) });
  }
  // Fixed references outside the box (another shape or aggregator) are reported for comparison, but do not compete:
  // their raw score is not comparable with shrunken posterior means. Only with nothing in the box do raw scores decide.
  if (!ranked.length) for (const t of complete) ranked.push({ trial: t, posteriorMean: t.score!, sd: t.ci ? (t.ci[1] - t.ci[0]) / 3.92 : NaN });
  // Ties (rare) go to the earlier trial, so the answer is stable.
  ranked.sort((a, b) => b.posteriorMean - a.posteriorMean || a.trial.number - b.trial.number);
  // With few, noisy points the surrogate shrinks hard and can rank a mixture first that the paired data on the
  // same prompts say is worse than the best-scoring one. The data win then: never answer with a mixture that is
  // distinguishably worse (paired bootstrap) than another candidate.
  const rawBest = ranked.reduce((a, b) => (b.trial.score! > a.trial.score! ? b : a));
  if (rawBest !== ranked[0] && rawBest.trial.perPrompt?.length && ranked[0]!.trial.perPrompt?.length) {
    try {
      const d = pairedDifference(rawBest.trial.perPrompt, ranked[0]!.trial.perPrompt);
      if (d.distinguishable && d.diff > 0) ranked.unshift(...ranked.splice(ranked.indexOf(rawBest), 1));
    } catch {
      // different prompt sets (a changed validation file): keep the surrogate's ranking
    }
  }
  const top = ranked[0]!;
  return { trial: top.trial, posteriorMean: top.posteriorMean, posteriorSd: top.sd, ranking: ranked.map(({ trial, posteriorMean }) => ({ trial, posteriorMean })) };
}
