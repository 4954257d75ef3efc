// Regenerates the offline default files from the sim profiles and prompts, deterministically:
//   search-spaces/sim.yaml, sim-12.yaml, sim-release.yaml, catalogs/openrouter-sample.json,
//   validation-sets/sim-100.jsonl
// Run: npx tsx bench/make-sim-files.ts   (re-run after changing profiles' prices or the prompts)
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { PACKAGE_ROOT } from '../src/paths.js';
import { writeSimFiles } from '../src/sim/sim-files.js';

const out = writeSimFiles(PACKAGE_ROOT);
for (const [file, text] of Object.entries(out)) {
  mkdirSync(dirname(resolve(PACKAGE_ROOT, file)), { recursive: true });
  writeFileSync(resolve(PACKAGE_ROOT, file), text);
  console.log(`wrote ${file} (${text.length} bytes)`);
}
