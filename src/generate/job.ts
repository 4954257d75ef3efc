import { resolve } from 'node:path';
import { canonicalJson } from '../executor/cache-key.js';
import type { SearchSpace } from '../config/space.js';
import type { BatchStats } from '../executor/batch/types.js';
import type { Executor } from '../executor/types.js';
import { sha256Hex } from '../random.js';
import { checkOutputPath, ensureParentDir } from './_output-path.js';
import { fileSha256, Journal } from './journal.js';
import { manifestPath, writeManifest, writeOutput, type LineOf, type OutputSummary } from './output.js';
import type { GenPrompt, PromptsFile } from './prompts-file.js';
import { runGeneration, type GenerationProgress, type GenerationRun, type PromptWork } from './run-generation.js';

export interface JobSpec {
  kind: 'sft' | 'dpo';
  space: SearchSpace;
  out: string;
  prompts: PromptsFile;
  /** Only the first `limit` prompts (after duplicates are skipped). */
  limit?: number;
  /** What the journal must match to be resumed: every setting that changes a record. */
  config: Record<string, unknown>;
  /** Inputs and settings for the manifest (the space's and the prompts file's hashes are added here). */
  inputs: Record<string, unknown>;
}

/** A job checked and ready: nothing has been written or spent yet. */
export interface PreparedJob {
  spec: JobSpec;
  out: string;
  prompts: GenPrompt[];
  journal: Journal;
}

/**
 * Validate a generation before anything is opened: the output path can be written, and an unfinished run
 * left at `<out>.partial` was made with the same settings. InputErrors name `--out`.
 */
export function prepareJob(spec: JobSpec): PreparedJob {
  const out = checkOutputPath(spec.out, '--out');
  const prompts = spec.limit !== undefined ? spec.prompts.prompts.slice(0, spec.limit) : spec.prompts.prompts;
  const journal = Journal.read(out, { kind: spec.kind, config: spec.config });
  return { spec, out, prompts, journal };
}

/** Where and how a job runs: the executor, prompts in flight, cancellation and progress. */
export interface RunContext {
  executor: Executor;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: (p: GenerationProgress) => void;
  /** When the executor batches (`withBatching`): what its batch stage did this run, for the manifest. */
  batchStats?: () => BatchStats;
}

export interface RunJobOptions extends RunContext {
  work: (prompt: GenPrompt, signal: AbortSignal) => Promise<PromptWork>;
  lineOf: LineOf;
}

export interface JobResult {
  run: GenerationRun;
  /** Undefined when the run was interrupted (only the journal was kept). */
  output?: OutputSummary;
  manifest?: Record<string, unknown>;
  outPath: string;
  manifestPath: string;
  journalPath: string;
  /** Every prompt is in the output or deliberately left out; the journal was removed. */
  complete: boolean;
}

/**
 * Run a prepared job: generate what the journal lacks, then (unless interrupted) write the output in prompt
 * order and the manifest. The journal is removed once nothing remains to do; until then the same command resumes.
 */
export async function runJob(job: PreparedJob, o: RunJobOptions): Promise<JobResult> {
  ensureParentDir(job.out);
  let run: GenerationRun;
  try {
    run = await runGeneration({ prompts: job.prompts, journal: job.journal, work: o.work, concurrency: o.concurrency, signal: o.signal, onProgress: o.onProgress });
  } finally {
    job.journal.close();
  }
  const result: JobResult = { run, outPath: job.out, manifestPath: manifestPath(job.out), journalPath: job.journal.path, complete: false };
  if (run.stopped === 'interrupted') return result;
  const output = writeOutput(job.out, job.prompts, job.journal, o.lineOf);
  result.complete = output.remaining === 0;
  result.output = output;
  result.manifest = manifestOf(job, run, output, o, result.complete);
  writeManifest(job.out, result.manifest);
  if (result.complete) job.journal.remove();
  return result;
}

function manifestOf(job: PreparedJob, run: GenerationRun, output: OutputSummary, ctx: RunContext, complete: boolean): Record<string, unknown> {
  const { spec } = job;
  const spend = ctx.executor.spend();
  const usd = (x: number) => Math.round(x * 1e6) / 1e6;
  const u = output.usage;
  return {
    generator: 'moa-search generate',
    kind: spec.kind,
    createdAt: new Date().toISOString(),
    complete,
    output: { file: job.out, sha256: output.sha256, lines: output.written },
    space: { file: resolve(spec.space.file), sha256: fileSha256(spec.space.file) },
    prompts: { file: resolve(spec.prompts.file), sha256: spec.prompts.sha256, used: job.prompts.length, duplicatesSkipped: spec.prompts.duplicates, ...(spec.limit !== undefined ? { limit: spec.limit } : {}) },
    ...spec.inputs,
    counts: { prompts: job.prompts.length, written: output.written, dropped: output.dropped, remaining: output.remaining, failedThisRun: run.failed },
    // `dataset`: list price of every call behind the finished prompts, cached or not (what the file costs online
    // from an empty cache); `paid`: their uncached calls at what they cost (batched: the discounted price), counted
    // by the run that finished each prompt (a call paid by an earlier run that was stopped or killed shows as
    // cached); `thisRun`: what this command paid, failures included.
    dollars: { dataset: usd(u.costUsd), paid: usd(u.spentUsd), thisRun: usd(spend.total), byAccount: Object.fromEntries(Object.entries(output.byAccount).map(([k, v]) => [k, usd(v.costUsd)])) },
    tokens: { prompt: u.promptTokens, completion: u.completionTokens, byAccount: Object.fromEntries(Object.entries(output.byAccount).map(([k, v]) => [k, { prompt: v.promptTokens, completion: v.completionTokens }])) },
    calls: { total: u.calls, cached: u.cached, madeThisRun: spend.calls.made, cachedThisRun: spend.calls.cached },
    ...(ctx.batchStats ? { batch: ctx.batchStats() } : {}),
    ...(run.stopped === 'budget' ? { stopped: 'budget' } : {}),
  };
}

/** A stable hash of a JSON value (object keys sorted), for the manifest's identities. */
export function jsonSha256(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}
