import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError, readBody, sendJson } from './_http.js';
import type { SimBatchService } from './batch-service.js';

const JOB = /^\/v1\/batches\/([^/]+)$/;
const CANCEL = /^\/v1\/batches\/([^/]+)\/cancel$/;
const FILE = /^\/v1\/files\/([^/]+)$/;
const CONTENT = /^\/v1\/files\/([^/]+)\/content$/;

/**
 * Serve the Batch API routes (`/v1/files`, `/v1/batches`) from a batch service. Returns false for any
 * other path, so the caller can route it. Errors are thrown as HttpError for the caller to send.
 */
export async function handleBatchApi(service: SimBatchService, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  const method = req.method ?? 'GET';
  let m: RegExpExecArray | null;
  if (path === '/v1/files' && method === 'POST') {
    const { content, purpose, filename } = await readUpload(req);
    sendJson(res, 200, service.uploadFile(content, purpose, filename));
  } else if ((m = CONTENT.exec(path)) && method === 'GET') {
    const text = service.fileContent(decodeURIComponent(m[1]!));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  } else if ((m = FILE.exec(path)) && method === 'GET') {
    sendJson(res, 200, service.fileInfo(decodeURIComponent(m[1]!)));
  } else if (path === '/v1/batches' && method === 'POST') {
    sendJson(res, 200, service.createJob(await readJson(req)));
  } else if (path === '/v1/batches' && method === 'GET') {
    const q = new URL(req.url ?? '/', 'http://x').searchParams;
    sendJson(res, 200, service.listJobs({ after: q.get('after') ?? undefined, limit: q.has('limit') ? Number(q.get('limit')) : undefined }));
  } else if ((m = CANCEL.exec(path)) && method === 'POST') {
    sendJson(res, 200, service.cancelJob(decodeURIComponent(m[1]!)));
  } else if ((m = JOB.exec(path)) && method === 'GET') {
    sendJson(res, 200, await service.retrieveJob(decodeURIComponent(m[1]!)));
  } else {
    return false;
  }
  return true;
}

async function readJson(req: IncomingMessage): Promise<any> {
  try {
    return JSON.parse((await readBody(req)).toString('utf8'));
  } catch (e) {
    if (e instanceof HttpError) throw e;
    throw new HttpError(400, 'request body is not valid JSON');
  }
}

/** A multipart/form-data upload (`file`, `purpose`), parsed with the platform's Request. */
async function readUpload(req: IncomingMessage): Promise<{ content: string; purpose: string; filename: string }> {
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('multipart/form-data')) throw new HttpError(400, 'upload a file as multipart/form-data');
  const form = await new Request('http://upload/', { method: 'POST', headers: { 'content-type': type }, body: await readBody(req) }).formData();
  const file = form.get('file');
  const purpose = form.get('purpose');
  if (!file || typeof file === 'string') throw new HttpError(400, 'the form has no file');
  return { content: await file.text(), purpose: typeof purpose === 'string' ? purpose : '', filename: file.name };
}
