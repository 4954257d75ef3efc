import type { BatchEvent, BatchStats } from '../executor/batch/types.js';
import { FINAL_STATUSES } from '../providers/batch-client.js';

type Out = { write(s: string): boolean; isTTY?: boolean };

const counts = (r: Record<string, number>) =>
  Object.entries(r)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');

/**
 * One line per batch event on stderr: stages (what each flush holds, layer by layer), jobs submitted or
 * re-attached, status changes, results; fallbacks, malformed output lines and poll errors as warnings.
 * Before a live progress line (`\r…`) on a terminal, a newline keeps the two apart.
 */
export function batchProgress(out: Out, opts: { beforeLine?: () => void } = {}): (e: BatchEvent) => void {
  const status = new Map<string, string>();
  const say = (s: string) => {
    opts.beforeLine?.();
    out.write(s + '\n');
  };
  return (e) => {
    switch (e.type) {
      case 'stage':
        return say(`batch stage ${e.stage}: ${e.requests} requests (${counts(e.purposes)}) in ${e.jobs} job${e.jobs === 1 ? '' : 's'}`);
      case 'submitted':
        return say(`  job ${e.job} submitted: ${e.requests} requests to ${e.model} (provider ${e.provider})`);
      case 'attached':
        return say(`  job ${e.job} re-attached (an earlier run submitted it): ${e.requests} requests to ${e.model} (provider ${e.provider})`);
      case 'progress':
        // Final statuses are said by `done`, with what came of the job.
        if (status.get(e.job) === e.status || FINAL_STATUSES.has(e.status)) return;
        status.set(e.job, e.status);
        return say(`  job ${e.job}: ${e.status.replace('_', ' ')} (${e.completed}/${e.total} done${e.failed ? `, ${e.failed} failed` : ''})`);
      case 'done': {
        const extra = [e.fallback ? `${e.fallback} answered online` : '', e.malformed ? `${e.malformed} malformed line${e.malformed === 1 ? '' : 's'}` : ''].filter(Boolean);
        return say(`  job ${e.job} ${e.status}: ${e.results} results cached${extra.length ? `; ${extra.join(', ')}` : ''}`);
      }
      case 'malformed':
        return say(`moa-search: warning: job ${e.job}, output line ${e.line}: ${e.reason}; ${e.key ? 'its request is retried online and nothing of it is cached' : 'ignored'}`);
      case 'fallback':
        return say(`moa-search: warning: ${e.requests} request${e.requests === 1 ? '' : 's'}${e.job ? ` of job ${e.job}` : ''} answered online at the full price (${counts(e.reasons)})`);
      case 'poll-error':
        return say(`moa-search: warning: polling job ${e.job} failed (${e.message}); still polling (the job is recorded: a rerun re-attaches)`);
      case 'submit-failed':
        return say(`moa-search: warning: a batch job of ${e.requests} requests to ${e.model} could not be submitted (${e.message}); answering them online`);
    }
  };
}

/** The summary line of a batched run. */
export function batchSummary(s: BatchStats, discount?: number): string {
  const price = discount !== undefined ? ` at ${Math.round(discount * 100)}% of the online price` : '';
  const fb = s.fallback ? `${s.fallback} answered online (${counts(s.fallbackReasons)})` : '0 answered online';
  return `${s.jobsSubmitted} job${s.jobsSubmitted === 1 ? '' : 's'} submitted (${s.requestsSubmitted} requests${price}), ${s.jobsAttached} re-attached, ${s.results} results cached, ${fb}, ${s.malformedLines} malformed lines`;
}
