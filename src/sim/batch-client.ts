import { isProviderError } from '../providers/errors.js';
import { BatchApiError, type BatchClient, type RemoteBatch } from '../providers/batch-client.js';
import { completionJson, parseChatBody } from './_chat-wire.js';
import { HttpError } from './_http.js';
import { hashString } from './_hash.js';
import type { SimProfile } from './_profiles.js';
import { SimBatchService, type BatchAnswer } from './batch-service.js';
import { simComplete } from './provider.js';

/** How the simulated world answers one batch line: exactly what its chat-completions endpoint would. */
export function simBatchAnswer(opts: { worldSeed?: number; profiles?: ReadonlyMap<string, SimProfile> } = {}): (body: any, customId: string) => BatchAnswer {
  return (body, customId) => {
    try {
      const { req } = parseChatBody(body);
      const c = simComplete(req, { worldSeed: opts.worldSeed ?? 0, profiles: opts.profiles, provider: 'sim-batch' });
      return { status: 200, body: completionJson(`chatcmpl-sim-${hashString(customId).toString(16)}`, req, c) };
    } catch (e) {
      const status = e instanceof HttpError ? e.status : isProviderError(e) && e.status ? e.status : 500;
      return { status, body: { error: { message: (e as Error).message, type: status < 500 ? 'invalid_request_error' : 'server_error', code: null } } };
    }
  };
}

function remote(w: Record<string, any>): RemoteBatch {
  const r: RemoteBatch = { id: w.id, status: w.status, inputFileId: w.input_file_id, createdAt: w.created_at, counts: { ...w.request_counts } };
  if (w.output_file_id) r.outputFileId = w.output_file_id;
  if (w.error_file_id) r.errorFileId = w.error_file_id;
  if (w.errors?.data?.length) r.errors = w.errors.data.map((e: any) => `line ${e.line}: ${e.message}`).slice(0, 3).join('; ');
  return r;
}

/**
 * The Batch API of the in-process simulated world. Its jobs live in this process: a job of a killed run
 * is unknown to the next one (404), which then falls back to online calls for its requests.
 */
export function createSimBatchClient(opts: { name?: string; worldSeed?: number; delayMs?: number; profiles?: ReadonlyMap<string, SimProfile> } = {}): BatchClient {
  const name = opts.name ?? 'sim';
  const service = new SimBatchService({ answer: simBatchAnswer(opts), delayMs: opts.delayMs });
  const call = async <T>(operation: string, fn: () => T | Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof HttpError) throw new BatchApiError(name, operation, e.message, e.status);
      throw e;
    }
  };
  return {
    provider: name,
    upload: (jsonl) => call('upload', () => service.uploadFile(jsonl, 'batch', 'moa-search-batch.jsonl').id),
    create: (fileId, metadata) => call('create', () => remote(service.createJob({ input_file_id: fileId, endpoint: '/v1/chat/completions', completion_window: '24h', metadata }))),
    retrieve: (id) => call(`retrieve ${id}`, async () => remote(await service.retrieveJob(id))),
    findByInputFile: (fileId) => call('list', () => service.listJobs({ limit: 100 }).data.map(remote).find((b) => b.inputFileId === fileId)),
    download: (fileId) => call(`download ${fileId}`, () => service.fileContent(fileId)),
  };
}
