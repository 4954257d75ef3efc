import { InputError } from '../config/input-error.js';
import { jsonlObjects, readInputFile } from '../eval/index.js';
import type { ChatMessage } from '../providers/types.js';
import { sha256Hex } from '../random.js';

/** One prompt to generate for: a conversation that ends with the user's turn. */
export interface GenPrompt {
  /** The line's `id`, else `p-` and the first 16 hex digits of `key`. */
  id: string;
  /** 1-based line in the prompts file. */
  line: number;
  messages: ChatMessage[];
  /** SHA-256 of the canonical messages: what a journal record is matched on. */
  key: string;
  /** Given as `{"prompt"}` without a system message: DPO output can use plain strings for it. */
  plain: boolean;
}

export interface PromptsFile {
  file: string;
  /** SHA-256 of the file's bytes. */
  sha256: string;
  prompts: GenPrompt[];
  /** Lines whose conversation repeats an earlier line's (and that have no id of their own): skipped. */
  duplicates: number;
}

const FIELDS = ['prompt', 'system', 'messages', 'id'];
const ROLES = new Set(['system', 'user', 'assistant']);

/**
 * Load a prompts file: JSONL, one `{"prompt": "...", "system"?: "..."}` or `{"messages": [{role, content}, ...]}`
 * per line, with an optional `id`. Errors name file:line and the field.
 */
export function loadPrompts(file: string, flag = '--prompts'): PromptsFile {
  const input = readInputFile(file, 'prompts file', flag);
  const prompts: GenPrompt[] = [];
  const byId = new Map<string, number>();
  const byKey = new Set<string>();
  let duplicates = 0;
  for (const { line, obj: value } of jsonlObjects(input)) {
    const at = (field?: string) => ({ file, line, field });
    for (const k of Object.keys(value))
      if (!FIELDS.includes(k)) throw new InputError(`unknown field "${k}" (a prompt line has "prompt" or "messages", and optionally "system" and "id")`, at(k));
    const messages = messagesOf(value, at);
    const key = sha256Hex(JSON.stringify(messages.map((m) => [m.role, m.content])));
    const explicit = idOf(value.id, at);
    if (explicit === undefined) {
      if (byKey.has(key)) {
        duplicates++;
        continue;
      }
    } else {
      const prev = byId.get(explicit);
      if (prev !== undefined) throw new InputError(`duplicate id "${explicit}" (first on line ${prev})`, at('id'));
      byId.set(explicit, line);
    }
    byKey.add(key);
    prompts.push({ id: explicit ?? `p-${key.slice(0, 16)}`, line, messages, key, plain: value.prompt !== undefined && value.system === undefined });
  }
  if (!prompts.length) throw new InputError('no prompts in the file', { file, field: flag });
  return { file, sha256: input.sha256, prompts, duplicates };
}

type At = (field?: string) => { file: string; line: number; field?: string };

function idOf(v: unknown, at: At): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v !== 'string' || !v.trim()) throw new InputError('must be a non-empty string or a number', at('id'));
  return v;
}

function messagesOf(o: Record<string, unknown>, at: At): ChatMessage[] {
  if ((o.prompt === undefined) === (o.messages === undefined)) throw new InputError('give exactly one of "prompt" (a string) or "messages" (a list)', at());
  if (o.prompt !== undefined) {
    if (typeof o.prompt !== 'string' || !o.prompt.trim()) throw new InputError('must be a non-empty string', at('prompt'));
    if (o.system === undefined) return [{ role: 'user', content: o.prompt }];
    if (typeof o.system !== 'string' || !o.system.trim()) throw new InputError('must be a non-empty string', at('system'));
    return [
      { role: 'system', content: o.system },
      { role: 'user', content: o.prompt },
    ];
  }
  if (o.system !== undefined) throw new InputError('with "messages", put the system message in the list', at('system'));
  const list = o.messages;
  if (!Array.isArray(list) || !list.length) throw new InputError('must be a non-empty list of {role, content}', at('messages'));
  const out = list.map((m, i): ChatMessage => {
    const f = `messages[${i}]`;
    if (typeof m !== 'object' || m === null || Array.isArray(m)) throw new InputError('must be an object {role, content}', at(f));
    const { role, content, ...rest } = m as Record<string, unknown>;
    const extra = Object.keys(rest)[0];
    if (extra !== undefined) throw new InputError(`unknown field "${extra}" (a message has role and content)`, at(`${f}.${extra}`));
    if (typeof role !== 'string' || !ROLES.has(role)) throw new InputError('must be "system", "user" or "assistant"', at(`${f}.role`));
    if (typeof content !== 'string' || !content.trim()) throw new InputError('must be a non-empty string', at(`${f}.content`));
    if (role === 'system' && i > 0) throw new InputError('a system message may only come first', at(`${f}.role`));
    return { role: role as ChatMessage['role'], content };
  });
  if (out[out.length - 1]!.role !== 'user') throw new InputError('the last message must be the user\'s (the turn to answer)', at(`messages[${out.length - 1}].role`));
  return out;
}

/**
 * The conversation as one text, for judges (their templates take a single instruction): the user's message
 * alone when it is the whole conversation, else every turn labelled by its role.
 */
export function promptText(messages: readonly ChatMessage[]): string {
  if (messages.length === 1) return messages[0]!.content;
  return messages.map((m) => `[${m.role}]\n${m.content}`).join('\n\n');
}
