// Issue 4 ("Evaluation"), its CLI "Done when" bullet and the `eval` contract, checked through the real CLI.
// The simulated world answers over real loopback HTTP (a chat-completions server that forwards to the
// in-process sim provider), so the judge protocols travel the same path as with a real endpoint and the
// server's count proves which calls were made.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { parse, stringify } from 'yaml';
import { createSimProvider } from '../../src/sim/index.js';
import type { ChatProvider, ProviderRequest } from '../../src/providers/types.js';
import { ROOT } from '../helpers/cli.js';
import { startOpenAIServer, type FakeReply, type FakeServer } from '../helpers/openai-server.js';
import { FAKE_KEY, bytesUnder, linesOf, removeTempDirs, runCliIn, tempDir } from './_fixtures.js';

const JUDGE_KEY_ENV = 'MOA_ACCEPTANCE_JUDGE_KEY';
const Q110 = 'Qwen/Qwen1.5-110B-Chat';
const Q72 = 'Qwen/Qwen1.5-72B-Chat';
const LLAMA = 'meta-llama/Llama-3-70b-chat-hf';

/** A chat-completions endpoint backed by the sim: the request is translated, answered in-process, translated back. */
async function startSimBackedServer(sim: ChatProvider): Promise<FakeServer> {
  return startOpenAIServer({
    handler: async (body): Promise<FakeReply> => {
      const req: ProviderRequest = { model: body.model, messages: body.messages };
      if (body.temperature !== undefined) req.temperature = body.temperature;
      const max = body.max_tokens ?? body.max_completion_tokens;
      if (max !== undefined) req.maxTokens = max;
      if (body.top_p !== undefined) req.topP = body.top_p;
      if (body.seed !== undefined) req.seed = body.seed;
      if (body.logprobs) req.logprobs = true;
      if (body.top_logprobs !== undefined) req.topLogprobs = body.top_logprobs;
      const r = await sim.complete(req);
      const reply: FakeReply = { text: r.text, finishReason: r.finishReason };
      if (r.usage) reply.usage = { prompt_tokens: r.usage.promptTokens, completion_tokens: r.usage.completionTokens };
      if (r.logprobs) reply.logprobs = r.logprobs.map((l) => ({ token: l.token, logprob: l.logprob, top_logprobs: l.top ?? [] }));
      return reply;
    },
  });
}

/**
 * search-spaces/sim.yaml with its `sim` provider swapped for two OpenAI-compatible ones at the loopback URL:
 * the mixture models on a keyless provider, the judge on one that needs a key (so a key is in play).
 */
function simSpaceOverHttp(url: string): string {
  const space = parse(readFileSync(resolve(ROOT, 'search-spaces/sim.yaml'), 'utf8'));
  space.providers = {
    http: { kind: 'openai', baseURL: url, keyless: true, maxRetries: 0, maxConcurrency: 16 },
    judgehttp: { kind: 'openai', baseURL: url, apiKeyEnv: JUDGE_KEY_ENV, maxRetries: 0, maxConcurrency: 16 },
  };
  // The closed judges (open proposers may judge too, for MoA reward models) sit behind the key.
  for (const m of space.models) m.provider = m.roles.includes('judge') && !m.roles.includes('proposer') ? 'judgehttp' : 'http';
  delete space.validation;
  return stringify(space);
}

/** The first n prompts of each source of sim-100: a small set with both judge protocols. */
function subset(perSource: number): string {
  const lines = readFileSync(resolve(ROOT, 'validation-sets/sim-100.jsonl'), 'utf8').split('\n').filter(Boolean);
  const taken = new Map<string, number>();
  const out: string[] = [];
  for (const l of lines) {
    const s = JSON.parse(l).source as string;
    if ((taken.get(s) ?? 0) >= perSource) continue;
    taken.set(s, (taken.get(s) ?? 0) + 1);
    out.push(l);
  }
  return out.join('\n') + '\n';
}

/** The keys the issue documents for `eval --json`, and the extensions the command adds beside them. */
const DOCUMENTED = ['score', 'ci', 'bySource', 'lc', 'costPerQuery', 'tflopsPerQuery', 'spent', 'calls'];
const EXTENSIONS = ['latencyProxyPerQuery', 'spentByAccount', 'failures', 'n', 'mixture', 'judge'];
/** What a run spends and calls: the only fields allowed to differ between two evaluations of one mixture. */
const accounting = ({ spent: _s, spentByAccount: _a, calls: _c, ...rest }: Record<string, unknown>) => rest;

const isInterval = (x: unknown) => Array.isArray(x) && x.length === 2 && x.every((v) => typeof v === 'number') && x[0] <= x[1];

describe('issue 4 acceptance: eval through the CLI over a sim-backed endpoint', () => {
  let server: FakeServer;
  let dir: string;
  let space: string;
  let validation: string;
  let firstPrompt: string;
  const env = { [JUDGE_KEY_ENV]: FAKE_KEY, MOA_SEARCH_DB: undefined };
  const mixture = JSON.stringify({ layers: 2, proposers: { [Q72]: 1, [LLAMA]: 1 }, aggregator: Q110 });
  const evalArgs = (db: string, ...rest: string[]) => ['eval', '--space', space, '--validation', validation, '--db', db, '--json', ...rest];

  beforeAll(async () => {
    server = await startSimBackedServer(createSimProvider({ worldSeed: 0 }));
    dir = tempDir('moa-accept-eval-');
    space = join(dir, 'space.yaml');
    writeFileSync(space, simSpaceOverHttp(server.url));
    validation = join(dir, 'subset.jsonl');
    writeFileSync(validation, subset(4));
    firstPrompt = JSON.parse(readFileSync(validation, 'utf8').split('\n')[0]!).prompt;
  });
  afterAll(async () => {
    await server?.close();
  });

  it('the same mixture twice: identical results, the second run makes 0 provider calls; documented JSON; judge spend apart', async () => {
    const home = join(dir, 'twice');
    const db = join(home, 'moa.sqlite');
    server.reset();
    const first = await runCliIn(dir, evalArgs(db, '--mixture', mixture), env);
    expect(first.code, first.stderr).toBe(0);
    const made = server.count();
    const a = JSON.parse(first.stdout);

    // The documented shape, and nothing undocumented beside the known extensions.
    expect(Object.keys(a).sort()).toEqual([...DOCUMENTED, ...EXTENSIONS].sort());
    expect(typeof a.score).toBe('number');
    expect(a.score).toBeGreaterThanOrEqual(0);
    expect(a.score).toBeLessThanOrEqual(100);
    expect(isInterval(a.ci)).toBe(true);
    expect(a.ci[0]).toBeLessThanOrEqual(a.score);
    expect(a.ci[1]).toBeGreaterThanOrEqual(a.score);
    expect(Object.keys(a.bySource).sort()).toEqual(['alpaca_eval', 'arena_hard']);
    for (const s of Object.values<any>(a.bySource)) {
      expect(typeof s.winRate).toBe('number');
      expect(isInterval(s.ci)).toBe(true);
      expect(s.n).toBe(4);
    }
    // The headline score is the mean of the per-source win rates.
    expect(a.score).toBeCloseTo((a.bySource.alpaca_eval.winRate + a.bySource.arena_hard.winRate) / 2, 9);
    expect(typeof a.lc).toBe('number');
    expect(a.costPerQuery).toBeGreaterThan(0);
    expect(a.tflopsPerQuery).toBeGreaterThan(0);
    expect(Object.keys(a.calls).sort()).toEqual(['cached', 'made']);
    expect(a.failures).toEqual({ generation: 0, judgeUnparsed: 0, truncated: 0 });

    // Every call the CLI says it made reached the endpoint: 3 mixture calls per prompt, then the judge's.
    expect(a.calls).toEqual({ made, cached: 0 });
    const judgeCalls = server.calls.filter((c) => c.body.model === 'sim-gpt-4o-mini-2024-07-18').length;
    // AlpacaEval protocol: one judge call per prompt; Arena-Hard: two games, positions swapped.
    expect(judgeCalls).toBe(4 * 1 + 4 * 2);
    expect(made).toBe(8 * 3 + judgeCalls);
    const firstJudgeHeaders = server.calls.filter((c) => c.body.model === 'sim-gpt-4o-mini-2024-07-18').map((c) => c.headers.authorization);
    // The keyless provider's calls carry no key at all.
    expect(server.calls.filter((c) => !String(c.headers.authorization ?? '').includes(FAKE_KEY))).toHaveLength(8 * 3);

    // Judge spend is counted apart from the mixture's: costPerQuery is the mixture's alone.
    expect(a.spentByAccount.judge).toBeGreaterThan(0);
    expect(a.spentByAccount.mixture).toBeGreaterThan(0);
    expect(a.spent).toBeCloseTo(a.spentByAccount.mixture + a.spentByAccount.judge, 12);
    expect(a.costPerQuery * 8).toBeCloseTo(a.spentByAccount.mixture, 9);

    server.reset();
    const second = await runCliIn(dir, evalArgs(db, '--mixture', mixture), env);
    expect(second.code, second.stderr).toBe(0);
    expect(server.count()).toBe(0);
    const b = JSON.parse(second.stdout);
    expect(b.calls).toEqual({ made: 0, cached: made });
    expect(b.spent).toBe(0);
    expect(b.spentByAccount).toEqual({ mixture: 0, judge: 0 });
    // Everything measured is identical, to the last digit of the JSON text.
    expect(JSON.stringify(accounting(b))).toBe(JSON.stringify(accounting(a)));

    // The judge's key went with each judge call and nowhere else: not printed, not stored.
    expect(firstJudgeHeaders).toHaveLength(12);
    expect(firstJudgeHeaders.every((h) => h === `Bearer ${FAKE_KEY}`)).toBe(true);
    for (const out of [first.stdout, first.stderr, second.stdout, second.stderr]) expect(out).not.toContain(FAKE_KEY);
    const stored = bytesUnder(home);
    // (The scan reads the real contents: the first prompt is there, as the cache stores its requests.)
    expect(stored).toContain(JSON.stringify(firstPrompt).slice(1, -1));
    expect(stored).not.toContain(FAKE_KEY);
  });

  it('eval --baseline <model> scores the single model, the same as the 1-layer mixture, from one cache', async () => {
    const db = join(dir, 'baseline', 'moa.sqlite');
    server.reset();
    const base = await runCliIn(dir, evalArgs(db, '--baseline', Q110), env);
    expect(base.code, base.stderr).toBe(0);
    const a = JSON.parse(base.stdout);
    // One generation per prompt, sent upstream under the model's upstream name, then the judge.
    const generations = server.calls.filter((c) => c.body.model === 'sim-qwen1.5-110b-chat');
    expect(generations).toHaveLength(8);
    expect(server.calls.filter((c) => c.body.model !== 'sim-qwen1.5-110b-chat').every((c) => c.body.model === 'sim-gpt-4o-mini-2024-07-18')).toBe(true);
    expect(a.calls.made).toBe(server.count());
    expect(a.mixture).toBe('Q110');
    expect(isInterval(a.ci)).toBe(true);

    server.reset();
    const single = await runCliIn(dir, evalArgs(db, '--mixture', JSON.stringify({ layers: 1, aggregator: Q110 })), env);
    expect(single.code, single.stderr).toBe(0);
    expect(server.count()).toBe(0);
    expect(JSON.stringify(accounting(JSON.parse(single.stdout)))).toBe(JSON.stringify(accounting(a)));
  });

  it('eval --budget: stops with a one-line BudgetExceeded (exit 1) and the money stored as spent stays within the budget', async () => {
    const db = join(dir, 'budget', 'moa.sqlite');
    const budget = 0.004; // about a fifth of what the full evaluation costs
    server.reset();
    const r = await runCliIn(dir, evalArgs(db, '--mixture', mixture, '--budget', String(budget)), env);
    expect(r.code).toBe(1);
    expect(linesOf(r.stderr).filter((l) => !l.startsWith('evaluating:'))).toEqual([expect.stringMatching(/^moa-search: error: budget exceeded: /)]);
    expect(r.stdout).toBe('');
    const sqlite = new Database(db, { readonly: true });
    try {
      const { n, spent } = sqlite.prepare('SELECT COUNT(*) AS n, COALESCE(SUM(cost_usd), 0) AS spent FROM generations').get() as { n: number; spent: number };
      expect(n).toBeGreaterThan(0);
      expect(n).toBeLessThanOrEqual(server.count());
      expect(spent).toBeGreaterThan(0);
      expect(spent).toBeLessThanOrEqual(budget);
    } finally {
      sqlite.close();
    }
  });

  it('bad input to eval: one line naming the field, exit 2, nothing written', async () => {
    const badSet = join(dir, 'bad-set.jsonl');
    writeFileSync(badSet, readFileSync(validation, 'utf8').split('\n')[0] + '\n{"id": "x", "source": "alpaca_eval", "prompt": "", "reference": "r"}\n');
    const cases: Array<{ name: string; args: string[]; env?: Record<string, string | undefined>; expect: RegExp }> = [
      { name: 'negative budget', args: ['--mixture', mixture, '--budget', '-1'], expect: /--budget/ },
      { name: 'count above maxCopies', args: ['--mixture', JSON.stringify({ layers: 2, proposers: { [Q72]: 4 }, aggregator: Q110 })], expect: /exceed its maxCopies \(3\)/ },
      { name: 'empty prompt in the set', args: ['--mixture', mixture, '--validation', badSet], expect: /bad-set\.jsonl:2 \(prompt\)/ },
      { name: 'the judge provider\'s key is missing', args: ['--baseline', Q72], env: { [JUDGE_KEY_ENV]: undefined }, expect: new RegExp(`space\\.yaml \\(providers\\.judgehttp\\.apiKeyEnv\\): .*${JUDGE_KEY_ENV} is not set`) },
    ];
    server.reset();
    const runs = cases.map((c, i) => {
      const home = join(dir, `bad-${i}`);
      mkdirSync(home);
      return { c, home, result: runCliIn(home, [...evalArgs(join(home, 'x.sqlite')), ...c.args], { ...env, ...c.env }) };
    });
    for (const { c, home, result } of runs) {
      const r = await result;
      expect(r.code, `${c.name}: ${r.stderr}`).toBe(2);
      expect(linesOf(r.stderr), c.name).toHaveLength(1);
      expect(r.stderr, c.name).toMatch(c.expect);
      expect(r.stdout, c.name).toBe('');
      expect(readdirSync(home), c.name).toEqual([]);
    }
    expect(server.count()).toBe(0);
  });
});

afterAll(removeTempDirs);

const SHARED = resolve(ROOT, '../shared/data');
const shared = (p: string) => resolve(SHARED, p);

describe.skipIf(!existsSync(SHARED))('issue 4 acceptance: validation build reproduces the committed 100 ids through the CLI', () => {
  const manifestFile = resolve(ROOT, 'validation-sets/alpaca-arena-100.manifest.json');
  const committed = JSON.parse(readFileSync(manifestFile, 'utf8'));
  const expectedIds = (Object.values(committed.ids) as string[][]).flat();
  const formats = {
    '2025': ['--arena-hard-questions', shared('arena-hard-v0.1/question.jsonl'), '--arena-hard-baseline', shared('arena-hard-v0.1/model_answer/gpt-4-0314.jsonl')],
    '2024': ['--arena-hard-questions', shared('arena-hard-v0.1/legacy_format_2024/question.jsonl'), '--arena-hard-baseline', shared('arena-hard-v0.1/legacy_format_2024/model_answer/gpt-4-0314.jsonl')],
  };
  const AE = ['--alpaca-eval', shared('alpaca_eval/results/gpt4_1106_preview/model_outputs.json')];
  const ids = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l).id as string);

  it('from the manifest, in both Arena-Hard formats, and afresh with --per-source 50 --seed 0', async () => {
    expect(expectedIds).toHaveLength(100);
    expect(new Set(expectedIds).size).toBe(100);
    const dir = tempDir('moa-accept-build-');
    const out = (name: string) => join(dir, `${name}.jsonl`);
    const [r25, r24, fresh] = await Promise.all([
      runCliIn(dir, ['validation', 'build', '--manifest', manifestFile, ...AE, ...formats['2025'], '--out', out('from-2025')]),
      runCliIn(dir, ['validation', 'build', '--manifest', manifestFile, ...AE, ...formats['2024'], '--out', out('from-2024')]),
      runCliIn(dir, ['validation', 'build', ...AE, ...formats['2024'], '--per-source', '50', '--seed', '0', '--out', out('fresh')]),
    ]);
    for (const r of [r25, r24, fresh]) expect(r.code, r.stderr).toBe(0);
    expect(ids(out('from-2025'))).toEqual(expectedIds);
    expect(ids(out('from-2024'))).toEqual(expectedIds);
    // Same prompts and references, whichever format they came from.
    expect(readFileSync(out('from-2024'), 'utf8')).toBe(readFileSync(out('from-2025'), 'utf8'));
    expect(r24.stderr).toMatch(/differ from the manifest's files .* same prompts and references/);
    // A fresh build writes a manifest beside the set naming the same ids.
    expect(ids(out('fresh'))).toEqual(expectedIds);
    const manifest = JSON.parse(readFileSync(join(dir, 'fresh.manifest.json'), 'utf8'));
    expect(manifest.ids).toEqual(committed.ids);
    expect(manifest.contentSha256).toBe(committed.contentSha256);
  });
});
