import { chatCompletionBody, responseFromCompletion } from './_wire.js';
import type { ProviderRequest, ProviderResponse } from './types.js';

// The Batch API of an OpenAI-compatible provider (OpenAI, Together): upload a JSONL file of requests
// with `custom_id`s, create a job from it, poll the job, download its output and error files.

export type RemoteBatchStatus = 'validating' | 'failed' | 'in_progress' | 'finalizing' | 'completed' | 'expired' | 'cancelling' | 'cancelled';

/** Statuses after which a job changes no more: its output (possibly partial) can be read. */
export const FINAL_STATUSES: ReadonlySet<string> = new Set(['completed', 'failed', 'expired', 'cancelled']);

export interface RemoteBatch {
  id: string;
  status: RemoteBatchStatus | string;
  inputFileId: string;
  outputFileId?: string;
  errorFileId?: string;
  counts?: { total: number; completed: number; failed: number };
  /** Unix seconds. */
  createdAt: number;
  /** The provider's reasons when the whole job failed (validation errors). */
  errors?: string;
}

export interface BatchCallOptions {
  signal?: AbortSignal;
}

/** One provider's Batch API. Errors are BatchApiError (retries already spent). */
export interface BatchClient {
  readonly provider: string;
  /** Upload a JSONL input file with purpose `batch`; returns the file id. */
  upload(jsonl: string, opts?: BatchCallOptions): Promise<string>;
  /** Create a chat-completions job (24 h window) from an uploaded file. */
  create(inputFileId: string, metadata: Record<string, string>, opts?: BatchCallOptions): Promise<RemoteBatch>;
  retrieve(jobId: string, opts?: BatchCallOptions): Promise<RemoteBatch>;
  /** The job created from this input file, if any: finds a job whose creation answer was lost to a crash. */
  findByInputFile(inputFileId: string, createdAfter: number, opts?: BatchCallOptions): Promise<RemoteBatch | undefined>;
  /** A file's content (output and error files are JSONL). */
  download(fileId: string, opts?: BatchCallOptions): Promise<string>;
  close?(): Promise<void> | void;
}

/** A Batch API call that failed for good. `status` 404 on a job means the provider no longer knows it. */
export class BatchApiError extends Error {
  override readonly name = 'BatchApiError';
  constructor(
    readonly provider: string,
    readonly operation: string,
    readonly detail: string,
    readonly status?: number,
    readonly retryable = false,
    options?: { cause?: unknown },
  ) {
    super(`provider "${provider}" batch API, ${operation}: ${status !== undefined ? `HTTP ${status}: ` : ''}${detail}`.replace(/\s*\n\s*/g, ' '), options);
  }
}

/** One line of a batch input file. */
export function batchInputLine(customId: string, req: ProviderRequest): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: chatCompletionBody(req) });
}

/** A request's outcome in a job's output or error file. */
export type BatchLineResult = { customId: string; response: ProviderResponse } | { customId: string; error: string };

/** An output line that cannot be read as a result: retried online, reported, never cached. */
export interface MalformedLine {
  /** 1-based line number in the file. */
  line: number;
  /** When it could be recovered from the broken line. */
  customId?: string;
  reason: string;
}

const CUSTOM_ID = /"custom_id"\s*:\s*"([^"\\]+)"/;

/** Parse an output or error file: results by custom id, and the lines that are not valid results. */
export function parseBatchOutput(text: string): { results: BatchLineResult[]; malformed: MalformedLine[] } {
  const results: BatchLineResult[] = [];
  const malformed: MalformedLine[] = [];
  text.split('\n').forEach((raw, i) => {
    if (!raw.trim()) return;
    const r = parseLine(raw);
    if ('reason' in r) malformed.push({ line: i + 1, ...r });
    else results.push(r);
  });
  return { results, malformed };
}

function parseLine(raw: string): BatchLineResult | { customId?: string; reason: string } {
  let o: any;
  try {
    o = JSON.parse(raw);
  } catch {
    return { customId: CUSTOM_ID.exec(raw)?.[1], reason: 'not valid JSON' };
  }
  if (!o || typeof o !== 'object' || typeof o.custom_id !== 'string') return { reason: 'no custom_id' };
  const customId: string = o.custom_id;
  if (o.error) return { customId, error: describeError(o.error) };
  const resp = o.response;
  if (!resp || typeof resp !== 'object') return { customId, reason: 'no response' };
  if (resp.status_code !== 200) return { customId, error: `HTTP ${resp.status_code}: ${describeError(resp.body?.error ?? resp.body)}` };
  const content = resp.body?.choices?.[0]?.message?.content;
  if (content !== null && content !== undefined && typeof content !== 'string') return { customId, reason: 'the message content is not text' };
  const parsed = responseFromCompletion(resp.body, 0);
  if ('invalid' in parsed) return { customId, reason: parsed.invalid };
  return { customId, response: parsed };
}

function describeError(e: any): string {
  if (typeof e === 'string') return e;
  const s = [e?.code, e?.message].filter((x) => typeof x === 'string' && x).join(': ');
  return s || JSON.stringify(e ?? null).slice(0, 200);
}
