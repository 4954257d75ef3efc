// The promise for bad input, across every command: exit 2, exactly one line on stderr naming the file, field or
// flag, and nothing created or changed (every path under the working folder listed and hashed before and after).
// Each case runs the real CLI in its own copy of the fixture kit (test/acceptance/_kit.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { runCli } from '../helpers/cli.js';
import { removeTempDirs, tempDir } from './_fixtures.js';
import { copyKit, JUDGE_ONLY, MOA_LITE, Q110, snapshot, writeKit } from './_kit.js';

interface Case {
  /** The command line, after `moa-search`; `{port}` is replaced by a port another process holds. */
  args: string[];
  /** What the one line must say (the file, field or flag, and why). */
  says: RegExp;
  stdin?: string;
}

const inline = (o: object) => JSON.stringify(o);

const CASES: Record<string, Case[]> = {
  search: [
    { args: ['--budget', '0'], says: /--budget.*greater than 0/ },
    { args: ['--budget', '1', '--strategy', 'annealing'], says: /--strategy.*annealing/ },
    { args: ['--budget', '1', '--space', 'missing.yaml'], says: /missing\.yaml: search-space file not found/ },
    { args: ['--budget', '1', '--space', 'space-malformed.yaml'], says: /space-malformed\.yaml:\d+: malformed YAML/ },
    { args: ['--budget', '1', '--space', 'space-bad-field.yaml'], says: /space-bad-field\.yaml:\d+ \(models\[0\]\.maxCopies\)/ },
    { args: ['--budget', '1', '--space', 'space-no-judge.yaml'], says: /space-no-judge\.yaml \(judge\): no judge/ },
    { args: ['--budget', '1', '--space', 'space-judge-aggregates.yaml'], says: /space-judge-aggregates\.yaml \(search\.aggregators\[0\]\): "gpt-4o-mini-2024-07-18" cannot be an aggregator/ },
    { args: ['--budget', '1', '--space', 'space-judge-without-role.yaml'], says: /space-judge-without-role\.yaml \(judge\.model\): ".*" cannot be the judge/ },
    { args: ['--budget', '1', '--validation', 'val-empty.jsonl'], says: /val-empty\.jsonl: validation set is empty/ },
    { args: ['--budget', '1', '--prompts', '500'], says: /--prompts.*only 100/ },
    { args: ['--budget', '1', '--db', 'notadb.sqlite'], says: /notadb\.sqlite \(--db\): cannot be opened as a moa-search database/ },
    { args: ['--budget', '1', '--db', 'adir'], says: /adir \(--db\): is a directory/ },
    { args: ['--budget', '1', '--db', 'afile/moa.sqlite'], says: /afile\/moa\.sqlite \(--db\): .*afile is a file, not a directory/ },
    { args: ['--budget', '1', '--db', '/proc/nope/moa.sqlite'], says: /\/proc\/nope\/moa\.sqlite \(--db\): cannot create \/proc\/nope/ },
    { args: ['--budget', '1', '--out', 'afile'], says: /afile \(--out\): is a file/ },
    { args: ['--budget', '1', '--out', 'elsewhere', '--no-report'], says: /--out: .*--no-report/ },
    // The report goes to <folder of --db>/<study>/ by default: here that is a file.
    { args: ['--budget', '1', '--db', 'fresh.sqlite', '--study', 'afile'], says: /afile \(--out\): the default report folder \(beside --db, or runs\/ for a database URL\): is a file.*give --out <dir> or --no-report/ },
    { args: ['--budget', '1', '--db', 'study.sqlite', '--study', 'done'], says: /--study.*"done" exists already/ },
    { args: ['--resume', '--study', 'other', '--db', 'study.sqlite'], says: /--study.*no study named "other"/ },
    { args: ['--resume', '--study', 'done', '--db', 'study.sqlite', '--strategy', 'random'], says: /--strategy.*"random" contradicts study "done", which has "bfgs"/ },
    { args: ['--resume', '--study', 'done', '--db', 'study.sqlite', '--seed', '7'], says: /--seed.*"7" contradicts study "done", which has "0"/ },
    { args: ['--resume', '--study', 'done', '--db', 'study.sqlite', '--validation', 'val-dup.jsonl'], says: /--validation.*contradicts study "done"/ },
    { args: ['--budget', '1', '--bogus'], says: /unknown option '--bogus'/ },
    { args: ['--budget', '1', '--max-cost', '0'], says: /--max-cost.*greater than 0/ },
    { args: ['--budget', '1', '--max-cost', '-2'], says: /--max-cost.*greater than 0/ },
    { args: ['--budget', '1', '--max-cost', 'cheap'], says: /--max-cost.*not a number/ },
    { args: ['--budget', '1', '--max-cost', '0.01'], says: /--max-cost: 0\.01 USD per 1k queries is below every model's cost/ },
    { args: ['--budget', '1', '--max-latency', '0'], says: /--max-latency.*greater than 0/ },
    { args: ['--budget', '1', '--max-latency', '0.5'], says: /--max-latency: 0\.5 TFLOPs per query is below every model's latency proxy/ },
    { args: ['--budget', '1', '--objective', 'speed'], says: /--objective.*speed/ },
    { args: ['--budget', '1', '--space', 'space-cap-too-low.yaml'], says: /space-cap-too-low\.yaml \(search\.maxCost\): 0\.01 USD per 1k queries is below every model's cost/ },
    { args: ['--budget', '1', '--space', 'space-cap-zero.yaml'], says: /space-cap-zero\.yaml:\d+ \(search\.maxCost\)/ },
    { args: ['--resume', '--study', 'done', '--db', 'study.sqlite', '--max-cost', '3'], says: /--max-cost.*"3" contradicts study "done", which has "none"/ },
  ],
  ask: [
    { args: ['ask', '--mixture', 'mix-malformed.json', 'hi'], says: /mix-malformed\.json:\d+: malformed YAML\/JSON/ },
    { args: ['ask', '--mixture', 'mix-unknown.json', 'hi'], says: /mix-unknown\.json:3 \(aggregator\): unknown model "no\/such-model"/ },
    { args: ['ask', '--mixture', 'mix-copies.json', 'hi'], says: /mix-copies\.json:\d+ \(layers\[0\]\..*\): 9 copies .* exceed its maxCopies/ },
    { args: ['ask', '--mixture', 'mix-baseline-proposes.json', 'hi'], says: /mix-baseline-proposes\.json:\d+ \(layers\[0\]\.gpt-4-turbo-2024-04-09\): .* cannot be a proposer: its roles .* are \[baseline\]/ },
    { args: ['ask', '--mixture', inline({ layers: 1, aggregator: JUDGE_ONLY }), 'hi'], says: /--mixture:1 \(aggregator\): "gpt-4o-mini-2024-07-18" cannot be a model answering alone/ },
    { args: ['ask', '--mixture', MOA_LITE, '   '], says: /prompt: the prompt is empty/ },
    { args: ['ask', '--space', 'space-keyed.yaml', '--mixture', inline({ layers: 1, aggregator: 'A' }), 'hi'], says: /space-keyed\.yaml \(providers\.paid\.apiKeyEnv\): .*MOA_TEST_UNSET_KEY is not set/ },
    { args: ['ask', '--mixture', MOA_LITE, '-'], stdin: 'Summarize this. '.repeat(200_000), says: /prompt \(stdin\): the prompt .* cannot fit the context window of .* \(32768 tokens/ },
  ],
  eval: [
    { args: ['eval'], says: /--mixture: give exactly one of --mixture/ },
    { args: ['eval', '--baseline', JUDGE_ONLY], says: /--baseline: "gpt-4o-mini-2024-07-18" cannot be a model answering alone: its roles .* are \[judge\]/ },
    { args: ['eval', '--space', 'space-self-judge.yaml', '--baseline', 'gpt-4-1106-preview'], says: /--baseline: "gpt-4-1106-preview" is also the judge/ },
    { args: ['eval', '--space', 'space-self-judge.yaml', '--mixture', inline({ layers: 2, proposers: { [Q110]: 1 }, aggregator: 'gpt-4-1106-preview' })], says: /--mixture \(aggregator\): "gpt-4-1106-preview" is also the judge/ },
    { args: ['eval', '--baseline', Q110, '--validation', 'val-dup.jsonl'], says: /val-dup\.jsonl:2 \(id\): duplicate id/ },
    { args: ['eval', '--baseline', Q110, '--db', 'afile/x.sqlite'], says: /\(--db\): .*afile is a file/ },
  ],
  serve: [
    { args: ['serve'], says: /--mixture: give at least one mixture to serve/ },
    { args: ['serve', '--mixture', MOA_LITE, '--port', '{port}'], says: /--port: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\)/ },
    { args: ['serve', '--mixture', MOA_LITE, '--api-key-env', 'MOA_TEST_UNSET_KEY'], says: /--api-key-env: environment variable MOA_TEST_UNSET_KEY is not set/ },
  ],
  validation: [
    { args: ['validation', 'build'], says: /--alpaca-eval: nothing to build from/ },
    { args: ['validation', 'build', '--prompts', 'prompts.jsonl', '--baseline-model', Q110, '--out', 'adir'], says: /adir \(--out\): is a directory/ },
    { args: ['validation', 'build', '--prompts', 'prompts.jsonl', '--baseline-model', JUDGE_ONLY, '--out', 'set.jsonl'], says: /--baseline-model: "gpt-4o-mini-2024-07-18" cannot be a model answering alone/ },
    { args: ['validation', 'build', '--prompts', 'val-bad.jsonl', '--baseline-model', Q110, '--out', 'set.jsonl'], says: /val-bad\.jsonl:1/ },
    { args: ['validation', 'build', '--manifest', 'missing.manifest.json', '--alpaca-eval', 'outputs.json'], says: /missing\.manifest\.json: manifest not found/ },
    { args: ['validation', 'check', 'val-bad.jsonl'], says: /val-bad\.jsonl:2 \(reference\)/ },
  ],
  'report and pareto': [
    { args: ['report', 'done', '--db', 'study.sqlite', '--out', 'afile'], says: /afile \(--out\): is a file/ },
    { args: ['report', 'other', '--db', 'study.sqlite'], says: /unknown study "other" in .*study\.sqlite \(known: done\)/ },
    { args: ['pareto', 'done', '--db', 'notadb.sqlite'], says: /notadb\.sqlite \(--db\): cannot be opened/ },
    { args: ['pareto', 'done', '--db', 'study.sqlite', '--max-cost', '-1'], says: /--max-cost.*greater than 0/ },
  ],
  sim: [
    { args: ['sim', 'truth', '--mixture', 'mix-unknown.json'], says: /mix-unknown\.json:3 \(aggregator\): unknown model/ },
    { args: ['sim', 'truth', '--mixture', MOA_LITE, '--judge', 'databricks/dbrx-instruct'], says: /--judge: ".*" cannot be the judge/ },
  ],
  cache: [
    { args: ['cache', 'clear'], says: /--yes: cache clear deletes data/ },
    { args: ['cache', 'stats', '--db', 'notadb.sqlite'], says: /notadb\.sqlite \(--db\)/ },
  ],
  catalogs: [
    { args: ['models', 'import', 'cat-malformed.json', '--space', 'space.yaml'], says: /cat-malformed\.json:\d+: malformed JSON/ },
    { args: ['models', 'import', 'cat-no-pricing.json', '--space', 'space.yaml', '--model', 'new/model'], says: /cat-no-pricing\.json:\d+: model "new\/model": missing pricing/ },
    { args: ['models', 'import', 'cat-negative.json', '--space', 'space.yaml', '--model', 'new/model'], says: /cat-negative\.json:\d+: model "new\/model": pricing\.prompt is negative/ },
    { args: ['models', 'import', 'cat-nan.json', '--space', 'space.yaml', '--model', 'new/model'], says: /cat-nan\.json:\d+: model "new\/model": pricing\.prompt/ },
    { args: ['models', 'import', 'cat-dup.json', '--space', 'space.yaml', '--model', 'new/model'], says: /cat-dup\.json:\d+: duplicate model id "new\/model"/ },
    { args: ['models', 'import', 'cat-no-pricing.json', '--space', 'missing.yaml'], says: /missing\.yaml: search-space file not found/ },
    { args: ['models', 'import', 'missing.json', '--space', 'space.yaml'], says: /missing\.json/ },
  ],
  'the CLI itself': [{ args: ['evl'], says: /unknown command 'evl'/ }],
};

let kit: string;
let busy: Server;
let busyPort = 0;

beforeAll(async () => {
  kit = tempDir('moa-bad-inputs-kit-');
  writeKit(kit);
  // A small finished study for the resume, report and pareto cases.
  const r = await runCli(['--budget', '0.05', '--prompts', '2', '--max-evals', '1', '--study', 'done', '--db', 'study.sqlite', '--no-report', '--json'], { cwd: kit });
  expect(r.code, r.stderr).toBe(0);
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => busy.close(() => resolve()));
  removeTempDirs();
});

const rows = Object.entries(CASES).flatMap(([command, cases]) => cases.map((c) => ({ command, ...c })));

describe('bad input: exit 2, one line naming the culprit, nothing written', () => {
  it('covers at least 40 cases, across every command', () => {
    expect(rows.length).toBeGreaterThanOrEqual(40);
    for (const [command, cases] of Object.entries(CASES)) expect(cases.length, command).toBeGreaterThan(0);
  });

  describe.concurrent.each(Object.keys(CASES).filter((c) => CASES[c]!.length))('%s', (command) => {
    it.each(CASES[command]!.map((c) => [c.args.join(' ').slice(0, 100), c] as const))('%s', async (_, c) => {
      const dir = copyKit(kit, tempDir('moa-bad-input-'));
      const before = snapshot(dir);
      const args = c.args.map((a) => a.replace('{port}', String(busyPort)));
      const r = await runCli(args, { cwd: dir, input: c.stdin, env: { MOA_SEARCH_DB: undefined, MOA_TEST_UNSET_KEY: undefined }, timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(2);
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^moa-search: /);
      expect(lines[0]).toMatch(c.says);
      expect(r.stdout).toBe('');
      expect(snapshot(dir)).toEqual(before);
    });
  });
});
