// A second process for the multi-process tests: it opens the same database (file or URL) and
// generates through the executor against the test's loopback server.
// argv: dbPath url prefix count [kill]
import { openExecutor } from '../../src/executor/index.js';
import { testSpace, user } from './_space.js';

const [dbPath, url, prefix, countArg, mode] = process.argv.slice(2);
const count = Number(countArg);
const ex = await openExecutor({ space: testSpace(url!), dbPath: dbPath! });
let made = 0;
let cached = 0;
// Interleave private prompts with prompts the parent process also generates.
await Promise.all(
  Array.from({ length: count }, async (_, i) => {
    const a = await ex.generate({ model: 'C', messages: user(`${prefix} ${i}`) });
    const b = await ex.generate({ model: 'C', messages: user(`shared ${i}`) });
    for (const r of [a, b]) r.cached ? cached++ : made++;
  }),
);
// Read back what the other process wrote (it may or may not be done: just no errors).
await ex.cache.stats();
if (mode === 'kill') {
  // Die without closing anything: every result must already be committed.
  process.stdout.write(JSON.stringify({ made, cached }) + '\n', () => process.kill(process.pid, 'SIGKILL'));
} else {
  await ex.close();
  process.stdout.write(JSON.stringify({ made, cached }) + '\n');
}
