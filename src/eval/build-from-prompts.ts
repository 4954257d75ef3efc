import { basename } from 'node:path';
import { InputError } from '../config/input-error.js';
import { findModel, type SearchSpace } from '../config/space.js';
import type { Executor, GenerationRequest } from '../executor/types.js';
import { sha256Hex } from '../random.js';
import { jsonlObjects, readInputFile } from './_input-files.js';
import { MANIFEST_KIND, type BuiltSet } from './build-validation.js';
import { formatValidationSet } from './validation-set.js';
import type { ValidationItem } from './types.js';
import { eachUntilFailure } from './_each-until-failure.js';

/** A prompt of the user's own: `{id?, prompt, source?, category?}`. */
export interface PromptLine {
  id: string;
  prompt: string;
  source: string;
  category?: string;
}

/** Read a bring-your-own prompts file (JSONL). Ids default to `p-<line>`, sources to `custom`. */
export function loadPromptsFile(file: string): { prompts: PromptLine[]; sha256: string } {
  const f = readInputFile(file, 'prompts file');
  const prompts: PromptLine[] = [];
  const seen = new Map<string, number>();
  for (const { line, obj } of jsonlObjects(f)) {
    const at = (field?: string) => ({ file, line, field });
    for (const k of Object.keys(obj)) if (!['id', 'prompt', 'source', 'category'].includes(k)) throw new InputError(`unknown field "${k}" (expected id, prompt, source, category)`, at(k));
    for (const k of ['id', 'source', 'category']) if (obj[k] !== undefined && (typeof obj[k] !== 'string' || !(obj[k] as string).trim())) throw new InputError('must be a non-empty string', at(k));
    if (typeof obj.prompt !== 'string') throw new InputError('missing or not a string', at('prompt'));
    if (!obj.prompt.trim()) throw new InputError('must not be empty', at('prompt'));
    const id = (obj.id as string | undefined) ?? `p-${line}`;
    const prev = seen.get(id);
    if (prev !== undefined) throw new InputError(`duplicate id "${id}" (first on line ${prev})`, at('id'));
    seen.set(id, line);
    const p: PromptLine = { id, prompt: obj.prompt, source: (obj.source as string | undefined) ?? 'custom' };
    if (typeof obj.category === 'string') p.category = obj.category;
    prompts.push(p);
  }
  if (!prompts.length) throw new InputError('no prompts', { file });
  return { prompts, sha256: f.sha256 };
}

/** The baseline model could not write a reference (after the executor's retries). */
export class ReferenceGenerationError extends Error {
  override readonly name = 'ReferenceGenerationError';
  constructor(
    readonly promptId: string,
    readonly model: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`could not write the reference for prompt ${promptId} with ${model}: ${reason}`, options);
  }
}

export interface BuildFromPromptsOptions {
  promptsFile: string;
  baselineModel: string;
  space: SearchSpace;
  executor: Executor;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
  signal?: AbortSignal;
}

/** Check the baseline model before any call (InputError naming the flag). */
export function checkBaselineModel(space: SearchSpace, model: string): void {
  if (!findModel(space, model)) throw new InputError(`unknown model "${model}" (not in ${space.file})`, { field: '--baseline-model' });
}

/**
 * References for the user's own prompts, written by the baseline model through the caching executor (so a
 * rebuild costs nothing). Sampling follows the space's `generation` settings; the run is recorded under the
 * `reference` spend account.
 */
export async function buildFromPrompts(opts: BuildFromPromptsOptions): Promise<BuiltSet> {
  const { prompts, sha256 } = loadPromptsFile(opts.promptsFile);
  checkBaselineModel(opts.space, opts.baselineModel);
  const g = opts.space.generation;
  const items: ValidationItem[] = new Array(prompts.length);
  let done = 0;
  await eachUntilFailure(prompts.length, opts.concurrency ?? 4, async (i) => {
    const p = prompts[i]!;
    const req: GenerationRequest = { model: opts.baselineModel, messages: [{ role: 'user', content: p.prompt }], temperature: g.temperature, maxTokens: g.maxTokens };
    if (g.topP !== undefined) req.topP = g.topP;
    try {
      const r = await opts.executor.generate(req, { account: 'reference', signal: opts.signal });
      if (!r.text.trim()) throw new ReferenceGenerationError(p.id, opts.baselineModel, 'the answer was empty');
      const it: ValidationItem = { id: p.id, source: p.source, prompt: p.prompt, reference: r.text };
      if (p.category) it.category = p.category;
      items[i] = it;
      opts.onProgress?.(++done, prompts.length);
    } catch (e) {
      throw e instanceof ReferenceGenerationError || (e as Error)?.name === 'BudgetExceeded' ? e : new ReferenceGenerationError(p.id, opts.baselineModel, (e as Error).message, { cause: e });
    }
  });
  const ids: Record<string, string[]> = {};
  for (const it of items) (ids[it.source] ??= []).push(it.id);
  return {
    items,
    manifest: {
      kind: MANIFEST_KIND,
      version: 1,
      sampler: 'none: every prompt of the file, in file order',
      seed: 0,
      perSource: 0,
      inputs: { prompts: { name: basename(opts.promptsFile), sha256, format: 'prompts-jsonl' } },
      ids,
      count: items.length,
      contentSha256: sha256Hex(formatValidationSet(items)),
      baselineModel: opts.baselineModel,
    },
    verifiedByContent: [],
  };
}
