// Issue 2 ("Foundation"), its "Done when" bullets checked through the real CLI (a tsx subprocess)
// against a loopback chat-completions server whose request count is the proof.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { FAKE_KEY, bytesUnder, linesOf, removeTempDirs, runCliIn, tempDir } from './_fixtures.js';

const KEY_ENV = 'MOA_ACCEPTANCE_KEY';

/** Three proposers/aggregators on one loopback provider that needs a key (the fake one). */
function spaceYaml(url: string): string {
  const model = (id: string) => `  - { id: ${id}, provider: local, price: { input: 1, output: 2 }, maxCopies: 3 }\n`;
  return (
    `providers:\n  local: { baseURL: "${url}", apiKeyEnv: ${KEY_ENV}, maxRetries: 0 }\n` +
    `models:\n${['A', 'B', 'G'].map(model).join('')}` +
    `generation: { temperature: 0.7, maxTokens: 128 }\n`
  );
}

describe('issue 2 acceptance: ask, the cache and bad input through the CLI', () => {
  let server: FakeServer;
  let dir: string;
  let space: string;
  const env = { [KEY_ENV]: FAKE_KEY, MOA_SEARCH_DB: undefined };
  const ask = (db: string, mixture: string, prompt: string, extra: string[] = []) =>
    runCli(['ask', '--space', space, '--mixture', mixture, '--db', db, ...extra, prompt], { env });

  beforeAll(async () => {
    server = await startOpenAIServer();
    dir = tempDir('moa-accept-foundation-');
    space = join(dir, 'space.yaml');
    writeFileSync(space, spaceYaml(server.url));
  });
  afterAll(async () => {
    await server?.close();
    removeTempDirs();
  });

  it('running the same ask twice: the second makes 0 provider calls; cache stats shows the hits; the key goes nowhere but the endpoint', async () => {
    const home = join(dir, 'twice');
    const db = join(home, 'moa.sqlite');
    const mixture = '{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}';
    server.reset();
    const first = await ask(db, mixture, 'Why is the sea salty?');
    expect(first.stderr).toMatch(/^moa-search: 4 calls made \/ 0 cached, /);
    expect(first.code).toBe(0);
    expect(server.count()).toBe(4);
    expect(first.stdout.trim()).not.toBe('');
    expect(server.calls.every((c) => c.headers.authorization === `Bearer ${FAKE_KEY}`)).toBe(true);

    server.reset();
    const second = await ask(db, mixture, 'Why is the sea salty?');
    expect(second.code).toBe(0);
    expect(server.count()).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/^moa-search: 0 calls made \/ 4 cached, .*\$0\.000000\n$/);

    const stats = await runCli(['cache', 'stats', '--db', db], { env });
    expect(stats.code).toBe(0);
    expect(stats.stdout).toMatch(/^4 entries, 4 hits, \$[\d.e-]+ saved by hits/m);
    const perModel = (id: string) => stats.stdout.match(new RegExp(`^${id}\\s+(\\d+)\\s+(\\d+)\\s`, 'm'))?.slice(1, 3);
    expect([perModel('A'), perModel('B'), perModel('G')]).toEqual([['2', '2'], ['1', '1'], ['1', '1']]);

    // The key was sent with every call, and is nowhere in what the CLI printed or stored.
    for (const out of [first.stdout, first.stderr, second.stdout, second.stderr, stats.stdout, stats.stderr]) expect(out).not.toContain(FAKE_KEY);
    const stored = bytesUnder(home);
    expect(stored.length).toBeGreaterThan(0);
    expect(stored).toContain('Why is the sea salty?');
    expect(stored).not.toContain(FAKE_KEY);
    expect(stored).not.toContain('abcdefghijklmnopqrstuvwxyz');
  });

  it('{A: 2, B: 1} then {A: 3} on the same prompt: one new call for A (sample 2) plus the aggregator', async () => {
    const db = join(dir, 'samples', 'moa.sqlite');
    const prompt = 'Name three uses of copper.';
    server.reset();
    const first = await ask(db, '{"layers": 2, "proposers": {"A": 2, "B": 1}, "aggregator": "G"}', prompt);
    expect(first.code).toBe(0);
    expect(server.count()).toBe(4);
    const firstA = server.calls.filter((c) => c.body.model === 'A');
    expect(firstA.map((c) => c.body.seed).sort()).toEqual([0, 1]);

    server.reset();
    const second = await ask(db, '{"layers": 2, "proposers": {"A": 3}, "aggregator": "G"}', prompt, ['--json']);
    expect(second.code).toBe(0);
    expect(server.calls.map((c) => c.body.model).sort()).toEqual(['A', 'G']);
    const newA = server.calls.find((c) => c.body.model === 'A')!.body;
    expect(newA.seed).toBe(2);
    // Sample 2 is the same request as samples 0 and 1, only the index differs.
    expect(newA.messages).toEqual(firstA[0]!.body.messages);
    const trace = JSON.parse(second.stdout).trace.map((c: any) => `${c.model}:${c.sample}:${c.cached ? 'hit' : 'call'}`);
    expect(trace).toEqual(['A:0:hit', 'A:1:hit', 'A:2:call', 'G:0:call']);
  });

  it('bad input: one-line error naming file or field, exit 2, nothing written', async () => {
    const ok = '{"layers": 2, "proposers": {"A": 1}, "aggregator": "G"}';
    const unknownMixture = join(dir, 'unknown-model.json');
    writeFileSync(unknownMixture, '{\n  "layers": 2,\n  "proposers": {"A": 1, "Nope": 1},\n  "aggregator": "G"\n}\n');
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'providers:\n  local: { baseURL: "http://127.0.0.1:1/v1", keyless: true\nmodels: [\n');
    const cases: Array<{ name: string; args: string[]; env?: Record<string, string | undefined>; expect: RegExp }> = [
      { name: 'unknown model in a mixture file', args: ['--space', space, '--mixture', unknownMixture], expect: /unknown-model\.json:3 \(layers\[0\]\.Nope\): unknown model "Nope"/ },
      { name: 'missing API key env var', args: ['--space', space, '--mixture', ok], env: { [KEY_ENV]: undefined }, expect: new RegExp(`space\\.yaml \\(providers\\.local\\.apiKeyEnv\\): .*${KEY_ENV} is not set`) },
      { name: 'negative budget', args: ['--space', space, '--mixture', ok, '--budget', '-1'], expect: /--budget/ },
      { name: 'malformed YAML', args: ['--space', broken, '--mixture', ok], expect: /broken\.yaml:\d+: malformed YAML/ },
      { name: 'count above maxCopies', args: ['--space', space, '--mixture', '{"layers": 2, "proposers": {"A": 4}, "aggregator": "G"}'], expect: /\(layers\[0\]\.A\): 4 copies of "A" exceed its maxCopies \(3\)/ },
    ];
    server.reset();
    const runs = cases.map((c, i) => {
      const home = join(dir, `bad-${i}`);
      mkdirSync(home);
      const db = join(home, 'x.sqlite');
      return { c, home, db, result: runCliIn(home, ['ask', ...c.args, '--db', db, 'hello'], { ...env, ...c.env }) };
    });
    // A --db that is not a database (here: a YAML file) is bad input too, and the file is left as it was.
    const notDbHome = join(dir, 'bad-db');
    mkdirSync(notDbHome);
    const notDb = join(notDbHome, 'notes.yaml');
    writeFileSync(notDb, 'just: some yaml\n');
    const notDbRun = runCliIn(notDbHome, ['ask', '--space', space, '--mixture', ok, '--db', notDb, 'hello'], env);
    for (const { c, home, db, result } of runs) {
      const r = await result;
      expect(r.code, c.name).toBe(2);
      expect(linesOf(r.stderr), c.name).toHaveLength(1);
      expect(r.stderr, c.name).toMatch(/^moa-search: /);
      expect(r.stderr, c.name).toMatch(c.expect);
      expect(r.stdout, c.name).toBe('');
      expect(existsSync(db), c.name).toBe(false);
      // Not the database, not runs/, nothing at all in the working directory.
      expect(readdirSync(home), c.name).toEqual([]);
    }
    const r = await notDbRun;
    expect(r.code).toBe(2);
    expect(linesOf(r.stderr)).toEqual([expect.stringMatching(/^moa-search: .*notes\.yaml \(--db\): cannot be opened as a moa-search database/)]);
    expect(readdirSync(notDbHome)).toEqual(['notes.yaml']);
    expect(readFileSync(notDb, 'utf8')).toBe('just: some yaml\n');
    expect(server.count()).toBe(0);
  });

  it('a runtime failure (401 upstream) exits 1 with one line naming model and provider, never the key', async () => {
    // A careless endpoint that echoes the credentials it was sent: the key must still not reach the user's terminal.
    const failing = await startOpenAIServer({
      handler: (_body, call) => ({ status: 401, body: { error: { message: `Incorrect API key provided: ${call.headers.authorization}`, type: 'auth', code: null } } }),
    });
    try {
      const failSpace = join(dir, 'failing.yaml');
      writeFileSync(failSpace, spaceYaml(failing.url));
      const r = await runCli(['ask', '--space', failSpace, '--mixture', '{"layers": 1, "aggregator": "G"}', '--db', join(dir, 'fail', 'x.sqlite'), 'hi'], { env });
      expect(r.code).toBe(1);
      expect(linesOf(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(/\bG\b/);
      expect(r.stderr).toMatch(/\blocal\b/);
      expect(r.stderr).toMatch(/Incorrect API key provided/);
      expect(r.stderr + r.stdout).not.toContain(FAKE_KEY);
      // 401 is not retried.
      expect(failing.count()).toBe(1);
    } finally {
      await failing.close();
    }
  });

  it('the database defaults to $MOA_SEARCH_DB when --db is not given', async () => {
    const home = join(dir, 'env-db');
    mkdirSync(home);
    const db = join(home, 'from-env.sqlite');
    const r = await runCliIn(home, ['ask', '--space', space, '--mixture', '{"layers": 1, "aggregator": "A"}', 'Default database?'], { ...env, MOA_SEARCH_DB: db });
    expect(r.code).toBe(0);
    expect(readdirSync(home)).toEqual(['from-env.sqlite']);
  });
});
