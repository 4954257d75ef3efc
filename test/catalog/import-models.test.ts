import { afterAll, describe, expect, it } from 'vitest';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSpace } from '../../src/config/index.js';
import { loadSpaceForEdit, prepareImport, writeAtomically, type ImportSettings } from '../../src/catalog/index.js';
import { errorOf } from '../helpers/input-error.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function spaceFile(text: string, name = 'space.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'moa-catalog-'));
  dirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

const or = (id: string, usdPer1M: [string, string], ctx?: number) => ({ id, name: id, pricing: { prompt: usdPer1M[0], completion: usdPer1M[1] }, ...(ctx ? { context_length: ctx } : {}) });
const CATALOG = JSON.stringify({
  data: [
    or('Qwen/Qwen1.5-110B-Chat', ['0.000002', '0.000002'], 32768),
    or('meta-llama/Llama-3-70b-chat-hf', ['0.0000009', '0.0000009'], 8192),
    or('meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo', ['0.000005', '0.000005'], 131072),
    or('google/gemma-2-27b-it', ['0.0000008', '0.0000008']),
  ],
});
const run = (file: string, settings: ImportSettings = {}, catalog = CATALOG) => prepareImport(loadSpaceForEdit(file), catalog, 'cat.json', settings);

// A hand-written space in a style of its own: sequence items at column 0, flow maps without padding, quoted ids,
// comments at the end of lines and between items, blank lines.
const USER = `# My space
name:   my-space   # trailing comment
providers:
  together: {baseURL: "https://api.together.xyz/v1", apiKeyEnv: TOGETHER_API_KEY}
models:
- id: Qwen/Qwen1.5-110B-Chat   # the big one
  provider: together
  price: {input: 1.8, output: 1.8}
  roles: [proposer,aggregator]
  maxCopies: 2

# a section comment
- id: "meta-llama/Llama-3-70b-chat-hf"
  provider: together
  price:
    input: 0.90   # was 0.88
    output: 0.9
  maxCopies: 3
- id: judge-model
  provider: together
  price: {input: 10, output: 30}
  roles: [judge]
search: {layers: 2}
`;

describe('models import: editing the space file', () => {
  it('changes only the values it updates and the lines it adds: every other byte stays as the user wrote it', () => {
    const p = run(spaceFile(USER), { models: ['Qwen/Qwen1.5-110B-Chat', 'meta-llama/Llama-3-70b-chat-hf', 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo'], searchAggregator: true });
    expect(p.after).toBe(`# My space
name:   my-space   # trailing comment
providers:
  together: {baseURL: "https://api.together.xyz/v1", apiKeyEnv: TOGETHER_API_KEY}
models:
- id: Qwen/Qwen1.5-110B-Chat   # the big one
  provider: together
  price: {input: 2, output: 2}
  roles: [proposer,aggregator]
  maxCopies: 2
  contextWindow: 32768

# a section comment
- id: "meta-llama/Llama-3-70b-chat-hf"
  provider: together
  price:
    input: 0.90   # was 0.88
    output: 0.9
  maxCopies: 3
  contextWindow: 8192
- id: meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo
  provider: together
  price: { input: 5, output: 5 }
  contextWindow: 131072
  roles: [proposer, aggregator]
  maxCopies: 3
- id: judge-model
  provider: together
  price: {input: 10, output: 30}
  roles: [judge]
search: {layers: 2, aggregators: [Qwen/Qwen1.5-110B-Chat, meta-llama/Llama-3-70b-chat-hf, meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo]}
`);
    expect(p.plan.changes.map((c) => c.kind)).toEqual(['update', 'update', 'add']);
    // 0.90 in the file is 0.9: unchanged, so its text (and comment) is not touched.
    expect(p.plan.changes[1]).toMatchObject({ kind: 'update', fields: [{ field: 'contextWindow', to: 8192 }] });
    expect(p.plan.paramsUnknown.map((u) => u.id)).toEqual(['Qwen/Qwen1.5-110B-Chat', 'meta-llama/Llama-3-70b-chat-hf', 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo']);
  });

  it('without --model or --match, refreshes the models of the provider the catalog lists, and names those it does not', () => {
    const p = run(spaceFile(USER));
    expect(p.plan.changes.map((c) => [c.kind, c.kind === 'add' ? c.model.id : c.spaceId])).toEqual([
      ['update', 'Qwen/Qwen1.5-110B-Chat'],
      ['update', 'meta-llama/Llama-3-70b-chat-hf'],
    ]);
    expect(p.plan.notInCatalog).toEqual(['judge-model']);
    expect(p.after).not.toContain('405B');
    // A second import of the same catalog changes nothing.
    const again = spaceFile(p.after);
    expect(run(again).after).toBe(p.after);
  });

  it('a JSON space file stays JSON', () => {
    const json = JSON.stringify({ providers: { t: { baseURL: 'http://127.0.0.1:1/v1', keyless: true } }, models: [{ id: 'Qwen/Qwen1.5-110B-Chat', provider: 't', price: { input: 1, output: 1 } }], search: { layers: 2, aggregators: ['Qwen/Qwen1.5-110B-Chat'] } }, null, 2);
    const p = run(spaceFile(json, 'space.json'), { match: ['*405B*', 'qwen/*'], roles: ['proposer', 'aggregator'], maxCopies: 2, searchAggregator: true });
    const after = JSON.parse(p.after);
    expect(after.models).toEqual([
      { id: 'Qwen/Qwen1.5-110B-Chat', provider: 't', price: { input: 2, output: 2 }, contextWindow: 32768 },
      { id: 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo', provider: 't', price: { input: 5, output: 5 }, contextWindow: 131072, roles: ['proposer', 'aggregator'], maxCopies: 2 },
    ]);
    expect(after.search.aggregators).toEqual(['Qwen/Qwen1.5-110B-Chat', 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo']);
  });

  it('block-style lists and a missing search.aggregators get entries in the same style', () => {
    const base = `providers:\n  t: { baseURL: "http://127.0.0.1:1/v1", keyless: true }\nmodels:\n  - id: Qwen/Qwen1.5-110B-Chat\n    provider: t\n    price: { input: 1, output: 1 }\n`;
    const block = run(spaceFile(`${base}search:\n  layers: 2\n  aggregators:\n    - Qwen/Qwen1.5-110B-Chat\n`), { models: ['google/gemma-2-27b-it'], searchAggregator: true });
    expect(block.after.endsWith('  aggregators:\n    - Qwen/Qwen1.5-110B-Chat\n    - google/gemma-2-27b-it\n')).toBe(true);
    const noList = run(spaceFile(`${base}search:\n  layers: 3\n`), { models: ['google/gemma-2-27b-it'], searchAggregator: true });
    // Without a list, the search used the first model allowed to aggregate: it stays, the new one joins.
    expect(noList.after.endsWith('search:\n  layers: 3\n  aggregators: [Qwen/Qwen1.5-110B-Chat, google/gemma-2-27b-it]\n')).toBe(true);
    const noSearch = run(spaceFile(base), { models: ['google/gemma-2-27b-it'], searchAggregator: true });
    expect(noSearch.after.endsWith('search: { aggregators: [Qwen/Qwen1.5-110B-Chat, google/gemma-2-27b-it] }\n')).toBe(true);
    expect(loadSpace(spaceFile(noSearch.after)).search).toEqual({ layers: 2, aggregators: ['Qwen/Qwen1.5-110B-Chat', 'google/gemma-2-27b-it'] });
    const flowModels = run(spaceFile(`providers: { t: { baseURL: "http://127.0.0.1:1/v1", keyless: true } }\nmodels: [{ id: a, provider: t, price: { input: 1, output: 1 } }]\n`), { models: ['google/gemma-2-27b-it'], roles: ['judge'] });
    expect(flowModels.after).toBe('providers: { t: { baseURL: "http://127.0.0.1:1/v1", keyless: true } }\nmodels: [{ id: a, provider: t, price: { input: 1, output: 1 } }, { id: google/gemma-2-27b-it, provider: t, price: { input: 0.8, output: 0.8 }, roles: [judge] }]\n');
  });

  it("parameter counts come only from the catalog: Together's total is written, the active count is left to the user", () => {
    const together = JSON.stringify([
      { id: 'Qwen/Qwen1.5-110B-Chat', pricing: { input: 1.8, output: 1.8 }, context_length: 32768, num_parameters: 111000000000 },
      { id: 'new/model', pricing: { input: 0.5, output: 0.5 }, num_parameters: '46702792704' },
    ]);
    const p = run(spaceFile(USER), { models: ['Qwen/Qwen1.5-110B-Chat', 'new/model'], roles: ['proposer'] }, together);
    const space = loadSpace(spaceFile(p.after));
    expect(space.models.find((m) => m.id === 'Qwen/Qwen1.5-110B-Chat')!.params).toEqual({ total: 111 });
    expect(space.models.find((m) => m.id === 'new/model')).toMatchObject({ params: { total: 46.7 }, roles: ['proposer'], maxCopies: 3 });
    expect(p.plan.paramsUnknown).toEqual([
      { id: 'Qwen/Qwen1.5-110B-Chat', what: 'active' },
      { id: 'new/model', what: 'active' },
    ]);
  });

  it('refuses what it cannot do cleanly, before anything is written', () => {
    const two = USER.replace('providers:\n', 'providers:\n  local: { baseURL: "http://127.0.0.1:8000/v1", keyless: true }\n');
    expect(errorOf(() => run(spaceFile(two))).message).toMatch(/declares 2 providers \(local, together\): say which one .* with --provider/);
    expect(errorOf(() => run(spaceFile(USER), { provider: 'openrouter' })).message).toMatch(/\(--provider\): unknown provider "openrouter" \(the space declares: together\)/);
    expect(errorOf(() => run(spaceFile(two), { provider: 'local', models: ['Qwen/Qwen1.5-110B-Chat'] })).message).toMatch(/"Qwen\/Qwen1.5-110B-Chat" is already in the space under provider "together"/);
    expect(errorOf(() => run(spaceFile(USER), { models: ['google/gemma-2-27b-it'], roles: ['proposer'], searchAggregator: true })).message).toMatch(/--search-aggregator: model "google\/gemma-2-27b-it" does not have the aggregator role/);
  });
});

describe('writeAtomically', () => {
  it('replaces the file whole, keeps its mode, writes through a symlink, and leaves no temp file', () => {
    const file = spaceFile(USER);
    chmodSync(file, 0o640);
    const link = join(file, '..', 'link.yaml');
    symlinkSync(file, link);
    const loaded = loadSpaceForEdit(link);
    expect(loaded.file).toBe(file);
    writeAtomically(loaded.file, 'a: 2\n');
    expect(readFileSync(link, 'utf8')).toBe('a: 2\n');
    expect(statSync(file).mode & 0o777).toBe(0o640);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readdirSync(join(file, '..')).sort()).toEqual(['link.yaml', 'space.yaml']);
  });
});
