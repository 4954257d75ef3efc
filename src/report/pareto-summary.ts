import { objectiveTerms } from '../search/objective-terms.js';
import { bestWithin, costAnswerLines, costAnswers } from './cost-answers.js';
import type { ReportAnalysis, TrialPoint } from './analyze.js';
import { fmtCi, fmtScore, fmtTflops, fmtUsd } from './_format.js';

export interface ParetoEntry {
  number: number;
  label: string;
  kind: TrialPoint['kind'];
  score: number;
  ci?: [number, number];
  /** Validation prompts and measurements behind the score. */
  prompts?: number;
  measurements?: number;
  costPerQuery: number | null;
  tflopsPerQuery: number | null;
  latencyProxyTflops: number | null;
  status: string;
  mixture: TrialPoint['trial']['mixture'];
}

/** What `moa-search pareto --json` prints. */
export interface ParetoSummary {
  study: string;
  by: 'cost' | 'tflops';
  evaluated: number;
  /** Sorted by the chosen cost axis. */
  front: ParetoEntry[];
  indistinguishable: ParetoEntry[];
  /** Left out of the front: no measurable value on the chosen axis (e.g. unknown parameter counts). */
  excluded: ParetoEntry[];
  /** `--max-cost`: USD per 1,000 queries (as `search --max-cost`). */
  maxCost?: number;
  /** The study's objective (a judge study's numbers are agreement, per pair). */
  objective?: string;
  /** The study's recommendation (the search's answer), or with a cap the best estimate whose cost per 1k queries ≤ maxCost. */
  best: ParetoEntry | null;
  /** The cost answers: best at round caps, the knee, the cheapest within a point of the best (sentences). */
  answers: string[];
}

function entry(p: TrialPoint, by: 'cost' | 'tflops'): ParetoEntry {
  return {
    number: p.number,
    label: p.label,
    kind: p.kind,
    score: p.quality,
    ...(p.ci ? { ci: p.ci } : {}),
    ...(p.prompts !== undefined ? { prompts: p.prompts } : {}),
    ...(p.measurements !== undefined ? { measurements: p.measurements } : {}),
    costPerQuery: p.costPerQuery,
    tflopsPerQuery: p.tflopsPerQuery,
    latencyProxyTflops: p.latencyProxy,
    status: by === 'cost' ? p.costStatus : p.tflopsStatus,
    mixture: p.trial.mixture,
  };
}

export function paretoSummary(a: ReportAnalysis, by: 'cost' | 'tflops', maxCost?: number): ParetoSummary {
  const front = by === 'cost' ? a.costFront.front : a.tflopsFront.front;
  const byId = new Map(a.points.map((p) => [p.id, p]));
  const status = (p: TrialPoint) => (by === 'cost' ? p.costStatus : p.tflopsStatus);
  // The same rule as the search and the report: without a cap, the study's recommendation; with one (USD per 1k
  // queries, as `search --max-cost`), the best estimate among the mixtures whose measured cost is within it.
  const best = maxCost === undefined && a.recommended ? a.recommended : bestWithin(a, maxCost ?? Infinity);
  return {
    study: a.study.name,
    ...(a.study.config.objective ? { objective: a.study.config.objective } : {}),
    by,
    evaluated: a.points.length,
    front: front.map((f) => entry(byId.get(f.id)!, by)),
    indistinguishable: a.points.filter((p) => status(p) === 'indistinguishable').map((p) => entry(p, by)),
    excluded: a.points.filter((p) => status(p) === 'excluded').map((p) => entry(p, by)),
    ...(maxCost !== undefined ? { maxCost } : {}),
    best: best ? entry(byId.get(best.id)!, by) : null,
    answers: costAnswerLines(costAnswers(a)),
  };
}

function row(e: ParetoEntry): string {
  return [
    `#${e.number}`.padStart(4),
    fmtScore(e.score).padStart(6),
    fmtCi(e.ci).padStart(12),
    fmtUsd(e.costPerQuery).padStart(11),
    fmtTflops(e.latencyProxyTflops).padStart(10),
    `  ${e.label}`,
  ].join(' ');
}

/** What a score stands on, e.g. ` on 50 prompts, 3 measurements`. */
export function behind(e: { prompts?: number; measurements?: number }, words = objectiveTerms(undefined)): string {
  if (e.prompts === undefined) return '';
  return ` on ${e.prompts} ${e.prompts === 1 ? words.item : words.items}${e.measurements !== undefined ? `, ${e.measurements} measurement${e.measurements === 1 ? '' : 's'}` : ''}`;
}

/** The human-readable form of `pareto`. */
export function formatParetoSummary(s: ParetoSummary): string {
  const axis = s.by === 'cost' ? 'cost (USD per query)' : 'latency proxy (TFLOPs per query)';
  const w = objectiveTerms(s.objective);
  const lines = [`Pareto front of study "${s.study}" by ${axis}: ${s.front.length} of ${s.evaluated} evaluated mixtures`, ''];
  lines.push(`${'#'.padStart(4)} ${'score'.padStart(6)} ${'95% CI'.padStart(12)} ${'USD/query'.padStart(11)} ${'proxy TF'.padStart(10)}   mixture`);
  for (const e of s.front) lines.push(row(e));
  if (s.indistinguishable.length) {
    lines.push('', 'Statistically indistinguishable from the front (CI reaches it):');
    for (const e of s.indistinguishable) lines.push(row(e));
  }
  if (s.excluded.length) lines.push('', `Not placed (no ${s.by === 'cost' ? 'cost' : 'TFLOPs: parameter count unknown'}): ${s.excluded.map((e) => `#${e.number} ${e.label}`).join('; ')}`);
  lines.push('');
  const cap = s.maxCost !== undefined ? `within $${s.maxCost} per 1k queries` : 'overall';
  if (s.best) {
    lines.push(`Best ${cap}: #${s.best.number} ${s.best.label} — ${w.score} ${fmtScore(s.best.score)}${s.best.ci ? ` (95% CI ${fmtCi(s.best.ci)})` : ''}${behind(s.best, w)}, ${fmtUsd(s.best.costPerQuery)} per query (${fmtUsd(s.best.costPerQuery === null ? null : s.best.costPerQuery * 1000)} per 1,000)`);
  } else lines.push(`No evaluated mixture ${cap}.`);
  if (s.answers.length) lines.push('', 'Cost answers:', ...s.answers.map((l) => `  ${l}`));
  return lines.join('\n') + '\n';
}
