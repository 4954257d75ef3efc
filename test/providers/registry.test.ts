import { describe, expect, it } from 'vitest';
import { InputError, loadSpace, parseSpace } from '../../src/config/index.js';
import { openExecutor } from '../../src/executor/index.js';
import { SIM_SPACE_FILE } from '../../src/paths.js';
import { checkProviderKeys, createProvider } from '../../src/providers/index.js';

describe('provider registry', () => {
  it('builds a sim provider lazily from a kind: sim spec', async () => {
    const space = loadSpace(SIM_SPACE_FILE);
    const m = space.models[0]!;
    const p = createProvider('sim', space.providers[m.provider]!);
    expect(p.name).toBe('sim');
    const req = { model: m.upstream ?? m.id, messages: [{ role: 'user' as const, content: 'Name a prime number.' }], maxTokens: 200, seed: 0 };
    const a = await p.complete(req);
    expect(a.text.length).toBeGreaterThan(0);
    expect(a.usage?.completionTokens).toBeGreaterThan(0);
    expect((await p.complete(req)).text).toBe(a.text);
    await p.close?.();
  });

  it('runs the executor over the simulated world with caching', async () => {
    const space = loadSpace(SIM_SPACE_FILE);
    const ex = await openExecutor({ space });
    const req = { model: space.models[0]!.id, messages: [{ role: 'user' as const, content: 'Explain WAL mode briefly.' }], maxTokens: 100 };
    const first = await ex.generate(req);
    const second = await ex.generate(req);
    expect(first.cached).toBe(false);
    expect(second).toEqual({ ...first, cached: true });
    expect(ex.spend().calls).toEqual({ made: 1, cached: 1, failed: 0 });
    await ex.close();
  });

  it('checkProviderKeys names the first provider a model set needs whose key is missing', () => {
    const space = parseSpace(`
providers:
  a: { baseURL: "http://127.0.0.1:1/v1", apiKeyEnv: KEY_A }
  b: { baseURL: "http://127.0.0.1:1/v1", apiKeyEnv: KEY_B }
  l: { baseURL: "http://127.0.0.1:1/v1", keyless: true }
models:
  - { id: X, provider: a, price: { input: 1, output: 1 } }
  - { id: Y, provider: b, price: { input: 1, output: 1 } }
  - { id: Z, provider: l, price: { input: 1, output: 1 } }
`, 'keys.yaml');
    expect(() => checkProviderKeys(space, ['X', 'Z'], { KEY_A: 'k' })).not.toThrow();
    const err = (() => {
      try {
        checkProviderKeys(space, undefined, { KEY_A: 'k' });
      } catch (e) {
        return e as InputError;
      }
      throw new Error('expected an InputError');
    })();
    expect(err).toBeInstanceOf(InputError);
    expect(err.message).toContain('keys.yaml');
    expect(err.message).toContain('"b"');
    expect(err.message).toContain('KEY_B');
  });
});
