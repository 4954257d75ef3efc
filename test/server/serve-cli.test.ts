import { describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { runCli, spawnCli } from '../helpers/cli.js';
import { startOpenAIServer } from '../helpers/openai-server.js';
import { spaceYaml, tempDir } from './_setup.js';

describe('moa-search serve (CLI subprocess)', () => {
  it('prints its URL, answers the openai SDK, and exits 0 on SIGTERM', async () => {
    const upstream = await startOpenAIServer();
    const dir = tempDir();
    const space = join(dir, 'space.yaml');
    writeFileSync(space, spaceYaml(upstream.url));
    const mixture = join(dir, 'my-mix.json');
    writeFileSync(mixture, JSON.stringify({ name: 'A two-layer mixture of A and B', layers: 2, proposers: { A: 1, B: 1 }, aggregator: 'G' }));
    const child = spawnCli(['serve', '--space', space, '--mixture', mixture, '--port', '0', '--db', join(dir, 'serve.sqlite'), '--api-key-env', 'MOA_SERVE_TEST_KEY'], {
      env: { MOA_SERVE_TEST_KEY: 'sk-serve-cli-secret' },
    });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d) => {
          stdout += d;
          const m = /^(http:\/\/127\.0\.0\.1:\d+\/v1)\n/.exec(stdout);
          if (m) resolve(m[1]!);
        });
        child.on('close', () => reject(new Error(`serve exited early: ${stderr}`)));
      });
      const client = new OpenAI({ baseURL: url, apiKey: 'sk-serve-cli-secret', maxRetries: 0 });
      // Named after the mixture file (short, typeable), not its descriptive `name`.
      expect((await client.models.list()).data.map((m) => m.id)).toEqual(['my-mix']);
      const r = await client.chat.completions.create({ model: 'my-mix', messages: [{ role: 'user', content: 'secret prompt text' }] });
      expect(r.choices[0]!.message.content).toMatch(/^\[G\] answer #[0-9a-f]{8}: secret prompt text$/);
      expect(upstream.count()).toBe(3);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Logs carry no key, prompt or answer.
      expect(stderr).toMatch(/POST \/v1\/chat\/completions 200 model="my-mix"/);
      expect(stderr).not.toContain('sk-serve-cli-secret');
      expect(stderr).not.toContain('secret prompt text');
      expect(stderr).not.toContain('answer #');
    } finally {
      child.kill('SIGKILL');
      await upstream.close();
    }
  });

  it('bad flags exit 2 with one line before anything is opened', async () => {
    const dir = tempDir();
    const space = join(dir, 'space.yaml');
    writeFileSync(space, spaceYaml('http://127.0.0.1:9/v1'));
    const ok = '{"layers": 2, "proposers": {"A": 1}, "aggregator": "G"}';
    const cases: Array<[string[], RegExp, Record<string, string | undefined>?]> = [
      [['--mixture', ok, '--port', '70000'], /--port/],
      [['--mixture', ok, '--api-key-env', 'MOA_SERVE_UNSET_KEY'], /MOA_SERVE_UNSET_KEY is not set/, { MOA_SERVE_UNSET_KEY: undefined }],
      [['--mixture', ok, '--mixture', ok, '--name', 'same', '--name', 'same'], /two mixtures would be served as "same"/],
    ];
    const results = await Promise.all(cases.map(([args, , env], i) => runCli(['serve', '--space', space, '--db', join(dir, `db${i}.sqlite`), '--port', '0', ...args], { env, timeoutMs: 30_000 })));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(cases[i]![1]);
      expect(existsSync(join(dir, `db${i}.sqlite`))).toBe(false);
    });
  });
});
