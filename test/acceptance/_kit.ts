// Fixture files for the bad-input tests: a folder of good and broken inputs, copied fresh for each case, and a
// snapshot (every path and the SHA-256 of every file) to prove a refused command changed nothing.
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/cli.js';

export const SIM_YAML = readFileSync(join(ROOT, 'search-spaces/sim.yaml'), 'utf8').replace(
  /^validation: .*$/m,
  `validation: ${JSON.stringify(join(ROOT, 'validation-sets/sim-100.jsonl'))}`,
);
const SIM_LINES = readFileSync(join(ROOT, 'validation-sets/sim-100.jsonl'), 'utf8').trim().split('\n');

export const Q110 = 'Qwen/Qwen1.5-110B-Chat';
export const JUDGE_ONLY = 'gpt-4o-mini-2024-07-18';
export const BASELINE_ONLY = 'gpt-4-turbo-2024-04-09';
export const MOA_LITE = join(ROOT, 'search-spaces/examples/moa-lite.json');

/** Write the kit into `dir`: spaces, mixtures, validation sets, prompts, a text file posing as a database, a file and a folder. */
export function writeKit(dir: string): void {
  const w = (name: string, text: string) => writeFileSync(join(dir, name), text);
  w('space.yaml', SIM_YAML);
  w('space-malformed.yaml', 'providers:\n  sim: { kind: sim\nmodels: []\n');
  w('space-bad-field.yaml', SIM_YAML.replace('maxCopies: 3', 'maxCopies: 99'));
  w('space-judge-aggregates.yaml', SIM_YAML.replace(/^search: .*$/m, `search: { layers: 2, aggregators: [${JUDGE_ONLY}] }`));
  // A judge that may also aggregate: refused only because it would grade its own answers.
  w('space-self-judge.yaml', SIM_YAML.replace(/^judge: .*$/m, 'judge: { model: gpt-4-1106-preview }').replace('roles: [baseline, judge]', 'roles: [aggregator, baseline, judge]'));
  w('space-cap-too-low.yaml', SIM_YAML.replace(/^search: \{ (.*) \}$/m, 'search: { $1, maxCost: 0.01 }'));
  w('space-cap-zero.yaml', SIM_YAML.replace(/^search: \{ (.*) \}$/m, 'search: { $1, maxCost: 0 }'));
  w('space-judge-without-role.yaml', SIM_YAML.replace(/^judge: .*$/m, `judge: { model: databricks/dbrx-instruct }`));
  w('space-no-judge.yaml', SIM_YAML.replace(/^judge: .*$/m, ''));
  w('space-unknown-provider.yaml', SIM_YAML.replace('provider: sim', 'provider: nowhere'));
  w('space-keyed.yaml', 'providers:\n  paid: { baseURL: "http://127.0.0.1:9/v1", apiKeyEnv: MOA_TEST_UNSET_KEY }\nmodels:\n  - { id: A, provider: paid, price: { input: 1, output: 1 } }\n');
  w('mix-malformed.json', '{"layers": 2, "proposers": {');
  w('mix-unknown.json', '{\n  "layers": 1,\n  "aggregator": "no/such-model"\n}\n');
  w('mix-copies.json', `{\n  "layers": 2,\n  "proposers": { "${Q110}": 9 },\n  "aggregator": "${Q110}"\n}\n`);
  w('mix-baseline-proposes.json', `{\n  "layers": 2,\n  "proposers": { "${BASELINE_ONLY}": 1 },\n  "aggregator": "${Q110}"\n}\n`);
  w('val-bad.jsonl', `${SIM_LINES[0]}\n{"id": "x", "source": "s", "prompt": "p"}\n`);
  w('val-dup.jsonl', `${SIM_LINES[0]}\n${SIM_LINES[0]}\n`);
  w('val-empty.jsonl', '');
  w('prompts.jsonl', '{"prompt": "Say hello."}\n{"prompt": "Say goodbye."}\n');
  w('notadb.sqlite', 'this is not a database\n');
  w('afile', 'a plain file\n');
  // Catalogs for `models import` (OpenRouter's format).
  const entry = (id: string, pricing: object) => ({ id, name: id, context_length: 8192, pricing });
  w('cat-malformed.json', '{"data": [\n  {"id": "x"\n');
  w('cat-no-pricing.json', JSON.stringify({ data: [entry('old/model', { prompt: '0.000001', completion: '0.000001' }), { id: 'new/model', name: 'n', context_length: 8192 }] }, null, 2));
  w('cat-negative.json', JSON.stringify({ data: [entry('new/model', { prompt: '-0.000001', completion: '0.000001' })] }, null, 2));
  w('cat-nan.json', JSON.stringify({ data: [entry('new/model', { prompt: 'cheap', completion: '0.000001' })] }, null, 2));
  w('cat-dup.json', JSON.stringify({ data: [entry('new/model', { prompt: '0.000001', completion: '0.000001' }), entry('new/model', { prompt: '0.000001', completion: '0.000001' })] }, null, 2));
  mkdirSync(join(dir, 'adir'));
}

/** Every path under `dir` (folders too), with each file's SHA-256: equal snapshots mean nothing was created or changed. */
export function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const name of readdirSync(d).sort()) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) {
        out[relative(dir, p) + '/'] = 'dir';
        walk(p);
      } else out[relative(dir, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
    }
  };
  walk(dir);
  return out;
}

/** A fresh copy of the kit in its own folder. */
export function copyKit(kit: string, to: string): string {
  cpSync(kit, to, { recursive: true });
  return to;
}
