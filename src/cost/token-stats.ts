import type { MixtureRun, TraceCall } from '../moa/types.js';

/** How a model was used: `ranker` is the aggregator of a `rank`-mode mixture (it answers with a choice, not prose). */
export type TokenRole = 'proposer' | 'aggregator' | 'summarizer' | 'ranker';

/** Mean prompt and completion tokens over `n` calls. */
export interface RoleTokens {
  n: number;
  prompt: number;
  completion: number;
}

export interface MeanStat {
  n: number;
  mean: number;
}

/**
 * Measured token usage, for projecting the cost of mixtures not yet evaluated. Counts (`n`) travel with the
 * means so that stats from different evaluations merge exactly (weighted means).
 */
export interface TokenStats {
  /** model id → role → mean tokens per call. */
  models: Record<string, Partial<Record<TokenRole, RoleTokens>>>;
  /** Tokens of the user's messages alone (what a layer-1 proposer or a single model reads). */
  userPrompt: MeanStat;
  /**
   * Tokens a reference-reading prompt adds beyond the user prompt and the references' own tokens (the
   * aggregate template, numbering, separators). Learned from aggregator / later-layer proposer calls.
   */
  templateOverhead: MeanStat;
}

export function emptyTokenStats(): TokenStats {
  return { models: {}, userPrompt: { n: 0, mean: 0 }, templateOverhead: { n: 0, mean: 0 } };
}

function addMean(s: MeanStat, v: number, w = 1): void {
  const n = s.n + w;
  s.mean = n === 0 ? 0 : (s.mean * s.n + v * w) / n;
  s.n = n;
}

function addRole(stats: TokenStats, model: string, role: TokenRole, r: RoleTokens): void {
  const m = (stats.models[model] ??= {});
  const cur = m[role];
  if (!cur) {
    m[role] = { ...r };
    return;
  }
  const n = cur.n + r.n;
  if (n === 0) return;
  m[role] = {
    n,
    prompt: (cur.prompt * cur.n + r.prompt * r.n) / n,
    completion: (cur.completion * cur.n + r.completion * r.n) / n,
  };
}

/** The user prompt's size as seen in a run: the smallest layer-1 prompt (layer-1 agents read only the user's messages). */
function inferUserPromptTokens(run: MixtureRun): number | undefined {
  let min: number | undefined;
  for (const c of run.calls) {
    if (c.layer !== 1 || c.role === 'summarizer' || c.error) continue;
    if (min === undefined || c.promptTokens < min) min = c.promptTokens;
  }
  return min;
}

/**
 * Token statistics from mixture runs. `messagesTokens[i]` is run i's user-prompt size when the caller knows it
 * (else it is inferred from the run's layer-1 calls). `mode: 'rank'` files the final aggregator's calls under
 * `ranker`. Failed calls are skipped.
 */
export function tokenStatsFromRuns(
  runs: readonly MixtureRun[],
  messagesTokens?: readonly number[],
  opts: { mode?: 'synthesize' | 'rank' } = {},
): TokenStats {
  const stats = emptyTokenStats();
  runs.forEach((run, i) => {
    const user = messagesTokens?.[i] ?? inferUserPromptTokens(run);
    if (user !== undefined) addMean(stats.userPrompt, user);
    const lastLayer = Math.max(0, ...run.calls.map((c) => c.layer));
    const hasSummarizer = run.calls.some((c) => c.role === 'summarizer');
    const byLayer = new Map<number, TraceCall[]>();
    for (const c of run.calls) {
      if (c.error) continue;
      const role: TokenRole = c.role === 'aggregator' && opts.mode === 'rank' && c.layer === lastLayer ? 'ranker' : c.role;
      addRole(stats, c.model, role, { n: 1, prompt: c.promptTokens, completion: c.completionTokens });
      if (!byLayer.has(c.layer)) byLayer.set(c.layer, []);
      byLayer.get(c.layer)!.push(c);
    }
    // Template overhead: only from runs without a summarizer, where a layer's readers see exactly the previous
    // layer's outputs; a rank-mode final prompt is a different template, so it is left out too.
    if (user === undefined || hasSummarizer) return;
    for (const [layer, calls] of byLayer) {
      const prev = byLayer.get(layer - 1);
      if (layer < 2 || !prev) continue;
      const refs = prev.reduce((a, c) => a + c.completionTokens, 0);
      for (const c of calls) {
        if (opts.mode === 'rank' && c.layer === lastLayer) continue;
        addMean(stats.templateOverhead, c.promptTokens - user - refs);
      }
    }
  });
  return stats;
}

/** Combine two sets of statistics as if they had been computed from both sets of runs together. */
export function mergeTokenStats(a: TokenStats, b: TokenStats): TokenStats {
  const out = emptyTokenStats();
  for (const s of [a, b]) {
    for (const [model, roles] of Object.entries(s.models))
      for (const [role, r] of Object.entries(roles) as Array<[TokenRole, RoleTokens | undefined]>) if (r) addRole(out, model, role, r);
    if (s.userPrompt.n) addMean(out.userPrompt, s.userPrompt.mean, s.userPrompt.n);
    if (s.templateOverhead.n) addMean(out.templateOverhead, s.templateOverhead.mean, s.templateOverhead.n);
  }
  return out;
}
