import * as vega from 'vega';
import { objectiveTerms } from '../search/objective-terms.js';
import { compile, type TopLevelSpec } from 'vega-lite';
import type { HistoryPoint, ReportAnalysis, TrialPoint } from './analyze.js';
import { LABEL_FONT, OFFSETS, PLOT, placeLabels, shortLabel, type LabelledRow, type XAxis } from './_labels.js';

/** Legend categories, fixed so colours and shapes mean the same thing in every chart. */
const STATUS = { front: 'on the front', indistinguishable: 'indistinguishable from the front', dominated: 'dominated' } as const;
const STATUS_COLORS = ['#1565c0', '#ef6c00', '#9e9e9e'];
const GROUPS = ['MoA found by the search', 'single model', 'reference mixture'] as const;
const GROUP_SHAPES = ['circle', 'square', 'diamond'];
const FONT = 'Helvetica, Arial, sans-serif';

/** Vega's name for the point marks; tests count `<path>`s in this group (one per plotted mixture). */
export const POINT_MARK_NAME = 'mixture_points';

export interface ChartRow extends LabelledRow {
  id: string;
  lo: number;
  hi: number;
  group: (typeof GROUPS)[number];
  status: string;
}

/** A named mixture's own name (e.g. `MoA-Lite`, its parenthetical dropped) when short enough for a label. */
function nameLabel(p: TrialPoint): string[] {
  const n = p.mixture.name?.replace(/\s*\(.*\)\s*$/, '').trim();
  return n && n.length <= 24 ? [n] : [];
}

function groupOf(p: TrialPoint): ChartRow['group'] {
  if (p.single) return GROUPS[1];
  return p.kind === 'reference' ? GROUPS[2] : GROUPS[0];
}

export function paretoRows(a: ReportAnalysis, by: 'cost' | 'tflops'): ChartRow[] {
  const rows: ChartRow[] = [];
  for (const p of a.points) {
    const x = by === 'cost' ? p.costPerQuery : p.latencyProxy;
    if (x === null) continue;
    const status = by === 'cost' ? p.costStatus : p.tflopsStatus;
    const recommended = p === a.recommended;
    rows.push({
      id: p.id,
      label: p.label,
      altLabels: [...nameLabel(p), shortLabel(p.label, 16), p.id],
      x,
      q: p.quality,
      lo: p.ci?.[0] ?? p.quality,
      hi: p.ci?.[1] ?? p.quality,
      group: groupOf(p),
      status: STATUS[status as keyof typeof STATUS] ?? STATUS.dominated,
      onFront: status === 'front',
      recommended,
      showLabel: status === 'front' || p.kind === 'reference' || recommended,
    });
  }
  return rows;
}

/** Log scale when the costs span more than a factor of 20 (single models vs deep mixtures usually do). */
function xAxisOf(xs: number[]): XAxis {
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  if (xs.length > 1 && min > 0 && max / min > 20) return { log: true, domain: [min / 1.35, max * 1.35] };
  const span = max - min || Math.abs(max) || 1;
  return { log: false, domain: [Math.max(min > 0 ? 0 : -Infinity, min - span * 0.06), max + span * 0.06] };
}

function xScale(ax: XAxis): Record<string, unknown> {
  return ax.log ? { type: 'log', domain: ax.domain, nice: false } : { domain: ax.domain, nice: false, zero: false };
}

function yScale(rows: Array<{ lo: number; hi: number }>): Record<string, unknown> {
  const lo = Math.min(...rows.map((r) => r.lo));
  const hi = Math.max(...rows.map((r) => r.hi));
  const pad = Math.max(2, (hi - lo) * 0.08);
  return { domain: [Math.max(0, Math.floor(lo - pad)), Math.min(100, Math.ceil(hi + pad))], zero: false, nice: false };
}

/** The front as the step function "best quality reachable at this cost", extended to the largest cost shown. */
function stepRows(rows: ChartRow[]): Array<{ x: number; q: number }> {
  const front = rows.filter((r) => r.status === STATUS.front).sort((a, b) => a.x - b.x || b.q - a.q);
  const out: Array<{ x: number; q: number }> = [];
  for (const f of front) if (!out.length || f.q > out[out.length - 1]!.q) out.push({ x: f.x, q: f.q });
  const maxX = Math.max(...rows.map((r) => r.x));
  if (out.length && maxX > out[out.length - 1]!.x) out.push({ x: maxX, q: out[out.length - 1]!.q });
  return out;
}

export function paretoSpec(rows: ChartRow[], opts: { title: string; xTitle: string; xFormat: string; yTitle?: string }): TopLevelSpec {
  const ax = xAxisOf(rows.map((r) => r.x));
  const ys = yScale(rows);
  placeLabels(rows, ax, ys.domain as [number, number]);
  const x = { field: 'x', type: 'quantitative' as const, title: opts.xTitle, scale: xScale(ax), axis: { format: opts.xFormat, labelFlush: true, tickCount: 6 } };
  const y = { field: 'q', type: 'quantitative' as const, title: opts.yTitle ?? objectiveTerms(undefined).scoreTitle, scale: ys };
  const labelLayers = (Object.keys(OFFSETS) as Array<keyof typeof OFFSETS>).map((pos) => ({
    data: { values: rows },
    transform: [{ filter: `datum.labelPos === '${pos}'` }],
    mark: { type: 'text' as const, ...OFFSETS[pos], fontSize: LABEL_FONT },
    encoding: {
      x,
      y,
      text: { field: 'labelText' },
      color: { condition: { test: 'datum.recommended', value: '#0d47a1' }, value: '#37474f' },
    },
  }));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: opts.title, anchor: 'start', fontSize: 15 },
    width: PLOT.width,
    height: PLOT.height,
    config: { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eceff1' }, legend: { labelFontSize: 11, titleFontSize: 11, orient: 'bottom', direction: 'vertical', labelLimit: 260 }, view: { stroke: '#cfd8dc' } },
    layer: [
      {
        data: { values: rows },
        mark: { type: 'rule', strokeWidth: 1.2, opacity: 0.55 },
        encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color: { field: 'status', type: 'nominal', title: 'Pareto status', legend: { labelLimit: 300 }, scale: { domain: Object.values(STATUS), range: STATUS_COLORS } } },
      },
      {
        data: { values: stepRows(rows) },
        mark: { type: 'line', interpolate: 'step-after', color: '#1565c0', strokeWidth: 2, opacity: 0.8, strokeDash: [6, 3] },
        encoding: { x, y },
      },
      {
        name: POINT_MARK_NAME,
        data: { values: rows },
        mark: { type: 'point', filled: true, opacity: 0.95, stroke: '#263238', strokeWidth: 0.6 },
        encoding: {
          x,
          y,
          color: { field: 'status', type: 'nominal', title: 'Pareto status', legend: { labelLimit: 300 }, scale: { domain: Object.values(STATUS), range: STATUS_COLORS } },
          shape: { field: 'group', type: 'nominal', title: 'Kind', legend: { labelLimit: 300 }, scale: { domain: [...GROUPS], range: GROUP_SHAPES } },
          size: { condition: { test: 'datum.recommended', value: 260 }, value: 80 },
          tooltip: [{ field: 'label', title: 'mixture' }, { field: 'id', title: 'trial' }, { field: 'q', title: 'score', format: '.1f' }, { field: 'x', title: opts.xTitle, format: opts.xFormat }],
        },
      },
      ...labelLayers,
    ],
  } as TopLevelSpec;
}

export function historySpec(h: HistoryPoint[], yTitle = objectiveTerms(undefined).scoreTitle): TopLevelSpec {
  const rows = h.map((p) => ({ ...p, kindLabel: p.kind === 'reference' ? 'reference trial' : 'search trial' }));
  const x = { field: 'spent', type: 'quantitative' as const, title: 'USD spent by the study so far (generation + judge)', axis: { format: '$,.2~f' }, scale: { zero: true } };
  const yDomain = yScale(rows.map((r) => ({ lo: Math.min(r.score, r.bestSoFar), hi: Math.max(r.score, r.bestSoFar) })));
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: 'Search history: best score so far against dollars spent', anchor: 'start', fontSize: 15 },
    width: 560,
    height: 260,
    config: { font: FONT, axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#eceff1' }, legend: { labelFontSize: 11, orient: 'bottom', direction: 'horizontal' }, view: { stroke: '#cfd8dc' } },
    data: { values: rows },
    layer: [
      {
        mark: { type: 'line', interpolate: 'step-after', color: '#1565c0', strokeWidth: 2.2 },
        encoding: { x, y: { field: 'bestSoFar', type: 'quantitative', title: yTitle, scale: yDomain } },
      },
      {
        name: POINT_MARK_NAME,
        mark: { type: 'point', filled: true, size: 55, opacity: 0.85 },
        encoding: {
          x,
          y: { field: 'score', type: 'quantitative', scale: yDomain },
          color: { field: 'kindLabel', type: 'nominal', title: 'Trial', scale: { domain: ['search trial', 'reference trial'], range: ['#607d8b', '#8e24aa'] } },
          shape: { field: 'kindLabel', type: 'nominal', scale: { domain: ['search trial', 'reference trial'], range: ['circle', 'square'] } },
          tooltip: [{ field: 'label', title: 'mixture' }, { field: 'score', format: '.1f' }, { field: 'spent', format: '$.4f' }],
        },
      },
    ],
  } as TopLevelSpec;
}

/** An empty chart would be a broken picture; say in words why there is nothing to plot. */
export function emptySpec(title: string, message: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, anchor: 'start', fontSize: 15 },
    width: 560,
    height: 80,
    config: { font: FONT, view: { stroke: '#cfd8dc' } },
    data: { values: [{ m: message }] },
    mark: { type: 'text', fontSize: 13, color: '#546e7a' },
    encoding: { text: { field: 'm' } },
  } as TopLevelSpec;
}

/** Compile vega-lite and render SVG headlessly with vega (no canvas: text widths are estimated). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface Charts {
  'pareto-cost.svg': string;
  'pareto-tflops.svg': string;
  'history.svg': string;
}

export async function renderCharts(a: ReportAnalysis): Promise<Charts> {
  const costRows = paretoRows(a, 'cost');
  const tflopsRows = paretoRows(a, 'tflops');
  const costTitle = 'Quality vs deployment cost per query';
  const tflopsTitle = 'Quality vs latency proxy (TFLOPs)';
  const [cost, tflops, history] = await Promise.all([
    renderSvg(costRows.length ? paretoSpec(costRows, { title: costTitle, xTitle: 'Cost (USD per query)', xFormat: '$.2~r', yTitle: objectiveTerms(a.study.config.objective).scoreTitle }) : emptySpec(costTitle, 'No completed trial has a measured cost.')),
    renderSvg(
      tflopsRows.length
        ? paretoSpec(tflopsRows, { title: tflopsTitle, xTitle: 'Latency proxy (TFLOPs per query)', xFormat: ',.3~r', yTitle: objectiveTerms(a.study.config.objective).scoreTitle })
        : emptySpec(tflopsTitle, a.unknownParams.length ? `TFLOPs unknown: no parameter count for ${a.unknownParams.join(', ')}.` : 'No completed trial has a measured latency proxy.'),
    ),
    renderSvg(a.history.length ? historySpec(a.history, objectiveTerms(a.study.config.objective).scoreTitle) : emptySpec('Search history', 'No completed trial yet.')),
  ]);
  return { 'pareto-cost.svg': cost, 'pareto-tflops.svg': tflops, 'history.svg': history };
}
