import { LineCounter, parseDocument } from 'yaml';
import { InputError } from '../config/input-error.js';
import { parseStructuredText } from '../config/_load-structured.js';
import { shiftDecimal } from './_decimal.js';

// A provider's model list, as its API returns it:
// - OpenRouter `GET /api/v1/models`: {"data": [{id, name, pricing: {prompt, completion} (USD per token, decimal
//   strings), context_length, ...}]}
// - Together `GET /v1/models`: [{id, display_name, pricing: {input, output} (USD per 1M tokens), context_length, ...}]
// The format is told by the prices' field names, so a list wrapped either way reads the same.

export type CatalogFormat = 'openrouter' | 'together';

export const FORMAT_LABEL: Record<CatalogFormat, string> = {
  openrouter: 'OpenRouter (pricing.prompt/completion, USD per token)',
  together: 'Together (pricing.input/output, USD per 1M tokens)',
};

const PRICE_FIELDS: Record<CatalogFormat, { input: string; output: string; shift: number }> = {
  openrouter: { input: 'prompt', output: 'completion', shift: 6 },
  together: { input: 'input', output: 'output', shift: 0 },
};

export interface CatalogEntry {
  id: string;
  /** Position in the list (for line numbers). */
  index: number;
  raw: Record<string, unknown>;
}

export interface Catalog {
  /** File path or URL, for messages. */
  source: string;
  format: CatalogFormat;
  entries: CatalogEntry[];
  byId: ReadonlyMap<string, CatalogEntry>;
  /** Line of a field of an entry (computed on demand: only error paths need it). */
  lineOf(index: number, ...field: string[]): number | undefined;
}

/** What the catalog says about one model, in the space's units. */
export interface CatalogModel {
  id: string;
  name?: string;
  /** USD per 1M tokens. */
  price: { input: number; output: number };
  contextWindow?: number;
  /** Billions; `active` is never given by these catalogs (unknown, not assumed equal to total). */
  params?: { total: number; active?: number };
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parse and check a catalog's structure: JSON, a list of models with distinct ids, one price format. */
export function readCatalog(text: string, source: string): Catalog {
  const data = parseJson(text, source);
  const container = Array.isArray(data) ? [] : isObj(data) && Array.isArray(data.data) ? ['data'] : undefined;
  if (!container) throw new InputError('not a model list: expected OpenRouter\'s {"data": [...]} (GET /api/v1/models) or Together\'s [...] (GET /v1/models)', { file: source, line: 1 });
  const list = (container.length ? (data as Obj).data : data) as unknown[];
  let structured: ReturnType<typeof parseStructuredText> | undefined;
  const lineOf = (index: number, ...field: string[]) => {
    structured ??= parseStructuredText(text, source);
    return structured.lineOf([...container, index, ...field]);
  };
  if (list.length === 0) throw new InputError('the catalog lists no models', { file: source, line: lineOf(0) });

  const entries: CatalogEntry[] = [];
  const byId = new Map<string, CatalogEntry>();
  list.forEach((raw, index) => {
    if (!isObj(raw) || typeof raw.id !== 'string' || !raw.id.trim()) {
      throw new InputError(`entry ${index + 1} of the list has no model id`, { file: source, line: lineOf(index), field: `${container.join('.')}[${index}].id` });
    }
    const first = byId.get(raw.id);
    if (first) throw new InputError(`duplicate model id "${raw.id}" (entries ${first.index + 1} and ${index + 1}): which one to import is ambiguous`, { file: source, line: lineOf(index, 'id') });
    const entry = { id: raw.id, index, raw };
    entries.push(entry);
    byId.set(raw.id, entry);
  });
  return { source, format: detectFormat(entries, source, lineOf), entries, byId, lineOf };
}

function parseJson(text: string, source: string): unknown {
  if (!text.trim()) throw new InputError('malformed JSON: the catalog is empty', { file: source, line: 1 });
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const at = /(?:at position|position) (\d+)/.exec(msg);
    const reason = msg.replace(/ in JSON at position \d+.*$/, '').replace(/, ".*" is not valid JSON$/s, '').replace(/^Unexpected end of JSON input$/, 'unexpected end of input');
    let line: number | undefined;
    if (at) line = text.slice(0, Number(at[1])).split('\n').length;
    else if (/end of JSON input/.test(msg)) line = text.trimEnd().split('\n').length;
    else line = yamlErrorLine(text);
    throw new InputError(`malformed JSON: ${reason}`, { file: source, line });
  }
}

/** V8 does not always say where JSON breaks; the YAML parser with the JSON schema usually can. */
function yamlErrorLine(text: string): number | undefined {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { schema: 'json', lineCounter, prettyErrors: false });
  const err = doc.errors[0];
  return err ? lineCounter.linePos(err.pos[0]).line : undefined;
}

function detectFormat(entries: CatalogEntry[], source: string, lineOf: Catalog['lineOf']): CatalogFormat {
  const priced = entries.filter((e) => isObj(e.raw.pricing));
  const has = (...keys: string[]) => priced.filter((e) => keys.some((k) => k in (e.raw.pricing as Obj)));
  const openrouter = has('prompt', 'completion');
  const together = has('input', 'output');
  if (openrouter.length && together.length) {
    throw new InputError(`mixes OpenRouter prices (pricing.prompt, "${openrouter[0]!.id}") and Together prices (pricing.input, "${together[0]!.id}"): units would be ambiguous`, {
      file: source,
      line: lineOf(together[0]!.index, 'pricing'),
    });
  }
  if (openrouter.length) return 'openrouter';
  if (together.length) return 'together';
  throw new InputError('no model in the list has prices (pricing.prompt/completion or pricing.input/output): an OpenAI-style /v1/models list carries none; use OpenRouter\'s or Together\'s model list', { file: source, line: 1 });
}

/** One model's prices, context window and size, checked: a bad value names the catalog, line and model. */
export function catalogModel(catalog: Catalog, entry: CatalogEntry): CatalogModel {
  const fail = (reason: string, ...field: string[]): never => {
    throw new InputError(`model "${entry.id}": ${reason}`, { file: catalog.source, line: catalog.lineOf(entry.index, ...field) });
  };
  const f = PRICE_FIELDS[catalog.format];
  const pricing = entry.raw.pricing;
  if (!isObj(pricing)) fail(pricing === undefined ? 'missing pricing' : 'pricing is not an object', 'pricing');
  const price = (key: string): number => {
    const v = (pricing as Obj)[key];
    if (v === undefined || v === null) return fail(`missing pricing.${key}`, 'pricing');
    const text = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : undefined;
    const per1M = text === undefined ? undefined : shiftDecimal(text, f.shift);
    if (per1M === undefined || !Number.isFinite(Number(per1M))) return fail(`pricing.${key} is not a number (got ${JSON.stringify(v)})`, 'pricing', key);
    const n = Number(per1M);
    if (n < 0) return fail(`pricing.${key} is negative (${text}): a variable or unknown price cannot be searched over`, 'pricing', key);
    return n;
  };
  const out: CatalogModel = { id: entry.id, price: { input: price(f.input), output: price(f.output) } };
  const name = entry.raw.name ?? entry.raw.display_name;
  if (typeof name === 'string' && name.trim()) out.name = name.trim();
  const ctx = entry.raw.context_length;
  if (ctx !== undefined && ctx !== null && ctx !== 0) {
    if (typeof ctx !== 'number' || !Number.isInteger(ctx) || ctx < 0) fail(`context_length must be a whole number of tokens (got ${JSON.stringify(ctx)})`, 'context_length');
    out.contextWindow = ctx as number;
  }
  const params = paramsB(entry.raw.num_parameters);
  if (params === null) return fail(`num_parameters must be a positive number (got ${JSON.stringify(entry.raw.num_parameters)})`, 'num_parameters');
  if (params !== undefined) out.params = { total: params };
  return out;
}

/** Together's `num_parameters` (a count) in billions, to 0.01 B; undefined when absent, null when invalid. */
function paramsB(v: unknown): number | undefined | null {
  if (v === undefined || v === null || v === 0 || v === '') return undefined;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n) || n <= 0) return null;
  return Math.round(n / 1e7) / 100;
}
