import { basename } from 'node:path';
import { InputError } from '../config/input-error.js';
import { jsonlObjects, readInputFile } from './_input-files.js';

/** A pair of answers to one prompt and which one a reference (humans, a trusted judge, the sim's truth) prefers. */
export interface PreferenceItem {
  id: string;
  /** Picks the judge protocol when the space's is `auto` (`alpaca_eval` → AlpacaEval, anything else → Arena-Hard). */
  source: string;
  prompt: string;
  output_1: string;
  output_2: string;
  /** The reference's preference for output_2 over output_1, in [0, 1] (the file's 1–2 scale minus 1). */
  preference: number;
  /** AlpacaEval's `dataset` (helpful_base, koala, …), when the file has one. */
  category?: string;
}

export interface PreferenceSet {
  file: string;
  sha256: string;
  format: 'jsonl' | 'alpaca_eval';
  items: PreferenceItem[];
  /** AlpacaEval records without a numeric preference (the annotator failed on them): left out, counted. */
  skipped: number;
}

const FIELDS = ['id', 'source', 'prompt', 'output_1', 'output_2', 'preference', 'category'];

/**
 * Load reference preferences, in either form:
 * - JSONL, one `{"prompt", "output_1", "output_2", "preference"}` per line (optional `id`, `source`, `category`);
 * - AlpacaEval annotations (a JSON array of `{instruction, output_1, output_2, preference, dataset, …}`, as in
 *   `proxy_annotations/*.json` or `annotations.json`), recognized by the leading `[`.
 * `preference` is AlpacaEval's scale: 1 = output_1 is better, 2 = output_2 is better, 1.5 = a tie, anything
 * between for a soft preference. Errors name file:line and the field.
 */
export function loadPreferences(file: string, flag = '--preferences'): PreferenceSet {
  const input = readInputFile(file, 'preference file', flag);
  const { text, sha256 } = input;
  if (text.trimStart().startsWith('[')) return { file, sha256, format: 'alpaca_eval', ...fromAlpacaEval(text, file, flag) };
  const items: PreferenceItem[] = [];
  const seen = new Map<string, number>();
  for (const { line, obj: o } of jsonlObjects(input)) {
    const at = (field?: string) => ({ file, line, field });
    for (const k of Object.keys(o)) if (!FIELDS.includes(k)) throw new InputError(`unknown field "${k}" (expected prompt, output_1, output_2, preference; optional id, source, category)`, at(k));
    const str = (k: string, required: boolean): string | undefined => {
      const v = o[k];
      if (v === undefined || v === null) {
        if (required) throw new InputError('missing', at(k));
        return undefined;
      }
      if (typeof v !== 'string' || (required && !v.trim())) throw new InputError(required ? 'must be a non-empty string' : 'must be a string', at(k));
      return v;
    };
    const id = o.id === undefined ? `line-${line}` : typeof o.id === 'number' ? String(o.id) : str('id', true)!;
    const prev = seen.get(id);
    if (prev !== undefined) throw new InputError(`duplicate id "${id}" (first on line ${prev})`, at('id'));
    seen.set(id, line);
    const item: PreferenceItem = {
      id,
      source: str('source', false) ?? 'preferences',
      prompt: str('prompt', true)!,
      output_1: str('output_1', true)!,
      output_2: str('output_2', true)!,
      preference: preferenceOf(o.preference, () => at('preference')),
    };
    const category = str('category', false);
    if (category !== undefined) item.category = category;
    items.push(item);
  }
  if (!items.length) throw new InputError('no preference pairs in the file', { file, field: flag });
  return { file, sha256, format: 'jsonl', items, skipped: 0 };
}

function preferenceOf(v: unknown, at: () => { file: string; line?: number; field?: string }): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new InputError('must be a number from 1 (output_1 better) to 2 (output_2 better)', at());
  if (v < 1 || v > 2) throw new InputError(`${v} is outside 1..2 (1 = output_1 better, 2 = output_2 better, 1.5 = tie)`, at());
  return v - 1;
}

function fromAlpacaEval(text: string, file: string, flag: string): { items: PreferenceItem[]; skipped: number } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, { file, field: flag });
  }
  if (!Array.isArray(data)) throw new InputError('expected a JSON array of annotations', { file, field: flag });
  const stem = basename(file).replace(/\.json$/i, '');
  const items: PreferenceItem[] = [];
  let skipped = 0;
  data.forEach((r: unknown, i) => {
    const field = (k: string) => `[${i}].${k}`;
    if (typeof r !== 'object' || r === null) throw new InputError('each annotation must be an object', { file, field: `[${i}]` });
    const o = r as Record<string, unknown>;
    for (const k of ['instruction', 'output_1', 'output_2'])
      if (typeof o[k] !== 'string') throw new InputError('missing or not a string', { file, field: field(k) });
    if (typeof o.preference !== 'number' || !Number.isFinite(o.preference)) {
      skipped++;
      return;
    }
    const item: PreferenceItem = {
      id: `${stem}#${i}`,
      source: 'alpaca_eval',
      prompt: o.instruction as string,
      output_1: o.output_1 as string,
      output_2: o.output_2 as string,
      preference: preferenceOf(o.preference, () => ({ file, field: field('preference') })),
    };
    if (typeof o.dataset === 'string') item.category = o.dataset;
    items.push(item);
  });
  if (!items.length) throw new InputError('no annotation with a preference in the file', { file, field: flag });
  return { items, skipped };
}

/** JSONL text of a preference set (the form `loadPreferences` reads back). */
export function formatPreferences(items: readonly PreferenceItem[]): string {
  return items
    .map((it) => {
      const o: Record<string, unknown> = { id: it.id, source: it.source, prompt: it.prompt, output_1: it.output_1, output_2: it.output_2, preference: 1 + it.preference };
      if (it.category !== undefined) o.category = it.category;
      return JSON.stringify(o) + '\n';
    })
    .join('');
}
