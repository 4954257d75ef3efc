import { readFileSync, existsSync } from 'node:fs';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { ZodType } from 'zod';
import { InputError } from './input-error.js';

/** A parsed YAML/JSON document that can tell which line a field path sits on. */
export interface StructuredDoc {
  file: string;
  data: unknown;
  lineOf(path: ReadonlyArray<string | number>): number | undefined;
}

export function readStructuredFile(file: string, what: string): StructuredDoc {
  if (!existsSync(file)) throw new InputError(`${what} file not found`, { file });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read ${what} file: ${(e as Error).message}`, { file });
  }
  return parseStructuredText(text, file);
}

/** JSON is YAML, so one parser serves both and gives line numbers for either. */
export function parseStructuredText(text: string, file: string): StructuredDoc {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const err = doc.errors[0]!;
    const line = err.linePos?.[0]?.line ?? lineCounter.linePos(err.pos[0]).line;
    const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+.*$/, '');
    throw new InputError(`malformed YAML/JSON: ${msg}`, { file, line });
  }
  return {
    file,
    data: doc.toJS(),
    lineOf(path) {
      for (let n = path.length; n >= 0; n--) {
        const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
        if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
      }
      return undefined;
    },
  };
}

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** Validate with zod; the first issue becomes an InputError naming file, line and field. */
export function validateDoc<T>(schema: ZodType<T>, doc: StructuredDoc): T {
  const res = schema.safeParse(doc.data);
  if (res.success) return res.data;
  const issue = res.error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  throw new InputError(issue.message, {
    file: doc.file,
    line: doc.lineOf(path),
    field: formatPath(path) || undefined,
  });
}
