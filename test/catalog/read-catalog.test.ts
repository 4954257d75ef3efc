import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { catalogModel, globRegExp, readCatalog, selectEntries } from '../../src/catalog/index.js';
import { shiftDecimal } from '../../src/catalog/_decimal.js';
import { errorOf } from '../helpers/input-error.js';
import { ROOT } from '../helpers/cli.js';

const openrouter = (entries: object[]) => JSON.stringify({ data: entries }, null, 2);
const together = (entries: object[]) => JSON.stringify(entries, null, 2);
const or = (id: string, prompt: unknown = '0.0000018', completion: unknown = '0.0000018', extra = {}) => ({ id, name: id, pricing: { prompt, completion, request: '0' }, context_length: 32768, ...extra });
const tg = (id: string, input: unknown = 0.9, output: unknown = 0.9, extra = {}) => ({ id, object: 'model', type: 'chat', display_name: id, pricing: { hourly: 0, input, output, base: 0, finetune: 0 }, context_length: 8192, ...extra });
const model = (text: string, id: string) => {
  const c = readCatalog(text, 'cat.json');
  return catalogModel(c, c.byId.get(id)!);
};

describe('shiftDecimal', () => {
  it('moves the decimal point exactly, where float arithmetic would not', () => {
    expect(0.0000018 * 1e6).not.toBe(1.8);
    expect(shiftDecimal('0.0000018', 6)).toBe('1.8');
    expect(shiftDecimal('0.00000015', 6)).toBe('0.15');
    expect(shiftDecimal('1.5e-7', 6)).toBe('0.15');
    expect(shiftDecimal('0.00003', 6)).toBe('30');
    expect(shiftDecimal('0', 6)).toBe('0');
    expect(shiftDecimal('-1', 6)).toBe('-1000000');
    expect(shiftDecimal('5', -6)).toBe('0.000005');
    expect(shiftDecimal('0.88', 0)).toBe('0.88');
    for (const bad of ['', 'abc', '1.2.3', '0x10', '.', '1e']) expect(shiftDecimal(bad, 6), bad).toBeUndefined();
  });
});

describe('readCatalog', () => {
  it("reads OpenRouter's list: per-token decimal strings become USD per 1M tokens, context_length the context window", () => {
    const m = model(openrouter([or('a/b', '0.00000015', '0.0000006')]), 'a/b');
    expect(m).toEqual({ id: 'a/b', name: 'a/b', price: { input: 0.15, output: 0.6 }, contextWindow: 32768 });
    expect(readCatalog(openrouter([or('a/b')]), 'x').format).toBe('openrouter');
  });

  it("reads Together's list: prices already per 1M; its num_parameters (a count) becomes the total in billions, the active count stays unknown", () => {
    const text = together([tg('m/dense', 0.88, 0.88, { num_parameters: 70553706496 }), tg('m/other', '1.2', 1.2)]);
    expect(readCatalog(text, 'x').format).toBe('together');
    expect(model(text, 'm/dense')).toEqual({ id: 'm/dense', name: 'm/dense', price: { input: 0.88, output: 0.88 }, contextWindow: 8192, params: { total: 70.55 } });
    expect(model(text, 'm/other').params).toBeUndefined();
    // Wrapped in {"data": [...]} the same entries read the same: the price fields tell the format.
    expect(readCatalog(JSON.stringify({ object: 'list', data: [tg('m/other')] }), 'x').format).toBe('together');
  });

  it('a missing, null or zero context length is unknown, not zero', () => {
    const text = openrouter([or('a', undefined, undefined, { context_length: null }), or('b', undefined, undefined, { context_length: 0 })]);
    expect(model(text, 'a').contextWindow).toBeUndefined();
    expect(model(text, 'b').contextWindow).toBeUndefined();
  });

  it('the committed sample catalog lists every sim model at the sim prices', () => {
    const file = resolve(ROOT, 'search-spaces/catalogs/openrouter-sample.json');
    const c = readCatalog(readFileSync(file, 'utf8'), file);
    expect(c.format).toBe('openrouter');
    expect(catalogModel(c, c.byId.get('meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo')!)).toMatchObject({ price: { input: 5, output: 5 }, contextWindow: 131072 });
    expect(catalogModel(c, c.byId.get('gpt-4o-mini-2024-07-18')!).price).toEqual({ input: 0.15, output: 0.6 });
  });
});

describe('bad catalogs: one line naming the file, line and model', () => {
  it('malformed JSON names the line where it breaks', () => {
    const text = '{\n  "data": [\n    {"id": "a", "pricing": {"prompt": "0.1", "completion": "0.1"}},\n    {"id": "b" "pricing": {}}\n  ]\n}\n';
    expect(errorOf(() => readCatalog(text, 'cat.json')).message).toMatch(/^cat\.json:4: malformed JSON: Expected ',' or '}' after property value$/);
    expect(errorOf(() => readCatalog('{\n"data": [', 'cat.json')).message).toBe('cat.json:2: malformed JSON: unexpected end of input');
    expect(errorOf(() => readCatalog('{\n"data": nul\n}', 'cat.json')).message).toMatch(/^cat\.json:2: malformed JSON: Unexpected token/);
    expect(errorOf(() => readCatalog('  \n', 'cat.json')).message).toBe('cat.json:1: malformed JSON: the catalog is empty');
  });

  it('a list without prices, ids, or one structure is refused as a whole', () => {
    expect(errorOf(() => readCatalog('{"models": []}', 'c')).message).toMatch(/not a model list/);
    expect(errorOf(() => readCatalog('{"data": []}', 'c')).message).toMatch(/lists no models/);
    expect(errorOf(() => readCatalog(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o', object: 'model' }] }), 'c')).message).toMatch(/no model in the list has prices/);
    expect(errorOf(() => readCatalog(openrouter([or('a'), { name: 'x' }]), 'c')).message).toMatch(/^c:\d+ \(data\[1\]\.id\): entry 2 of the list has no model id$/);
    expect(errorOf(() => readCatalog(JSON.stringify({ data: [or('a'), tg('b')] }), 'c')).message).toMatch(/mixes OpenRouter prices .* and Together prices/);
  });

  it('duplicate ids name the id, both entries and the line of the second', () => {
    const e = errorOf(() => readCatalog(openrouter([or('a'), or('b'), or('a')]), 'cat.json'));
    expect(e.message).toMatch(/^cat\.json:\d+: duplicate model id "a" \(entries 1 and 3\)/);
    expect(e.location.line).toBe(openrouter([or('a'), or('b'), or('a')]).split('\n').findIndex((l, i, all) => l.includes('"id": "a"') && all.slice(0, i).some((x) => x.includes('"id": "a"'))) + 1);
  });

  it('missing pricing, missing, non-numeric or negative prices name the model and the line of the price', () => {
    const text = openrouter([or('ok'), { id: 'nopricing', context_length: 1 }, or('nocompletion', '0.1', null), or('word', 'free'), or('neg', '-1', '-1'), or('obj', { usd: 1 }), or('ctx', '0.1', '0.1', { context_length: -5 })]);
    const c = readCatalog(text, 'cat.json');
    const err = (id: string) => errorOf(() => catalogModel(c, c.byId.get(id)!));
    expect(err('nopricing').message).toMatch(/^cat\.json:\d+: model "nopricing": missing pricing$/);
    expect(err('nocompletion').message).toMatch(/^cat\.json:\d+: model "nocompletion": missing pricing\.completion$/);
    expect(err('word').message).toMatch(/^cat\.json:\d+: model "word": pricing\.prompt is not a number \(got "free"\)$/);
    expect(err('neg').message).toMatch(/^cat\.json:\d+: model "neg": pricing\.prompt is negative \(-1\)/);
    expect(err('obj').message).toMatch(/model "obj": pricing\.prompt is not a number \(got \{"usd":1\}\)/);
    expect(err('ctx').message).toMatch(/model "ctx": context_length must be a whole number of tokens \(got -5\)/);
    const lines = text.split('\n');
    expect(lines[err('word').location.line! - 1]).toContain('"prompt": "free"');
    expect(lines[err('neg').location.line! - 1]).toContain('"prompt": "-1"');
    // A bad entry that is not imported does not block the others (real lists carry routers priced -1).
    expect(catalogModel(c, c.byId.get('ok')!).price).toEqual({ input: 1.8, output: 1.8 });
  });
});

describe('selectEntries', () => {
  const c = readCatalog(openrouter([or('meta-llama/Llama-3.1-405B'), or('meta-llama/Llama-3.1-70B'), or('qwen/qwen-72b')]), 'cat.json');

  it('--model by exact id, --match by case-insensitive glob across slashes, in catalog order, once each', () => {
    expect(selectEntries(c, { models: ['qwen/qwen-72b'], match: ['*LLAMA-3.1-*'] }).map((e) => e.id)).toEqual(['meta-llama/Llama-3.1-405B', 'meta-llama/Llama-3.1-70B', 'qwen/qwen-72b']);
    expect(selectEntries(c, { match: ['*-?0B'] }).map((e) => e.id)).toEqual(['meta-llama/Llama-3.1-70B']);
    expect(globRegExp('a.b*').test('axb')).toBe(false);
  });

  it('an unknown --model or a --match without hits is an error that suggests close ids', () => {
    expect(errorOf(() => selectEntries(c, { models: ['Qwen/Qwen-72B'] })).message).toBe(
      'cat.json (--model): --model "Qwen/Qwen-72B" is not in the catalog (3 models); did you mean "qwen/qwen-72b"?',
    );
    expect(errorOf(() => selectEntries(c, { match: ['gpt-*'] })).message).toBe('cat.json (--match): --match "gpt-*" matches no model in the catalog (3 models)');
  });
});
