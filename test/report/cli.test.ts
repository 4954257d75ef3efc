import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, beforeAll } from 'vitest';
import { openStorage } from '../../src/executor/index.js';
import { studyScope } from '../../src/search/study-store.js';
import { backends } from '../helpers/backends.js';
import { runCli } from '../helpers/cli.js';
import { withStudies } from '../helpers/studies.js';
import { InputError } from '../../src/config/index.js';
import { readStudy, writeReport } from '../../src/report/index.js';
import { STUDY, buildTrials, space } from './_fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-report-cli-'));

/** The fixture study, stored as a search would: trials, one observation each, spend on the study's ledger scope. */
const seed = (location: string) =>
  withStudies(location, async (store) => {
    await store.createStudy('demo', STUDY.config);
    for (const t of buildTrials()) {
      const started = await store.ensureTrial('demo', { kind: t.kind, strategy: t.strategy, mixture: t.mixture, mixtureKey: t.mixtureKey, label: t.label });
      const ids = (t.perPrompt ?? []).map((o) => o.id);
      const o = await store.startObservation('demo', started.number, { purpose: t.kind === 'reference' ? 'reference' : 'screen', strategy: t.strategy, fidelity: ids.length, sampleOffset: 0, promptIds: ids });
      const { score, ci, costPerQuery, tflopsPerQuery, latencyProxyPerQuery, spent, spentCumulative, calls, perPrompt } = t;
      const result = { score, ci, costPerQuery, tflopsPerQuery, latencyProxyPerQuery, spent, spentCumulative, calls, perPrompt };
      if (t.state === 'FAIL') await store.failObservation('demo', o.number, t.error!, { spent });
      else await store.completeObservation('demo', o.number, result);
    }
    await store.updateStudy('demo', { state: 'COMPLETE', stopped: 'budget' });
  });

describe.each(backends())('moa-search report and pareto on $name', (backend) => {
  const dbPath = backend.name === 'sqlite' ? join(dir, 'moa.sqlite') : backend.fresh('report');
  beforeAll(async () => {
    await seed(dbPath);
    const storage = await openStorage(dbPath);
    await storage.run('INSERT INTO ledger_scopes (scope, spent_usd, created_at, updated_at) VALUES (?, 7, moa_now_ms(), moa_now_ms())', [studyScope('demo')]);
    await storage.close();
  });

  it('report writes every file to --out', async () => {
    const res = await runCli(['report', 'demo', '--db', dbPath, '--out', join(dir, `custom-${backend.name}`)]);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    for (const f of ['report.html', 'report.md', 'pareto-cost.svg', 'pareto-tflops.svg', 'history.svg', 'trials.csv', 'best.json'])
      expect(existsSync(join(dir, `custom-${backend.name}`, f)), f).toBe(true);
    expect(res.stdout).toMatch(/Recommended: .+ \(score \d+\.\d, 95% CI/);
    const best = JSON.parse(readFileSync(join(dir, `custom-${backend.name}`, 'best.json'), 'utf8'));
    expect(best.aggregator).toBeTruthy();
    expect(best.meta.study).toBe('demo');
  });

  it.runIf(backend.name === 'sqlite')('writeReport defaults to <db folder>/<study>/', async () => {
    const storage = await openStorage(dbPath);
    try {
      const { dir: out, files } = await writeReport({ storage, studyName: 'demo', space });
      expect(out).toBe(join(dir, 'demo'));
      expect(files).toHaveLength(7);
      await expect(readStudy(storage, 'nope')).rejects.toThrow(InputError);
    } finally {
      await storage.close();
    }
  });

  it('pareto prints the front and the best mixture within a cost cap', async () => {
    // (the text form is tested in-process in pareto-summary.test.ts)
    const json = await runCli(['pareto', 'demo', '--db', dbPath, '--json', '--max-cost', '5']);
    expect(json.code).toBe(0);
    const s = JSON.parse(json.stdout);
    expect(s.by).toBe('cost');
    expect(s.front.length).toBeGreaterThan(1);
    const costs = s.front.map((e: { costPerQuery: number }) => e.costPerQuery);
    expect(costs).toEqual([...costs].sort((a, b) => a - b));
    expect(s.best.costPerQuery).toBeLessThanOrEqual(0.005);
    expect(s.maxCost).toBe(5);
  });

  it('bad input exits 2 with one line and writes nothing', async () => {
    const missingDb = join(dir, 'nowhere', 'none.sqlite');
    const out = join(dir, 'should-not-exist');
    const [unknown, noDb, badBy] = await Promise.all([
      runCli(['report', 'nope', '--db', dbPath, '--out', out]),
      runCli(['report', 'demo', '--db', missingDb]),
      runCli(['pareto', 'demo', '--db', dbPath, '--by', 'speed']),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^moa-search: .*unknown study "nope".*\(known: demo\)\n$/);
    expect(existsSync(out)).toBe(false);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/none\.sqlite.*database not found/);
    expect(existsSync(missingDb)).toBe(false);
    expect(badBy.code).toBe(2);
  });
});
