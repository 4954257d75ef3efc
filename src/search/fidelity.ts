import type { ValidationItem } from '../eval/types.js';
import { mulberry32 } from '../random.js';
import type { FidelityPlan, ObservationRecord } from './types.js';

/**
 * The smallest fidelity level. One judged answer has an SD of about 23 points (sampling and judge noise on the sim,
 * and typical of LLM judging), so 12 prompts give ±13 points at 95%: screens that small mostly steer the model by
 * noise. 25 screened better on the benchmark's tuning seeds (docs/benchmarks.md).
 */
export const MIN_LEVEL = 25;

/**
 * Every prompt once, in a seeded order balanced across sources (round-robin over sources, each shuffled): any prefix
 * is a stratified subset, so nested fidelity levels are prefixes and every mixture sees the same subsets.
 */
export function stratifiedOrder(items: readonly ValidationItem[], seed: number): ValidationItem[] {
  const bySource = new Map<string, ValidationItem[]>();
  for (const it of items) (bySource.get(it.source) ?? bySource.set(it.source, []).get(it.source)!).push(it);
  const rand = mulberry32((seed ^ 0x9e3779b9) >>> 0);
  const queues = [...bySource.keys()].sort().map((k) => {
    const xs = bySource.get(k)!.slice();
    for (let i = xs.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [xs[i], xs[j]] = [xs[j]!, xs[i]!];
    }
    return xs;
  });
  const out: ValidationItem[] = [];
  while (out.length < items.length) for (const q of queues) if (q.length) out.push(q.shift()!);
  return out;
}

/** A deterministic subset of `n` prompts balanced across sources, in the file's order (`--prompts n`). */
export function stratifiedSubset(items: readonly ValidationItem[], n: number, seed: number): ValidationItem[] {
  const chosen = new Set(stratifiedOrder(items, seed).slice(0, n));
  return items.filter((it) => chosen.has(it));
}

/** Fidelity levels for n prompts: halving from n while at least MIN_LEVEL remain, e.g. 100 → [25, 50, 100]. */
export function fidelityLevels(n: number): number[] {
  const out = [n];
  while (Math.floor(out[0]! / 2) >= MIN_LEVEL) out.unshift(Math.floor(out[0]! / 2));
  return out;
}

export function fidelityPlan(items: readonly ValidationItem[], seed: number, stride: number): FidelityPlan {
  return { order: stratifiedOrder(items, seed).map((it) => it.id), levels: fidelityLevels(items.length), stride: Math.max(1, stride) };
}

/** Prompts a mixture has been judged on at each sample offset (complete observations), by offset. */
export function promptsSeen(observations: readonly ObservationRecord[], trial: number): Map<number, Set<string>> {
  const out = new Map<number, Set<string>>();
  for (const o of observations) {
    if (o.trial !== trial || o.state !== 'COMPLETE') continue;
    const s = out.get(o.sampleOffset) ?? out.set(o.sampleOffset, new Set()).get(o.sampleOffset)!;
    for (const id of o.promptIds) s.add(id);
  }
  return out;
}

/** The prompts of level `fidelity` a mixture has not been judged on at `offset`: what measuring it there costs. */
export function promptsToMeasure(plan: FidelityPlan, seen: ReadonlyMap<number, ReadonlySet<string>>, fidelity: number, offset: number): string[] {
  const have = seen.get(offset);
  return plan.order.slice(0, fidelity).filter((id) => !have?.has(id));
}

/** The highest level fully measured at `offset` (0 when none). */
export function levelReached(plan: FidelityPlan, seen: ReadonlyMap<number, ReadonlySet<string>>, offset: number): number {
  let reached = 0;
  for (const l of plan.levels) if (promptsToMeasure(plan, seen, l, offset).length === 0) reached = l;
  return reached;
}
