import { basename } from 'node:path';
import { InputError, loadMixture, loadSpace, singleModelMixture } from '../config/index.js';
import { loadPreferences, resolveJudge, rewardModelSettings, scoreJudgeAgreement, type JudgeAgreementResult } from '../eval/index.js';
import { checkDbLocation, openExecutor } from '../executor/index.js';
import { checkMixtureKeys } from '../moa/index.js';
import { resolveDbPath, SIM_SPACE_FILE } from '../paths.js';

export interface EvalJudgeFlags {
  space?: string;
  preferences: string;
  judge?: string;
  judgeMixture?: string;
  criteria?: boolean;
  limit?: number;
  db?: string;
  concurrency?: number;
  budget?: number;
  seed?: number;
  json?: boolean;
}

/**
 * `moa-search eval --preferences <file> [--judge-mixture <file> | --judge <model>]`: how often a judge agrees
 * with reference preferences, with a bootstrap 95% interval. Loaded only when the flag is given.
 */
export async function evalJudge(flags: EvalJudgeFlags): Promise<void> {
  // Everything is validated before the database is opened: bad input writes nothing.
  const space = loadSpace(flags.space ?? SIM_SPACE_FILE);
  const set = loadPreferences(flags.preferences);
  const judgeMixture = flags.judgeMixture !== undefined ? loadMixture(flags.judgeMixture, space, 'judge', '--judge-mixture') : undefined;
  const settings = rewardModelSettings(space, { judgeMixture, judgeModel: flags.judge, criteria: flags.criteria });
  const resolved = resolveJudge(space, settings);
  checkMixtureKeys(resolved.mixture ?? singleModelMixture(resolved.model!), space);
  const items = flags.limit !== undefined ? set.items.slice(0, flags.limit) : set.items;
  if (!items.length) throw new InputError('no pairs to judge', { field: '--limit' });
  const dbPath = checkDbLocation(resolveDbPath(flags.db));
  const err = process.stderr;

  const executor = await openExecutor({ space, dbPath, budgetUsd: flags.budget });
  // Said once the database is open: a PostgreSQL server that refuses us is still one line.
  if (!flags.space) err.write(`moa-search: no --space given: using the simulated world (${space.file})\n`);
  if (set.skipped) err.write(`moa-search: ${set.skipped} annotations without a preference left out\n`);
  const judgeName = resolved.mixture ? `mixture of ${resolved.mixture.proposerLayers.length ? Object.keys(resolved.mixture.proposerLayers[0]!).length : 0} judges → ${resolved.mixture.aggregator}` : `model ${resolved.model}`;
  const tty = err.isTTY;
  let r: JudgeAgreementResult;
  try {
    r = await scoreJudgeAgreement({
      space,
      executor,
      judge: settings,
      items,
      concurrency: flags.concurrency,
      bootstrap: { seed: flags.seed ?? 0 },
      onProgress: ({ done, total }) => {
        if (tty) err.write(`\r  judging ${done}/${total} pairs`);
        else if (done % Math.max(10, Math.ceil(total / 10)) === 0 || done === total) err.write(`judging: ${done}/${total} pairs\n`);
      },
    });
    if (tty) err.write('\n');
  } finally {
    await executor.close();
  }
  if (flags.json) {
    const { perItem: _perItem, ...rest } = r;
    process.stdout.write(JSON.stringify({ ...rest, judge: judgeName, preferences: { file: set.file, sha256: set.sha256, format: set.format, pairs: items.length, skipped: set.skipped } }) + '\n');
    return;
  }
  const f1 = (x: number) => x.toFixed(1);
  const ci = (c: [number, number]) => `[${f1(c[0])}, ${f1(c[1])}]`;
  const lines = [
    `judge        ${judgeName}${settings.criteria ? ' (with criteria)' : ''}`,
    `preferences  ${basename(set.file)}: ${items.length} pairs (${set.format === 'alpaca_eval' ? 'AlpacaEval annotations' : 'JSONL'})`,
    `agreement    ${f1(r.agreement)} ${ci(r.ci)}  (% of verdicts matching the reference; 95% bootstrap CI, n=${r.n}; both presentation orders judged)`,
    ...(Object.keys(r.bySource).length > 1 ? Object.entries(r.bySource).map(([s, v]) => `  ${s.padEnd(11)} ${f1(v.agreement)} ${ci(v.ci)}  n=${v.n}`) : []),
    `cost         $${r.costPerPair.toFixed(5)} per pair at list prices; spent $${r.spent.toFixed(4)}; calls: ${r.calls.made} made, ${r.calls.cached} cached`,
    `failures     judge unparsed ${r.unparsed}, judge failed ${r.failed}`,
  ];
  process.stdout.write(lines.join('\n') + '\n');
}
