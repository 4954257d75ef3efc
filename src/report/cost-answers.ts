import { pairedDifference, type PairedDifference } from '../eval/statistics.js';
import { bestTrial } from '../search/answer.js';
import type { ReportAnalysis, TrialPoint } from './analyze.js';

/** Round deployment caps (USD per 1,000 queries) the report answers for, where the study's costs make them a question. */
const ROUND_CAPS = [0.25, 0.5, 1, 2, 5, 10, 20, 50, 100];
/** "Within one point of the best": the score gap a cheaper mixture may have. */
const NEAR = 1;

export interface CostAnswers {
  /** For each round cap between the cheapest and the dearest evaluated mixture: the best within it (the answer rule). */
  caps: Array<{ maxCostPer1k: number; best?: TrialPoint }>;
  /** The knee of the cost front: the member furthest above the chord from its cheapest to its best end (log cost). */
  knee?: TrialPoint;
  /** The cheapest evaluated mixture whose estimate is within one point of the recommendation, and the paired difference. */
  nearBest?: { point: TrialPoint; vsBest?: PairedDifference };
}

/** The best mixture within `maxCostPer1k` by the same rule as the search and `pareto --max-cost`. */
export function bestWithin(a: ReportAnalysis, maxCostPer1k: number): TrialPoint | undefined {
  const t = bestTrial(a.points.map((p) => ({ ...p.trial, costPerQuery: p.costPerQuery ?? undefined })), maxCostPer1k / 1000);
  return t ? a.points.find((p) => p.number === t.number) : undefined;
}

function knee(a: ReportAnalysis): TrialPoint | undefined {
  const front = a.costFront.front.filter((f) => f.cost !== null && f.cost > 0).map((f) => ({ id: f.id, x: Math.log(f.cost!), y: f.quality }));
  if (front.length < 3) return undefined;
  const first = front[0]!;
  const last = front.at(-1)!;
  const dx = last.x - first.x || 1;
  const dy = last.y - first.y || 1;
  // Distance above the chord in coordinates scaled to the front's own ranges.
  const lift = (f: { x: number; y: number }) => (f.y - first.y) / dy - (f.x - first.x) / dx;
  const best = front.slice(1, -1).reduce((k, f) => (lift(f) > lift(k) ? f : k), front[1]!);
  return lift(best) > 0 ? a.points.find((p) => p.id === best.id) : undefined;
}

function nearBest(a: ReportAnalysis): CostAnswers['nearBest'] {
  const rec = a.recommended;
  if (!rec || rec.costPerQuery === null) return undefined;
  const near = a.points.filter((p) => p.costPerQuery !== null && p.quality >= rec.quality - NEAR && p.costPerQuery < rec.costPerQuery!);
  if (!near.length) return undefined;
  const point = near.reduce((x, y) => (y.costPerQuery! < x.costPerQuery! ? y : x));
  let vsBest: PairedDifference | undefined;
  try {
    if (point.trial.perPrompt && rec.trial.perPrompt) vsBest = pairedDifference(point.trial.perPrompt, rec.trial.perPrompt);
  } catch {
    // No prompt judged for both: no paired difference to give.
  }
  return { point, ...(vsBest ? { vsBest } : {}) };
}

/** The report's cost questions: best at round caps, the knee of the front, the cheapest within a point of the best. */
export function costAnswers(a: ReportAnalysis): CostAnswers {
  const costs = a.points.map((p) => p.costPerQuery).filter((c): c is number => c !== null).map((c) => c * 1000);
  const caps = costs.length ? ROUND_CAPS.filter((c) => c >= Math.min(...costs) && c < Math.max(...costs)) : [];
  const k = knee(a);
  const n = nearBest(a);
  return { caps: caps.map((c) => ({ maxCostPer1k: c, ...(bestWithin(a, c) ? { best: bestWithin(a, c)! } : {}) })), ...(k ? { knee: k } : {}), ...(n ? { nearBest: n } : {}) };
}

const usd1k = (p: TrialPoint) => (p.costPerQuery === null ? 'cost unknown' : `$${(p.costPerQuery * 1000).toFixed(3)} per 1k queries`);
const scored = (p: TrialPoint) => `${p.label}: ${p.quality.toFixed(1)}${p.ci ? ` [${p.ci[0].toFixed(1)}, ${p.ci[1].toFixed(1)}]` : ''}, ${usd1k(p)}`;
const signed = (x: number) => (x >= 0 ? '+' : '−') + Math.abs(x).toFixed(1);

/** The answers as plain sentences (the HTML and Markdown reports and `pareto` print them). */
export function costAnswerLines(c: CostAnswers): string[] {
  const out = c.caps.map((x) => `Best at ≤ $${x.maxCostPer1k} per 1k queries: ${x.best ? scored(x.best) : 'nothing evaluated fits'}`);
  if (c.knee) out.push(`Knee of the cost front (most quality per log-dollar before returns diminish): ${scored(c.knee)}`);
  if (c.nearBest) {
    const d = c.nearBest.vsBest;
    const paired = d ? `; paired difference vs the recommendation ${signed(d.diff)} [${signed(d.ci[0])}, ${signed(d.ci[1])}]${d.distinguishable ? '' : ', not distinguishable'}` : '';
    out.push(`Cheapest within ${NEAR} point of the best: ${scored(c.nearBest.point)}${paired}`);
  }
  return out;
}
