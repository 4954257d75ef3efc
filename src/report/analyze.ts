import { mixtureName, type Mixture } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { paretoFront, type ParetoResult, type ParetoStatus } from '../cost/pareto.js';
import { spread, type Spread } from '../cost/run-cost.js';
import { unknownParamModels } from '../cost/tflops.js';
import { pairedDifference } from '../eval/statistics.js';
import { bestTrial } from '../search/answer.js';
import type { StudyRecord, TrialRecord } from '../search/types.js';
import { mixtureModels, mixtureOfFile } from './_mixture-file.js';

/** Everything a report is made from; `renderReport` is a pure function of it. */
export interface ReportData {
  study: StudyRecord;
  trials: TrialRecord[];
  /** The study's search space (labels, parameter counts); the report still renders without it. */
  space?: SearchSpace;
  /** ISO time stamped into the report (default: now). */
  generatedAt?: string;
}

/** One evaluated mixture, as the charts and tables show it. */
export interface TrialPoint {
  trial: TrialRecord;
  /** `#<trial number>`. */
  id: string;
  number: number;
  mixture: Mixture;
  /** Short mixture name (mixtureName()). */
  label: string;
  kind: TrialRecord['kind'];
  /** A single model (no proposer layers). */
  single: boolean;
  /** A reference trial detected as the paper's MoA-Lite. */
  moaLite: boolean;
  layers: number;
  /** The model's estimate for the whole validation set when the search made one, else the measured score. */
  quality: number;
  ci?: [number, number];
  /** The score measured on the prompts this mixture was judged on (no model). */
  measured: number;
  /** Distinct validation prompts and measurements behind the score. */
  prompts?: number;
  measurements?: number;
  costPerQuery: number | null;
  tflopsPerQuery: number | null;
  latencyProxy: number | null;
  /** Models of this mixture whose parameter count the space does not give (TFLOPs then unknown). */
  unknownParams: string[];
  /** Mean measured wall-clock ms per layer over the validation prompts, when the evaluation recorded it. */
  layerWallMs?: number[];
  /** Spread of the per-prompt deployment cost (USD per query), when per-prompt outcomes were kept. */
  costSpread?: Spread;
  /** Mean USD price of the judge calls per validation prompt: search cost, never part of the deployment cost. */
  judgeCostPerPrompt?: number;
  costStatus: ParetoStatus;
  tflopsStatus: ParetoStatus;
}

export interface Comparison {
  /** `best single model` or `MoA-Lite`. */
  role: string;
  against: TrialPoint;
  /** Recommended minus the other, in score points. */
  diff: number;
  /** Paired bootstrap interval, when both trials kept per-prompt outcomes on shared prompts. */
  ci?: [number, number];
  distinguishable?: boolean;
  n?: number;
}

export interface HistoryPoint {
  number: number;
  label: string;
  kind: TrialRecord['kind'];
  /** USD the study had spent (mixture + judge) when this trial finished. */
  spent: number;
  score: number;
  bestSoFar: number;
}

export interface ReportAnalysis {
  study: StudyRecord;
  generatedAt: string;
  /** Completed trials with a score, in trial order. */
  points: TrialPoint[];
  /** Trials that failed or never finished. */
  unfinished: TrialRecord[];
  costFront: ParetoResult<{ id: string; quality: number; cost: number | null; ci?: [number, number] }>;
  tflopsFront: ParetoResult<{ id: string; quality: number; cost: number | null; ci?: [number, number] }>;
  recommended?: TrialPoint;
  comparisons: Comparison[];
  /** The cheapest mixture on the cost front that the data cannot tell apart from the recommendation. */
  cheaperAlternative?: Comparison;
  history: HistoryPoint[];
  /** All models of evaluated mixtures without a parameter count. */
  unknownParams: string[];
  /** Mean judge price per validation prompt over all trials that recorded it (search cost). */
  judgeCostPerPrompt?: number;
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** A reference trial counts as MoA-Lite when its name, label or strategy says so. */
function isMoaLite(t: TrialRecord): boolean {
  const re = /moa[-_ ]?lite/i;
  return t.kind === 'reference' && (re.test(t.mixture.name ?? '') || re.test(t.strategy) || re.test(t.label));
}

function meanLayerWall(t: TrialRecord): number[] | undefined {
  const rows = (t.perPrompt ?? []).map((o) => o.layerWallMs).filter((l): l is number[] => Array.isArray(l) && l.length > 0);
  if (!rows.length) return undefined;
  const L = Math.max(...rows.map((r) => r.length));
  return Array.from({ length: L }, (_, i) => {
    const xs = rows.map((r) => r[i]).filter(finite);
    return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
  });
}

function toPoint(t: TrialRecord, space: SearchSpace | undefined): TrialPoint {
  const mixture = mixtureOfFile(t.mixture);
  const unknownParams = space ? unknownParamModels(mixtureModels(mixture), space) : [];
  const tflopsKnown = unknownParams.length === 0;
  const p: TrialPoint = {
    trial: t,
    id: `#${t.number}`,
    number: t.number,
    mixture,
    label: space || !t.label ? mixtureName(mixture, space) : t.label,
    kind: t.kind,
    single: mixture.proposerLayers.length === 0,
    moaLite: isMoaLite(t),
    layers: mixture.proposerLayers.length + 1,
    quality: t.estimate?.mean ?? t.score!,
    measured: t.score!,
    ...(t.prompts !== undefined ? { prompts: t.prompts } : t.perPrompt ? { prompts: t.perPrompt.length } : {}),
    ...(t.measurements !== undefined ? { measurements: t.measurements } : {}),
    costPerQuery: finite(t.costPerQuery) ? t.costPerQuery : null,
    tflopsPerQuery: tflopsKnown && finite(t.tflopsPerQuery) ? t.tflopsPerQuery : null,
    latencyProxy: tflopsKnown && finite(t.latencyProxyPerQuery) ? t.latencyProxyPerQuery : null,
    unknownParams,
    costStatus: 'excluded',
    tflopsStatus: 'excluded',
  };
  const ci = t.estimate?.ci ?? t.ci;
  if (ci && finite(ci[0]) && finite(ci[1])) p.ci = [ci[0], ci[1]];
  const wall = meanLayerWall(t);
  if (wall) p.layerWallMs = wall;
  const costs = (t.perPrompt ?? []).map((o) => o.costUsd).filter(finite);
  if (costs.length) p.costSpread = spread(costs);
  const judge = (t.perPrompt ?? []).map((o) => o.judgeCostUsd).filter(finite);
  if (judge.length) p.judgeCostPerPrompt = judge.reduce((a, b) => a + b, 0) / judge.length;
  return p;
}

/** Paired difference a − b when both kept per-prompt outcomes; else the plain difference of scores. */
function compare(role: string, a: TrialPoint, b: TrialPoint): Comparison {
  const c: Comparison = { role, against: b, diff: a.quality - b.quality };
  const pa = a.trial.perPrompt;
  const pb = b.trial.perPrompt;
  if (pa?.length && pb?.length) {
    try {
      const d = pairedDifference(pa, pb, { seed: 0 });
      Object.assign(c, { diff: d.diff, ci: d.ci, distinguishable: d.distinguishable, n: d.n });
    } catch {
      // no shared prompts (different validation sets): keep the plain difference, no interval
    }
  }
  return c;
}

const better = (a: TrialPoint, b: TrialPoint) =>
  a.quality !== b.quality ? a.quality > b.quality : (a.costPerQuery ?? Infinity) !== (b.costPerQuery ?? Infinity) ? (a.costPerQuery ?? Infinity) < (b.costPerQuery ?? Infinity) : a.number < b.number;

/**
 * Fronts, recommendation and comparisons of a study. The recommendation is the search's own answer when the study
 * recorded one (the best surrogate posterior mean, `study.best`), else the highest-scoring completed trial (ties:
 * cheaper, then earlier); a cheaper mixture the paired test cannot tell apart is offered beside it.
 */
export function analyzeStudy(data: ReportData): ReportAnalysis {
  const trials = [...data.trials].sort((a, b) => a.number - b.number);
  const done = trials.filter((t) => t.state === 'COMPLETE' && finite(t.score));
  const points = done.map((t) => toPoint(t, data.space));
  const unfinished = trials.filter((t) => !(t.state === 'COMPLETE' && finite(t.score)));

  const costFront = paretoFront(points.map((p) => ({ id: p.id, quality: p.quality, cost: p.costPerQuery, ...(p.ci ? { ci: p.ci } : {}) })));
  const tflopsFront = paretoFront(points.map((p) => ({ id: p.id, quality: p.quality, cost: p.latencyProxy, ...(p.ci ? { ci: p.ci } : {}) })));
  points.forEach((p, i) => {
    p.costStatus = costFront.points[i]!.status;
    p.tflopsStatus = tflopsFront.points[i]!.status;
  });

  const recommended = recommendation(data, points);
  const comparisons = recommended ? comparisonsWith(recommended, points) : [];
  const cheaperAlternative = recommended ? cheaperAlternativeTo(recommended, costFront, points) : undefined;
  const history = historyOf(trials, points);

  const unknown = new Set<string>();
  for (const p of points) for (const m of p.unknownParams) unknown.add(m);
  const judged = points.filter((p) => p.judgeCostPerPrompt !== undefined).map((p) => p.judgeCostPerPrompt!);

  return {
    study: data.study,
    generatedAt: data.generatedAt ?? new Date().toISOString(),
    points,
    unfinished,
    costFront,
    tflopsFront,
    ...(recommended ? { recommended } : {}),
    comparisons,
    ...(cheaperAlternative ? { cheaperAlternative } : {}),
    history,
    unknownParams: [...unknown].sort(),
    ...(judged.length ? { judgeCostPerPrompt: judged.reduce((a, b) => a + b, 0) / judged.length } : {}),
  };
}

/** One rule for "the best": the search's answer, stored on the study; else the same rule on the trials' estimates. */
function recommendation(data: ReportData, points: TrialPoint[]): TrialPoint | undefined {
  const stored = data.study.best ? points.find((p) => p.number === data.study.best!.trial) : undefined;
  if (stored) return stored;
  const t = bestTrial(points.map((p) => p.trial));
  return t ? points.find((p) => p.trial === t) : undefined;
}

/** The recommendation against the best single model, MoA-Lite and (when a baseline wins) the search's own best. */
function comparisonsWith(recommended: TrialPoint, points: TrialPoint[]): Comparison[] {
  const comparisons: Comparison[] = [];
  const bestOf = (ok: (p: TrialPoint) => boolean) => points.reduce<TrialPoint | undefined>((b, p) => (ok(p) && (!b || better(p, b)) ? p : b), undefined);
  const bestSingle = bestOf((p) => p.single && p !== recommended);
  if (bestSingle && !recommended.single) comparisons.push(compare('best single model', recommended, bestSingle));
  const lite = points.find((p) => p.moaLite && p !== recommended);
  if (lite) comparisons.push(compare('MoA-Lite', recommended, lite));
  // When a baseline wins, say what the search itself found, so the report and the search's summary agree.
  if (recommended.kind === 'reference') {
    const bestSearch = bestOf((p) => p.kind === 'search');
    if (bestSearch) comparisons.push(compare('best found by the search', recommended, bestSearch));
  }
  return comparisons;
}

/** The cheapest mixture on the cost front that the paired test cannot tell apart from the recommendation. */
function cheaperAlternativeTo(recommended: TrialPoint, costFront: ReportAnalysis['costFront'], points: TrialPoint[]): Comparison | undefined {
  const recCost = recommended.costPerQuery;
  if (recCost === null) return undefined;
  const cheaper = costFront.front.map((f) => points.find((p) => p.id === f.id)!).filter((p) => p !== recommended && p.costPerQuery !== null && p.costPerQuery < recCost);
  for (const p of cheaper) {
    const c = compare('cheaper alternative', recommended, p);
    const indistinct = c.ci ? !c.distinguishable : !!(p.ci && recommended.ci && p.ci[1] >= recommended.ci[0]);
    if (indistinct) return c; // fronts are sorted by cost: the first hit is the cheapest
  }
  return undefined;
}

/** Best score so far against cumulative spend, trial by trial. */
function historyOf(trials: ReportData['trials'], points: TrialPoint[]): HistoryPoint[] {
  const history: HistoryPoint[] = [];
  let running = 0;
  let best = -Infinity;
  for (const t of trials) {
    running += finite(t.spent) ? t.spent : 0;
    if (!(t.state === 'COMPLETE' && finite(t.score))) continue;
    best = Math.max(best, t.score);
    const p = points.find((q) => q.number === t.number)!;
    history.push({ number: t.number, label: p.label, kind: t.kind, spent: finite(t.spentCumulative) ? t.spentCumulative : running, score: t.score, bestSoFar: best });
  }
  return history;
}
