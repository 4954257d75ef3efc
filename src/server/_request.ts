import type { ChatMessage } from '../providers/types.js';
import { HttpError } from './_http.js';

/** A validated `POST /v1/chat/completions` body: only what the mixture uses. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  temperature?: number;
  maxTokens?: number;
  stream: boolean;
  includeUsage: boolean;
}

const bad = (param: string, message: string) => new HttpError(400, `${param}: ${message}`, 'invalid_request_error', param, 'invalid_value');

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    // Text parts only: a mixture of text models cannot look at images or audio.
    return content
      .map((part, i) => {
        if (!isObj(part) || part.type !== 'text' || typeof part.text !== 'string')
          throw bad(`${param}[${i}]`, 'only text content parts ({"type": "text", "text": ...}) are supported');
        return part.text;
      })
      .join('');
  }
  throw bad(param, 'must be a string or an array of text parts');
}

function optionalNumber(body: Record<string, unknown>, key: string, check: (n: number) => boolean, rule: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v) || !check(v)) throw bad(key, rule);
  return v;
}

/** Parse and validate a chat-completions body; 400 errors name the offending field. */
export function parseChatRequest(raw: string): ChatRequest {
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    throw new HttpError(400, 'the request body is not valid JSON', 'invalid_request_error', null, 'invalid_json');
  }
  if (!isObj(body)) throw new HttpError(400, 'the request body must be a JSON object', 'invalid_request_error', null, 'invalid_json');
  if (typeof body.model !== 'string' || !body.model) throw bad('model', 'required: the name of a served mixture');
  if (!Array.isArray(body.messages) || body.messages.length === 0) throw bad('messages', 'required: a non-empty array of messages');

  const messages: ChatMessage[] = body.messages.map((m, i) => {
    const p = `messages[${i}]`;
    if (!isObj(m)) throw bad(p, 'must be an object');
    let role = m.role;
    // `developer` is the newer name OpenAI clients use for system instructions.
    if (role === 'developer') role = 'system';
    if (role !== 'system' && role !== 'user' && role !== 'assistant') throw bad(`${p}.role`, 'must be one of system, developer, user, assistant');
    if (role === 'assistant' && (m.content === null || m.content === undefined)) throw bad(`${p}.content`, 'assistant messages need text content (tool calls are not supported)');
    return { role, content: textOf(m.content, `${p}.content`) };
  });
  if (!messages.some((m) => m.role === 'user')) throw bad('messages', 'must contain at least one user message');

  const temperature = optionalNumber(body, 'temperature', (n) => n >= 0 && n <= 2, 'must be a number from 0 to 2');
  const maxTokens =
    optionalNumber(body, 'max_completion_tokens', (n) => Number.isInteger(n) && n >= 1, 'must be a positive integer') ??
    optionalNumber(body, 'max_tokens', (n) => Number.isInteger(n) && n >= 1, 'must be a positive integer');
  const n = optionalNumber(body, 'n', (v) => v === 1, 'only n = 1 is supported');
  void n;
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') throw bad('stream', 'must be a boolean');
  if (body.tools !== undefined && body.tools !== null && !(Array.isArray(body.tools) && body.tools.length === 0)) throw bad('tools', 'tool calling is not supported by a mixture');
  let includeUsage = false;
  if (body.stream_options !== undefined && body.stream_options !== null) {
    if (!isObj(body.stream_options)) throw bad('stream_options', 'must be an object');
    const iu = body.stream_options.include_usage;
    if (iu !== undefined && typeof iu !== 'boolean') throw bad('stream_options.include_usage', 'must be a boolean');
    includeUsage = iu === true;
  }
  return { model: body.model, messages, temperature, maxTokens, stream: body.stream === true, includeUsage };
}
