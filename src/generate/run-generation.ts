import { setMaxListeners } from 'node:events';
import pLimit from 'p-limit';
import { isInputError } from '../config/input-error.js';
import { BudgetExceeded } from '../executor/types.js';
import { MixtureRunError } from '../moa/index.js';
import type { Journal, JournalRecord } from './journal.js';
import type { GenPrompt } from './prompts-file.js';
import { addUsage, emptyUsage, type Usage } from './usage.js';

/** What one prompt produced: the journal record's fields (besides id and key) and the calls behind it. */
export interface PromptWork {
  record: Record<string, unknown>;
  usage: Usage;
}

export interface GenerationProgress {
  /** Prompts finished (this run and earlier runs) out of `total`. */
  done: number;
  total: number;
  /** Finished by this run. */
  ran: number;
  failed: number;
  /** USD paid by this run so far (uncached calls of finished prompts). */
  spentUsd: number;
}

export interface RunGenerationOptions {
  prompts: readonly GenPrompt[];
  journal: Journal;
  work: (prompt: GenPrompt, signal: AbortSignal) => Promise<PromptWork>;
  /** Prompts in flight at once. The executor's per-provider limits still apply to the calls. */
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (p: GenerationProgress) => void;
}

export type GenerationStop = 'complete' | 'budget' | 'interrupted';

export interface GenerationRun {
  stopped: GenerationStop;
  /** Prompts already in the journal when the run started (skipped: no call at all). */
  resumed: number;
  /** Prompts this run finished. */
  ran: number;
  /** Prompts that failed after the executor's retries: not recorded, so the next run tries them again. */
  failed: number;
  firstFailure?: string;
  /** Calls behind the prompts this run finished. */
  usage: Usage;
  /** The budget error, when the run stopped on the budget. */
  budget?: BudgetExceeded;
}

/** Every prompt of the run failed: the endpoint or the configuration is broken, and nothing was produced. */
export class GenerationFailed extends Error {
  override readonly name = 'GenerationFailed';
  constructor(
    readonly prompts: number,
    readonly firstError: string,
  ) {
    super(`all ${prompts} prompts failed after retries; first error: ${firstError}`);
  }
}

function budgetOf(e: unknown): BudgetExceeded | undefined {
  if (e instanceof BudgetExceeded) return e;
  if (e instanceof MixtureRunError && e.cause instanceof BudgetExceeded) return e.cause;
  return undefined;
}

/**
 * Run `work` over every prompt the journal does not hold yet, `concurrency` at a time, appending each result to
 * the journal as soon as it is done. A provider failure costs only its prompt (counted, retried by the next run);
 * the budget or the signal stops the run after the prompts in flight settle; bad configuration (InputError)
 * and a run where every prompt failed are errors.
 */
export async function runGeneration(opts: RunGenerationOptions): Promise<GenerationRun> {
  const { prompts, journal } = opts;
  const todo = prompts.filter((p) => !journal.has(p.id, p.key));
  const resumed = prompts.length - todo.length;
  const run: GenerationRun = { stopped: 'complete', resumed, ran: 0, failed: 0, usage: emptyUsage() };
  // One controller for the run: the caller's signal and a stop on the budget both end the prompts in flight.
  const stop = new AbortController();
  // Every call in flight listens on this signal: many listeners are expected, not a leak.
  setMaxListeners(0, stop.signal);
  const onAbort = () => stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  let fatal: unknown;
  const limit = pLimit(Math.max(1, opts.concurrency));
  const report = () =>
    opts.onProgress?.({ done: resumed + run.ran, total: prompts.length, ran: run.ran, failed: run.failed, spentUsd: run.usage.spentUsd });

  let halted = false;
  const one = async (p: GenPrompt) => {
    // After a budget stop, bad configuration or an abort, queued prompts end at once (no new calls).
    if (halted || stop.signal.aborted) return;
    try {
      const w = await opts.work(p, stop.signal);
      const record: JournalRecord = { id: p.id, key: p.key, ...w.record, usage: w.usage };
      journal.append(record);
      addUsage(run.usage, w.usage);
      run.ran++;
    } catch (e) {
      const budget = budgetOf(e);
      if (budget) {
        run.budget ??= budget;
        run.stopped = 'budget';
        halted = true;
        return;
      }
      if (stop.signal.aborted) return;
      if (isInputError(e)) {
        fatal ??= e;
        halted = true;
        stop.abort();
        return;
      }
      run.failed++;
      run.firstFailure ??= `prompt ${p.id} (line ${p.line}): ${(e as Error)?.message ?? String(e)}`;
    }
    report();
  };

  report();
  try {
    await Promise.all(todo.map((p) => limit(() => one(p))));
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  if (fatal !== undefined) throw fatal;
  if (opts.signal?.aborted) run.stopped = 'interrupted';
  if (run.stopped === 'complete' && todo.length > 0 && run.failed === todo.length) throw new GenerationFailed(todo.length, run.firstFailure ?? 'unknown error');
  return run;
}
