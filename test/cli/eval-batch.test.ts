import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadValidationSet } from '../../src/eval/index.js';
import { SIM_VALIDATION_FILE } from '../../src/paths.js';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { removeTempDirs, runCliIn, tempDir } from '../acceptance/_fixtures.js';
import { freshPgUrl, PG_URL } from '../helpers/backends.js';

afterAll(removeTempDirs);

const json = (stdout: string) => JSON.parse(stdout.trim().split('\n').at(-1)!);
const MIXTURE = JSON.stringify({ layers: 2, proposers: { 'Qwen/Qwen1.5-72B-Chat': 1, 'meta-llama/Llama-3-70b-chat-hf': 1 }, aggregator: 'Qwen/Qwen1.5-110B-Chat' });

describe('eval --batch', () => {
  it('on the simulated world: the same scores as online at half the price, layer by layer; an online rerun makes 0 calls', async () => {
    const dir = tempDir('moa-evalbatch-');
    const items = loadValidationSet(SIM_VALIDATION_FILE);
    const subset = join(dir, 'sim12.jsonl');
    writeFileSync(subset, [...items.slice(0, 6), ...items.slice(50, 56)].map((i) => JSON.stringify(i)).join('\n') + '\n');
    const args = (db: string, ...more: string[]) => ['eval', '--mixture', MIXTURE, '--validation', subset, '--db', db.includes('://') ? db : join(dir, db), '--json', ...more];
    // With a PostgreSQL test cluster, the batch jobs and the cache also go there once.
    const pg = PG_URL ? freshPgUrl('evalbatch') : undefined;
    const [batched, online, onPg] = await Promise.all([
      runCli(args('batch.sqlite', '--batch')),
      runCli(args('online.sqlite')),
      ...(pg ? [runCli(args(pg, '--batch'))] : []),
    ]);
    expect(batched.code, batched.stderr).toBe(0);
    expect(online.code, online.stderr).toBe(0);
    const b = json(batched.stdout);
    const o = json(online.stdout);
    expect(b.score).toBe(o.score);
    expect(b.bySource).toEqual(o.bySource);
    expect(b.calls).toEqual(o.calls);
    expect(b.spent).toBeCloseTo(o.spent / 2, 10);
    expect(b.spentByAccount.judge).toBeCloseTo(o.spentByAccount.judge / 2, 10);
    expect(b.batch).toMatchObject({ requestsSubmitted: b.calls.made, results: b.calls.made, fallback: 0, malformedLines: 0, jobsAttached: 0 });
    if (onPg) {
      expect(onPg.code, onPg.stderr).toBe(0);
      const p = json(onPg.stdout);
      expect({ score: p.score, calls: p.calls, batch: p.batch }).toEqual({ score: b.score, calls: b.calls, batch: b.batch });
      expect(p.spent).toBeCloseTo(b.spent, 10);
    }
    // Layer by layer, and said so: 24 proposer calls, then 12 aggregations, then the judge (both Arena-Hard games at once).
    expect(batched.stderr).toMatch(/batch stage 1: 24 requests \(layer 1 proposer ×24\) in 2 jobs/);
    expect(batched.stderr).toMatch(/batch stage 2: 12 requests \(layer 2 aggregator ×12\) in 1 job\n/);
    expect(batched.stderr).toMatch(/batch stage 3: 18 requests \(judge ×18\) in 1 job\n/);
    expect(batched.stderr).not.toMatch(/batch stage 4/);

    const rerun = await runCli(args('batch.sqlite'));
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(json(rerun.stdout)).toMatchObject({ score: b.score, calls: { made: 0, cached: b.calls.made }, spent: 0 });
  });

  it('a provider without batch → exit 2 naming it, before anything is written', async () => {
    const dir = tempDir('moa-evalbatch-');
    writeFileSync(
      join(dir, 'space.yaml'),
      `providers:\n  nobatch: { baseURL: "http://127.0.0.1:9/v1", keyless: true }\nmodels:\n  - { id: M, provider: nobatch, price: { input: 1, output: 1 }, roles: [proposer, aggregator, baseline] }\n  - { id: J, provider: nobatch, price: { input: 1, output: 1 }, roles: [judge] }\njudge: { model: J }\n`,
    );
    writeFileSync(join(dir, 'v.jsonl'), JSON.stringify({ id: 'a', source: 'arena_hard', prompt: 'p', reference: 'r' }) + '\n');
    const r = await runCliIn(dir, ['eval', '--batch', '--space', 'space.yaml', '--validation', 'v.jsonl', '--baseline', 'M', '--db', 'out/db.sqlite']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/space\.yaml \(providers\.nobatch\.batch\): --batch: provider "nobatch" \(used by M\) has no Batch API/);
    expect(existsSync(join(dir, 'out'))).toBe(false);
    expect(readdirSync(dir).sort()).toEqual(['space.yaml', 'v.jsonl']);
  });

  it('killed (SIGKILL) while a job is pending, the rerun re-attaches to the same job id and finishes; no job is submitted twice', async () => {
    const dir = tempDir('moa-evalbatch-');
    // The judge (model J) always answers a tie, so both runs can score.
    const server = await startOpenAIServer({ handler: (body) => (body.model === 'J' ? { text: 'Close call. [[A=B]]' } : {}) });
    try {
      writeFileSync(
        join(dir, 'space.yaml'),
        [
          'providers:',
          `  loop: { baseURL: "${server.url}", keyless: true, maxRetries: 0, batch: { discount: 0.5, pollSeconds: 0.05 } }`,
          'models:',
          '  - { id: M, provider: loop, price: { input: 1, output: 2 }, roles: [proposer, aggregator, baseline] }',
          '  - { id: J, provider: loop, price: { input: 1, output: 1 }, roles: [judge] }',
          'judge: { model: J }',
          '',
        ].join('\n'),
      );
      writeFileSync(join(dir, 'v.jsonl'), [1, 2, 3].map((i) => JSON.stringify({ id: `q${i}`, source: 'arena_hard', prompt: `question ${i}`, reference: `answer ${i}` })).join('\n') + '\n');
      const args = ['eval', '--batch', '--space', join(dir, 'space.yaml'), '--validation', join(dir, 'v.jsonl'), '--baseline', 'M', '--db', join(dir, 'db.sqlite'), '--json'];

      server.batch.hold = true;
      const child = spawnCli(args);
      const exited = new Promise((r) => child.on('close', r));
      const deadline = Date.now() + 30_000;
      while (server.batch.counts.created < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(server.batch.counts.created).toBe(1);
      const [pendingJob] = server.batch.jobIds();
      child.kill('SIGKILL');
      await exited;

      const polls = server.batch.counts.retrieves;
      const rerun = runCli(args);
      while (server.batch.counts.retrieves === polls && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.batch.hold = false;
      const r = await rerun;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`job ${pendingJob} re-attached`);
      const out = json(r.stdout);
      expect(out).toMatchObject({ n: 3, failures: { generation: 0, judgeUnparsed: 0 }, batch: { jobsAttached: 1, jobsSubmitted: 1, fallback: 0 } });
      expect(out.score).toBe(50);
      // Two jobs in all (the answers, then the judge's two games), neither a second copy of the other.
      const jobs = server.batch.jobIds();
      expect(jobs).toHaveLength(2);
      const keys = jobs.flatMap((id) => server.batch.jobInput(id).map((l) => l.customId));
      expect(new Set(keys).size).toBe(keys.length);
      expect(server.count()).toBe(0);
    } finally {
      server.batch.hold = false;
      await server.close();
    }
  });
});
