import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildValidationSet, formatValidationSet, manifestPathFor, parseManifest, parseValidationSet, rebuildFromManifest } from '../../src/eval/index.js';
import { InputError } from '../../src/config/input-error.js';
import { ROOT } from '../helpers/cli.js';
import { HAVE_SHARED, shared } from './_data.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-build-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const AE = shared('alpaca_eval/results/gpt4_1106_preview/model_outputs.json');
const Q25 = shared('arena-hard-v0.1/question.jsonl');
const A25 = shared('arena-hard-v0.1/model_answer/gpt-4-0314.jsonl');
const Q24 = shared('arena-hard-v0.1/legacy_format_2024/question.jsonl');
const A24 = shared('arena-hard-v0.1/legacy_format_2024/model_answer/gpt-4-0314.jsonl');

describe('builder on small files', () => {
  const ae = write('ae.json', JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ instruction: `q${i}`, output: `a${i}`, generator: 'ref', dataset: i % 2 ? 'odd' : 'even' }))));
  const q = write('q.jsonl', Array.from({ length: 20 }, (_, i) => JSON.stringify({ uid: `u${i}`, category: 'c', cluster: 'k', prompt: `p${i}` })).join('\n'));
  const a = write('a.jsonl', Array.from({ length: 20 }, (_, i) => JSON.stringify({ uid: `u${i}`, model: 'base', messages: [{ role: 'user', content: `p${i}` }, { role: 'assistant', content: { answer: `r${i}` } }] })).join('\n'));

  it('samples per source, deterministically by seed, with the documented fields', () => {
    const b = buildValidationSet({ alpacaEval: ae, arenaHardQuestions: q, arenaHardBaseline: a, perSource: 5, seed: 0 });
    expect(b.items).toHaveLength(10);
    expect(b.manifest.ids.alpaca_eval).toHaveLength(5);
    const first = b.items[0]!;
    expect(first.id).toMatch(/^ae-\d+$/);
    const n = Number(first.id.slice(3));
    expect(first).toEqual({ id: `ae-${n}`, source: 'alpaca_eval', prompt: `q${n}`, reference: `a${n}`, category: n % 2 ? 'odd' : 'even' });
    const ah = b.items.find((i) => i.source === 'arena_hard')!;
    const k = ah.id.slice(4);
    expect(ah).toEqual({ id: `ah-u${k}`, source: 'arena_hard', prompt: `p${k}`, reference: `r${k}`, category: 'c' });
    expect(b.manifest.inputs.arenaHardBaseline).toMatchObject({ name: 'a.jsonl', format: 'arena-hard-2025', model: 'base' });
    expect(buildValidationSet({ alpacaEval: ae, arenaHardQuestions: q, arenaHardBaseline: a, perSource: 5, seed: 0 })).toEqual(b);
    const other = buildValidationSet({ alpacaEval: ae, perSource: 5, seed: 1 });
    expect(other.manifest.ids.alpaca_eval).not.toEqual(b.manifest.ids.alpaca_eval);
    expect(parseValidationSet(formatValidationSet(b.items))).toEqual(b.items);
  });

  it('rejects bad inputs with InputError naming the file and line', () => {
    const bad = write('bad.jsonl', '{"uid": "x", "prompt": "p"}\n{"question_id": "y", "turns": [{"content": "q"}]}\n');
    expect(() => buildValidationSet({ arenaHardQuestions: bad, arenaHardBaseline: a, perSource: 1, seed: 0 })).toThrow(/bad\.jsonl:2: mixes Arena-Hard formats/);
    const broken = write('broken.jsonl', '{"uid": "x",\n');
    expect(() => buildValidationSet({ arenaHardQuestions: broken, arenaHardBaseline: a, perSource: 1, seed: 0 })).toThrow(/broken\.jsonl:1: malformed JSON/);
    expect(() => buildValidationSet({ alpacaEval: ae, perSource: 31, seed: 0 })).toThrow(/--per-source 31 exceeds the 30 usable alpaca_eval prompts/);
    expect(() => buildValidationSet({ arenaHardQuestions: q, perSource: 1, seed: 0 })).toThrow(InputError);
    expect(() => buildValidationSet({ alpacaEval: join(dir, 'nope.json'), perSource: 1, seed: 0 })).toThrow(/nope\.json: AlpacaEval outputs file not found/);
  });

  it('a rebuild refuses inputs that differ from the manifest', () => {
    const b = buildValidationSet({ alpacaEval: ae, perSource: 5, seed: 0 });
    const changed = write('ae2.json', JSON.stringify(Array.from({ length: 30 }, (_, i) => ({ instruction: `Q${i}`, output: `a${i}` }))));
    expect(() => rebuildFromManifest(b.manifest, { alpacaEval: changed }, 'm.json')).toThrow(/m\.json \(inputs\.alpacaEval\): ae2\.json has sha256 .* the rebuilt prompts differ/);
    expect(rebuildFromManifest(b.manifest, { alpacaEval: ae }).items).toEqual(b.items);
    expect(() => parseManifest('{"kind": "x"}', 'm.json')).toThrow(/m\.json \(kind\)/);
    expect(manifestPathFor('validation-sets/x.jsonl')).toBe('validation-sets/x.manifest.json');
  });
});

describe.skipIf(!HAVE_SHARED)('builder on the real AlpacaEval 2.0 and Arena-Hard files', () => {
  const b25 = buildValidationSet({ alpacaEval: AE, arenaHardQuestions: Q25, arenaHardBaseline: A25, perSource: 50, seed: 0 });

  it('builds 50 + 50, the same ids from both Arena-Hard formats', () => {
    expect(b25.items).toHaveLength(100);
    expect(b25.items.filter((i) => i.source === 'alpaca_eval')).toHaveLength(50);
    expect(new Set(b25.items.map((i) => i.id)).size).toBe(100);
    const b24 = buildValidationSet({ alpacaEval: AE, arenaHardQuestions: Q24, arenaHardBaseline: A24, perSource: 50, seed: 0 });
    expect(b24.manifest.inputs.arenaHardQuestions!.format).toBe('arena-hard-2024');
    expect(b24.manifest.inputs.arenaHardQuestions!.sha256).not.toBe(b25.manifest.inputs.arenaHardQuestions!.sha256);
    expect(b24.manifest.ids).toEqual(b25.manifest.ids);
    expect(b24.items).toEqual(b25.items);
    expect(b24.manifest.contentSha256).toBe(b25.manifest.contentSha256);
  });

  it('the committed manifest rebuilds the same 100 prompts from either format', () => {
    const file = join(ROOT, 'validation-sets/alpaca-arena-100.manifest.json');
    const m = parseManifest(readFileSync(file, 'utf8'), file);
    expect(m.ids).toEqual(b25.manifest.ids);
    const r25 = rebuildFromManifest(m, { alpacaEval: AE, arenaHardQuestions: Q25, arenaHardBaseline: A25 }, file);
    const r24 = rebuildFromManifest(m, { alpacaEval: AE, arenaHardQuestions: Q24, arenaHardBaseline: A24 }, file);
    expect(r25.items.map((i) => i.id)).toEqual(b25.items.map((i) => i.id));
    expect(r24.items).toEqual(r25.items);
    expect(r25.verifiedByContent).toEqual([]);
    expect(r24.verifiedByContent.sort()).toEqual(['arenaHardBaseline', 'arenaHardQuestions']);
  });
});
