import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpace } from '../../src/config/index.js';
import { openExecutor } from '../../src/executor/index.js';
import { buildFromPrompts, loadPromptsFile, loadValidationSet, parseValidationSet, ReferenceGenerationError } from '../../src/eval/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { runCli } from '../helpers/cli.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { HAVE_SHARED, shared } from './_data.js';
import { errorOf } from '../helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-vset-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
const line = (o: object) => JSON.stringify(o);
const ok = { id: 'a', source: 'alpaca_eval', prompt: 'p', reference: 'r' };

describe('validation-set loader', () => {
  it('loads the shipped sim set', () => {
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    expect(items).toHaveLength(100);
    expect(new Set(items.map((i) => i.source))).toEqual(new Set(['alpaca_eval', 'arena_hard']));
  });

  it('keeps category, skips blank lines', () => {
    expect(parseValidationSet(`${line({ ...ok, category: 'c' })}\n\n${line({ ...ok, id: 'b' })}\n`, 'f.jsonl')).toEqual([{ ...ok, category: 'c' }, { ...ok, id: 'b' }]);
  });

  it('names the file, line and field of every kind of bad line', () => {
    const cases: Array<[string, RegExp]> = [
      [`${line(ok)}\n{"id": "b",`, /v\.jsonl:2: malformed JSON/],
      [`${line(ok)}\n${line({ ...ok, prompt: 'other' })}`, /v\.jsonl:2 \(id\): duplicate id "a" \(first on line 1\)/],
      [line({ ...ok, prompt: '   ' }), /v\.jsonl:1 \(prompt\): must not be empty/],
      [line({ ...ok, reference: '' }), /v\.jsonl:1 \(reference\): must not be empty/],
      [line({ id: 'a', source: 's', prompt: 'p' }), /v\.jsonl:1 \(reference\): missing/],
      [line({ ...ok, extra: 1 }), /v\.jsonl:1 \(extra\): unknown field/],
      [line({ ...ok, id: 3 }), /v\.jsonl:1 \(id\): must be a string/],
      ['[1, 2]', /v\.jsonl:1: each line must be a JSON object/],
      ['\n\n', /v\.jsonl: validation set is empty/],
    ];
    for (const [text, re] of cases) {
      const e = errorOf(() => parseValidationSet(text, 'v.jsonl'));
      expect(e.message).toMatch(re);
      expect(e.message.split('\n')).toHaveLength(1);
    }
    expect(errorOf(() => loadValidationSet(join(dir, 'missing.jsonl'))).message).toMatch(/missing\.jsonl: validation set not found/);
  });
});

describe('bring your own prompts', () => {
  let server: FakeServer;
  beforeAll(async () => {
    server = await startOpenAIServer({ handler: (body) => (body.messages[0].content === 'EMPTY' ? { text: '  ' } : {}) });
  });
  afterAll(() => server.close());
  const space = () => parseSpace(`providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n  - { id: Base, provider: local, price: { input: 1, output: 1 } }\n`, join(dir, 'byo.yaml'));

  it('writes references with the baseline model through the cache', async () => {
    const prompts = write('mine.jsonl', `${line({ prompt: 'first question' })}\n${line({ id: 'q2', prompt: 'second', source: 'support', category: 'billing' })}\n`);
    const executor = await openExecutor({ space: space() });
    try {
      server.reset();
      const b = await buildFromPrompts({ promptsFile: prompts, baselineModel: 'Base', space: space(), executor });
      expect(b.items.map((i) => [i.id, i.source, i.category])).toEqual([['p-1', 'custom', undefined], ['q2', 'support', 'billing']]);
      expect(b.items[0]!.reference).toMatch(/^\[Base\] answer #[0-9a-f]+: first question$/);
      expect(b.manifest).toMatchObject({ baselineModel: 'Base', ids: { custom: ['p-1'], support: ['q2'] }, count: 2 });
      expect(server.count()).toBe(2);
      const again = await buildFromPrompts({ promptsFile: prompts, baselineModel: 'Base', space: space(), executor });
      expect(again.items).toEqual(b.items);
      expect(server.count()).toBe(2); // cached
      expect(executor.spend().byAccount.reference).toBeGreaterThan(0);
      const empty = write('empty-answer.jsonl', line({ prompt: 'EMPTY' }));
      await expect(buildFromPrompts({ promptsFile: empty, baselineModel: 'Base', space: space(), executor })).rejects.toBeInstanceOf(ReferenceGenerationError);
    } finally {
      await executor.close();
    }
  });

  it('rejects bad prompt files and unknown models before any call', async () => {
    expect(errorOf(() => loadPromptsFile(write('p1.jsonl', `${line({ id: 'x', prompt: 'a' })}\n${line({ id: 'x', prompt: 'b' })}`))).message).toMatch(/p1\.jsonl:2 \(id\): duplicate id "x"/);
    expect(errorOf(() => loadPromptsFile(write('p2.jsonl', line({ prompt: '' })))).message).toMatch(/p2\.jsonl:1 \(prompt\): must not be empty/);
    const executor = await openExecutor({ space: space() });
    await expect(buildFromPrompts({ promptsFile: write('p3.jsonl', line({ prompt: 'a' })), baselineModel: 'Nope', space: space(), executor })).rejects.toThrow(/--baseline-model.*unknown model "Nope"/);
    await executor.close();
  });
});

describe('moa-search validation (CLI)', () => {
  it('--prompts with the simulated world writes the set and its manifest', async () => {
    const prompts = write('cli-prompts.jsonl', `${line({ prompt: 'Explain why the sky is blue.' })}\n${line({ prompt: 'Write a haiku about rain.' })}\n`);
    const out = join(dir, 'out/mine.jsonl');
    const r = await runCli(['validation', 'build', '--prompts', prompts, '--baseline-model', 'gpt-4-0314', '--db', join(dir, 'v.sqlite'), '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(loadValidationSet(out).map((i) => i.id)).toEqual(['p-1', 'p-2']);
    expect(JSON.parse(readFileSync(join(dir, 'out/mine.manifest.json'), 'utf8'))).toMatchObject({ baselineModel: 'gpt-4-0314', count: 2 });
  }, 30_000);

  it.skipIf(!HAVE_SHARED)('builds the 50+50 set from the real files and rebuilds it from the committed manifest', async () => {
    const out = join(dir, 'aa/alpaca-arena-100.jsonl');
    const r = await runCli([
      'validation', 'build',
      '--manifest', 'validation-sets/alpaca-arena-100.manifest.json',
      '--alpaca-eval', shared('alpaca_eval/results/gpt4_1106_preview/model_outputs.json'),
      '--arena-hard-questions', shared('arena-hard-v0.1/legacy_format_2024/question.jsonl'),
      '--arena-hard-baseline', shared('arena-hard-v0.1/legacy_format_2024/model_answer/gpt-4-0314.jsonl'),
      '--out', out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/same prompts and references/);
    const items = loadValidationSet(out);
    const manifest = JSON.parse(readFileSync('validation-sets/alpaca-arena-100.manifest.json', 'utf8'));
    expect(items.map((i) => i.id)).toEqual([...manifest.ids.alpaca_eval, ...manifest.ids.arena_hard]);
    expect(r.stderr).toMatch(/wrote 100 prompts \(alpaca_eval 50, arena_hard 50\)/);
  }, 30_000);
});
