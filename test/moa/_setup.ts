import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSpace, type SearchSpace } from '../../src/config/index.js';
import { openExecutor } from '../../src/executor/index.js';
import type { Executor } from '../../src/executor/types.js';
import { defaultAnswer, startOpenAIServer, type FakeHandler, type FakeServer } from '../helpers/openai-server.js';

export { GEN, spaceYaml, tempDir } from './_space.js';
import { tempDir, spaceYaml } from './_space.js';

export interface World {
  server: FakeServer;
  space: SearchSpace;
  executor: Executor;
  dir: string;
  /** A fresh executor on its own database (cold cache) against the same server. */
  freshExecutor(): Promise<Executor>;
  close(): Promise<void>;
}

export async function startWorld(handler?: FakeHandler): Promise<World> {
  const server = await startOpenAIServer({ handler });
  const dir = tempDir();
  const spaceFile = join(dir, 'space.yaml');
  writeFileSync(spaceFile, spaceYaml(server.url));
  const space = parseSpace(spaceYaml(server.url), spaceFile);
  const executors: Executor[] = [];
  let n = 0;
  const freshExecutor = async () => {
    const ex = await openExecutor({ space, dbPath: join(dir, `db-${n++}.sqlite`) });
    executors.push(ex);
    return ex;
  };
  const executor = await freshExecutor();
  return {
    server,
    space,
    executor,
    dir,
    freshExecutor,
    async close() {
      for (const ex of executors) await ex.close();
      await server.close();
    },
  };
}

/** The text the loopback server answered to the call for (model, seed) at a given layer position. */
export function answerOf(server: FakeServer, pick: (body: any) => boolean): string {
  const c = server.calls.find((c) => pick(c.body));
  if (!c) throw new Error('no such call');
  return defaultAnswer(c.body);
}

export function systemOf(body: any): string {
  const sys = (body.messages as Array<{ role: string; content: string }>).filter((m) => m.role === 'system');
  if (sys.length !== 1) throw new Error(`expected one system message, got ${sys.length}`);
  return sys[0]!.content;
}
