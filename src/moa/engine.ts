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

/** One run's state: its context, templates, sample offset, the calls traced so far and its clock. */
interface RunState {
  ctx: MixtureContext;
  templates: PromptTemplates;
  offset: number;
  calls: TraceCall[];
  t0: number;
}

interface Agent {
  layer: number;
  role: AgentRole;
  model: string;
  sample: number;
}

const elapsed = (s: RunState) => Math.round((performance.now() - s.t0) * 1000) / 1000;

/**
 * Run a mixture on a conversation through the executor.
 * Layer 1 answers `messages`; every later agent and the final aggregator see the previous layer's
 * responses (canonically ordered) injected into the system prompt. Equal mixtures send byte-identical requests.
 */
export async function runMixture(mixture: Mixture, messages: ChatMessage[], ctx: MixtureContext): Promise<MixtureRun> {
  const t0 = performance.now();
  const offset = ctx.sampleOffset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) throw new RangeError(`sampleOffset must be a non-negative integer (got ${offset})`);
  const s: RunState = { ctx, templates: ctx.templates ?? loadTemplates(mixture.prompts), offset, calls: [], t0 };
  const refs = await runProposerLayers(s, mixture, messages);
  const L = mixture.proposerLayers.length + 1;
  if (ctx.signal?.aborted) fail(s, 'aborted', L);
  if (mixture.mode === 'rank' && refs) return rankFinal(s, mixture, messages, refs);
  return aggregateFinal(s, mixture, messages, refs);
}

/** Layers 1 … L-1: the references the final aggregator reads (undefined for a single model). */
async function runProposerLayers(s: RunState, mixture: Mixture, messages: ChatMessage[]): Promise<string[] | undefined> {
  let refs: string[] | undefined;
  for (let i = 0; i < mixture.proposerLayers.length; i++) {
    const layer = i + 1;
    if (s.ctx.signal?.aborted) fail(s, 'aborted', layer);
    const input = refs ? aggregateMessages(messages, refs, s.templates) : messages;
    const agents = layerAgents(mixture.proposerLayers[i]!, s.offset);
    const done = await Promise.all(agents.map((a) => callAgent(s, { layer, role: 'proposer', ...a }, input, s.ctx.generation)));
    for (const d of done) if (!d.outcome.ok) stopIfFatal(s, layer, d.outcome.error);
    // Promise.all keeps the canonical order, so the references are in (model, sample) order.
    const texts = done.flatMap((d) => (d.outcome.ok ? [d.outcome.result.text] : []));
    if (!texts.length) {
      const firstError = done.find((d) => !d.outcome.ok)?.outcome as { error: unknown } | undefined;
      fail(s, 'all-proposers-failed', layer, firstError?.error);
    }
    refs = texts;
    // The ranker must choose among real responses, so the last layer is not summarized in rank mode.
    const lastLayer = i === mixture.proposerLayers.length - 1;
    if (mixture.summarizer && !(lastLayer && mixture.mode === 'rank')) {
      const summarizer = { layer, role: 'summarizer' as const, model: mixture.summarizer, sample: s.offset };
      const sum = await callAgent(s, summarizer, summarizeMessages(messages, texts, s.templates), s.ctx.generation);
      if (sum.outcome.ok) refs = [sum.outcome.result.text];
      else stopIfFatal(s, layer, sum.outcome.error); // a failed summary degrades to the raw responses (recorded in the trace)
    }
  }
  return refs;
}

/** Rank mode: the final model picks one of the references, which is the answer (one reference: no call). */
async function rankFinal(s: RunState, mixture: Mixture, messages: ChatMessage[], refs: string[]): Promise<MixtureRun> {
  if (refs.length === 1) {
    s.ctx.onToken?.(refs[0]!);
    return { text: refs[0]!, finishReason: s.calls[s.calls.length - 1]?.finishReason ?? 'stop', calls: s.calls, wallMs: elapsed(s) };
  }
  const r = await callFinal(s, mixture, rankMessages(messages, refs, s.templates));
  const parsed = parseRankChoice(r.result.text, refs.length);
  r.trace.rankChoice = parsed ?? 1;
  if (parsed === undefined) r.trace.rankFallback = true;
  const text = refs[r.trace.rankChoice - 1]!;
  s.ctx.onToken?.(text);
  return { text, finishReason: r.result.finishReason, calls: s.calls, wallMs: elapsed(s) };
}

/** The final aggregator's answer (a single model: the answer to the conversation itself). */
async function aggregateFinal(s: RunState, mixture: Mixture, messages: ChatMessage[], refs: string[] | undefined): Promise<MixtureRun> {
  // Cache hits may not stream: then the whole text goes out at once.
  let streamed = false;
  const onToken = s.ctx.onToken
    ? (d: string) => {
        streamed = true;
        s.ctx.onToken!(d);
      }
    : undefined;
  const input = refs ? aggregateMessages(messages, refs, s.templates) : messages;
  const { result } = await callFinal(s, mixture, input, onToken);
  if (s.ctx.onToken && !streamed && result.text) s.ctx.onToken(result.text);
  return { text: result.text, finishReason: result.finishReason, calls: s.calls, wallMs: elapsed(s) };
}

/** The last layer's one call, under the final generation settings; its failure fails the run. */
async function callFinal(s: RunState, mixture: Mixture, input: ChatMessage[], onToken?: (d: string) => void): Promise<{ result: GenerationResult; trace: TraceCall }> {
  const L = mixture.proposerLayers.length + 1;
  const { ctx } = s;
  const gen: GenerationParams = {
    ...ctx.generation,
    ...(ctx.finalGeneration?.temperature !== undefined ? { temperature: ctx.finalGeneration.temperature } : {}),
    ...(ctx.finalGeneration?.maxTokens !== undefined ? { maxTokens: ctx.finalGeneration.maxTokens } : {}),
  };
  const f = await callAgent(s, { layer: L, role: 'aggregator', model: mixture.aggregator, sample: s.offset }, input, gen, onToken);
  if (!f.outcome.ok) {
    stopIfFatal(s, L, f.outcome.error);
    fail(s, 'aggregator-failed', L, f.outcome.error);
  }
  return { result: f.outcome.result, trace: f.trace };
}

/** One executor call, traced. Never throws: the caller decides what a failure means. */
async function callAgent(
  s: RunState,
  agent: Agent,
  msgs: ChatMessage[],
  gen: GenerationParams,
  onToken?: (d: string) => void,
): Promise<{ outcome: Outcome; trace: TraceCall }> {
  const req: GenerationRequest = { model: agent.model, messages: msgs, temperature: gen.temperature, maxTokens: gen.maxTokens, sample: agent.sample };
  if (gen.topP !== undefined) req.topP = gen.topP;
  const startMs = elapsed(s);
  let outcome: Outcome;
  try {
    const purpose = `layer ${agent.layer} ${agent.role}`;
    outcome = { ok: true, result: await s.ctx.executor.generate(req, { account: s.ctx.account, signal: s.ctx.signal, onToken, noCache: s.ctx.noCache, purpose }) };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const trace = traceOf(agent, outcome, startMs, elapsed(s), s.ctx.signal);
  s.calls.push(trace);
  return { outcome, trace };
}

function traceOf(agent: Agent, outcome: Outcome, startMs: number, endMs: number, signal?: AbortSignal): TraceCall {
  const { layer, role, model, sample } = agent;
  if (outcome.ok) {
    const { promptTokens, completionTokens, estimated, costUsd, latencyMs, cached, finishReason, key } = outcome.result;
    return { layer, role, model, sample, promptTokens, completionTokens, estimated, costUsd, latencyMs, cached, finishReason, key, startMs, endMs };
  }
  const { error } = outcome;
  return {
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
    finishReason: isAbort(error, signal) ? 'aborted' : 'error',
    key: '',
    startMs,
    endMs,
    error: ((error as Error)?.message ?? String(error)).replace(/\s*\n\s*/g, ' '),
  };
}

function fail(s: RunState, reason: MixtureFailure, layer: number, cause?: unknown): never {
  throw new MixtureRunError(reason, layer, s.calls, { cause });
}

/** Budget and cancellation stop the whole run; other failures are the caller's to weigh. */
function stopIfFatal(s: RunState, layer: number, error: unknown): void {
  // Bad configuration (say, a missing API key) is the user's to fix, not a failed call: pass it through.
  if (isInputError(error)) throw error;
  if (isAbort(error, s.ctx.signal)) fail(s, 'aborted', layer, error);
  if (error instanceof BudgetExceeded || (error as Error)?.name === 'BudgetExceeded') fail(s, 'budget', layer, error);
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
