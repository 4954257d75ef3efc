import { existsSync, readFileSync } from 'node:fs';
import { InputError } from '../config/input-error.js';
import type { ValidationItem } from './types.js';

const FIELDS = new Set(['id', 'source', 'prompt', 'reference', 'category']);

/** Load a validation set: JSONL, one `{id, source, prompt, reference, category?}` per line. */
export function loadValidationSet(file: string): ValidationItem[] {
  if (!existsSync(file)) throw new InputError('validation set not found', { file });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read validation set: ${(e as Error).message}`, { file });
  }
  return parseValidationSet(text, file);
}

export function parseValidationSet(text: string, file = '<validation>'): ValidationItem[] {
  const items: ValidationItem[] = [];
  const seen = new Map<string, number>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const at = (field?: string) => ({ file, line, field });
    let obj: unknown;
    try {
      obj = JSON.parse(raw);
    } catch (e) {
      throw new InputError(`malformed JSON: ${(e as Error).message}`, at());
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new InputError('each line must be a JSON object', at());
    const o = obj as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!FIELDS.has(k)) throw new InputError(`unknown field "${k}" (expected id, source, prompt, reference, category)`, at(k));
    const str = (k: string, required: boolean): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null) {
        if (required) throw new InputError('missing', at(k));
        return undefined;
      }
      if (typeof v !== 'string') throw new InputError('must be a string', at(k));
      if (required && v.trim() === '') throw new InputError('must not be empty', at(k));
      return v;
    };
    const id = str('id', true)!;
    const prev = seen.get(id);
    if (prev !== undefined) throw new InputError(`duplicate id "${id}" (first on line ${prev})`, at('id'));
    seen.set(id, line);
    const item: ValidationItem = { id, source: str('source', true)!, prompt: str('prompt', true)!, reference: str('reference', true)! };
    const category = str('category', false);
    if (category !== undefined) item.category = category;
    items.push(item);
  });
  if (!items.length) throw new InputError('validation set is empty', { file });
  return items;
}

/** JSONL text of a validation set (stable field order, so equal sets give equal bytes). */
export function formatValidationSet(items: readonly ValidationItem[]): string {
  return (
    items
      .map((it) => {
        const o: Record<string, string> = { id: it.id, source: it.source, prompt: it.prompt, reference: it.reference };
        if (it.category !== undefined) o.category = it.category;
        return JSON.stringify(o);
      })
      .join('\n') + '\n'
  );
}
