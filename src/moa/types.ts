import type { ChatMessage } from '../providers/types.js';

export type AgentRole = 'proposer' | 'aggregator' | 'summarizer';

/** One call in a mixture run. Layers are 1-based; the final aggregator's layer is L. */
export interface TraceCall {
  layer: number;
  role: AgentRole;
  model: string;
  sample: number;
  promptTokens: number;
  completionTokens: number;
  estimated: boolean;
  costUsd: number;
  latencyMs: number;
  cached: boolean;
  finishReason: string;
  key: string;
  /** ms since the run started when this call began and ended (wall clock, for per-layer latency). */
  startMs: number;
  endMs: number;
  error?: string;
  /** LLM-ranker only: the 1-based number of the response the aggregator chose (after any fallback). */
  rankChoice?: number;
  /** LLM-ranker only: the answer could not be parsed, so response 1 was returned. */
  rankFallback?: boolean;
}

export interface MixtureRun {
  text: string;
  finishReason: string;
  calls: TraceCall[];
  wallMs: number;
}

export type { ChatMessage };

