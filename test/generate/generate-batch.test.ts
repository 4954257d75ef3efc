// Issue 13's "Done when" for `generate --batch`, through the real CLI: on the simulated world the same files as
// online runs at the discounted price (and an online rerun makes 0 calls); a kill -9 while a job is pending, then
// the same command: it re-attaches to that job, and the output is complete without duplicate lines.
// (A provider without `batch` → exit 2: a row of generate-cli.test.ts's bad-input table.)
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadValidationSet } from '../../src/eval/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startOpenAIServer, type FakeServer } from '../helpers/openai-server.js';
import { linesOf, removeTempDirs, tempDir } from '../acceptance/_fixtures.js';

afterAll(removeTempDirs);

const MIXTURE = '{"layers": 2, "proposers": {"Qwen/Qwen1.5-72B-Chat": 1, "microsoft/WizardLM-2-8x22B": 2}, "aggregator": "Qwen/Qwen1.5-110B-Chat"}';
const JUDGES = '{"layers": 2, "proposers": {"Qwen/Qwen1.5-110B-Chat": 1, "microsoft/WizardLM-2-8x22B": 1}, "aggregator": "Qwen/Qwen1.5-72B-Chat"}';
const POLICY = 'meta-llama/Llama-3-8b-chat-hf';
const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const until = async (ok: () => boolean, what: string) => {
  const deadline = Date.now() + 30_000;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
};

describe('generate --batch on the simulated world', () => {
  it('sft and dpo: the same files as online at half the price, layer by layer; an online rerun makes 0 calls', async () => {
    const dir = tempDir('moa-genbatch-');
    const prompts = join(dir, 'prompts.jsonl');
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    writeFileSync(prompts, [...items.slice(0, 3), ...items.slice(50, 53)].map((it) => JSON.stringify({ prompt: it.prompt })).join('\n') + '\n');
    const sft = (name: string, ...more: string[]) => ['generate', 'sft', '--mixture', MIXTURE, '--prompts', prompts, '--out', join(dir, `sft-${name}.jsonl`), '--db', join(dir, `sft-${name}.sqlite`), '--json', ...more];
    const dpo = (name: string, ...more: string[]) =>
      ['generate', 'dpo', '--policy', POLICY, '--samples', '3', '--judge-mixture', JUDGES, '--prompts', prompts, '--limit', '4', '--out', join(dir, `dpo-${name}.jsonl`), '--db', join(dir, `dpo-${name}.sqlite`), '--json', ...more];
    const runs = await Promise.all([runCli(sft('batch', '--batch')), runCli(sft('online')), runCli(dpo('batch', '--batch')), runCli(dpo('online'))]);
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const [sb, so, db, dOn] = runs.map((r) => json(r.stdout));

    for (const [b, o, calls] of [[sb, so, 6 * 4], [db, dOn, 4 * (3 + 3 * 2 * 3)]] as const) {
      expect(readFileSync(b.out, 'utf8')).toBe(readFileSync(o.out, 'utf8'));
      expect(b.manifest.output.sha256).toBe(o.manifest.output.sha256);
      expect(b.manifest.calls).toEqual(o.manifest.calls);
      expect(b.manifest.calls.madeThisRun).toBe(calls);
      // The file is worth the same at list prices; it was paid half.
      expect(b.manifest.dollars.dataset).toBe(o.manifest.dollars.dataset);
      expect(b.manifest.dollars.paid).toBeCloseTo(o.manifest.dollars.paid / 2, 5);
      expect(b.manifest.dollars.thisRun).toBeCloseTo(o.manifest.dollars.thisRun / 2, 5);
      expect(b.batch).toEqual(b.manifest.batch);
      expect(b.batch).toMatchObject({ requestsSubmitted: calls, results: calls, jobsAttached: 0, fallback: 0, malformedLines: 0 });
      expect(o.batch).toBeUndefined();
    }
    // Layer by layer, and said so: all prompts' proposers, then the aggregations; for dpo the policy samples, then the reward model's layers.
    expect(runs[0]!.stderr).toMatch(/batch stage 1: 18 requests \(layer 1 proposer ×18\) in 2 jobs\n[^]*batch stage 2: 6 requests \(layer 2 aggregator ×6\) in 1 job\n/);
    // (4 prompts × 3 pairs × 2 games: 24 judgments by the judging mixture, both games of a pair in the same stage.)
    expect(runs[2]!.stderr).toMatch(/batch stage 1: 12 requests \(policy sample ×12\) in 1 job\n[^]*batch stage 2: 48 requests \(judge: layer 1 proposer ×48\) in 2 jobs\n[^]*batch stage 3: 24 requests \(judge: layer 2 aggregator ×24\) in 1 job\n/);
    expect(runs[2]!.stderr).not.toMatch(/batch stage 4/);

    const rerun = await runCli(sft('batch'));
    expect(rerun.code, rerun.stderr).toBe(0);
    const again = json(rerun.stdout).manifest;
    expect(again.calls).toMatchObject({ madeThisRun: 0, cachedThisRun: 6 * 4 });
    expect(again.dollars).toMatchObject({ dataset: sb.manifest.dollars.dataset, paid: 0, thisRun: 0 });
    expect(again.output.sha256).toBe(sb.manifest.output.sha256);
  });
});

describe('generate --batch, kill -9 while a job is pending', () => {
  it('the same command re-attaches to the same job id; the output is complete, in order, without duplicate lines', async () => {
    const dir = tempDir('moa-genbatch-');
    let server: FakeServer | undefined;
    let held = false;
    // Stage 1's job finishes; from then on jobs stay pending (stage 2, the aggregations) until the test lets go.
    server = await startOpenAIServer({
      batch: {
        finish: () => {
          if (!held) server!.batch.hold = held = true;
        },
      },
    });
    try {
      writeFileSync(
        join(dir, 'space.yaml'),
        [
          'providers:',
          `  loop: { baseURL: "${server.url}", keyless: true, maxRetries: 0, batch: { discount: 0.5, pollSeconds: 0.05 } }`,
          'models:',
          '  - { id: P, provider: loop, price: { input: 1, output: 2 }, roles: [proposer], maxCopies: 2 }',
          '  - { id: A, provider: loop, price: { input: 1, output: 2 }, roles: [aggregator] }',
          '',
        ].join('\n'),
      );
      const prompts = ['Why is the sea salty?', 'Name three prime numbers.', 'What is a monad?'];
      writeFileSync(join(dir, 'prompts.jsonl'), prompts.map((prompt) => JSON.stringify({ prompt })).join('\n') + '\n');
      const out = join(dir, 'out.jsonl');
      const args = ['generate', 'sft', '--batch', '--space', join(dir, 'space.yaml'), '--mixture', '{"layers": 2, "proposers": {"P": 2}, "aggregator": "A"}', '--prompts', join(dir, 'prompts.jsonl'), '--out', out, '--db', join(dir, 'db.sqlite'), '--json'];

      const child = spawnCli(args);
      let stderr = '';
      let gone = false;
      child.stderr.on('data', (d) => (stderr += d));
      const exited = new Promise((r) => child.on('close', r)).then(() => (gone = true));
      await until(() => server!.batch.counts.created >= 2 || gone, 'the second stage\'s job');
      expect(gone, stderr).toBe(false);
      const polls = server.batch.counts.retrieves;
      await until(() => server!.batch.counts.retrieves > polls, 'a poll of the pending job');
      const pending = server.batch.jobIds()[1]!;
      child.kill('SIGKILL');
      await exited;
      expect(existsSync(out)).toBe(false);
      expect(existsSync(`${out}.partial`)).toBe(false); // the journal starts with the first finished prompt: none yet

      const before = server.batch.counts.retrieves;
      const rerun = runCli(args);
      await until(() => server!.batch.counts.retrieves > before, 'the rerun to poll');
      server.batch.hold = false;
      const r = await rerun;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`job ${pending} re-attached`);
      expect(json(r.stdout).batch).toMatchObject({ jobsAttached: 1, jobsSubmitted: 0, fallback: 0 });
      const lines = linesOf(readFileSync(out, 'utf8'));
      expect(lines.map((l) => JSON.parse(l).messages[0].content)).toEqual(prompts);
      expect(new Set(lines).size).toBe(3);
      expect(existsSync(`${out}.partial`)).toBe(false);
      // Two jobs in all (proposers, aggregations), no request in both; nothing answered online.
      const jobs = server.batch.jobIds();
      expect(jobs).toHaveLength(2);
      const keys = jobs.flatMap((id) => server!.batch.jobInput(id).map((l) => l.customId));
      expect(keys).toHaveLength(6 + 3);
      expect(new Set(keys).size).toBe(keys.length);
      expect(server.count()).toBe(0);
    } finally {
      server.batch.hold = false;
      await server.close();
    }
  });
});
