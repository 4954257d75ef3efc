import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStorage } from '../../src/executor/index.js';
import { ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { freshPgUrl, PG_URL } from '../helpers/backends.js';
import { overHttp, simOverHttp } from '../helpers/sim-http.js';
import { withStudies } from '../helpers/studies.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-workers-'));

function tinyValidation(n: number): string {
  const lines = readFileSync(join(ROOT, 'validation-sets/sim-100.jsonl'), 'utf8').trim().split('\n');
  const file = join(dir, `val-${n}.jsonl`);
  writeFileSync(file, [...lines.slice(0, n / 2), ...lines.slice(-n / 2)].join('\n') + '\n');
  return file;
}

/** Pids of the processes holding a measurement lease (the workers mid-measurement). */
async function measuringPids(db: string): Promise<number[]> {
  const storage = await openStorage(db, { migrate: false });
  try {
    const rows = await storage.all<{ owner: string }>("SELECT owner FROM leases WHERE name LIKE 'observation:%'");
    return rows.map((r) => Number(r.owner.split(':')[1]));
  } finally {
    await storage.close();
  }
}

describe('search --workers: one study, many processes', () => {
  let sim: Awaited<ReturnType<typeof simOverHttp>>;
  let space: string;
  beforeAll(async () => {
    sim = await simOverHttp();
    space = join(dir, 'http-space.yaml');
    writeFileSync(space, overHttp(readFileSync(join(ROOT, 'search-spaces/sim.yaml'), 'utf8'), sim.server.url));
  });
  afterAll(async () => {
    sim.unfreeze();
    await sim.server.close();
  });

  const cases = [
    { backend: 'sqlite', workers: 3, db: () => join(dir, 'w.sqlite') },
    ...(PG_URL ? [{ backend: 'postgres', workers: 4, db: () => freshPgUrl('workers') }] : []),
  ];
  it.each(cases)('$backend: $workers workers, one killed with SIGKILL mid-measurement; the study completes, no paid call lost or repeated', async ({ workers, db: fresh }) => {
    const db = fresh();
    const budget = 2;
    sim.reset();
    const child = spawnCli(['--space', space, '--validation', tinyValidation(8), '--budget', String(budget), '--max-evals', '8', '--seed', '3', '--workers', String(workers), '--study', 's', '--db', db, '--json', '--no-report']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    // Freeze the provider after some calls, kill a worker holding a measurement, then let the others go on.
    await new Promise<void>((r) => sim.freezeAt(150, r));
    let pids: number[] = [];
    for (let i = 0; i < 100 && !pids.length; i++) pids = await measuringPids(db);
    expect(pids.length, stderr).toBeGreaterThan(0);
    // Answers sent before the freeze reach the workers' caches first: what is in flight at the kill is what is frozen.
    await sleep(400);
    const inFlightAtKill = sim.inFlight();
    process.kill(pids[0]!, 'SIGKILL');
    sim.unfreeze();
    expect(await closed, stderr).toBe(0);

    const out = JSON.parse(stdout);
    expect(out.stopped).toBe('max-evals');
    expect(out.spent).toBeLessThanOrEqual(budget);
    expect(stderr).toMatch(/ended abnormally \(SIGKILL\)/);
    expect(stderr).toMatch(/re-running observation \d+/);
    const trials = await withStudies(db, (st) => st.listTrials('s'));
    expect(trials.map((t) => t.state).filter((x) => x !== 'COMPLETE')).toEqual([]);
    const obs = await withStudies(db, (st) => st.listObservations('s'));
    expect(obs.filter((o) => o.purpose !== 'reference')).toHaveLength(8);
    expect(obs.every((o) => o.state === 'COMPLETE')).toBe(true);
    // A call answered twice is one the killed worker had in flight (answered after its death, so never cached).
    const repeated = [...sim.completed].filter(([, n]) => n > 1).map(([k]) => k);
    expect(repeated.filter((k) => !inFlightAtKill.has(k))).toEqual([]);
    expect(Math.max(...sim.completed.values())).toBeLessThanOrEqual(2);
  });
});

describe('moa-search worker: bad input', () => {
  it('refuses a missing database or study with one line naming the flag, exit 2, and creates nothing', async () => {
    const db = join(dir, 'none.sqlite');
    const r = await runCli(['worker', '--study', 'nope', '--db', db]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^moa-search: .*--db.*no database at .*none\.sqlite.*\n$/);
    expect(existsSync(db)).toBe(false);
  });
});
