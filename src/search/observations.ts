import { mergeTokenStats } from '../cost/token-stats.js';
import { lengthControlledWinRates } from '../eval/length-controlled.js';
import { scoreOutcomes } from '../eval/scores.js';
import type { PromptOutcome } from '../eval/types.js';
import type { Measured, ObservationRecord } from './types.js';

const NUMERIC: ReadonlyArray<keyof PromptOutcome> = [
  'preference', 'candidateChars', 'costUsd', 'tflops', 'latencyProxyTflops', 'promptTokens', 'completionTokens', 'judgeCostUsd',
];

/**
 * One outcome per prompt from several measurements of the same mixture: numeric fields averaged over the replicates
 * of a prompt (`replicates` says how many), in order of first appearance. Paired comparisons, prompt effects and
 * scores then see each prompt once, weighted by what was learned about it.
 */
export function mergeOutcomes(lists: ReadonlyArray<readonly PromptOutcome[]>): PromptOutcome[] {
  const byId = new Map<string, PromptOutcome[]>();
  for (const list of lists) for (const o of list) (byId.get(o.id) ?? byId.set(o.id, []).get(o.id)!).push(o);
  const out: PromptOutcome[] = [];
  for (const group of byId.values()) {
    if (group.length === 1) {
      out.push(group[0]!);
      continue;
    }
    const m: PromptOutcome = { ...group[0]!, replicates: group.length };
    for (const k of NUMERIC) {
      const xs = group.map((o) => o[k]).filter((v): v is number => typeof v === 'number');
      if (xs.length) (m as unknown as Record<string, number>)[k] = xs.reduce((a, b) => a + b, 0) / xs.length;
    }
    if (group.some((o) => o.generationFailed)) m.generationFailed = true;
    if (group.some((o) => o.truncated)) m.truncated = true;
    m.judgeUnparsed = group.reduce((a, o) => a + (o.judgeUnparsed ?? 0), 0) || undefined;
    out.push(m);
  }
  return out;
}

/**
 * What a mixture's complete measurements add up to: merged per-prompt outcomes, their score and interval, spend and
 * calls summed, token statistics merged. Spend of failed measurements counts too: it was paid.
 */
export function aggregateMeasurements(observations: readonly ObservationRecord[]): Measured & { prompts: number; measurements: number } {
  const complete = observations.filter((o) => o.state === 'COMPLETE' && o.perPrompt?.length);
  const spent = observations.reduce((a, o) => a + (o.spent ?? 0), 0);
  const calls = observations.reduce((a, o) => ({ made: a.made + (o.calls?.made ?? 0), cached: a.cached + (o.calls?.cached ?? 0) }), { made: 0, cached: 0 });
  const last = observations.reduce<ObservationRecord | undefined>((a, o) => (o.spentCumulative !== undefined && (!a || o.number > a.number) ? o : a), undefined);
  const out: Measured & { prompts: number; measurements: number } = { spent, calls, prompts: 0, measurements: complete.length };
  if (last?.spentCumulative !== undefined) out.spentCumulative = last.spentCumulative;
  if (!complete.length) return out;
  const perPrompt = mergeOutcomes(complete.map((o) => o.perPrompt!));
  const s = scoreOutcomes(perPrompt);
  // Unknown values (a model without a parameter count has no TFLOPs; stored JSON turns NaN into null) stay unknown.
  const mean = (k: 'costUsd' | 'tflops' | 'latencyProxyTflops') => {
    const xs = perPrompt.map((o) => o[k]).filter((v) => typeof v === 'number' && Number.isFinite(v));
    return xs.length === perPrompt.length ? xs.reduce((a, b) => a + b, 0) / xs.length : undefined;
  };
  Object.assign(out, { score: s.score, ci: s.ci, bySource: s.bySource, perPrompt, prompts: perPrompt.length });
  for (const [k, v] of [['costPerQuery', mean('costUsd')], ['tflopsPerQuery', mean('tflops')], ['latencyProxyPerQuery', mean('latencyProxyTflops')]] as const) if (v !== undefined) out[k] = v;
  // Agreement outcomes (a judge study) have no length-controlled form: a pair's lengths are not the judge's.
  const lc = perPrompt.some((o) => 'judgePreference' in o) ? undefined : lengthControlledWinRates(new Map([['mixture', perPrompt]])).get('mixture');
  if (lc) out.lc = lc.lc;
  const stats = complete.map((o) => o.tokenStats).filter((t) => t !== undefined);
  if (stats.length) out.tokenStats = stats.reduce((a, b) => mergeTokenStats(a, b));
  return out;
}
