// Issue 11: what a new user met on the failure paths, each through the real CLI (or a loopback server).
// Items 1, 3, 4, the refusals of 2 and 5, the ask pre-check of 6, and 9 are rows of bad-inputs.test.ts; item 12
// is test/providers/idle-timeout.test.ts. Here: what needs more than one command, a signal, a pipe or a server.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli, spawnCli, ROOT } from '../helpers/cli.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { withStudies } from '../helpers/studies.js';
import { removeTempDirs, tempDir } from './_fixtures.js';
import { SIM_YAML } from './_kit.js';

afterAll(removeTempDirs);

const GPT4O = 'gpt-4o-2024-05-13';

async function storedStudy(db: string, name: string) {
  return (await withStudies(db, (store) => store.getStudy(name)))!;
}

describe('issue 11 through the CLI', () => {
  it('2 and 5: an aggregator without parameter counts reports "TFLOPs unknown", not NaN; a new --budget on resume is said', async () => {
    const dir = tempDir('moa-fp-resume-');
    const space = join(dir, 'space.yaml');
    writeFileSync(space, SIM_YAML.replace(/^search: .*$/m, `search: { layers: 2, aggregators: [${GPT4O}] }`));
    const db = join(dir, 'db.sqlite');
    const first = await runCli(['--space', space, '--budget', '0.2', '--prompts', '2', '--max-evals', '1', '--study', 's', '--db', db, '--no-report'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/TFLOPs unknown/);
    expect(first.stdout).not.toMatch(/NaN/);

    const again = await runCli(['--study', 's', '--resume', '--db', db, '--budget', '0.3', '--max-evals', '2', '--no-report', '--json'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/^budget: \$0\.3 \(the study had \$0\.2; it has spent \$\d+\.\d{4}\)$/m);
    expect(again.stderr).toMatch(/^max-evals: 2 \(the study had 1\)$/m);
    expect(JSON.parse(again.stdout).budget).toBe(0.3);
    expect((await storedStudy(db, 's')).config.budget).toBe(0.3);
  });

  it('6: an aggregator prompt that cannot fit its model is refused before the call: no request reaches it', async () => {
    const server = await startOpenAIServer();
    try {
      const dir = tempDir('moa-fp-context-');
      const space = join(dir, 'space.yaml');
      writeFileSync(
        space,
        `providers:\n  local: { baseURL: "${server.url}", keyless: true, maxRetries: 0 }\nmodels:\n` +
          '  - { id: P, provider: local, price: { input: 1, output: 1 }, contextWindow: 100000, maxCopies: 2 }\n' +
          // The user's prompt fits A; the prompt with the aggregation template and two answers cannot.
          '  - { id: A, provider: local, price: { input: 1, output: 1 }, contextWindow: 160 }\n' +
          'generation: { temperature: 0.7, maxTokens: 64 }\n',
      );
      const mixture = JSON.stringify({ layers: 2, proposers: { P: 2 }, aggregator: 'A' });
      const r = await runCli(['ask', '--space', space, '--mixture', mixture, '--db', join(dir, 'db.sqlite'), 'Explain MoA.'], { cwd: dir });
      expect(r.code).toBe(1);
      const lines = r.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/aggregator .*failed: the request cannot fit the context window of A: its prompt is at least \d+ tokens and 64 more are reserved .* contextWindow of 160/);
      expect(server.count('P')).toBe(2);
      expect(server.count('A')).toBe(0);
    } finally {
      await server.close();
    }
  });

  it('7: a closed stdout ends `ask` quietly, without a stack trace', async () => {
    const child = spawnCli(['ask', '--mixture', join(ROOT, 'search-spaces/examples/moa-lite.json'), '--db', join(tempDir('moa-fp-pipe-'), 'db.sqlite'), 'Tell me a long story.']);
    child.stdout.destroy(); // the reader went away, as `| head -c 0` does
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(stderr).not.toMatch(/EPIPE|node:events|\n\s+at /);
    expect(code).toBe(0);
  });

  it('8: SIGTERM stops a search like Ctrl-C: one line, the study interrupted and resumable, exit 143', async () => {
    const dir = tempDir('moa-fp-sigterm-');
    const space = join(dir, 'slow.yaml');
    // A slow world, so the signal lands mid-trial.
    writeFileSync(space, SIM_YAML.replace('sim: { kind: sim, worldSeed: 0, maxConcurrency: 64 }', 'sim: { kind: sim, worldSeed: 0, maxConcurrency: 64, latencyMs: 150 }'));
    const db = join(dir, 'db.sqlite');
    const child = spawnCli(['--space', space, '--budget', '0.2', '--prompts', '2', '--max-evals', '1', '--study', 't', '--db', db, '--no-report'], { cwd: dir });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/^reference: /m.test(stderr) && !child.killed) child.kill('SIGTERM');
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    expect(code, stderr).toBe(143);
    expect(stderr.match(/^SIGTERM: stopping study t cleanly; resume with: moa-search --study t --resume/gm)).toHaveLength(1);
    expect(stdout).toMatch(/stopped \(interrupted\)/);
    expect(await storedStudy(db, 't')).toMatchObject({ state: 'RUNNING', stopped: 'interrupted' });

    const resumed = await runCli(['--study', 't', '--resume', '--db', db, '--no-report', '--json'], { cwd: dir });
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(resumed.stdout).stopped).not.toBe('interrupted');
  });

  it('10: `moa-search --help` shows the default command\'s options', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    for (const flag of ['--budget <usd>', '--space <file>', '--validation <file>', '--study <name>', '--resume', '--strategy <name>', '--max-evals <n>', '--json'])
      expect(r.stdout, flag).toContain(`  ${flag}`);
    expect(r.stdout).toMatch(/^Search options \(the default command/m);
  });

  it('11: the validation set built from the public files is ignored by git; its manifest is not', () => {
    const ignored = (path: string) => {
      try {
        execFileSync('git', ['check-ignore', '--quiet', '--no-index', path], { cwd: ROOT, stdio: 'ignore' });
        return true;
      } catch (e) {
        if ((e as { status?: number }).status === 1) return false;
        // Not a git checkout (a tarball, say): read the rule itself.
        return readFileSync(join(ROOT, '.gitignore'), 'utf8').split('\n').includes(`/${path}`);
      }
    };
    expect(ignored('validation-sets/alpaca-arena-100.jsonl')).toBe(true);
    expect(ignored('validation-sets/alpaca-arena-100.manifest.json')).toBe(false);
  });
});
