import { createHash } from 'node:crypto';
import { writeFileAtomic, type Journal, type JournalRecord } from './journal.js';
import type { GenPrompt } from './prompts-file.js';
import { addUsage, emptyUsage, type Usage } from './usage.js';

/** What a journal record becomes in the output: a line, or a reason it is left out. */
export type LineOf = (record: JournalRecord, prompt: GenPrompt) => { line: object } | { dropped: string };

export interface OutputSummary {
  /** Lines written. */
  written: number;
  /** Finished prompts left out of the file, by reason (truncated answer, margin below the threshold, …). */
  dropped: Record<string, number>;
  /** Prompts not finished yet (failed, or not reached before the budget or an interruption). */
  remaining: number;
  sha256: string;
  /** Calls behind every finished prompt (written or dropped), as recorded by the runs that made them. */
  usage: Usage;
  /** Same, split by spend account (`mixture`; `policy` and `judge` for DPO). */
  byAccount: Record<string, Usage>;
}

/**
 * Write the output from the journal: one line per finished prompt, in the prompts file's order, so the file
 * is the same whatever the concurrency and however many runs it took. Written atomically (never half a file).
 */
export function writeOutput(out: string, prompts: readonly GenPrompt[], journal: Journal, lineOf: LineOf): OutputSummary {
  const s: OutputSummary = { written: 0, dropped: {}, remaining: 0, sha256: '', usage: emptyUsage(), byAccount: {} };
  const hash = createHash('sha256');
  writeFileAtomic(out, (put) => {
    for (const p of prompts) {
      if (!journal.has(p.id, p.key)) {
        s.remaining++;
        continue;
      }
      const rec = journal.get(p.id)!;
      addUsage(s.usage, rec.usage as Usage);
      for (const [account, u] of Object.entries((rec.accounts ?? {}) as Record<string, Usage>)) addUsage((s.byAccount[account] ??= emptyUsage()), u);
      const r = lineOf(rec, p);
      if ('dropped' in r) {
        s.dropped[r.dropped] = (s.dropped[r.dropped] ?? 0) + 1;
        continue;
      }
      const text = JSON.stringify(r.line) + '\n';
      hash.update(text);
      put(text);
      s.written++;
    }
  });
  s.sha256 = hash.digest('hex');
  return s;
}

/** The manifest beside an output file: `<out>.manifest.json`. */
export function manifestPath(out: string): string {
  return `${out}.manifest.json`;
}

export function writeManifest(out: string, manifest: object): void {
  writeFileAtomic(manifestPath(out), (put) => put(JSON.stringify(manifest, null, 2) + '\n'));
}
