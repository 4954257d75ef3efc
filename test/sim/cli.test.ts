import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadMixture, loadSpace } from '../../src/config/index.js';
import { loadValidationSet } from '../../src/eval/validation-set.js';
import { createSimProvider, simTruth, startSimServer } from '../../src/sim/index.js';
import { SIM_SPACE_FILE, SIM_VALIDATION_FILE } from '../../src/paths.js';
import { ROOT, runCli, spawnCli } from '../helpers/cli.js';
import { ProviderSchema } from '../../src/config/space.js';
import { batchInputLine, createOpenAIBatchClient, parseBatchOutput } from '../../src/providers/index.js';

describe('moa-search sim serve', () => {
  it('prints its base URL, serves the world (and its Batch API, with --batch-delay-ms), and stops cleanly on SIGTERM', async () => {
    const child = spawnCli(['sim', 'serve', '--port', '0', '--seed', '0', '--batch-delay-ms', '400']);
    let out = '';
    const url = await new Promise<string>((res, rej) => {
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) res(out.trim());
      });
      child.on('exit', (code) => rej(new Error(`exited early with ${code}`)));
    });
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
    const body = { model: 'sim-qwen1.5-72b-chat', messages: [{ role: 'user', content: 'What is photosynthesis?' }], temperature: 0.7, seed: 1 };
    const r = (await (await fetch(`${url}/chat/completions`, { method: 'POST', body: JSON.stringify(body) })).json()) as { choices: Array<{ message: { content: string } }> };
    const local = await createSimProvider({}).complete({ model: body.model, messages: body.messages as never, temperature: 0.7, seed: 1 });
    expect(r.choices[0]!.message.content).toBe(local.text);
    const batch = createOpenAIBatchClient('served', ProviderSchema.parse({ baseURL: url, keyless: true, maxRetries: 0, batch: {} }));
    const job = await batch.create(await batch.upload(batchInputLine('k', { model: body.model, messages: body.messages as never, temperature: 0.7, seed: 1 }) + '\n'), {});
    expect((await batch.retrieve(job.id)).status).toBe('in_progress');
    await new Promise((res) => setTimeout(res, 450));
    const done = await batch.retrieve(job.id);
    expect(done.status).toBe('completed');
    expect(parseBatchOutput(await batch.download(done.outputFileId!)).results[0]).toMatchObject({ customId: 'k', response: { text: local.text } });
    const code = await new Promise<number | null>((res) => {
      child.on('exit', (c) => res(c));
      child.kill('SIGTERM');
    });
    expect(code).toBe(0);
  });

  it('rejects a bad flag with exit 2', async () => {
    const r = await runCli(['sim', 'serve', '--fail-rate', '2']);
    expect(r.code).toBe(2);
  });
});

describe('ask through sim serve over HTTP', () => {
  it('gives the same answer as the in-process sim', async () => {
    const server = await startSimServer({ port: 0 });
    try {
      const dir = mkdtempSync(join(tmpdir(), 'moa-sim-ask-'));
      const yaml = readFileSync(SIM_SPACE_FILE, 'utf8')
        .replace(/^  sim: \{ kind: sim.*$/m, `  sim: { baseURL: "${server.url}", keyless: true, maxConcurrency: 8 }`)
        .replace(/^validation: .*$/m, `validation: ${SIM_VALIDATION_FILE}`);
      const httpSpace = join(dir, 'sim-http.yaml');
      writeFileSync(httpSpace, yaml);
      const mixture = resolve(ROOT, 'search-spaces/examples/moa-lite.json');
      const prompt = 'Explain the difference between weather and climate.';
      const viaHttp = await runCli(['ask', prompt, '--space', httpSpace, '--mixture', mixture, '--db', join(dir, 'http.sqlite'), '--json']);
      const inProcess = await runCli(['ask', prompt, '--space', SIM_SPACE_FILE, '--mixture', mixture, '--db', join(dir, 'local.sqlite'), '--json']);
      expect(viaHttp.code, viaHttp.stderr).toBe(0);
      expect(inProcess.code, inProcess.stderr).toBe(0);
      const a = JSON.parse(viaHttp.stdout) as { answer: string };
      const b = JSON.parse(inProcess.stdout) as { answer: string };
      expect(a.answer.length).toBeGreaterThan(200);
      expect(a.answer).toBe(b.answer);
      expect(server.requests()).toBe(7); // six proposers and the aggregator
    } finally {
      await server.close();
    }
  });
});

describe('moa-search sim truth', () => {
  it('prints the expected score of a mixture file, as JSON too', async () => {
    const file = resolve(ROOT, 'search-spaces/examples/moa-lite.json');
    const r = await runCli(['sim', 'truth', '--mixture', file, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.stdout) as { score: number; bySource: Record<string, number>; prompts: number };
    const space = loadSpace(SIM_SPACE_FILE);
    const t = simTruth({ space, items: loadValidationSet(SIM_VALIDATION_FILE), mixture: loadMixture(file, space) });
    expect(j.score).toBeCloseTo(t.score, 10);
    expect(j.prompts).toBe(100);
    const text = await runCli(['sim', 'truth', '--mixture', '{"layers":1,"aggregator":"microsoft/WizardLM-2-8x22B"}']);
    expect(text.stdout).toMatch(/^expected score \d+\.\d\d \(alpaca_eval \d+\.\d\d, arena_hard \d+\.\d\d\) on 100 prompts\n$/);
  });

  it('bad input: one line, exit 2', async () => {
    const r = await runCli(['sim', 'truth', '--mixture', '{"layers":1,"aggregator":"nope"}']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/unknown model "nope"/);
  });
});
