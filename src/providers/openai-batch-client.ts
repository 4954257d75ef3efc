import { toFile } from 'openai';
import type { Batch } from 'openai/resources/batches';
import type { ProviderSpec } from '../config/space.js';
import { BadResponse, classifyFailure, openAIClient } from './_client.js';
import { BatchApiError, type BatchCallOptions, type BatchClient, type RemoteBatch } from './batch-client.js';

/** How far back a lost job is looked for in the provider's list of batches (newest first). */
const MAX_LISTED = 1000;

function remote(b: Batch): RemoteBatch {
  if (!b || typeof b.id !== 'string' || typeof b.status !== 'string') throw new BadResponse('the answer is not a batch object');
  const r: RemoteBatch = { id: b.id, status: b.status, inputFileId: b.input_file_id, createdAt: b.created_at };
  if (b.output_file_id) r.outputFileId = b.output_file_id;
  if (b.error_file_id) r.errorFileId = b.error_file_id;
  if (b.request_counts) r.counts = { total: b.request_counts.total, completed: b.request_counts.completed, failed: b.request_counts.failed };
  const errs = b.errors?.data?.map((e) => [e.line !== undefined && e.line !== null ? `line ${e.line}` : '', e.message ?? e.code ?? ''].filter(Boolean).join(': '));
  if (errs?.length) r.errors = errs.slice(0, 3).join('; ');
  return r;
}

/**
 * The Batch API of an OpenAI-compatible endpoint, over the `openai` SDK with the SDK's own retries
 * (these control calls are idempotent reads, or an upload / create whose loss the job store recovers from).
 */
export function createOpenAIBatchClient(name: string, spec: ProviderSpec, opts: { env?: Record<string, string | undefined> } = {}): BatchClient {
  const { client, scrub } = openAIClient(name, spec, opts.env ?? process.env, { maxRetries: spec.maxRetries });

  async function call<T>(operation: string, o: BatchCallOptions | undefined, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (o?.signal?.aborted) throw o.signal.reason instanceof Error ? o.signal.reason : e;
      const f = classifyFailure(e, spec, scrub);
      throw new BatchApiError(name, operation, f.detail, f.status, f.retryable, { cause: e });
    }
  }

  return {
    provider: name,
    upload: (jsonl, o) =>
      call('upload', o, async () => {
        const file = await toFile(Buffer.from(jsonl, 'utf8'), 'moa-search-batch.jsonl', { type: 'application/jsonl' });
        const f = await client.files.create({ file, purpose: 'batch' }, { signal: o?.signal });
        if (typeof f?.id !== 'string') throw new BadResponse('the upload answer has no file id');
        return f.id;
      }),
    create: (inputFileId, metadata, o) =>
      call('create', o, async () =>
        remote(await client.batches.create({ input_file_id: inputFileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata }, { signal: o?.signal })),
      ),
    retrieve: (jobId, o) => call(`retrieve ${jobId}`, o, async () => remote(await client.batches.retrieve(jobId, { signal: o?.signal }))),
    findByInputFile: (inputFileId, createdAfter, o) =>
      call('list', o, async () => {
        let seen = 0;
        for await (const b of client.batches.list({ limit: 100 }, { signal: o?.signal })) {
          if (b.input_file_id === inputFileId) return remote(b);
          // Lists are newest first: past the row's creation time (with clock slack) the job cannot appear.
          if (++seen >= MAX_LISTED || b.created_at < createdAfter - 600) break;
        }
        return undefined;
      }),
    download: (fileId, o) => call(`download ${fileId}`, o, async () => (await client.files.content(fileId, { signal: o?.signal })).text()),
  };
}
