import type { TokenStats } from '../cost/token-stats.js';

/** One validation prompt. `source` is `alpaca_eval`, `arena_hard`, or any name of the user's. */
export interface ValidationItem {
  id: string;
  source: string;
  prompt: string;
  reference: string;
  category?: string;
}

export interface Interval {
  lo: number;
  hi: number;
}

/** Per-prompt outcome of one mixture evaluation. */
export interface PromptOutcome {
  id: string;
  source: string;
  /** Preference for the candidate over the reference, in [0, 1]. */
  preference: number;
  /** Generation failed after retries: scored as a loss (preference 0). */
  generationFailed?: boolean;
  /** The judge could not be parsed twice: scored a tie (0.5). */
  judgeUnparsed?: number;
  truncated?: boolean;
  /** Candidate and reference lengths in characters (for length control). */
  candidateChars: number;
  referenceChars: number;
  /** The mixture's own deployment cost and compute for this prompt. */
  costUsd: number;
  tflops: number;
  latencyProxyTflops: number;
  promptTokens: number;
  completionTokens: number;
  /** Measured wall-clock ms per layer of this prompt's run (`layerWallLatencyMs` from src/cost); optional. */
  layerWallMs?: number[];
  /** Price of this prompt's judge calls in USD (cached or not): judge cost is kept apart from the mixture's. */
  judgeCostUsd?: number;
  /** Outcomes merged from several replicates (sample offsets) of this prompt: numeric fields are their means. */
  replicates?: number;
}

export interface SourceScore {
  winRate: number;
  ci: [number, number];
  n: number;
}

/** What `moa-search eval --json` prints (plus perPrompt for paired statistics). */
export interface EvalResult {
  /** Mean of per-source win rates, 0–100. */
  score: number;
  ci: [number, number];
  bySource: Record<string, SourceScore>;
  /** Length-controlled AlpacaEval win rate, when it could be fit. */
  lc?: number;
  costPerQuery: number;
  tflopsPerQuery: number;
  latencyProxyPerQuery: number;
  /** USD spent by this evaluation on uncached calls, by account. */
  spent: { mixture: number; judge: number; total: number };
  calls: { made: number; cached: number };
  failures: { generation: number; judgeUnparsed: number; truncated: number };
  perPrompt: PromptOutcome[];
  /**
   * Measured token usage of this evaluation's mixture runs (cost module's `tokenStatsFromRuns`), so a search
   * can project the cost of mixtures it has not evaluated yet. Judge calls are not included.
   */
  tokenStats?: TokenStats;
}

/** Progress of an evaluation, reported after each prompt. */
export interface EvalProgress {
  done: number;
  total: number;
  outcome: PromptOutcome;
}
