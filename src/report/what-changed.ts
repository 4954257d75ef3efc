import type { StudyDiff } from '../search/study-diff.js';

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
  if (d.latencyDelta !== undefined) lines.push(`latency proxy: ${pm(d.latencyDelta)} TFLOPs on the critical path per query`);
  if (!d.newModels.length) lines.push('new models: none (the new study\'s space adds no model)');
  for (const m of d.newModels) lines.push(`new model ${m.model}: ${m.role === 'not in the new best' ? 'not in the new best' : `in the new best as ${m.role}`}`);
  return lines;
}
