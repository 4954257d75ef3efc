import { escapeHtml, escapeMd } from './_format.js';
import { InputError } from '../config/input-error.js';
import type { Storage } from '../executor/index.js';
import { diffStudies, type StudyDiff } from '../search/study-diff.js';
import { StudyStore } from '../search/study-store.js';
import type { StudyRecord } from '../search/types.js';
import { describeSkips } from '../search/warm-start.js';

const pm = (v: number, d = 1) => (v >= 0 ? '+' : '−') + Math.abs(v).toFixed(d);
const usd = (v: number) => `${v >= 0 ? '+' : '−'}$${Math.abs(v).toFixed(5)}`;

/** `moa-search diff` as lines of plain text; the report's "What changed" section says the same. */
export function whatChangedLines(d: StudyDiff): string[] {
  const lines: string[] = [];
  const one = (tag: string, s: StudyDiff['old']) =>
    `${tag} best (${s.study}): ${s.label}  ${s.score.toFixed(1)} [${s.ci[0].toFixed(1)}, ${s.ci[1].toFixed(1)}] (model estimate, 95% interval; ${s.measurements} measurement${s.measurements === 1 ? '' : 's'} on ${s.prompts} prompts)`;
  lines.push(one('old', d.old), one('new', d.new));
  if (d.paired) {
    const p = d.paired;
    lines.push(`new − old on the ${p.n} prompts both were judged on: ${pm(p.diff)} [${pm(p.ci[0])}, ${pm(p.ci[1])}] (paired, 95% interval)${p.distinguishable ? '' : ' — not distinguishable on these prompts'}`);
  } else if (d.pairedNote) lines.push(`paired difference: none — ${d.pairedNote}`);
  if (d.costDelta !== undefined) lines.push(`cost: ${usd(d.costDelta)} per query (${(d.old.costPerQuery ?? 0).toFixed(5)} → ${(d.new.costPerQuery ?? 0).toFixed(5)})`);
  lines.push(d.latencyDelta !== undefined ? `latency proxy: ${pm(d.latencyDelta)} TFLOPs on the critical path per query` : 'latency proxy: unknown (a model of one of the two mixtures has no parameter count in its space)');
  if (!d.newModels.length) lines.push('new models: none (the new study\'s space adds no model)');
  for (const m of d.newModels) lines.push(`new model ${m.model}: ${m.role === 'not in the new best' ? 'not in the new best' : `in the new best as ${m.role}`}`);
  return lines;
}

/** What the report says about a warm-started study: the comparison with the study it started from, or why none. */
export interface WhatChanged {
  from: string;
  imported: number;
  skipped: string[];
  diff?: StudyDiff;
  /** Why there is no comparison (e.g. the earlier study has no answer). */
  note?: string;
}

function sectionLines(w: WhatChanged): string[] {
  const head = `Warm-started from ${w.from}: ${w.imported} observations imported at no cost.`;
  return [head, ...w.skipped, ...(w.diff ? whatChangedLines(w.diff) : [w.note ?? ''])].filter(Boolean);
}

/** The report's "What changed" section, placed after the recommendation in both the HTML and the Markdown. */
export function withWhatChanged(html: string, md: string, w: WhatChanged): { html: string; md: string } {
  const lines = sectionLines(w);
  const section = `<section id="what-changed"><h2>What changed</h2><ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul></section>`;
  const mdSection = ['## What changed', '', ...lines.map((l) => `- ${escapeMd(l)}`), '', ''].join('\n');
  const at = html.indexOf('<section id="fronts">');
  const mdAt = md.indexOf('## Pareto fronts');
  return {
    html: at >= 0 ? html.slice(0, at) + section + '\n' + html.slice(at) : html,
    md: mdAt >= 0 ? md.slice(0, mdAt) + mdSection + md.slice(mdAt) : md,
  };
}

/** For a warm-started study: the comparison with its first --warm-start study (undefined for other studies). */
export async function whatChangedFor(storage: Storage, study: StudyRecord): Promise<WhatChanged | undefined> {
  const ws = study.config.warmStart;
  if (!ws?.from.length) return undefined;
  const from = ws.from[0]!;
  const base = { from: ws.from.join(', '), imported: ws.imported ?? 0, skipped: describeSkips(ws.skipped ?? []) };
  const store = await StudyStore.existing(storage);
  try {
    return { ...base, diff: await diffStudies(store!, from, study.name) };
  } catch (e) {
    if (!(e instanceof InputError)) throw e;
    return { ...base, note: `no comparison with ${from}: ${e.reason}` };
  }
}
