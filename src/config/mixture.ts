import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { InputError } from './input-error.js';
import { parseStructuredText, readStructuredFile, validateDoc, type StructuredDoc } from './_load-structured.js';
import { findModel, modelLabel, type SearchSpace } from './space.js';
import { checkMixtureRoles, type MixturePurpose } from './check-roles.js';

/** A multiset of models: model id → number of copies (samples 0..n-1 of that model). */
export type ModelCounts = Record<string, number>;

const Counts = z.record(z.string().min(1), z.number().int().min(1, 'count must be at least 1'));

export const MixtureFileSchema = z
  .object({
    name: z.string().optional(),
    /** Total layers including the final aggregator, or one proposer multiset per proposer layer. */
    layers: z.union([z.number().int().min(1).max(8), z.array(Counts).min(1).max(7)]),
    /** The proposer multiset used in every proposer layer (when `layers` is a number). */
    proposers: Counts.optional(),
    aggregator: z.string().min(1),
    /** `synthesize` (MoA) or `rank` (the LLM-ranker baseline: the aggregator picks one response). */
    mode: z.enum(['synthesize', 'rank']).default('synthesize'),
    /** A model that condenses each proposer layer's responses before the next layer reads them. */
    summarizer: z.string().min(1).optional(),
    /** User template files (paths relative to the mixture file). */
    prompts: z
      .object({ aggregate: z.string().optional(), rank: z.string().optional(), summarize: z.string().optional() })
      .strict()
      .optional(),
    /** Free-form metadata (reports put score and cost here); ignored by the engine. */
    meta: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();

export type MixtureFile = z.infer<typeof MixtureFileSchema>;

/** The normalized mixture the engine runs. */
export interface Mixture {
  /** L−1 proposer layers; empty for a single model (L = 1). Keys sorted. */
  proposerLayers: ModelCounts[];
  aggregator: string;
  mode: 'synthesize' | 'rank';
  summarizer?: string;
  name?: string;
  /** Absolute paths of user template files. */
  prompts?: { aggregate?: string; rank?: string; summarize?: string };
}

export function sortCounts(c: ModelCounts): ModelCounts {
  const out: ModelCounts = {};
  for (const k of Object.keys(c).sort()) if (c[k]! > 0) out[k] = c[k]!;
  return out;
}

export function singleModelMixture(model: string): Mixture {
  return { proposerLayers: [], aggregator: model, mode: 'synthesize' };
}

/** The paper's shape: the same proposer multiset in each of L−1 layers, then the aggregator. */
export function uniformMixture(proposers: ModelCounts, aggregator: string, layers = 2): Mixture {
  const p = sortCounts(proposers);
  return { proposerLayers: Array.from({ length: layers - 1 }, () => ({ ...p })), aggregator, mode: 'synthesize' };
}

export function layerCount(m: Mixture): number {
  return m.proposerLayers.length + 1;
}

function normalize(f: MixtureFile, baseDir: string | undefined, doc: StructuredDoc): Mixture {
  const at = (field: string, path: Array<string | number> = [field]) => ({ file: doc.file, line: doc.lineOf(path), field });
  let proposerLayers: ModelCounts[];
  if (typeof f.layers === 'number') {
    if (f.layers === 1) {
      if (f.proposers && Object.keys(f.proposers).length) throw new InputError('a 1-layer mixture is a single model: remove proposers', at('proposers'));
      proposerLayers = [];
    } else {
      if (!f.proposers || !Object.keys(f.proposers).length) throw new InputError(`a ${f.layers}-layer mixture needs proposers`, at('proposers', ['layers']));
      proposerLayers = Array.from({ length: f.layers - 1 }, () => sortCounts(f.proposers!));
    }
  } else {
    if (f.proposers) throw new InputError('give proposers either per layer in `layers` or in `proposers`, not both', at('proposers'));
    f.layers.forEach((l, i) => {
      if (!Object.keys(l).length) throw new InputError('empty proposer layer', at(`layers[${i}]`, ['layers', i]));
    });
    proposerLayers = f.layers.map(sortCounts);
  }
  const m: Mixture = { proposerLayers, aggregator: f.aggregator, mode: f.mode };
  if (f.summarizer) m.summarizer = f.summarizer;
  if (f.name) m.name = f.name;
  if (f.prompts) {
    const p: NonNullable<Mixture['prompts']> = {};
    for (const [k, v] of Object.entries(f.prompts) as Array<[keyof typeof p, string | undefined]>) {
      if (!v) continue;
      const abs = resolve(baseDir ?? process.cwd(), v);
      if (!existsSync(abs)) throw new InputError(`template file not found: ${v}`, at(`prompts.${k}`, ['prompts', k]));
      p[k] = abs;
    }
    m.prompts = p;
  }
  return m;
}

/** Check every model exists in the space, holds a role for its place (see check-roles.ts), and counts respect maxCopies. */
export function checkMixtureAgainstSpace(
  m: Mixture,
  space: SearchSpace,
  file = '<mixture>',
  lineOf?: (p: Array<string | number>) => number | undefined,
  purpose: MixturePurpose = 'answer',
): void {
  const where = (field: string, path: Array<string | number>) => ({ file, line: lineOf?.(path), field });
  const known = (id: string, field: string, path: Array<string | number>) => {
    if (!findModel(space, id)) throw new InputError(`unknown model "${id}" (not in ${space.file})`, where(field, path));
  };
  known(m.aggregator, 'aggregator', ['aggregator']);
  if (m.summarizer) known(m.summarizer, 'summarizer', ['summarizer']);
  m.proposerLayers.forEach((layer, i) => {
    for (const [id, n] of Object.entries(layer)) {
      const field = `layers[${i}].${id}`;
      known(id, field, ['proposers', id]);
      const max = findModel(space, id)!.maxCopies;
      if (n > max) throw new InputError(`${n} copies of "${id}" exceed its maxCopies (${max})`, where(field, ['proposers', id]));
    }
  });
  checkMixtureRoles(m, space, where, purpose);
}

function fromDoc(doc: StructuredDoc, space: SearchSpace | undefined, baseDir: string | undefined, purpose: MixturePurpose): Mixture {
  const f = validateDoc(MixtureFileSchema, doc);
  const m = normalize(f, baseDir, doc);
  if (space) checkMixtureAgainstSpace(m, space, doc.file, doc.lineOf, purpose);
  return m;
}

/**
 * A mixture from a CLI argument: a file path, or inline JSON (starting with `{`), which errors name by `flag`.
 * Validated against the space when one is given.
 */
export function loadMixture(arg: string, space?: SearchSpace, purpose: MixturePurpose = 'answer', flag = '--mixture'): Mixture {
  const trimmed = arg.trim();
  if (trimmed.startsWith('{')) return fromDoc(parseStructuredText(trimmed, flag), space, process.cwd(), purpose);
  return fromDoc(readStructuredFile(arg, 'mixture'), space, dirname(resolve(arg)), purpose);
}

export function parseMixtureObject(obj: unknown, space?: SearchSpace, file = '<mixture>', purpose: MixturePurpose = 'answer'): Mixture {
  return fromDoc(parseStructuredText(JSON.stringify(obj), file), space, process.cwd(), purpose);
}

/** The mixture-file form (what `best.json` holds, what `ask` and `eval` accept). */
export function toMixtureFile(m: Mixture, meta?: Record<string, unknown>): MixtureFile {
  const uniform = m.proposerLayers.every((l) => JSON.stringify(l) === JSON.stringify(m.proposerLayers[0]));
  const out: MixtureFile = { layers: m.proposerLayers.length + 1, aggregator: m.aggregator, mode: m.mode };
  if (m.name) out.name = m.name;
  if (m.proposerLayers.length && uniform) out.proposers = { ...m.proposerLayers[0]! };
  else if (m.proposerLayers.length) out.layers = m.proposerLayers.map((l) => ({ ...l }));
  if (m.summarizer) out.summarizer = m.summarizer;
  if (m.prompts) out.prompts = { ...m.prompts };
  if (meta) out.meta = meta;
  return out;
}

/** Canonical identity of a mixture: equal mixtures give equal keys. */
export function mixtureKey(m: Mixture): string {
  return JSON.stringify({
    p: m.proposerLayers.map(sortCounts),
    a: m.aggregator,
    mode: m.mode,
    s: m.summarizer ?? null,
    t: m.prompts ? Object.entries(m.prompts).sort() : null,
  });
}

/** Short human name, e.g. `3×Llama3-70B+Wiz+Q110 → Q110`. */
export function mixtureName(m: Mixture, space?: SearchSpace): string {
  const counts = (c: ModelCounts) =>
    Object.entries(c)
      .map(([id, n]) => (n > 1 ? `${n}×` : '') + modelLabel(space, id))
      .join('+');
  const agg = modelLabel(space, m.aggregator);
  if (!m.proposerLayers.length) return agg;
  const layers = m.proposerLayers.map(counts);
  const uniform = layers.every((l) => l === layers[0]);
  let s = uniform ? (layers.length > 1 ? `${layers[0]} ×${layers.length}L` : layers[0]!) : layers.join(' | ');
  if (m.summarizer) s += ` ⇢ ${modelLabel(space, m.summarizer)}`;
  return `${s} ${m.mode === 'rank' ? '⇒rank' : '→'} ${agg}`;
}

export function totalCopies(c: ModelCounts): number {
  return Object.values(c).reduce((a, b) => a + b, 0);
}
