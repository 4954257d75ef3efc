import type { ReportAnalysis, TrialPoint } from './analyze.js';
import { csvField, fmtCi, fmtScore, fmtTflops, fmtUsd } from './_format.js';

const STATUS_TEXT: Record<string, string> = { front: 'front', indistinguishable: '≈ front', dominated: '', excluded: 'n/a' };

export function statusText(p: TrialPoint, by: 'cost' | 'tflops'): string {
  return STATUS_TEXT[by === 'cost' ? p.costStatus : p.tflopsStatus] ?? '';
}

/** The columns of the trial table, shared by HTML and Markdown. */
export function trialRows(a: ReportAnalysis): string[][] {
  return a.points.map((p) => [
    String(p.number),
    p.kind === 'reference' ? (p.single ? 'single' : 'reference') : 'search',
    p.label,
    String(p.layers),
    fmtScore(p.quality),
    fmtCi(p.ci),
    fmtScore(p.measured),
    p.prompts === undefined ? '' : `${p.prompts}${p.measurements !== undefined ? ` / ${p.measurements}` : ''}`,
    fmtScore(p.trial.lc),
    fmtUsd(p.costPerQuery === null ? null : p.costPerQuery * 1000),
    fmtTflops(p.tflopsPerQuery),
    fmtTflops(p.latencyProxy),
    [statusText(p, 'cost'), statusText(p, 'tflops')].map((s) => s || '·').join(' / '),
    fmtUsd(p.trial.spent),
  ]);
}

export const TRIAL_HEADERS = ['#', 'kind', 'mixture', 'L', 'score', '95% CI', 'measured', 'prompts / measurements', 'LC', 'USD / 1k queries', 'TFLOPs / query', 'latency proxy (TFLOPs)', 'front (cost / TFLOPs)', 'spent'];

const CSV_HEADERS = [
  'number', 'kind', 'strategy', 'state', 'label', 'layers', 'aggregator', 'score', 'ci_lo', 'ci_hi', 'estimate', 'estimate_ci_lo', 'estimate_ci_hi', 'prompts', 'measurements', 'lc',
  'cost_per_query_usd', 'cost_per_query_sd_usd', 'cost_per_1k_queries_usd', 'tflops_per_query', 'latency_proxy_tflops', 'unknown_params',
  'judge_cost_per_prompt_usd', 'cost_front', 'tflops_front', 'spent_usd', 'spent_cumulative_usd', 'calls_made', 'calls_cached', 'mixture', 'error',
];

/** Every trial, failed ones included, machine-readable (numbers unformatted). */
export function trialsCsv(a: ReportAnalysis): string {
  const lines = [CSV_HEADERS.join(',')];
  const byNumber = new Map(a.points.map((p) => [p.number, p]));
  const all = [...a.points.map((p) => p.trial), ...a.unfinished].sort((x, y) => x.number - y.number);
  for (const t of all) {
    const p = byNumber.get(t.number);
    lines.push(
      [
        t.number, t.kind, t.strategy, t.state, p?.label ?? t.label, p?.layers ?? '', t.mixture.aggregator, t.score, t.ci?.[0], t.ci?.[1],
        t.estimate?.mean, t.estimate?.ci[0], t.estimate?.ci[1], t.prompts, t.measurements, t.lc,
        p ? p.costPerQuery : t.costPerQuery, p?.costSpread?.sd, p?.costPerQuery != null ? p.costPerQuery * 1000 : '', p ? p.tflopsPerQuery : t.tflopsPerQuery,
        p ? p.latencyProxy : t.latencyProxyPerQuery, p?.unknownParams.join(' '), p?.judgeCostPerPrompt, p?.costStatus ?? '', p?.tflopsStatus ?? '',
        t.spent, t.spentCumulative, t.calls?.made, t.calls?.cached, JSON.stringify(t.mixture), t.error,
      ]
        .map(csvField)
        .join(','),
    );
  }
  return lines.join('\n') + '\n';
}
