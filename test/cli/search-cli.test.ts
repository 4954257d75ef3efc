import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCliUnreaped, ROOT } from '../helpers/cli.js';
import { overHttp, useSimOverHttp } from '../helpers/sim-http.js';
import { InputError, loadMixture, loadSpace } from '../../src/config/index.js';
import { searchCommand, type SearchFlags } from '../../src/cli/search-command.js';
import { withStudies } from '../helpers/studies.js';
import { freshPgUrl, PG_URL } from '../helpers/backends.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-search-cli-'));
const SIM_VALIDATION = join(ROOT, 'validation-sets/sim-100.jsonl');

/** A small validation set: the first and last prompts of sim-100 (both sources). */
function tinyValidation(n: number): string {
  const lines = readFileSync(SIM_VALIDATION, 'utf8').trim().split('\n');
  const file = join(dir, `val-${n}.jsonl`);
  writeFileSync(file, [...lines.slice(0, n / 2), ...lines.slice(-n / 2)].join('\n') + '\n');
  return file;
}

describe('moa-search --budget (CLI)', () => {
  it('searches the simulated world by default and prints JSON within the budget', async () => {
    const db = join(dir, 'e2e.sqlite');
    const out = join(dir, 'e2e-report');
    const r = await runCli(['--budget', '0.5', '--validation', tinyValidation(8), '--db', db, '--max-evals', '4', '--seed', '1', '--json', '--out', out]);
    expect(r.stderr).toMatch(/simulated world/);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['study', 'best', 'trials', 'spent', 'budget', 'stopped']));
    expect(j.study).toMatch(/^search-/);
    expect(['budget', 'max-evals', 'converged']).toContain(j.stopped);
    expect(j.spent).toBeGreaterThan(0);
    expect(j.spent).toBeLessThanOrEqual(0.5);
    expect(j.budget).toBe(0.5);
    expect(j.best.score).toBeGreaterThanOrEqual(j.best.ci[0]);
    expect(j.best.score).toBeLessThanOrEqual(j.best.ci[1]);
    // What the score stands on: this mixture's prompts and measurements, out of the validation set's prompts.
    expect(j.best.prompts).toBeGreaterThan(0);
    expect(j.best.prompts).toBeLessThanOrEqual(8);
    expect(j.best.measurements).toBeGreaterThanOrEqual(1);
    expect(j.best.validationPrompts).toBe(8);
    expect(j.measurements).toBeGreaterThanOrEqual(j.trials);
    expect(j.best.costPerQuery).toBeGreaterThan(0);
    // TFLOPs are unknown (never guessed) when the aggregator has no parameter count (the closed GPT-4o).
    if (j.best.mixture.aggregator === 'gpt-4o-2024-05-13') expect(j.best.tflopsPerQuery).toBeUndefined();
    else expect(j.best.tflopsPerQuery).toBeGreaterThan(0);
    // The best mixture is a valid mixture file for the sim space.
    const simSpace = loadSpace(join(ROOT, 'search-spaces/sim.yaml'));
    const m = loadMixture(JSON.stringify(j.best.mixture), simSpace);
    expect(simSpace.search.aggregators).toContain(m.aggregator);
    expect(j.report).toBe(join(out, 'report.html'));
    expect(existsSync(j.report)).toBe(true);
    // The study is in the database with its trials: references plus at most 4 search trials.
    await withStudies(db, async (store) => {
      const trials = await store.listTrials(j.study);
      expect(trials.length).toBe(j.trials);
      const observations = await store.listObservations(j.study);
      expect(observations.filter((o) => o.purpose !== 'reference').length).toBeLessThanOrEqual(4);
      expect(trials.some((t) => t.kind === 'reference' && t.mixture.layers === 1)).toBe(true);
      expect((await store.getStudy(j.study))!.spent).toBeCloseTo(j.spent, 9);
    });
  });

  it('--budget 1 on the default space prints the answer, its score with interval and what it stands on; the report says the same', async () => {
    const db = join(dir, 'budget1.sqlite');
    const out = join(dir, 'budget1-report');
    const r = await runCli(['--budget', '1', '--db', db, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const m = /^best: (.+)\n  score (\d+\.\d) \[(\d+\.\d), (\d+\.\d)\] \(95% interval; model estimate for all 100 prompts, no selection bias\)\n  stands on (\d+) measurements? of this mixture on (\d+) of 100 prompts/m.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const [, label, score, lo, hi, measurements, prompts] = m!;
    expect(Number(lo)).toBeLessThan(Number(score));
    expect(Number(hi)).toBeGreaterThan(Number(score));
    expect(r.stdout).toMatch(/^spent: \$0\.\d{4} of \$1\.0000/m);
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toContain(`## Recommended: ${label}`);
    expect(md).toContain(`**Score:** ${score} (95% CI ${lo}–${hi}): model estimate for all 100 validation prompts, from ${measurements} measurement`);
    expect(md).toContain(`of this mixture on ${prompts} of them`);
    const best = JSON.parse(readFileSync(join(out, 'best.json'), 'utf8'));
    expect(best.meta).toMatchObject({ prompts: Number(prompts), measurements: Number(measurements) });
    // pareto names the same mixture as the best overall.
    const study = /^study (\S+):/m.exec(r.stdout)![1]!;
    const p = await runCli(['pareto', study, '--db', db]);
    expect(p.stdout).toMatch(new RegExp(`^Best overall: #\\d+ ${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — score ${score}`, 'm'));
  });

  it.runIf(PG_URL)('--db postgres://…: search, resume, report and pareto on PostgreSQL; the password is never printed', async () => {
    const url = freshPgUrl('search');
    const password = decodeURIComponent(new URL(url).password);
    const out = join(dir, 'pg-report');
    const a = await runCli(['--budget', '0.5', '--validation', tinyValidation(8), '--db', url, '--study', 'pg', '--max-evals', '2', '--seed', '1', '--json', '--no-report']);
    expect(a.code, a.stderr).toBe(0);
    expect(a.stderr).toMatch(/resume with: moa-search --study pg --resume --db postgres:\/\/postgres:\*\*\*@127\.0\.0\.1/);
    const b = await runCli(['--study', 'pg', '--resume', '--db', url, '--max-evals', '4', '--json', '--out', out]);
    expect(b.code, b.stderr).toBe(0);
    const [ja, jb] = [JSON.parse(a.stdout), JSON.parse(b.stdout)];
    expect(jb.measurements).toBeGreaterThan(ja.measurements);
    expect(jb.spent).toBeGreaterThan(ja.spent);
    expect(jb.spent).toBeLessThanOrEqual(0.5);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    const p = await runCli(['pareto', 'pg', '--db', url]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stdout).toMatch(new RegExp(`^Best overall: #\\d+ ${jb.best.label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} — `, 'm'));
    // The study's spend is its ledger scope's, shared by every process that searches it.
    expect(await withStudies(url, async (st) => (await st.getStudy('pg'))!.spent)).toBeCloseTo(jb.spent, 9);
    for (const r of [a, b, p]) expect(r.stdout + r.stderr).not.toContain(password);
  });

  it('rejects bad flags with exit 2 and writes nothing', async () => {
    const db = join(dir, 'never.sqlite');
    // Through the real CLI: commander's parse errors and our InputErrors both exit 2.
    const [zero, strategy] = await Promise.all([runCli(['--budget', '0', '--db', db]), runCli(['--budget', '1', '--strategy', 'annealing', '--db', db])]);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--budget.*greater than 0/);
    expect(strategy.code).toBe(2);
    expect(strategy.stderr).toMatch(/annealing/);
    // The rest in-process (each CLI start costs seconds): every one is an InputError before the database exists.
    const cases: Array<[SearchFlags, RegExp]> = [
      [{ budget: -1 }, /--budget must be greater than 0/],
      [{}, /--budget <usd> is required/],
      [{ budget: 1, strategy: 'annealing' }, /--strategy must be one of/],
      [{ budget: 1, space: join(dir, 'missing.yaml') }, /missing\.yaml: search-space file not found/],
      [{ budget: 1, validation: join(dir, 'missing.jsonl') }, /missing\.jsonl/],
      [{ budget: 1, space: join(ROOT, 'search-spaces/sim-12.yaml'), strategy: 'exhaustive' }, /exhaustive.*more than 5000/],
      [{ budget: 1, resume: true }, /--resume needs --study/],
      [{ budget: 1, study: 'x', resume: true }, /nothing to resume/],
      [{ budget: 1, study: 'bad name!' }, /--study/],
    ];
    for (const [flags, re] of cases) {
      const e = await searchCommand({ ...flags, db }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(e, JSON.stringify(flags)).toBeInstanceOf(InputError);
      expect((e as Error).message).toMatch(re);
      expect(existsSync(db)).toBe(false);
    }
  });
});

/** The sim space, but every model served over HTTP by the loopback server; four proposers to stay small. */
function httpSpace(url: string): string {
  const text = overHttp(readFileSync(join(ROOT, 'search-spaces/sim.yaml'), 'utf8'), url);
  const file = join(dir, 'http-space.yaml');
  writeFileSync(file, text);
  // Keep the box small: only four proposers (others lose the proposer role).
  const space = loadSpace(file);
  const keep = space.models.filter((m) => m.roles.includes('proposer')).slice(0, 4).map((m) => m.id);
  let out = text;
  for (const m of space.models) {
    if (m.roles.includes('proposer') && !keep.includes(m.id)) {
      out = out.replace(new RegExp(`(id: ${m.id.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\n(?:    .*\\n)*?    roles: )\\[proposer, aggregator\\]`), '$1[aggregator]');
    }
  }
  writeFileSync(file, out);
  return file;
}

/** A process's state letter from /proc (`Z`: a zombie); undefined once it is gone. */
function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  for (const end = Date.now() + ms; !ok(); await sleep(20)) if (Date.now() > end) throw new Error('timed out');
}

describe('kill -9 and --resume', () => {
  const simServer = useSimOverHttp();

  it('resumes a multi-fidelity study killed mid-promotion with zero repeated provider calls and the uninterrupted result', { timeout: 240_000 }, async () => {
    const sim = simServer();
    const space = httpSpace(sim.server.url);
    expect(loadSpace(space).models.filter((m) => m.roles.includes('proposer'))).toHaveLength(4);
    // 50 prompts: fidelity levels 25 and 50, so mixtures are screened on 25 and promoted to 50.
    const val = tinyValidation(50);
    const args = ['--space', space, '--validation', val, '--budget', '3', '--max-evals', '7', '--strategy', 'archon', '--seed', '2', '--json', '--no-report'];

    // Uninterrupted reference run.
    const a = await runCli([...args, '--db', join(dir, 'a.sqlite'), '--study', 'a']);
    expect(a.code, a.stderr).toBe(0);
    const callsA = new Set(sim.completed.keys());
    expect([...sim.completed.values()].every((n) => n === 1)).toBe(true);
    const resultA = JSON.parse(a.stdout);
    const obsA = await withStudies(join(dir, 'a.sqlite'), (st) => st.listObservations('a'));
    const promote = obsA.find((o) => o.purpose === 'promote')!;
    expect(promote).toBeDefined();
    // Freeze the server halfway through the first promotion's calls, then SIGKILL.
    const before = obsA.filter((o) => o.number < promote.number).reduce((n, o) => n + o.calls!.made, 0);
    const freezeAt = before + Math.floor(promote.calls!.made / 2);

    sim.reset();
    const dbB = join(dir, 'b.sqlite');
    // The killed search is never reaped (a zombie, as under a PID 1 that does not reap): its pid still answers.
    const child = await spawnCliUnreaped([...args, '--db', dbB, '--study', 'b']);
    try {
      await new Promise<void>((resolve) => sim.freezeAt(freezeAt, resolve));
      // While it runs, its lease blocks a resume: exit 2, one line naming the process, nothing spent.
      const blocked = await runCli(['--study', 'b', '--resume', '--db', dbB, '--json', '--no-report']);
      expect(blocked.code, blocked.stderr).toBe(2);
      expect(blocked.stderr).toMatch(new RegExp(`^moa-search: .*study "b" is being run by process ${child.pid} on .*: wait for it or stop it first\n$`));
      process.kill(child.pid, 'SIGKILL');
      await until(() => procState(child.pid) === 'Z');
    } catch (e) {
      child.parent.kill('SIGKILL');
      throw e;
    }
    sim.unfreeze();
    const firstSession = new Map(sim.completed);
    expect(firstSession.size).toBeGreaterThan(before);
    expect(firstSession.size).toBeLessThan(callsA.size);
    const mid = await withStudies(dbB, (st) => st.listObservations('b'));
    expect(mid.at(-1)).toMatchObject({ number: promote.number, purpose: 'promote', state: 'RUNNING' });

    sim.reset();
    const b = await runCli(['--study', 'b', '--resume', '--db', dbB, '--json', '--no-report']);
    expect(b.code, b.stderr).toBe(0);
    const secondSession = new Map(sim.completed);
    const repeated = [...secondSession.keys()].filter((k) => firstSession.has(k));
    expect(repeated).toEqual([]);
    // Together the two sessions made exactly the uninterrupted run's calls.
    expect(new Set([...firstSession.keys(), ...secondSession.keys()])).toEqual(callsA);

    child.parent.kill('SIGKILL');
    const resultB = JSON.parse(b.stdout);
    expect(resultB.best.mixture).toEqual(resultA.best.mixture);
    expect(resultB.best.score).toBeCloseTo(resultA.best.score, 9);
    expect(resultB.best.ci).toEqual(resultA.best.ci);
    expect([resultB.trials, resultB.measurements, resultB.stopped]).toEqual([resultA.trials, resultA.measurements, resultA.stopped]);
    // The killed session's calls in flight were booked at their worst case (they may have been billed), then made
    // again for real: the study's spend is the uninterrupted run's plus that, and says so.
    expect(resultB.unsettled).toBeGreaterThan(0);
    expect(resultB.spent - resultB.unsettled).toBeCloseTo(resultA.spent, 9);
    expect(resultA.unsettled).toBeUndefined();
    const shape = async (file: string, study: string) =>
      (await withStudies(file, (st) => st.listObservations(study))).map((o) => [o.trial, o.purpose, o.fidelity, o.sampleOffset, o.state, o.score]);
    expect(await shape(dbB, 'b')).toEqual(await shape(join(dir, 'a.sqlite'), 'a'));
  });
});
