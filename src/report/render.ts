import { costAnswerLines, costAnswers } from './cost-answers.js';
import { toMixtureFile } from '../config/mixture.js';
import { analyzeStudy, type Comparison, type ReportAnalysis, type ReportData, type TrialPoint } from './analyze.js';
import { renderCharts, type Charts } from './charts.js';
import { escapeHtml as h, escapeMd, fmtCi, fmtMs, fmtScore, fmtSigned, fmtTflops, fmtUsd } from './_format.js';
import { TRIAL_HEADERS, trialRows, trialsCsv } from './_tables.js';
import { REPORT_CSS } from './_style.js';

export interface RenderedReport {
  html: string;
  md: string;
  csv: string;
  svgs: Charts;
  /** best.json text (a mixture file), or undefined when no trial completed. */
  bestJson?: string;
  analysis: ReportAnalysis;
}

/** The files a report consists of, by name. */
export function reportFiles(r: RenderedReport): Record<string, string> {
  const files: Record<string, string> = { 'report.html': r.html, 'report.md': r.md, 'trials.csv': r.csv, ...r.svgs };
  if (r.bestJson) files['best.json'] = r.bestJson;
  return files;
}

function bestFile(a: ReportAnalysis): string | undefined {
  const p = a.recommended;
  if (!p) return undefined;
  const meta: Record<string, unknown> = {
    study: a.study.name,
    trial: p.number,
    label: p.label,
    score: p.quality,
    ...(p.ci ? { ci: p.ci } : {}),
    ...(p.prompts !== undefined ? { prompts: p.prompts } : {}),
    ...(p.measurements !== undefined ? { measurements: p.measurements } : {}),
    measured: { score: p.measured, ...(p.trial.ci ? { ci: p.trial.ci } : {}), prompts: p.prompts, measurements: p.measurements },
    ...(p.trial.lc !== undefined ? { lc: p.trial.lc } : {}),
    costPerQuery: p.costPerQuery,
    costPer1kQueries: p.costPerQuery === null ? null : p.costPerQuery * 1000,
    tflopsPerQuery: p.tflopsPerQuery,
    latencyProxyTflops: p.latencyProxy,
    generatedAt: a.generatedAt,
  };
  return JSON.stringify(toMixtureFile(p.mixture, meta), null, 2) + '\n';
}

function comparisonText(c: Comparison): { head: string; detail: string; verdict: string } {
  const head = `${c.role}: ${c.against.label} (${fmtScore(c.against.quality)}, ${fmtUsd(c.against.costPerQuery === null ? null : c.against.costPerQuery * 1000)} per 1k)`;
  const detail = c.ci ? `${fmtSigned(c.diff)} points (95% CI ${fmtSigned(c.ci[0])} to ${fmtSigned(c.ci[1])}, paired over ${c.n} prompts)` : `${fmtSigned(c.diff)} points (no paired interval: per-prompt outcomes not shared)`;
  const verdict = c.ci === undefined ? '' : c.distinguishable ? (c.diff > 0 ? 'clearly better' : 'clearly worse') : 'not distinguishable';
  return { head, detail, verdict };
}

function layerWallText(p: TrialPoint): string | undefined {
  if (!p.layerWallMs?.length) return undefined;
  const total = p.layerWallMs.reduce((a, b) => a + b, 0);
  return `${p.layerWallMs.map(fmtMs).join(' + ')} = ${fmtMs(total)}`;
}

/** Per-source win rates, when there is more than one source (the headline is their mean). */
function sourcesText(p: TrialPoint): string {
  const by = p.trial.bySource;
  if (!by || Object.keys(by).length < 2) return '';
  return ` · ${Object.entries(by)
    .map(([s, v]) => `${s} ${fmtScore(v.winRate)}`)
    .join(' · ')}`;
}

/** What the recommendation's score stands on, in words. */
function scoreBasis(a: ReportAnalysis, p: TrialPoint): string {
  const b = a.study.best;
  if (b && b.trial === p.number) {
    const m = `${b.measurements} measurement${b.measurements === 1 ? '' : 's'}`;
    return `model estimate for all ${b.validationPrompts} ${itemsText(a)}, from ${m} of this mixture on ${b.prompts} of them and every other mixture measured (no selection bias; the interval is a 95% interval for its expected score)`;
  }
  return p.prompts !== undefined ? `measured on ${p.prompts} ${itemsText(a)}` : '';
}

/** Agents per layer, e.g. `6 + 6 + 1 agents`: how many calls a query makes. */
function agentsText(p: TrialPoint): string {
  const layers = p.mixture.proposerLayers.map((l) => Object.values(l).reduce((a, b) => a + b, 0));
  const calls = layers.reduce((a, b) => a + b, 0) + 1 + (p.mixture.summarizer ? layers.length : 0);
  const shape = [...layers, 1].join(' + ');
  return `${shape} agents${p.mixture.summarizer ? ' + summaries' : ''} · ${calls} call${calls > 1 ? 's' : ''} per query`;
}

/** How much one query's cost varies over the validation prompts (omitted when it does not). */
function costSpreadText(p: TrialPoint): string {
  const s = p.costSpread;
  if (!s || s.n < 2 || s.max - s.min <= 1e-3 * Math.abs(s.mean)) return '';
  return `per query ${fmtUsd(s.min * 1000)}–${fmtUsd(s.max * 1000)} per 1k (sd ${fmtUsd(s.sd * 1000)})`;
}

function costRatio(alt: TrialPoint, rec: TrialPoint): string {
  if (alt.costPerQuery === null || rec.costPerQuery === null || rec.costPerQuery === 0) return '';
  return `${Math.round((100 * alt.costPerQuery) / rec.costPerQuery)}% of the cost`;
}

function studyLine(a: ReportAnalysis): string {
  const s = a.study;
  const parts = [
    `strategy ${s.config.strategy}`,
    `budget ${fmtUsd(s.config.budget)}`,
    `spent ${fmtUsd(s.spent)}`,
    `${a.points.length} mixtures evaluated`,
    s.state === 'COMPLETE' ? `finished${s.stopped ? ` (${s.stopped})` : ''}` : `still running${s.stopped ? ` (stopped: ${s.stopped})` : ''}`,
  ];
  if (s.config.objective === 'judge') parts.push(`objective: judging mixtures, by agreement with ${s.config.validationFile}`);
  if (s.config.objective === 'pareto') parts.push('objective: the quality-vs-cost front');
  if (s.config.maxCost !== undefined) parts.push(`cap $${s.config.maxCost} per 1k queries (the recommendation's measured cost meets it)`);
  if (s.config.maxLatency !== undefined) parts.push(`cap ${s.config.maxLatency} TFLOPs per query (critical path)`);
  if (a.unfinished.length) parts.push(`${a.unfinished.length} failed or unfinished`);
  // A judge study's judging calls are the mixtures being measured (their cost per pair is each trial's cost).
  if (a.judgeCostPerPrompt !== undefined && s.config.objective !== 'judge') parts.push(`judging ${fmtUsd(a.judgeCostPerPrompt)} per validation prompt (search cost)`);
  return parts.join(' · ');
}

const NOTES = [
  'Score: mean over sources of the win rate (%) against the reference answers. For searched mixtures it is the model\'s estimate for the whole validation set (all measurements of all mixtures pooled, prompt difficulty adjusted) with a 95% interval; "measured" is the raw score on the prompts the mixture was judged on (stratified bootstrap CI). LC: length-controlled AlpacaEval win rate, when it could be fit.',
  'Cost: deployment USD per query, from the tokens measured during evaluation (all calls of the mixture, judge excluded).',
  'TFLOPs: 2 × active parameters × (prompt + completion tokens) per call, summed over the calls of a query.',
  'Latency proxy (the MoA paper\'s): per layer, the TFLOPs of its largest agent (agents of a layer run in parallel), summed over layers.',
  'Front: no other mixture has a score at least as high for a cost at most as high (one strictly). "≈ front": off the front, but its CI reaches the front at its cost — the data cannot tell it from the front.',
];

// A judge study (`search --objective judge`) scores judging mixtures on preference pairs: its score and cost read differently.
const JUDGE_NOTES = [
  'Score: agreement (%) with the reference preferences — per pair, the chance that the judging mixture\'s verdict (both presentation orders averaged) and the reference\'s agree, averaged over pairs (mean over sources). For searched mixtures it is the model\'s estimate for the whole preference set, without selection bias; CIs are 95% intervals.',
  'Cost: USD per pair judged (both presentation orders), list prices of the judging calls.',
];
const isJudge = (a: ReportAnalysis) => a.study.config.objective === 'judge';
const titleOf = (a: ReportAnalysis) => (isJudge(a) ? 'Which judging mixture to use' : 'Which mixture to deploy');
const JUDGE_USE = 'Use it as the reward model: `moa-search generate dpo --judge-mixture best.json …`, or score it on other pairs: `moa-search eval --preferences <file> --judge-mixture best.json`.';
const notesFor = (a: ReportAnalysis) => (isJudge(a) ? [...JUDGE_NOTES, ...NOTES.slice(2)] : NOTES);
const itemsText = (a: ReportAnalysis) => (isJudge(a) ? 'preference pairs' : 'validation prompts');

function htmlReport(a: ReportAnalysis, svgs: Charts): string {
  const rec = a.recommended;
  const parts: string[] = [];
  parts.push(`<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">`);
  parts.push(`<title>moa-search report: ${h(a.study.name)}</title><style>${REPORT_CSS}</style></head><body><main>`);
  parts.push(`<header><h1>${titleOf(a)}: <span class="study">${h(a.study.name)}</span></h1><p class="meta">${h(studyLine(a))} · generated ${h(a.generatedAt)}</p></header>`);

  if (rec) {
    const wall = layerWallText(rec);
    parts.push(`<section class="answer" id="recommendation"><p class="eyebrow">Recommended mixture</p><h2 class="rec">${h(rec.label)}</h2>`);
    parts.push(`<dl class="kpis">`);
    parts.push(`<div><dt>${isJudge(a) ? 'Agreement' : 'Score'}</dt><dd>${fmtScore(rec.quality)}<small>${rec.ci ? ` 95% CI ${fmtCi(rec.ci)}` : ''} · ${h(scoreBasis(a, rec))}${h(sourcesText(rec))}</small></dd></div>`);
    parts.push(`<div><dt>Cost per 1,000 ${isJudge(a) ? 'pairs judged' : 'queries'}</dt><dd>${fmtUsd(rec.costPerQuery === null ? null : rec.costPerQuery * 1000)}<small>${h(costSpreadText(rec))}</small></dd></div>`);
    if (!isJudge(a))
      parts.push(
        `<div><dt>Latency proxy</dt><dd>${fmtTflops(rec.latencyProxy)}<small>${rec.latencyProxy === null ? ` (no parameter count for ${h(rec.unknownParams.join(', '))})` : ' TFLOPs'}${wall ? ` · wall clock per layer ${h(wall)}` : ''}</small></dd></div>`,
      );
    parts.push(`<div><dt>Layers</dt><dd>${rec.layers}<small>${h(agentsText(rec))}</small></dd></div>`);
    parts.push(`</dl>`);
    if (a.comparisons.length || a.cheaperAlternative) {
      parts.push(`<ul class="compare">`);
      for (const c of a.comparisons) {
        const t = comparisonText(c);
        parts.push(`<li><span class="vs">vs ${h(t.head)}</span><span class="diff">${h(t.detail)}</span>${t.verdict ? `<span class="verdict ${t.verdict.startsWith('clearly better') ? 'good' : t.verdict.startsWith('clearly worse') ? 'bad' : 'same'}">${h(t.verdict)}</span>` : ''}</li>`);
      }
      if (a.cheaperAlternative) {
        const c = a.cheaperAlternative;
        const t = comparisonText(c);
        parts.push(`<li><span class="vs">Cheaper, statistically indistinguishable: ${h(c.against.label)} (${fmtScore(c.against.quality)}, ${h(costRatio(c.against, rec))})</span><span class="diff">${h(t.detail)}</span></li>`);
      }
      parts.push(`</ul>`);
    }
    if (rec.single) parts.push(`<p class="note">The best result is a single model: no mixture evaluated beat it.</p>`);
    parts.push(`<p class="use">Deploy it: <code>moa-search ask --mixture best.json "your prompt"</code> · re-score: <code>moa-search eval --mixture best.json</code></p></section>`);
  } else {
    parts.push(`<section class="answer"><h2>No completed trial yet</h2><p>Nothing can be recommended until at least one mixture is evaluated.</p></section>`);
  }

  parts.push(`<section id="fronts"><h2>Pareto fronts</h2><div class="charts">`);
  parts.push(`<figure>${svgs['pareto-cost.svg']}<figcaption>Score against deployment cost per query. Dashed step: the Pareto front. Bars: 95% CIs.</figcaption></figure>`);
  const tfCap = a.unknownParams.length ? ` Not shown (parameter count unknown): mixtures using ${a.unknownParams.map(h).join(', ')}.` : '';
  parts.push(`<figure>${svgs['pareto-tflops.svg']}<figcaption>Score against the latency proxy (TFLOPs).${tfCap}</figcaption></figure>`);
  parts.push(`</div></section>`);
  const answers = costAnswerLines(costAnswers(a));
  if (answers.length) parts.push(`<section id="cost-answers"><h2>Cost answers</h2><ul>${answers.map((l) => `<li>${h(l)}</li>`).join('')}</ul></section>`);
  parts.push(`<section id="history"><h2>Search history</h2><figure>${svgs['history.svg']}<figcaption>Best score found so far (line) and each trial's score (points) against the study's cumulative spend.</figcaption></figure></section>`);

  parts.push(`<section id="trials"><h2>All trials</h2><div class="table-wrap"><table><thead><tr>${TRIAL_HEADERS.map((c) => `<th>${h(c)}</th>`).join('')}</tr></thead><tbody>`);
  const rows = trialRows(a);
  a.points.forEach((p, i) => {
    const cls = [p === rec ? 'rec' : '', p.costStatus === 'front' ? 'front' : ''].filter(Boolean).join(' ');
    parts.push(`<tr${cls ? ` class="${cls}"` : ''}>${rows[i]!.map((c, j) => `<td${j === 2 ? ' class="name"' : j >= 3 ? ' class="num"' : ''}>${h(c)}</td>`).join('')}</tr>`);
  });
  parts.push(`</tbody></table></div>`);
  if (a.unfinished.length) {
    parts.push(`<p class="note">Failed or unfinished: ${a.unfinished.map((t) => h(`#${t.number} ${t.label} (${t.state}${t.error ? `: ${t.error}` : ''})`)).join('; ')}</p>`);
  }
  parts.push(`</section><footer><h2>How to read this</h2><ul>${notesFor(a).map((n) => `<li>${h(n)}</li>`).join('')}</ul><p>Files: best.json, trials.csv, pareto-cost.svg, pareto-tflops.svg, history.svg, report.md.</p></footer>`);
  parts.push(`</main></body></html>\n`);
  return parts.join('\n');
}

function mdReport(a: ReportAnalysis): string {
  const rec = a.recommended;
  const out: string[] = [`# ${titleOf(a)}: ${a.study.name}`, '', `_${studyLine(a)} · generated ${a.generatedAt}_`, ''];
  if (rec) {
    out.push(`## Recommended: ${rec.label}`, '');
    out.push(`- **${isJudge(a) ? 'Agreement' : 'Score'}:** ${fmtScore(rec.quality)}${rec.ci ? ` (95% CI ${fmtCi(rec.ci)})` : ''}: ${scoreBasis(a, rec)}${sourcesText(rec)}`);
    const spreadText = costSpreadText(rec);
    out.push(`- **Cost per 1,000 ${isJudge(a) ? 'pairs judged' : 'queries'}:** ${fmtUsd(rec.costPerQuery === null ? null : rec.costPerQuery * 1000)}${spreadText ? ` (${spreadText})` : ''}`);
    // A judging mixture's layers are not traced (no latency proxy).
    if (!isJudge(a)) out.push(`- **Latency proxy:** ${rec.latencyProxy === null ? `unknown (no parameter count for ${rec.unknownParams.join(', ')})` : `${fmtTflops(rec.latencyProxy)} TFLOPs`}`);
    const wall = layerWallText(rec);
    if (wall) out.push(`- **Measured wall clock per layer:** ${wall}`);
    for (const c of a.comparisons) {
      const t = comparisonText(c);
      out.push(`- **vs ${t.head}:** ${t.detail}${t.verdict ? ` — ${t.verdict}` : ''}`);
    }
    if (a.cheaperAlternative) {
      const c = a.cheaperAlternative;
      out.push(`- **Cheaper, statistically indistinguishable:** ${c.against.label} (${fmtScore(c.against.quality)}, ${costRatio(c.against, rec)}): ${comparisonText(c).detail}`);
    }
    out.push('', isJudge(a) ? JUDGE_USE : 'Deploy: `moa-search ask --mixture best.json "your prompt"`', '');
  } else out.push('## No completed trial yet', '');
  out.push('## Pareto fronts', '', '![Quality vs cost](pareto-cost.svg)', '', '![Quality vs latency proxy](pareto-tflops.svg)', '');
  if (a.unknownParams.length) out.push(`Latency proxy unknown (no parameter count) for mixtures using: ${a.unknownParams.join(', ')}.`, '');
  const answers = costAnswerLines(costAnswers(a));
  if (answers.length) out.push('## Cost answers', '', ...answers.map((l) => `- ${escapeMd(l)}`), '');
  out.push('## Search history', '', '![Best score so far vs USD spent](history.svg)', '', '## All trials', '');
  out.push(`| ${TRIAL_HEADERS.map(escapeMd).join(' | ')} |`, `|${TRIAL_HEADERS.map((_, i) => (i === 2 || i === 1 ? ' --- ' : ' ---: ')).join('|')}|`);
  for (const r of trialRows(a)) out.push(`| ${r.map(escapeMd).join(' | ')} |`);
  if (a.unfinished.length) out.push('', `Failed or unfinished: ${a.unfinished.map((t) => `#${t.number} ${t.label} (${t.state}${t.error ? `: ${t.error}` : ''})`).join('; ')}`);
  out.push('', '## How to read this', '', ...notesFor(a).map((n) => `- ${n}`), '');
  return out.join('\n');
}

/** The whole report from the study's data: no database, no files (so tests build the data by hand). */
export async function renderReport(data: ReportData): Promise<RenderedReport> {
  const analysis = analyzeStudy(data);
  const svgs = await renderCharts(analysis);
  const bestJson = bestFile(analysis);
  return { html: htmlReport(analysis, svgs), md: mdReport(analysis), csv: trialsCsv(analysis), svgs, ...(bestJson ? { bestJson } : {}), analysis };
}
