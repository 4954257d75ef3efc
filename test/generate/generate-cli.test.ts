// Issue 12's "Done when" for `generate sft` and `generate dpo`, through the real CLI: offline runs on the
// simulated world read back with a schema, a second run makes no call, kill -9 then the same command
// completes the file with no paid call repeated, and bad input exits 2 with one line and nothing spent.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { loadValidationSet } from '../../src/eval/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { overHttp, useSimOverHttp } from '../helpers/sim-http.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { linesOf, removeTempDirs, runCliIn, tempDir } from '../acceptance/_fixtures.js';

const MIXTURE = '{"layers": 2, "proposers": {"Qwen/Qwen1.5-72B-Chat": 1, "microsoft/WizardLM-2-8x22B": 2}, "aggregator": "Qwen/Qwen1.5-110B-Chat"}';
const JUDGES = '{"layers": 2, "proposers": {"Qwen/Qwen1.5-110B-Chat": 1, "microsoft/WizardLM-2-8x22B": 1}, "aggregator": "Qwen/Qwen1.5-72B-Chat"}';
const POLICY = 'meta-llama/Llama-3-8b-chat-hf';

const Message = z.object({ role: z.enum(['system', 'user', 'assistant']), content: z.string().min(1) }).strict();
const SftLine = z.object({ messages: z.array(Message).min(2) }).strict();
const DpoLine = z.object({ prompt: z.string().min(1), chosen: z.string().min(1), rejected: z.string().min(1), score_chosen: z.number().min(0).max(1), score_rejected: z.number().min(0).max(1) }).strict();
const Manifest = z.object({
  kind: z.enum(['sft', 'dpo']),
  complete: z.boolean(),
  output: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), lines: z.number().int() }),
  space: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  prompts: z.object({ file: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/), used: z.number().int() }).passthrough(),
  counts: z.object({ prompts: z.number().int(), written: z.number().int(), dropped: z.record(z.string(), z.number()), remaining: z.number().int(), failedThisRun: z.number().int() }),
  dollars: z.object({ dataset: z.number().positive(), paid: z.number().nonnegative(), thisRun: z.number().nonnegative() }).passthrough(),
  tokens: z.object({ prompt: z.number().int().positive(), completion: z.number().int().positive() }).passthrough(),
  calls: z.object({ total: z.number().int(), cached: z.number().int(), madeThisRun: z.number().int(), cachedThisRun: z.number().int() }),
}).passthrough();

let dir: string;
let prompts: string;
beforeAll(() => {
  dir = tempDir('moa-generate-');
  prompts = join(dir, 'prompts.jsonl');
  const items = loadValidationSet(SIM_VALIDATION_FILE);
  // AlpacaEval-style and Arena-style prompts, and one conversation with a system message.
  const lines = [...items.slice(0, 3), ...items.slice(50, 53)].map((it) => JSON.stringify({ prompt: it.prompt }));
  lines.push(JSON.stringify({ messages: [{ role: 'system', content: 'Answer briefly.' }, { role: 'user', content: items[5]!.prompt }], id: 'with-system' }));
  writeFileSync(prompts, lines.join('\n') + '\n');
});
afterAll(removeTempDirs);

const noDuplicates = (lines: string[]) => expect(new Set(lines).size).toBe(lines.length);

describe('generate sft and dpo on the simulated world', () => {
  it('sft: chat-format lines in prompt order and a manifest; a second run makes 0 calls and writes the same bytes', async () => {
    const out = join(dir, 'sft', 'out.jsonl');
    const db = join(dir, 'sft.sqlite');
    const args = ['generate', 'sft', '--mixture', MIXTURE, '--prompts', prompts, '--out', out, '--db', db, '--json'];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/generate sft: 7\/7 prompts/);
    const lines = linesOf(readFileSync(out, 'utf8'));
    expect(lines).toHaveLength(7);
    const rows = lines.map((l) => SftLine.parse(JSON.parse(l)));
    expect(rows[0]!.messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(rows[6]!.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant']);
    expect(rows.map((r) => r.messages.at(-2)!.content)).toEqual(linesOf(readFileSync(prompts, 'utf8')).map((l) => JSON.parse(l).prompt ?? JSON.parse(l).messages[1].content));
    const m = Manifest.parse(JSON.parse(first.stdout).manifest);
    expect(m).toMatchObject({ kind: 'sft', complete: true, output: { lines: 7 }, counts: { prompts: 7, written: 7, remaining: 0 } });
    expect(m.calls.madeThisRun).toBe(7 * 4);
    expect(m.dollars.paid).toBeCloseTo(m.dollars.dataset, 9);
    expect(Manifest.parse(JSON.parse(readFileSync(`${out}.manifest.json`, 'utf8')))).toEqual(m);
    expect(existsSync(`${out}.partial`)).toBe(false);

    const second = await runCli(args);
    expect(second.code, second.stderr).toBe(0);
    const m2 = Manifest.parse(JSON.parse(second.stdout).manifest);
    expect(m2.calls).toMatchObject({ madeThisRun: 0, cachedThisRun: 7 * 4 });
    expect(m2.dollars).toMatchObject({ dataset: m.dollars.dataset, paid: 0, thisRun: 0 });
    expect(m2.output.sha256).toBe(m.output.sha256);
  });

  it('dpo: k samples from the policy ranked by a mixture of judges; pairs with their scores; the margin filter applies without new calls', async () => {
    const out = join(dir, 'dpo.jsonl');
    const db = join(dir, 'dpo.sqlite');
    const promptOnly = join(dir, 'plain.jsonl');
    writeFileSync(promptOnly, linesOf(readFileSync(prompts, 'utf8')).slice(0, 6).join('\n') + '\n');
    const args = ['generate', 'dpo', '--policy', POLICY, '--samples', '4', '--judge-mixture', JUDGES, '--prompts', promptOnly, '--out', out, '--db', db, '--json'];
    const first = await runCli(args);
    expect(first.code, first.stderr).toBe(0);
    const m = Manifest.parse(JSON.parse(first.stdout).manifest);
    // 4 samples + 6 pairs × 2 games (Arena-Hard protocol) × 3 calls of the judging mixture, per prompt.
    expect(m.calls.madeThisRun).toBe(6 * (4 + 6 * 2 * 3));
    expect(m).toMatchObject({ kind: 'dpo', complete: true, format: 'text', policy: { model: POLICY, samples: 4 }, rewardModel: { mixture: { aggregator: 'Qwen/Qwen1.5-72B-Chat' } } });
    expect(Object.keys(m.dollars.byAccount as object).sort()).toEqual(['judge', 'policy']);
    const rows = linesOf(readFileSync(out, 'utf8')).map((l) => DpoLine.parse(JSON.parse(l)));
    expect(rows.length + (m.counts.dropped.margin ?? 0)).toBe(6);
    for (const r of rows) {
      expect(r.score_chosen).toBeGreaterThan(r.score_rejected);
      expect(r.chosen).not.toBe(r.rejected);
    }

    const strict = await runCli([...args.slice(0, -1), '--min-margin', '0.99', '--json']);
    expect(strict.code, strict.stderr).toBe(0);
    const ms = Manifest.parse(JSON.parse(strict.stdout).manifest);
    expect(ms.calls.madeThisRun).toBe(0);
    const kept = rows.filter((r) => r.score_chosen - r.score_rejected >= 0.99).length;
    expect(ms.counts).toMatchObject({ written: kept, dropped: { margin: 6 - kept } });
  });

  it('dpo without --judge-mixture ranks with the space\'s judge; conversations give conversational pairs', async () => {
    const out = join(dir, 'dpo-chat.jsonl');
    const r = await runCli(['generate', 'dpo', '--policy', POLICY, '--samples', '3', '--prompts', prompts, '--limit', '7', '--out', out, '--db', join(dir, 'dpo2.sqlite'), '--json', '--criteria']);
    expect(r.code, r.stderr).toBe(0);
    const m = JSON.parse(r.stdout).manifest;
    expect(m).toMatchObject({ format: 'chat', rewardModel: { model: 'gpt-4o-mini-2024-07-18', criteria: true } });
    const row = JSON.parse(linesOf(readFileSync(out, 'utf8')).at(-1)!);
    expect(row.prompt.map((x: { role: string }) => x.role)).toEqual(['system', 'user']);
    expect(row.chosen).toEqual([{ role: 'assistant', content: expect.any(String) }]);
  });
});

describe('budgets and failures', () => {
  it('--budget stops the run with what is done (complete: false, exit 0); the same command continues to the end', async () => {
    const out = join(dir, 'budget', 'out.jsonl');
    const args = ['generate', 'sft', '--mixture', MIXTURE, '--prompts', prompts, '--out', out, '--db', join(dir, 'budget.sqlite'), '--concurrency', '1', '--json'];
    const first = await runCli([...args, '--budget', '0.02']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/budget reached: \d+ of 7 prompts not done yet/);
    const m = Manifest.parse(JSON.parse(first.stdout).manifest);
    expect(m.complete).toBe(false);
    expect(m.counts.remaining).toBeGreaterThan(0);
    expect(m.counts.written).toBeGreaterThan(0);
    expect(m.dollars.thisRun).toBeLessThanOrEqual(0.02);
    expect(linesOf(readFileSync(out, 'utf8'))).toHaveLength(m.counts.written);
    expect(existsSync(`${out}.partial`)).toBe(true);
    const second = await runCli([...args, '--budget', '1']);
    expect(second.code, second.stderr).toBe(0);
    const m2 = Manifest.parse(JSON.parse(second.stdout).manifest);
    expect(m2).toMatchObject({ complete: true, counts: { written: 7, remaining: 0 } });
    // The prompt cut by the budget had calls paid by the first run; the second found them in the cache.
    expect(m2.dollars.paid).toBeLessThan(m2.dollars.dataset);
    expect(m2.dollars.paid).toBeGreaterThan(m2.dollars.dataset - 0.02);
    noDuplicates(linesOf(readFileSync(out, 'utf8')));
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('a prompt whose calls fail is left out and counted (exit 1); the same command retries only it', async () => {
    let failing = true;
    const server = await startOpenAIServer({
      handler: (body) => (failing && JSON.stringify(body.messages).includes('FAIL-ME') ? { status: 400, body: { error: { message: 'bad request' } } } : {}),
    });
    try {
      const space = join(dir, 'fail-space.yaml');
      writeFileSync(space, `providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n  - { id: A, provider: local, price: { input: 1, output: 2 } }\n  - { id: G, provider: local, price: { input: 1, output: 2 } }\n`);
      const file = join(dir, 'fail.jsonl');
      writeFileSync(file, ['ok one', 'FAIL-ME please', 'ok two'].map((p) => JSON.stringify({ prompt: p })).join('\n') + '\n');
      const out = join(dir, 'fail-out.jsonl');
      const args = ['generate', 'sft', '--space', space, '--mixture', '{"layers": 2, "proposers": {"A": 1}, "aggregator": "G"}', '--prompts', file, '--out', out, '--db', join(dir, 'fail.sqlite')];
      const first = await runCli(args);
      expect(first.code).toBe(1);
      expect(first.stderr).toMatch(/error: 1 prompts failed after retries \(first: prompt p-[0-9a-f]+ \(line 2\): .*\); the output holds the rest/);
      expect(linesOf(readFileSync(out, 'utf8'))).toHaveLength(2);
      failing = false;
      server.reset();
      const second = await runCli(args);
      expect(second.code, second.stderr).toBe(0);
      expect(server.count()).toBe(2); // only the failed prompt's proposer and aggregator
      expect(linesOf(readFileSync(out, 'utf8')).map((l) => JSON.parse(l).messages[0].content)).toEqual(['ok one', 'FAIL-ME please', 'ok two']);
    } finally {
      await server.close();
    }
  });
});

describe('kill -9, then the same command', () => {
  const simServer = useSimOverHttp();

  for (const kind of ['sft', 'dpo'] as const) {
    it(`${kind}: no paid call repeated, the output complete, in order, without duplicate lines`, { timeout: 180_000 }, async () => {
      const sim = simServer();
      const space = join(dir, `http-${kind}.yaml`);
      writeFileSync(space, overHttp(readFileSync(join(ROOT, 'search-spaces/sim.yaml'), 'utf8'), sim.server.url));
      const what = kind === 'sft' ? ['--mixture', MIXTURE] : ['--policy', POLICY, '--samples', '3', '--judge-mixture', JUDGES];
      const args = (name: string) => ['generate', kind, ...what, '--space', space, '--prompts', prompts, '--out', join(dir, `${kind}-${name}`, 'out.jsonl'), '--db', join(dir, `${kind}-${name}.sqlite`), '--concurrency', '2'];

      sim.reset();
      const ref = await runCli(args('ref'));
      expect(ref.code, ref.stderr).toBe(0);
      const refCalls = new Set(sim.completed.keys());
      const refOut = readFileSync(join(dir, `${kind}-ref`, 'out.jsonl'), 'utf8');

      // Freeze the server at about half the calls (so no answer is half-received), then SIGKILL the client.
      sim.reset();
      const child = spawnCli(args('killed'));
      const exit = new Promise<NodeJS.Signals | null>((r) => child.on('close', (_c, s) => r(s)));
      await new Promise<void>((resolve) => sim.freezeAt(Math.floor(refCalls.size / 2), () => setTimeout(() => (child.kill('SIGKILL'), resolve()), 300)));
      expect(await exit).toBe('SIGKILL');
      sim.unfreeze();
      const firstSession = new Map(sim.completed);
      const out = join(dir, `${kind}-killed`, 'out.jsonl');
      expect(existsSync(out)).toBe(false);
      const journal = linesOf(readFileSync(`${out}.partial`, 'utf8'));
      expect(journal.length).toBeGreaterThan(1); // the header and at least one finished prompt
      expect(journal.length).toBeLessThan(1 + 7);

      sim.reset();
      const again = await runCli(args('killed'));
      expect(again.code, again.stderr).toBe(0);
      expect(again.stderr).toMatch(/resuming: \d+ prompts already done/);
      const repeated = [...sim.completed.keys()].filter((k) => firstSession.has(k));
      expect(repeated).toEqual([]);
      expect(new Set([...firstSession.keys(), ...sim.completed.keys()])).toEqual(refCalls);
      const text = readFileSync(out, 'utf8');
      expect(text).toBe(refOut);
      noDuplicates(linesOf(text));
      expect(linesOf(text)).toHaveLength(7);
      expect(existsSync(`${out}.partial`)).toBe(false);
    });
  }
});

describe('bad input: exit 2, one line naming the file or flag, nothing written or spent', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['a prompt file with a bad line', ['sft', '--mixture', MIXTURE, '--prompts', 'bad.jsonl'], /bad\.jsonl:2: malformed JSON/],
    ['a policy model without the policy role', ['dpo', '--policy', 'Qwen/Qwen1.5-110B-Chat', '--prompts', 'ok.jsonl'], /--policy: model "Qwen\/Qwen1\.5-110B-Chat" does not have the policy role/],
    ['a judge mixture whose models are not judges', ['dpo', '--policy', POLICY, '--judge-mixture', '{"layers": 2, "proposers": {"databricks/dbrx-instruct": 2}, "aggregator": "Qwen/Qwen1.5-72B-Chat"}', '--prompts', 'ok.jsonl'], /--judge-mixture: model "databricks\/dbrx-instruct" does not have the judge role/],
    ['--out under a file', ['sft', '--mixture', MIXTURE, '--prompts', 'ok.jsonl', '--out', 'ok.jsonl/out.jsonl'], /--out: cannot write .*ok\.jsonl is not a directory/],
    ['--batch when the reward model\'s provider has no Batch API', ['dpo', '--batch', '--space', 'two.yaml', '--policy', 'Pol', '--prompts', 'ok.jsonl'], /two\.yaml \(providers\.plain\.batch\): --batch: provider "plain" \(used by J\) has no Batch API/],
  ];
  // One subprocess per case, all at once (each is mostly start-up time).
  it('every case of the table', async () => {
    await Promise.all(cases.map(([name, args, re]) => badInput(name, args, re)));
  });

  async function badInput(name: string, args: string[], re: RegExp): Promise<void> {
    const cwd = tempDir('moa-generate-bad-');
    writeFileSync(join(cwd, 'bad.jsonl'), '{"prompt": "a"}\n{"prompt": \n');
    writeFileSync(join(cwd, 'ok.jsonl'), '{"prompt": "Why is the sea salty?"}\n');
    writeFileSync(
      join(cwd, 'two.yaml'),
      'providers:\n  batched: { baseURL: "http://127.0.0.1:9/v1", keyless: true, batch: { discount: 0.5 } }\n  plain: { baseURL: "http://127.0.0.1:9/v1", keyless: true }\n' +
        'models:\n  - { id: Pol, provider: batched, price: { input: 1, output: 1 }, roles: [policy] }\n  - { id: J, provider: plain, price: { input: 1, output: 1 }, roles: [judge] }\njudge: { model: J }\n',
    );
    const { mkdirSync } = await import('node:fs');
    mkdirSync(join(cwd, 'folder'));
    const before = readdirSync(cwd).sort();
    const full = args.includes('--out') ? args : [...args, '--out', 'out.jsonl'];
    const r = await runCliIn(cwd, ['generate', ...full], { MOA_SEARCH_DB: undefined });
    expect(r.code, `${name}: ${r.stderr}`).toBe(2);
    expect(linesOf(r.stderr), name).toHaveLength(1);
    expect(r.stderr, name).toMatch(re);
    expect(readdirSync(cwd).sort(), name).toEqual(before);
  }

  it('an unfinished run with other settings at --out is refused before anything is opened', async () => {
    const cwd = tempDir('moa-generate-stale-');
    writeFileSync(join(cwd, 'ok.jsonl'), '{"prompt": "Why is the sea salty?"}\n');
    writeFileSync(join(cwd, 'out.jsonl.partial'), JSON.stringify({ journal: 'moa-search generate', version: 1, kind: 'dpo', config: {} }) + '\n');
    const r = await runCliIn(cwd, ['generate', 'sft', '--mixture', MIXTURE, '--prompts', 'ok.jsonl', '--out', 'out.jsonl'], { MOA_SEARCH_DB: undefined });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^moa-search: --out: .*out\.jsonl\.partial holds an unfinished run with `generate dpo`, not `generate sft`/);
    expect(readdirSync(cwd).sort()).toEqual(['ok.jsonl', 'out.jsonl.partial']);
  });
});
