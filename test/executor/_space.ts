import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseSpace, type SearchSpace } from '../../src/config/index.js';

export const KEY = 'test-key-12345-secret';
export const KEY_ENV = 'MOA_EXECUTOR_TEST_KEY';

/**
 * A space with one keyed provider (`remote`) and one keyless one (`local`), both at `url`.
 * Prices: A costs $1/$2 per 1M tokens, B $10/$30, C (keyless) $1/$1.
 */
export function testSpace(url: string, opts: { maxRetries?: number; maxConcurrency?: number } = {}): SearchSpace {
  const retries = opts.maxRetries ?? 2;
  const conc = opts.maxConcurrency ?? 64;
  return parseSpace(
    `
providers:
  remote: { baseURL: "${url}", apiKeyEnv: ${KEY_ENV}, maxRetries: ${retries}, maxConcurrency: ${conc} }
  local: { baseURL: "${url}", keyless: true, maxRetries: ${retries}, maxConcurrency: ${conc} }
models:
  - { id: A, provider: remote, upstream: up/model-a, price: { input: 1, output: 2 }, maxCopies: 4 }
  - { id: B, provider: remote, price: { input: 10, output: 30 } }
  - { id: C, provider: local, price: { input: 1, output: 1 }, maxCopies: 4 }
generation: { temperature: 0.7, maxTokens: 64 }
`,
    'test-space.yaml',
  );
}

export function tempDir(prefix = 'moa-exec-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export const user = (content: string) => [{ role: 'user' as const, content }];
