// A worker process for multi-process.test.ts: one executor on a shared database (file or URL) and budget scope,
// generating `count` prompts `${prefix} ${i}` with model C at `concurrency`. Prints {made, cached, refused}.
// argv[2]: JSON { location, url, prefix, count, concurrency, budget?, scope?, leaseMs? }
import pLimit from 'p-limit';
import { BudgetExceeded, openExecutor } from '../../src/executor/index.js';
import { testSpace, user } from './_space.js';

export interface WorkerOpts {
  location: string;
  url: string;
  prefix: string;
  count: number;
  concurrency: number;
  budget?: number;
  scope?: string;
  leaseMs?: number;
}

const o = JSON.parse(process.argv[2]!) as WorkerOpts;
const ex = await openExecutor({
  space: testSpace(o.url),
  dbPath: o.location,
  ...(o.budget !== undefined ? { budgetUsd: o.budget } : {}),
  ...(o.scope ? { ledgerScope: o.scope } : {}),
  ...(o.leaseMs ? { leaseMs: o.leaseMs } : {}),
});
const limit = pLimit(o.concurrency);
let made = 0;
let cached = 0;
let refused = 0;
await Promise.all(
  Array.from({ length: o.count }, (_, i) =>
    limit(async () => {
      try {
        const r = await ex.generate({ model: 'C', messages: user(`${o.prefix} ${i}`) });
        r.cached ? cached++ : made++;
      } catch (e) {
        if (!(e instanceof BudgetExceeded)) throw e;
        refused++;
      }
    }),
  ),
);
await ex.close();
process.stdout.write(JSON.stringify({ made, cached, refused }) + '\n');
