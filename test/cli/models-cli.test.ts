// `moa-search models import` as a user runs it: the README's walk-through on sim.yaml, bad catalogs (exit 2, one
// line, the space file untouched byte for byte), --dry-run, and --from-url against a loopback server.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { copyFileSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { loadSpace, uniformMixture } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/validation-set.js';
import { createTruthOracle } from '../../src/sim/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT } from '../helpers/cli.js';
import { FAKE_KEY, linesOf, removeTempDirs, runCliIn, tempDir } from '../acceptance/_fixtures.js';

const SAMPLE = resolve(ROOT, 'search-spaces/catalogs/openrouter-sample.json');
const NEW = 'meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo';

afterAll(removeTempDirs);

function simCopy(): { dir: string; file: string } {
  const dir = tempDir('moa-models-');
  const file = join(dir, 'space.yaml');
  copyFileSync(SIM_SPACE_FILE, file);
  return { dir, file };
}

describe('models import on the simulated world (the README walk-through)', () => {
  it('adds the released model from the sample catalog: the space becomes sim-release.yaml, and its truth optimum is the documented one', async () => {
    const { dir, file } = simCopy();
    const r = await runCliIn(dir, ['models', 'import', SAMPLE, '--space', 'space.yaml', '--model', NEW, '--search-aggregator']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+ added     ${NEW}: price 5 / 5 USD per 1M tokens; context 131,072; roles proposer, aggregator; maxCopies 3`);
    expect(r.stdout).toContain(`? ${NEW}: the catalog gives no parameter count`);
    expect(r.stdout).toMatch(/^wrote .*space\.yaml: 1 added, 0 updated, 0 unchanged; search\.aggregators now 3$/m);
    const imported = loadSpace(file);
    const release = loadSpace(resolve(ROOT, 'search-spaces/sim-release.yaml'));
    expect(imported.models.map((m) => m.id)).toEqual(release.models.map((m) => m.id));
    const added = imported.models.find((m) => m.id === NEW)!;
    const reference = release.models.find((m) => m.id === NEW)!;
    expect(added).toEqual({ ...reference, label: undefined, upstream: undefined, params: undefined });
    expect(imported.search).toEqual(release.search);
    // The imported model has no `upstream`: the sim knows it by its real id, and the truth is the release's.
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    const best = uniformMixture({ 'Qwen/Qwen1.5-110B-Chat': 3, 'microsoft/WizardLM-2-8x22B': 3 }, NEW, 2);
    expect(createTruthOracle({ space: imported, items })(best).score).toBeCloseTo(82.0, 2);
    expect(readdirSync(dir)).toEqual(['space.yaml']);
    // A search runs on the imported space; the new model's size is unknown, and the summary says so.
    const search = await runCliIn(dir, ['--budget', '1', '--max-evals', '1', '--prompts', '12', '--space', 'space.yaml', '--validation', SIM_VALIDATION_FILE, '--db', 'moa.sqlite', '--no-report']);
    expect(search.code, search.stderr).toBe(0);
    expect(search.stdout).toMatch(/^ {2}\$\d+\.\d+\/query, TFLOPs unknown \(a model has no params in the space\)$/m);
  });

  it('--dry-run prints the diff and writes nothing', async () => {
    const { dir, file } = simCopy();
    const before = readFileSync(file);
    const r = await runCliIn(dir, ['models', 'import', SAMPLE, '--space', file, '--match', '*405b*', '--dry-run']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`+  - id: ${NEW}\n+    provider: sim\n+    price: { input: 5, output: 5 }\n`);
    expect(r.stdout).toMatch(/note: the search will not try .* as the final aggregator .*pass --search-aggregator/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('dry run: 1 added, 0 updated, 0 unchanged; nothing written');
    const j = await runCliIn(dir, ['models', 'import', SAMPLE, '--space', file, '--match', '*405b*', '--dry-run', '--json', '--max-copies', '2']);
    expect(j.code, j.stderr).toBe(0);
    expect(JSON.parse(j.stdout)).toMatchObject({
      catalog: { format: 'openrouter', models: 19 },
      provider: 'sim',
      changes: [{ kind: 'add', model: { id: NEW, price: { input: 5, output: 5 }, contextWindow: 131072 }, roles: ['proposer', 'aggregator'], maxCopies: 2 }],
      paramsUnknown: [{ id: NEW, what: 'params' }],
      changed: true,
      written: false,
    });
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir)).toEqual(['space.yaml']);
  });
});

describe('bad catalogs: exit 2, one line naming the file and the model, the space file untouched', () => {
  const sample = JSON.parse(readFileSync(SAMPLE, 'utf8')) as { data: Array<Record<string, any>> };
  const withEntry = (change: (e: Record<string, any>) => void) => {
    const data = structuredClone(sample.data);
    change(data.find((e) => e.id === NEW)!);
    return JSON.stringify({ data }, null, 2);
  };
  const cases: Array<[string, string, string[], RegExp]> = [
    ['malformed JSON', JSON.stringify(sample, null, 2).replace('"id": "Qwen/Qwen1.5-72B-Chat",', '"id": "Qwen/Qwen1.5-72B-Chat"'), [], /cat\.json:\d+: malformed JSON: Expected ',' or '}' after property value$/],
    ['missing pricing', withEntry((e) => delete e.pricing), ['--model', NEW], /cat\.json:\d+: model "meta-llama\/Meta-Llama-3\.1-405B-Instruct-Turbo": missing pricing$/],
    ['negative price', withEntry((e) => (e.pricing.completion = '-0.000005')), ['--model', NEW], /cat\.json:\d+: model "meta-llama\/Meta-Llama-3\.1-405B-Instruct-Turbo": pricing\.completion is negative/],
    ['duplicate ids', JSON.stringify({ data: [...sample.data, sample.data[3]] }, null, 2), ['--model', NEW], /cat\.json:\d+: duplicate model id "microsoft\/WizardLM-2-8x22B" \(entries 4 and 20\): which one to import is ambiguous$/],
    ['unknown --model', JSON.stringify(sample), ['--model', 'meta-llama/llama-3.1-405b'], /cat\.json \(--model\): --model "meta-llama\/llama-3\.1-405b" is not in the catalog \(19 models\); did you mean/],
  ];

  // The CLI's side of every catalog error is the same (one line, exit 2, nothing written): five kinds run it here;
  // test/catalog/read-catalog.test.ts checks the message of each kind. Concurrent: the runs share the two cores.
  it.concurrent.for(cases.map(([name]) => name))('%s', async (name, { expect }) => {
    const [, text, args, expected] = cases.find(([n]) => n === name)!;
    const { dir, file } = simCopy();
    writeFileSync(join(dir, 'cat.json'), text);
    const before = readFileSync(file);
    const r = await runCliIn(dir, ['models', 'import', 'cat.json', '--space', 'space.yaml', ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(linesOf(r.stderr)).toEqual([expect.stringMatching(expected)]);
    expect(r.stdout).toBe('');
    expect(readFileSync(file).equals(before)).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['cat.json', 'space.yaml']);
  });
});

describe('--from-url: the provider\'s model list over HTTP with the key from the space', () => {
  let server: Server;
  let base: string;
  const seen: Array<{ url: string; auth?: string }> = [];
  const togetherList = JSON.stringify([
    { id: 'Qwen/Qwen1.5-110B-Chat', object: 'model', type: 'chat', pricing: { hourly: 0, input: 1.8, output: 1.8, base: 0, finetune: 0 }, context_length: 32768 },
    { id: 'meta-llama/Llama-3-70b-chat-hf', object: 'model', type: 'chat', pricing: { hourly: 0, input: 0.88, output: 0.88, base: 0, finetune: 0 }, context_length: 8192 },
  ]);
  let flaky = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push({ url: req.url!, auth: req.headers.authorization });
      const authorized = req.headers.authorization === `Bearer ${FAKE_KEY}`;
      if (!authorized) return res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: `invalid key ${req.headers.authorization}` } }));
      if (req.url === '/flaky/v1/models' && flaky++ === 0) return res.writeHead(503, { 'retry-after': '0' }).end('busy');
      if (req.url?.endsWith('/v1/models')) return res.writeHead(200, { 'content-type': 'application/json' }).end(togetherList);
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const space = (baseURL: string) => `providers:
  together: { baseURL: "${baseURL}", apiKeyEnv: MOA_TEST_TOGETHER_KEY }
models:
  - id: Qwen/Qwen1.5-110B-Chat
    provider: together
    price: { input: 0.9, output: 0.9 }
  - id: meta-llama/Llama-3-70b-chat-hf
    provider: together
    price: { input: 0.88, output: 0.88 }
`;
  function setup(baseURL: string) {
    const dir = tempDir('moa-models-url-');
    writeFileSync(join(dir, 'space.yaml'), space(baseURL));
    return dir;
  }

  it('fetches <baseURL>/models with the key, retries a 503, updates the space; the key appears nowhere else', async () => {
    const dir = setup(`${base}/flaky/v1`);
    seen.length = 0;
    const r = await runCliIn(dir, ['models', 'import', '--from-url', '--space', 'space.yaml'], { MOA_TEST_TOGETHER_KEY: FAKE_KEY });
    expect(r.code, r.stderr).toBe(0);
    expect(seen).toEqual([
      { url: '/flaky/v1/models', auth: `Bearer ${FAKE_KEY}` },
      { url: '/flaky/v1/models', auth: `Bearer ${FAKE_KEY}` },
    ]);
    expect(r.stdout).toContain(`catalog ${base}/flaky/v1/models: Together (pricing.input/output, USD per 1M tokens), 2 models`);
    expect(r.stdout).toContain('~ updated   Qwen/Qwen1.5-110B-Chat: price.input 0.9 → 1.8, price.output 0.9 → 1.8, contextWindow (none) → 32,768');
    const written = readFileSync(join(dir, 'space.yaml'), 'utf8');
    expect(written).toContain('price: { input: 1.8, output: 1.8 }\n    contextWindow: 32768\n');
    for (const out of [r.stdout, r.stderr, written]) expect(out).not.toContain(FAKE_KEY);
  });

  it('a rejected key is a runtime failure (exit 1) that does not echo the key; a missing one is bad input caught before any request', async () => {
    const dir = setup(`${base}/v1`);
    seen.length = 0;
    const denied = await runCliIn(dir, ['models', 'import', '--from-url', `${base}/v1/models`, '--space', 'space.yaml'], { MOA_TEST_TOGETHER_KEY: 'sk-wrong-key-123456' });
    expect(denied.code).toBe(1);
    expect(linesOf(denied.stderr).at(-1)).toBe(`moa-search: error: GET ${base}/v1/models: HTTP 401 Unauthorized: invalid key Bearer ***`);
    expect(denied.stderr + denied.stdout).not.toContain('sk-wrong-key-123456');
    expect(seen).toHaveLength(1);
    const missing = await runCliIn(dir, ['models', 'import', '--from-url', '--space', 'space.yaml'], { MOA_TEST_TOGETHER_KEY: undefined });
    expect(missing.code).toBe(2);
    expect(linesOf(missing.stderr)).toEqual([expect.stringMatching(/space\.yaml \(providers\.together\.apiKeyEnv\): environment variable MOA_TEST_TOGETHER_KEY is not set/)]);
    expect(seen).toHaveLength(1);
    expect(readFileSync(join(dir, 'space.yaml'), 'utf8')).toBe(space(`${base}/v1`));
  });
});
