import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const GEN = { temperature: 0.7, maxTokens: 256 };

/** Six cheap models A..F (up to 3 copies each) plus an aggregator G and a summarizer S, all on one loopback server. */
export function spaceYaml(url: string, extra = ''): string {
  const model = (id: string, maxCopies = 3) =>
    `  - { id: ${id}, provider: local, price: { input: 1, output: 2 }, maxCopies: ${maxCopies}, roles: [proposer, aggregator, summarizer] }\n`;
  return (
    `providers:\n  local: { baseURL: "${url}", keyless: true, maxRetries: 0, maxConcurrency: 64 }\n${extra}` +
    `models:\n${['A', 'B', 'C', 'D', 'E', 'F', 'G', 'S'].map((id) => model(id)).join('')}` +
    `generation: { temperature: 0.7, maxTokens: 256 }\n`
  );
}

export function tempDir(prefix = 'moa-engine-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

