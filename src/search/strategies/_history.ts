import { fromMixtureFile, pointKey, totalCount, type Point, type SearchDims } from '../encoding.js';
import type { TrialRecord } from '../types.js';

export interface Observation {
  point: Point;
  score: number;
  /** Noise variance of the score, from its 95% bootstrap interval. */
  noise: number;
  trial: TrialRecord;
}

// A floor on the noise: an 8-prompt interval can collapse to a point when every prompt agrees.
const MIN_NOISE = 0.25;

/** Noise variance from a 95% interval: ((hi − lo) / 3.92)². */
export function noiseFromCi(ci: [number, number] | undefined): number {
  if (!ci) return 25; // ±5 points: the paper's scale of noise at 100 prompts
  return Math.max(MIN_NOISE, ((ci[1] - ci[0]) / 3.92) ** 2);
}

/** Completed trials that lie in the search box (references of another shape are left out). */
export function observations(history: TrialRecord[], dims: SearchDims): Observation[] {
  const out: Observation[] = [];
  for (const t of history) {
    if (t.state !== 'COMPLETE' || t.score === undefined) continue;
    const point = fromMixtureFile(dims, t.mixture);
    if (point) out.push({ point, score: t.score, noise: noiseFromCi(t.ci), trial: t });
  }
  return out;
}

/** Points already tried in any state: a failed mixture is not proposed again. */
export function triedPoints(history: TrialRecord[], dims: SearchDims): Set<string> {
  const s = new Set<string>();
  for (const t of history) {
    const p = fromMixtureFile(dims, t.mixture);
    if (p) s.add(pointKey(p));
  }
  return s;
}

/** Search trials only (the budget of evaluations a strategy has used). */
export function searchTrials(history: TrialRecord[]): TrialRecord[] {
  return history.filter((t) => t.kind === 'search');
}

/** How many distinct points with at least one proposer were tried (to know when the box is exhausted). */
export function countNonEmpty(history: TrialRecord[], dims: SearchDims): number {
  let n = 0;
  for (const t of history) {
    const p = fromMixtureFile(dims, t.mixture);
    if (p && totalCount(p) > 0) n++;
  }
  return n;
}
