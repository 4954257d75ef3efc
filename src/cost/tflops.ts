import { findModel, type SearchSpace } from '../config/space.js';
import type { MixtureRun, TraceCall } from '../moa/types.js';

/**
 * Forward-pass compute of one call, in TFLOPs (10^12 floating-point operations):
 * 2 × active parameters × tokens processed (prompt + completion).
 * `activeParamsB` is in billions, as the space's `params.active` is.
 */
export function callTflops(activeParamsB: number, tokens: number): number {
  return (2 * activeParamsB * 1e9 * tokens) / 1e12;
}

/** Active parameters (billions) of a space model, or undefined when the space does not state them. */
export function activeParamsB(space: SearchSpace, modelId: string): number | undefined {
  return findModel(space, modelId)?.params?.active;
}

/**
 * Models in the run (or list of ids) whose parameter count the space does not give, sorted.
 * We never guess a count: any TFLOPs figure that would need one is `null` instead.
 */
export function unknownParamModels(runOrIds: MixtureRun | Iterable<string>, space: SearchSpace): string[] {
  const ids = 'calls' in runOrIds ? runOrIds.calls.map((c) => c.model) : runOrIds;
  const out = new Set<string>();
  for (const id of ids) if (activeParamsB(space, id) === undefined) out.add(id);
  return [...out].sort();
}

function traceCallTflops(call: TraceCall, space: SearchSpace): number | null {
  const p = activeParamsB(space, call.model);
  return p === undefined ? null : callTflops(p, call.promptTokens + call.completionTokens);
}

/** Total TFLOPs of one query (all calls of the run), or null when a model's parameter count is unknown. */
export function runTflops(run: MixtureRun, space: SearchSpace): number | null {
  let sum = 0;
  for (const c of run.calls) {
    const t = traceCallTflops(c, space);
    if (t === null) return null;
    sum += t;
  }
  return sum;
}

/**
 * The MoA paper's latency proxy, in TFLOPs: agents of one layer run in parallel, layers run in sequence, so
 * the proxy is the sum over layers of the largest call's TFLOPs in that layer. A summarizer runs after its
 * layer's proposers, so its largest call is added as one more sequential step. Null when a parameter count
 * is unknown.
 */
export function latencyProxyTflops(run: MixtureRun, space: SearchSpace): number | null {
  // step key: layer, and whether it is the (sequential) summarizer step of that layer
  const steps = new Map<string, number>();
  for (const c of run.calls) {
    const t = traceCallTflops(c, space);
    if (t === null) return null;
    const key = `${c.layer}:${c.role === 'summarizer' ? 's' : 'a'}`;
    steps.set(key, Math.max(steps.get(key) ?? 0, t));
  }
  let sum = 0;
  for (const v of steps.values()) sum += v;
  return sum;
}
