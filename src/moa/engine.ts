import { performance } from 'node:perf_hooks';
import type { Mixture, ModelCounts } from '../config/mixture.js';
import { isInputError } from '../config/input-error.js';
import { BudgetExceeded, type Executor, type GenerationRequest, type GenerationResult } from '../executor/types.js';
import type { ChatMessage } from '../providers/types.js';
import { aggregateMessages, loadTemplates, parseRankChoice, rankMessages, summarizeMessages, type PromptTemplates } from './prompts.js';
import type { AgentRole, MixtureRun, TraceCall } from './types.js';

export interface GenerationParams {
  temperature: number;
  maxTokens: number;
  topP?: number;
}

export interface MixtureContext {
  executor: Executor;
  /** Sampling for every agent; the final aggregator may override it with `finalGeneration`. */
  generation: GenerationParams;
  /** Spend account (`mixture` by default). */
  account?: string;
  /** Aborts every pending call; the run then rejects with a MixtureRunError of reason `aborted`. */
  signal?: AbortSignal;
  /** The final answer's text as it arrives (in rank mode: the chosen response, once). */
  onToken?: (delta: string) => void;
  /** `temperature` / `max_tokens` for the final aggregator only (what `serve` honours from the client). */
  finalGeneration?: { temperature?: number; maxTokens?: number };
  /** Bypass the cache (fresh answers; spend still recorded). */
  noCache?: boolean;
  /** Preloaded templates (else the built-ins overridden by `mixture.prompts`, read on each run). */
  templates?: PromptTemplates;
  /**
   * Replicates: run the mixture on fresh samples. Copy i of a model is `sample: sampleOffset + i`, and the
   * aggregator / summarizer / ranker calls are `sample: sampleOffset`. 0 (the default) is the original mapping, so
   * existing caches stay valid. Replicate r uses offset r × SAMPLE_STRIDE: the mapping of `withSampleOffset`.
   */
  sampleOffset?: number;
}

export type MixtureFailure = 'all-proposers-failed' | 'aggregator-failed' | 'budget' | 'aborted';

/** A mixture run that could not produce an answer. Carries the calls made so far. */
export class MixtureRunError extends Error {
  override readonly name = 'MixtureRunError';
  constructor(
    readonly reason: MixtureFailure,
    /** 1-based layer where the run stopped. */
    readonly layer: number,
    readonly calls: TraceCall[],
    options?: { cause?: unknown },
  ) {
    super(describe(reason, layer, options?.cause), options);
  }
}

function describe(reason: MixtureFailure, layer: number, cause: unknown): string {
  const why = cause instanceof Error ? `: ${cause.message}` : '';
  switch (reason) {
    case 'all-proposers-failed':
      return `mixture failed: every proposer of layer ${layer} failed${why}`;
    case 'aggregator-failed':
      return `mixture failed: the final aggregator (layer ${layer}) failed${why}`;
    case 'budget':
      return `mixture stopped at layer ${layer}${why}`;
    case 'aborted':
      return `mixture aborted at layer ${layer}`;
  }
}

/** The agents of a layer in canonical order: by model id, then sample index (copy i is sample `offset + i`). */
export function layerAgents(layer: ModelCounts, offset = 0): Array<{ model: string; sample: number }> {
  const out: Array<{ model: string; sample: number }> = [];
  for (const model of Object.keys(layer).sort()) for (let s = 0; s < layer[model]!; s++) out.push({ model, sample: offset + s });
  return out;
}

type Outcome = { ok: true; result: GenerationResult } | { ok: false; error: unknown };

function isAbort(e: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted) return true;
  const name = (e as Error | undefined)?.name;
  return name === 'AbortError' || name === 'APIUserAbortError';
}

/**
 * Run a mixture on a conversation through the executor.
 * Layer 1 answers `messages`; every later agent and the final aggregator see the previous layer's
 * responses (canonically ordered) injected into the system prompt. Equal mixtures send byte-identical requests.
 */
export async function runMixture(mixture: Mixture, messages: ChatMessage[], ctx: MixtureContext): Promise<MixtureRun> {
  const t0 = performance.now();
  const now = () => Math.round((performance.now() - t0) * 1000) / 1000;
  const templates = ctx.templates ?? loadTemplates(mixture.prompts);
  const calls: TraceCall[] = [];
  const L = mixture.proposerLayers.length + 1;
  const offset = ctx.sampleOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`sampleOffset must be a non-negative integer (got ${offset})`);

  const fail = (reason: MixtureFailure, layer: number, cause?: unknown): never => {
    throw new MixtureRunError(reason, layer, calls, { cause });
  };

  /** One executor call, traced. Never throws: the caller decides what a failure means. */
  const call = async (
    layer: number,
    role: AgentRole,
    model: string,
    sample: number,
    msgs: ChatMessage[],
    gen: GenerationParams,
    onToken?: (d: string) => void,
  ): Promise<{ outcome: Outcome; trace: TraceCall }> => {
    const req: GenerationRequest = { model, messages: msgs, temperature: gen.temperature, maxTokens: gen.maxTokens, sample };
    if (gen.topP !== undefined) req.topP = gen.topP;
    const startMs = now();
    let outcome: Outcome;
    let trace: TraceCall;
    try {
      const purpose = `layer ${layer} ${role}`;
      const result = await ctx.executor.generate(req, { account: ctx.account, signal: ctx.signal, onToken, noCache: ctx.noCache, purpose });
      outcome = { ok: true, result };
      trace = {
        layer,
        role,
        model,
        sample,
        promptTokens: result.promptTokens,
        completionTokens: result.completionTokens,
        estimated: result.estimated,
        costUsd: result.costUsd,
        latencyMs: result.latencyMs,
        cached: result.cached,
        finishReason: result.finishReason,
        key: result.key,
        startMs,
        endMs: now(),
      };
    } catch (error) {
      outcome = { ok: false, error };
      trace = {
        layer,
        role,
        model,
        sample,
        promptTokens: 0,
        completionTokens: 0,
        estimated: false,
        costUsd: 0,
        latencyMs: 0,
        cached: false,
        finishReason: isAbort(error, ctx.signal) ? 'aborted' : 'error',
        key: '',
        startMs,
        endMs: now(),
        error: ((error as Error)?.message ?? String(error)).replace(/\s*\n\s*/g, ' '),
      };
    }
    calls.push(trace);
    return { outcome, trace };
  };

  /** Budget and cancellation stop the whole run; other failures are the caller's to weigh. */
  const fatal = (layer: number, error: unknown) => {
    // Bad configuration (say, a missing API key) is the user's to fix, not a failed call: pass it through.
    if (isInputError(error)) throw error;
    if (isAbort(error, ctx.signal)) fail('aborted', layer, error);
    if (error instanceof BudgetExceeded || (error as Error)?.name === 'BudgetExceeded') fail('budget', layer, error);
  };

  let refs: string[] | undefined;
  for (let i = 0; i < mixture.proposerLayers.length; i++) {
    const layer = i + 1;
    if (ctx.signal?.aborted) fail('aborted', layer);
    const input = refs ? aggregateMessages(messages, refs, templates) : messages;
    const agents = layerAgents(mixture.proposerLayers[i]!, offset);
    const done = await Promise.all(agents.map((a) => call(layer, 'proposer', a.model, a.sample, input, ctx.generation)));
    for (const d of done) if (!d.outcome.ok) fatal(layer, d.outcome.error);
    // Promise.all keeps the canonical order, so the references are in (model, sample) order.
    const texts = done.flatMap((d) => (d.outcome.ok ? [d.outcome.result.text] : []));
    if (!texts.length) {
      const firstError = done.find((d) => !d.outcome.ok)?.outcome as { error: unknown } | undefined;
      fail('all-proposers-failed', layer, firstError?.error);
    }
    refs = texts;
    // The ranker must choose among real responses, so the last layer is not summarized in rank mode.
    const lastLayer = i === mixture.proposerLayers.length - 1;
    if (mixture.summarizer && !(lastLayer && mixture.mode === 'rank')) {
      const s = await call(layer, 'summarizer', mixture.summarizer, offset, summarizeMessages(messages, texts, templates), ctx.generation);
      if (s.outcome.ok) refs = [s.outcome.result.text];
      else fatal(layer, s.outcome.error); // a failed summary degrades to the raw responses (recorded in the trace)
    }
  }

  if (ctx.signal?.aborted) fail('aborted', L);
  const finalGen: GenerationParams = {
    ...ctx.generation,
    ...(ctx.finalGeneration?.temperature !== undefined ? { temperature: ctx.finalGeneration.temperature } : {}),
    ...(ctx.finalGeneration?.maxTokens !== undefined ? { maxTokens: ctx.finalGeneration.maxTokens } : {}),
  };

  if (mixture.mode === 'rank' && refs && refs.length > 1) {
    const r = await call(L, 'aggregator', mixture.aggregator, offset, rankMessages(messages, refs, templates), finalGen);
    if (!r.outcome.ok) {
      fatal(L, r.outcome.error);
      fail('aggregator-failed', L, r.outcome.error);
    }
    const result = (r.outcome as { ok: true; result: GenerationResult }).result;
    const parsed = parseRankChoice(result.text, refs.length);
    r.trace.rankChoice = parsed ?? 1;
    if (parsed === undefined) r.trace.rankFallback = true;
    const text = refs[r.trace.rankChoice - 1]!;
    ctx.onToken?.(text);
    return { text, finishReason: result.finishReason, calls, wallMs: now() };
  }
  if (mixture.mode === 'rank' && refs) {
    // One response: nothing to rank, so no call.
    ctx.onToken?.(refs[0]!);
    return { text: refs[0]!, finishReason: calls[calls.length - 1]?.finishReason ?? 'stop', calls, wallMs: now() };
  }

  // Cache hits may not stream: then the whole text goes out at once.
  let streamed = false;
  const onToken = ctx.onToken
    ? (d: string) => {
        streamed = true;
        ctx.onToken!(d);
      }
    : undefined;
  const input = refs ? aggregateMessages(messages, refs, templates) : messages;
  const f = await call(L, 'aggregator', mixture.aggregator, offset, input, finalGen, onToken);
  if (!f.outcome.ok) {
    fatal(L, f.outcome.error);
    fail('aggregator-failed', L, f.outcome.error);
  }
  const result = (f.outcome as { ok: true; result: GenerationResult }).result;
  if (ctx.onToken && !streamed && result.text) ctx.onToken(result.text);
  return { text: result.text, finishReason: result.finishReason, calls, wallMs: now() };
}

/** Totals over a run's calls (what `ask` prints and `serve` reports as usage). */
export interface RunTotals {
  calls: number;
  made: number;
  cached: number;
  failed: number;
  promptTokens: number;
  completionTokens: number;
  /** USD spent by uncached calls. */
  costUsd: number;
}

export function runTotals(calls: readonly TraceCall[]): RunTotals {
  const t: RunTotals = { calls: calls.length, made: 0, cached: 0, failed: 0, promptTokens: 0, completionTokens: 0, costUsd: 0 };
  for (const c of calls) {
    if (c.error) t.failed++;
    else if (c.cached) t.cached++;
    else t.made++;
    t.promptTokens += c.promptTokens;
    t.completionTokens += c.completionTokens;
    // Cache hits cost nothing: USD here is what this run actually spent.
    if (!c.cached) t.costUsd += c.costUsd;
  }
  return t;
}
