import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { spaceYaml, tempDir } from './_space.js';

describe('moa-search ask (CLI subprocess)', () => {
  let server: FakeServer;
  let dir: string;
  let spaceFile: string;
  beforeAll(async () => {
    server = await startOpenAIServer();
    dir = tempDir('moa-ask-');
    spaceFile = join(dir, 'space.yaml');
    writeFileSync(spaceFile, spaceYaml(server.url));
  });
  afterAll(async () => {
    await server.close();
  });

  it('streams the answer, summarizes on stderr, and a repeat makes 0 provider calls', async () => {
    const db = join(dir, 'ask.sqlite');
    const mixture = join(dir, 'mix.json');
    writeFileSync(mixture, JSON.stringify({ layers: 2, proposers: { A: 2, B: 1 }, aggregator: 'G' }));
    const args = ['ask', '--space', spaceFile, '--mixture', mixture, '--db', db, '--system', 'be kind', 'What is MoA?'];
    server.reset();
    const first = await runCli(args);
    expect(first.stderr).toMatch(/^moa-search: 4 calls made \/ 0 cached, \d+ tokens \(\d+ in, \d+ out\), \$\d+\.\d{6}\n$/);
    expect(first.code).toBe(0);
    expect(server.count()).toBe(4);
    expect(first.stdout).toMatch(/^\[G\] answer #[0-9a-f]{8}: What is MoA\?\n$/);
    const agg = server.calls.find((c) => c.body.model === 'G')!.body;
    expect(agg.messages[0].content.startsWith('be kind\n\n')).toBe(true);

    server.reset();
    const second = await runCli(args);
    expect(second.code).toBe(0);
    expect(server.count()).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(second.stderr).toMatch(/0 calls made \/ 4 cached, .*\$0\.000000/);

    // The prompt from stdin, and --json with the trace: still all cached.
    const json = await runCli(['ask', '--space', spaceFile, '--mixture', mixture, '--db', db, '--system', 'be kind', '--json', '-'], { input: 'What is MoA?' });
    expect(json.code).toBe(0);
    expect(server.count()).toBe(0);
    const out = JSON.parse(json.stdout);
    expect(out.answer).toBe(first.stdout.trimEnd());
    expect(out.trace.map((c: any) => `${c.layer}:${c.model}:${c.sample}:${c.cached}`)).toEqual(['1:A:0:true', '1:A:1:true', '1:B:0:true', '2:G:0:true']);
    expect(out.cost).toMatchObject({ usd: 0, calls: { made: 0, cached: 4 } });
  });

  it('bad input exits 2 with one line and creates no database', async () => {
    const bad = (name: string, args: string[], env: Record<string, string | undefined> = {}) => ({ name, db: join(dir, `${name}.sqlite`), args, env });
    const keyed = join(dir, 'keyed.yaml');
    writeFileSync(keyed, spaceYaml(server.url).replace('keyless: true', 'apiKeyEnv: MOA_ASK_TEST_KEY'));
    const broken = join(dir, 'broken.yaml');
    writeFileSync(broken, 'providers:\n  local: { baseURL: "x"\nmodels: [');
    const ok = '{"layers": 2, "proposers": {"A": 1}, "aggregator": "G"}';
    const cases = [
      bad('unknown-model', ['--space', spaceFile, '--mixture', '{"layers": 2, "proposers": {"Nope": 1}, "aggregator": "G"}'], {}),
      bad('missing-key', ['--space', keyed, '--mixture', ok], { MOA_ASK_TEST_KEY: undefined }),
      bad('malformed-yaml', ['--space', broken, '--mixture', ok]),
      bad('too-many-copies', ['--space', spaceFile, '--mixture', '{"layers": 2, "proposers": {"A": 4}, "aggregator": "G"}']),
      bad('negative-budget', ['--space', spaceFile, '--mixture', ok, '--budget', '-1']),
    ];
    server.reset();
    const results = await Promise.all(cases.map((c) => runCli(['ask', ...c.args, '--db', c.db, 'hello'], { env: c.env })));
    const expected = [/unknown model "Nope"/, /MOA_ASK_TEST_KEY is not set/, /broken\.yaml:\d+: malformed YAML/, /4 copies of "A" exceed its maxCopies \(3\)/, /--budget/];
    results.forEach((r, i) => {
      const c = cases[i]!;
      expect(r.code, c.name).toBe(2);
      expect(r.stderr.trimEnd().split('\n'), c.name).toHaveLength(1);
      expect(r.stderr, c.name).toMatch(expected[i]!);
      expect(r.stdout, c.name).toBe('');
      expect(existsSync(c.db), c.name).toBe(false);
    });
    expect(server.count()).toBe(0);
  });

  it('without --space, runs in the simulated world and says so in one line', async () => {
    const r = await runCli(['ask', '--mixture', 'search-spaces/examples/self-moa.json', '--db', join(dir, 'sim.sqlite'), 'Explain how a hash map handles collisions.']);
    expect(r.code).toBe(0);
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/no --space given: using the simulated world \(.*sim\.yaml\)/);
    expect(lines[1]).toMatch(/^moa-search: 4 calls made \/ 0 cached/);
    expect(r.stdout.trim().length).toBeGreaterThan(50);
  });

  it('an upstream failure is a runtime error: exit 1, one line', async () => {
    const failing = await startOpenAIServer({ handler: () => ({ status: 401 }) });
    try {
      const space = join(dir, 'failing.yaml');
      writeFileSync(space, spaceYaml(failing.url));
      const r = await runCli(['ask', '--space', space, '--mixture', '{"layers": 2, "proposers": {"A": 1}, "aggregator": "G"}', '--db', join(dir, 'fail.sqlite'), 'hi']);
      expect(r.code).toBe(1);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/every proposer of layer 1 failed/);
    } finally {
      await failing.close();
    }
  });
});
