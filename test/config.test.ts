import { describe, expect, it } from 'vitest';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadMixture, loadSpace, mixtureKey, mixtureName, parseSpace, toMixtureFile, parseMixtureObject } from '../src/config/index.js';
import { errorOf } from './helpers/input-error.js';

const dir = mkdtempSync(join(tmpdir(), 'moa-config-'));
const write = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const SPACE = `
providers:
  local: { baseURL: "http://127.0.0.1:1/v1", keyless: true }
models:
  - id: A
    provider: local
    price: { input: 1, output: 2 }
    maxCopies: 3
  - id: B
    provider: local
    price: { input: 1, output: 2 }
`;

describe('search-space files', () => {
  it('loads and applies defaults', () => {
    const s = loadSpace(write('ok.yaml', SPACE));
    expect(s.models[0]!.roles).toEqual(['proposer', 'aggregator']);
    expect(s.generation).toEqual({ temperature: 0.7, maxTokens: 2048 });
    expect(s.search.layers).toBe(2);
  });

  it('names file, line and field of a bad value', () => {
    const bad = SPACE.replace('input: 1, output: 2 }\n    maxCopies', 'input: -1, output: 2 }\n    maxCopies');
    const e = errorOf(() => loadSpace(write('neg.yaml', bad)));
    expect(e.message).toMatch(/neg\.yaml:7 \(models\[0\]\.price\.input\)/);
    expect(e.message.split('\n')).toHaveLength(1);
  });

  it('reports malformed YAML with a line', () => {
    const e = errorOf(() => loadSpace(write('broken.yaml', 'providers:\n  a: [1, 2\nmodels: {')));
    expect(e.message).toMatch(/broken\.yaml:\d+: malformed YAML/);
  });

  it('requires an API key variable or keyless', () => {
    const e = errorOf(() => parseSpace(SPACE.replace(', keyless: true', ''), 's.yaml'));
    expect(e.message).toMatch(/providers\.local\.apiKeyEnv/);
  });

  it('rejects an unknown provider and unknown judge model', () => {
    expect(errorOf(() => parseSpace(SPACE.replace('id: B\n    provider: local', 'id: B\n    provider: nope'), 's.yaml')).message).toMatch(/s\.yaml:\d+ \(models\[1\]\.provider\): unknown provider "nope"/);
    const e = errorOf(() => parseSpace(SPACE + 'judge: { model: Z }\n', 's.yaml'));
    expect(e.message).toMatch(/judge\.model.*unknown model "Z"/);
  });
});

describe('mixture files', () => {
  const space = parseSpace(SPACE, 'space.yaml');

  it('normalizes the paper format and round-trips', () => {
    const m = loadMixture('{"layers": 3, "proposers": {"B": 1, "A": 2}, "aggregator": "A"}', space);
    expect(m.proposerLayers).toEqual([{ A: 2, B: 1 }, { A: 2, B: 1 }]);
    expect(toMixtureFile(m)).toEqual({ layers: 3, proposers: { A: 2, B: 1 }, aggregator: 'A', mode: 'synthesize' });
    expect(mixtureKey(parseMixtureObject(toMixtureFile(m), space))).toBe(mixtureKey(m));
    expect(mixtureName(m)).toBe('2×A+B ×2L → A');
  });

  it('accepts per-layer multisets', () => {
    const m = loadMixture(write('m.json', '{"layers": [{"A": 1}, {"B": 1}], "aggregator": "B"}'), space);
    expect(m.proposerLayers).toEqual([{ A: 1 }, { B: 1 }]);
  });

  it('rejects unknown models and counts above maxCopies', () => {
    expect(errorOf(() => loadMixture('{"layers": 2, "proposers": {"Z": 1}, "aggregator": "A"}', space)).message).toMatch(/unknown model "Z"/);
    const e = errorOf(() => loadMixture(write('m2.json', '{\n "layers": 2,\n "proposers": {"B": 2},\n "aggregator": "A"\n}'), space));
    expect(e.message).toMatch(/m2\.json:3 .*exceed its maxCopies \(1\)/);
  });

  it('rejects a missing file and a missing aggregator', () => {
    expect(errorOf(() => loadMixture('nope.json', space)).message).toMatch(/nope\.json: mixture file not found/);
    expect(errorOf(() => loadMixture('{"layers": 1}', space)).message).toMatch(/aggregator/);
  });
});

describe('shipped files', () => {
  it('together-2024.yaml and every example mixture validate', async () => {
    const { readdirSync } = await import('node:fs');
    const space = loadSpace('search-spaces/together-2024.yaml');
    expect(space.models.find((m) => m.id === 'microsoft/WizardLM-2-8x22B')!.params).toEqual({ total: 141, active: 39 });
    const files = readdirSync('search-spaces/examples').filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    for (const f of files) loadMixture(`search-spaces/examples/${f}`, space);
  });
});
