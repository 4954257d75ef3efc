// `moa-search --help` and every subcommand's help work, and help loads none of the heavy modules: the command
// files only declare options, their actions import the implementations lazily.
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command } from 'commander';
import { registerAsk } from '../../src/cli/commands/ask.js';
import { registerCache } from '../../src/cli/commands/cache.js';
import { registerModels } from '../../src/cli/commands/models.js';
import { registerEval } from '../../src/cli/commands/eval.js';
import { registerGenerate } from '../../src/cli/commands/generate.js';
import { registerPareto } from '../../src/cli/commands/pareto.js';
import { registerReport } from '../../src/cli/commands/report.js';
import { registerSearch } from '../../src/cli/commands/search.js';
import { registerServe } from '../../src/cli/commands/serve.js';
import { registerSim } from '../../src/cli/commands/sim.js';
import { registerValidation } from '../../src/cli/commands/validation.js';
import { removeTempDirs, runCliIn, tempDir } from './_fixtures.js';

/** Packages and project folders that `--help` must not load (SQLite, the SDK, charts, optimizers, schemas). */
const HEAVY = /node_modules\/(better-sqlite3|openai|vega|vega-lite|ml-matrix|fmin|zod|yaml|diff)\/|\/src\/(executor|providers|eval|moa|search|report|server|cost|catalog)\//;

function allCommands(): Command[] {
  const program = new Command('moa-search');
  for (const register of [registerSearch, registerAsk, registerEval, registerSim, registerValidation, registerReport, registerPareto, registerServe, registerCache, registerModels, registerGenerate]) register(program);
  const out: Command[] = [];
  const walk = (c: Command) => {
    for (const sub of c.commands) {
      out.push(sub);
      walk(sub);
    }
  };
  walk(program);
  return out;
}

afterAll(removeTempDirs);

describe('help', () => {
  it('`moa-search --help` exits 0, lists every command, and loads no heavy module', async () => {
    const dir = tempDir('moa-accept-help-');
    // A resolve hook that reports every module the CLI loads, registered after tsx's own.
    writeFileSync(join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { const r = await next(s, c); process.stderr.write('LOADED ' + r.url + '\\n'); return r; }\n");
    writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
    const r = await runCliIn(dir, ['--help'], { NODE_OPTIONS: `--import ${pathToFileURL(join(dir, 'register.mjs')).href}` });
    expect(r.code, r.stderr).toBe(0);
    for (const c of ['search', 'ask', 'eval', 'sim', 'validation', 'report', 'pareto', 'serve', 'cache', 'models', 'generate']) expect(r.stdout).toMatch(new RegExp(`^\\s+${c}\\b`, 'm'));
    const loaded = r.stderr.split('\n').filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7));
    // The hook saw the CLI itself: the check below is not vacuous.
    expect(loaded.some((u) => u.endsWith('/src/cli/main.ts'))).toBe(true);
    expect(loaded.some((u) => u.includes('/node_modules/commander/'))).toBe(true);
    expect(loaded.filter((u) => HEAVY.test(u))).toEqual([]);
  });

  it('every subcommand renders its help', () => {
    const commands = allCommands();
    expect(commands.map((c) => c.name())).toEqual(
      expect.arrayContaining(['search', 'ask', 'eval', 'sim', 'validation', 'build', 'check', 'report', 'pareto', 'serve', 'cache', 'stats', 'clear', 'models', 'import', 'generate', 'sft', 'dpo', 'preferences']),
    );
    for (const c of commands) {
      const help = c.helpInformation();
      expect(help, c.name()).toMatch(new RegExp(`^Usage: moa-search (\\S+ )?${c.name()}\\b`));
      expect(help, c.name()).toMatch(/-h, --help/);
      expect(c.description().length, c.name()).toBeGreaterThan(10);
    }
  });
});

describe('usage errors', () => {
  it('a mistyped command is an unknown command (exit 2), not a stray argument of the default search', async () => {
    const dir = tempDir('moa-accept-help-');
    const r = await runCliIn(dir, ['evl']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([expect.stringContaining("unknown command 'evl'")]);
  });

  it('report and pareto on a file that is not a database: exit 2 naming --db, nothing left beside it', async () => {
    const dir = tempDir('moa-accept-help-');
    const notes = join(dir, 'notes.yaml');
    writeFileSync(notes, 'a: 1\n');
    for (const cmd of ['report', 'pareto']) {
      const r = await runCliIn(dir, [cmd, 'some-study', '--db', notes]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(/notes\.yaml \(--db\): cannot be opened as a moa-search database/);
    }
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(dir)).toEqual(['notes.yaml']);
  });
});
