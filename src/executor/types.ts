import type { CallOptions, ChatMessage, TokenLogprob } from '../providers/types.js';

/** A generation request as the executor sees it. Its canonical JSON (no key, no provider secrets) is the cache key. */
export interface GenerationRequest {
  /** Model id from the search space (not the upstream name). */
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  topP?: number;
  logprobs?: boolean;
  topLogprobs?: number;
  /** Sample index: copy i of a model in a layer is sample i of the same request. Default 0. */
  sample?: number;
}

export interface GenerationResult {
  key: string;
  model: string;
  text: string;
  finishReason: string;
  promptTokens: number;
  completionTokens: number;
  /** True when the endpoint omitted usage and the tokens were estimated. */
  estimated: boolean;
  costUsd: number;
  latencyMs: number;
  /** True when served from the cache (no provider call, no cost). */
  cached: boolean;
  logprobs?: TokenLogprob[];
}

export interface GenerateOptions extends CallOptions {
  /** Spend account: `mixture` (default) or `judge`, so judge spend is reported apart. */
  account?: string;
  /** Skip the cache lookup and store (e.g. `serve --no-cache`); spend is still recorded. */
  noCache?: boolean;
  /** What the call is for, e.g. `layer 1 proposer` or `judge`: progress displays group calls by it. */
  purpose?: string;
}

export interface SpendSnapshot {
  /** USD actually spent on uncached calls, by account. */
  byAccount: Record<string, number>;
  total: number;
  /** USD currently reserved by in-flight calls. */
  reserved: number;
  budget?: number;
  calls: { made: number; cached: number; failed: number };
}

/** Every generation goes through an Executor: cache, coalescing, limits, retries, spend. */
export interface Executor {
  generate(req: GenerationRequest, opts?: GenerateOptions): Promise<GenerationResult>;
  /** Cost in USD of a call with these token counts (0 for unknown prices is an error at load time). */
  priceOf(model: string, promptTokens: number, completionTokens: number): number;
  spend(): SpendSnapshot;
  close(): Promise<void>;
}

/** Thrown before dispatch when an uncached call's worst-case cost would pass the budget. */
export class BudgetExceeded extends Error {
  override readonly name = 'BudgetExceeded';
  constructor(
    readonly budget: number,
    readonly spent: number,
    readonly reserved: number,
    readonly needed: number,
    readonly model: string,
  ) {
    super(
      `budget exceeded: a call to ${model} may cost up to $${needed.toFixed(4)}, ` +
        `but $${spent.toFixed(4)} spent + $${reserved.toFixed(4)} reserved leaves only $${Math.max(0, budget - spent - reserved).toFixed(4)} of $${budget.toFixed(4)}`,
    );
  }
}
