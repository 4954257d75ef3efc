import { basename } from 'node:path';
import { InputError } from '../config/input-error.js';
import { hashSeed, mulberry32, sampleWithoutReplacement, sha256Hex } from '../random.js';
import { readInputFile, type InputFile } from './_input-files.js';
import { readAlpacaEvalOutputs, readArenaHardAnswers, readArenaHardQuestions, type ArenaHardFormat } from './_sources.js';
import { formatValidationSet } from './validation-set.js';
import type { ValidationItem } from './types.js';

export const MANIFEST_KIND = 'moa-search/validation-manifest';

/**
 * How ids are drawn, written into every manifest so the sampling can be reproduced anywhere:
 * per source, the candidate ids in canonical order (AlpacaEval: file index ascending; Arena-Hard: question id,
 * ascending by code unit) are shuffled by a partial Fisher–Yates driven by mulberry32, seeded with the first
 * 4 bytes (big-endian) of SHA-256("<seed>:<source>"); the first `perSource` drawn are kept, in draw order.
 */
export const SAMPLER =
  'mulberry32 partial Fisher-Yates over canonically ordered ids; seed = uint32be(sha256("<seed>:<source>")[0..4]); ' +
  'alpaca_eval candidates by file index, arena_hard candidates by question id (ascending)';

export interface ManifestInput {
  name: string;
  sha256: string;
  format: string;
  /** Baseline model named in the answers file (Arena-Hard) or outputs (AlpacaEval). */
  model?: string;
}

export interface ValidationManifest {
  kind: typeof MANIFEST_KIND;
  version: 1;
  sampler: string;
  seed: number;
  perSource: number;
  inputs: Record<string, ManifestInput>;
  /** Chosen ids per source, in draw order; the order of the set's lines. */
  ids: Record<string, string[]>;
  count: number;
  /**
   * SHA-256 of the built JSONL. The two Arena-Hard formats hash differently as files but carry the same
   * questions and answers, so a rebuild is verified by this hash when a file hash differs.
   */
  contentSha256: string;
  /** Bring-your-own sets: the model whose answers are the references. */
  baselineModel?: string;
}

export interface BuildSources {
  alpacaEval?: string;
  arenaHardQuestions?: string;
  arenaHardBaseline?: string;
}

export interface BuildOptions extends BuildSources {
  perSource: number;
  seed: number;
}

export interface BuiltSet {
  items: ValidationItem[];
  manifest: ValidationManifest;
  /** Inputs whose file hash differed from the manifest but whose content matched (rebuilds only). */
  verifiedByContent: string[];
}

/** `<out>.jsonl` → `<out>.manifest.json` (the manifest sits beside the set). */
export function manifestPathFor(out: string): string {
  return out.replace(/\.jsonl$/i, '') + '.manifest.json';
}

interface Candidates {
  source: string;
  byId: Map<string, ValidationItem>;
  ordered: string[];
}

function alpacaCandidates(f: InputFile): { cands: Candidates; model?: string } {
  const rows = readAlpacaEvalOutputs(f);
  const byId = new Map<string, ValidationItem>();
  for (const r of rows) {
    // Rows with an empty instruction or output could not be judged; they are never candidates.
    if (!r.instruction.trim() || !r.output.trim()) continue;
    const it: ValidationItem = { id: `ae-${r.index}`, source: 'alpaca_eval', prompt: r.instruction, reference: r.output };
    if (r.dataset) it.category = r.dataset;
    byId.set(it.id, it);
  }
  return { cands: { source: 'alpaca_eval', byId, ordered: [...byId.keys()] }, model: rows.find((r) => r.generator)?.generator };
}

function arenaCandidates(q: InputFile, a: InputFile): { cands: Candidates; qFormat: ArenaHardFormat; aFormat: ArenaHardFormat; model?: string } {
  const { format: qFormat, questions } = readArenaHardQuestions(q);
  const { format: aFormat, answers, model } = readArenaHardAnswers(a);
  const byId = new Map<string, ValidationItem>();
  for (const qu of questions) {
    const ref = answers.get(qu.qid);
    if (!ref || !qu.prompt.trim()) continue;
    const it: ValidationItem = { id: `ah-${qu.qid}`, source: 'arena_hard', prompt: qu.prompt, reference: ref };
    if (qu.category) it.category = qu.category;
    byId.set(it.id, it);
  }
  if (!byId.size) throw new InputError('no Arena-Hard question has an answer in the baseline file', { file: a.file });
  const ordered = [...byId.keys()].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return { cands: { source: 'arena_hard', byId, ordered }, qFormat, aFormat, model };
}

function draw(c: Candidates, perSource: number, seed: number): string[] {
  if (c.ordered.length < perSource)
    throw new InputError(`--per-source ${perSource} exceeds the ${c.ordered.length} usable ${c.source} prompts`, { field: '--per-source' });
  return sampleWithoutReplacement(c.ordered, perSource, mulberry32(hashSeed(seed, c.source)));
}

function readSources(opts: BuildSources) {
  if (!opts.alpacaEval && !opts.arenaHardQuestions && !opts.arenaHardBaseline)
    throw new InputError('give --alpaca-eval and/or --arena-hard-questions with --arena-hard-baseline', { field: '--alpaca-eval' });
  if (!!opts.arenaHardQuestions !== !!opts.arenaHardBaseline)
    throw new InputError('--arena-hard-questions and --arena-hard-baseline go together', { field: opts.arenaHardQuestions ? '--arena-hard-baseline' : '--arena-hard-questions' });
  const inputs: Record<string, ManifestInput & { file: string }> = {};
  const cands: Candidates[] = [];
  if (opts.alpacaEval) {
    const f = readInputFile(opts.alpacaEval, 'AlpacaEval outputs file');
    const { cands: c, model } = alpacaCandidates(f);
    inputs.alpacaEval = { name: basename(f.file), sha256: f.sha256, format: 'alpaca_eval', file: f.file, ...(model ? { model } : {}) };
    cands.push(c);
  }
  if (opts.arenaHardQuestions && opts.arenaHardBaseline) {
    const q = readInputFile(opts.arenaHardQuestions, 'Arena-Hard questions file');
    const a = readInputFile(opts.arenaHardBaseline, 'Arena-Hard baseline answers file');
    const r = arenaCandidates(q, a);
    inputs.arenaHardQuestions = { name: basename(q.file), sha256: q.sha256, format: r.qFormat, file: q.file };
    inputs.arenaHardBaseline = { name: basename(a.file), sha256: a.sha256, format: r.aFormat, file: a.file, ...(r.model ? { model: r.model } : {}) };
    cands.push(r.cands);
  }
  return { inputs, cands };
}

function finish(inputs: Record<string, ManifestInput & { file: string }>, ids: Record<string, string[]>, cands: Candidates[], perSource: number, seed: number): BuiltSet {
  const items: ValidationItem[] = [];
  for (const c of cands) for (const id of ids[c.source] ?? []) items.push(c.byId.get(id)!);
  const clean: Record<string, ManifestInput> = {};
  for (const [k, { file: _file, ...rest }] of Object.entries(inputs)) clean[k] = rest;
  const manifest: ValidationManifest = {
    kind: MANIFEST_KIND,
    version: 1,
    sampler: SAMPLER,
    seed,
    perSource,
    inputs: clean,
    ids,
    count: items.length,
    contentSha256: sha256Hex(formatValidationSet(items)),
  };
  return { items, manifest, verifiedByContent: [] };
}

/** Sample `perSource` prompts from each given source, deterministically by seed. */
export function buildValidationSet(opts: BuildOptions): BuiltSet {
  if (!Number.isInteger(opts.perSource) || opts.perSource < 1) throw new InputError('must be a whole number ≥ 1', { field: '--per-source' });
  if (!Number.isInteger(opts.seed)) throw new InputError('must be a whole number', { field: '--seed' });
  const { inputs, cands } = readSources(opts);
  const ids: Record<string, string[]> = {};
  for (const c of cands) ids[c.source] = draw(c, opts.perSource, opts.seed);
  return finish(inputs, ids, cands, opts.perSource, opts.seed);
}

/** Validate a manifest file's shape; InputError names the field. */
export function parseManifest(text: string, file: string): ValidationManifest {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, { file });
  }
  const o = (m ?? {}) as Record<string, unknown>;
  if (o.kind !== MANIFEST_KIND) throw new InputError(`not a validation manifest (kind must be "${MANIFEST_KIND}")`, { file, field: 'kind' });
  if (o.version !== 1) throw new InputError('unsupported manifest version', { file, field: 'version' });
  if (typeof o.seed !== 'number' || typeof o.perSource !== 'number') throw new InputError('seed and perSource must be numbers', { file, field: 'seed' });
  if (typeof o.ids !== 'object' || o.ids === null) throw new InputError('missing ids', { file, field: 'ids' });
  for (const [s, v] of Object.entries(o.ids as Record<string, unknown>))
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new InputError('must be a list of ids', { file, field: `ids.${s}` });
  if (typeof o.inputs !== 'object' || o.inputs === null) throw new InputError('missing inputs', { file, field: 'inputs' });
  if (typeof o.contentSha256 !== 'string') throw new InputError('missing contentSha256', { file, field: 'contentSha256' });
  return m as ValidationManifest;
}

/**
 * Rebuild exactly the set a manifest describes from the user's copies of the input files. Each file must
 * hash as recorded, or (another release or format of the same data, e.g. Arena-Hard 2024 vs 2025) the rebuilt
 * set must hash as recorded; otherwise the inputs differ and the rebuild is refused.
 */
export function rebuildFromManifest(manifest: ValidationManifest, sources: BuildSources, manifestFile = '<manifest>'): BuiltSet {
  const want = manifest.inputs;
  if (want.alpacaEval && !sources.alpacaEval) throw new InputError('this manifest needs --alpaca-eval', { file: manifestFile, field: 'inputs.alpacaEval' });
  if (want.arenaHardQuestions && !sources.arenaHardQuestions)
    throw new InputError('this manifest needs --arena-hard-questions and --arena-hard-baseline', { file: manifestFile, field: 'inputs.arenaHardQuestions' });
  const { inputs, cands } = readSources(sources);
  for (const c of cands) {
    if (!manifest.ids[c.source]) throw new InputError(`the manifest has no ${c.source} ids: drop that input`, { file: manifestFile, field: 'ids' });
    for (const id of manifest.ids[c.source]!)
      if (!c.byId.has(id)) throw new InputError(`id ${id} is not in the given ${c.source} files: they are not the manifest's inputs`, { file: manifestFile, field: `ids.${c.source}` });
  }
  const built = finish(inputs, manifest.ids, cands, manifest.perSource, manifest.seed);
  const mismatched = Object.keys(want).filter((k) => inputs[k] && inputs[k]!.sha256 !== want[k]!.sha256);
  if (mismatched.length) {
    if (built.manifest.contentSha256 !== manifest.contentSha256) {
      const k = mismatched[0]!;
      throw new InputError(
        `${basename(inputs[k]!.file)} has sha256 ${inputs[k]!.sha256.slice(0, 12)}…, the manifest expects ${want[k]!.sha256.slice(0, 12)}…, and the rebuilt prompts differ`,
        { file: manifestFile, field: `inputs.${k}` },
      );
    }
    built.verifiedByContent = mismatched;
  }
  return built;
}
