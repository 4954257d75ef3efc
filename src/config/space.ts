import { z } from 'zod';
import { InputError } from './input-error.js';
import { readStructuredFile, validateDoc, parseStructuredText } from './_load-structured.js';

const positive = z.number().positive();
const nonNegative = z.number().nonnegative();

/** A provider's Batch API (OpenAI / Together protocol: JSONL upload, job, poll, output file). */
export const BatchSchema = z
  .object({
    /** Price factor of a batched request against the online one (0.5 = half price). */
    discount: z.number().gt(0).max(1).default(0.5),
    /** Most requests in one job (OpenAI: 50,000); a larger stage is split into several jobs. */
    maxRequests: z.number().int().positive().default(50_000),
    /** Seconds between two status polls of a job. */
    pollSeconds: positive.default(30),
  })
  .strict();

export const ProviderSchema = z
  .object({
    /** `openai`: any OpenAI-compatible HTTP endpoint. `sim`: the in-process simulated world. */
    kind: z.enum(['openai', 'sim']).default('openai'),
    baseURL: z.string().url().optional(),
    /** Name of the environment variable holding the key. The key itself never appears in files. */
    apiKeyEnv: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name').optional(),
    /** Endpoints that need no key (local vLLM, Ollama, `sim serve`) say so explicitly. */
    keyless: z.boolean().optional(),
    maxConcurrency: z.number().int().positive().default(8),
    requestsPerMinute: positive.optional(),
    /** Longest wait for the response headers. */
    timeoutMs: z.number().int().positive().default(120_000),
    /** Longest silence while a response body or stream is arriving (default: timeoutMs); a stall is retried. */
    idleTimeoutMs: z.number().int().positive().optional(),
    maxRetries: z.number().int().nonnegative().default(5),
    /** Send the executor's sample index as the OpenAI `seed` field (makes samples reproducible where supported). */
    sendSeed: z.boolean().default(true),
    /** Simulated world seed (kind: sim only). */
    worldSeed: z.number().int().optional(),
    /** Simulated per-call latency in ms (kind: sim only; for throughput tests). */
    latencyMs: nonNegative.optional(),
    /** The provider's Batch API, when it has one: `--batch` runs send their uncached requests there. */
    batch: BatchSchema.optional(),
    /** How long a simulated batch job stays in progress, in ms (kind: sim only). */
    batchDelayMs: nonNegative.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.kind === 'openai') {
      if (!p.baseURL) ctx.addIssue({ code: 'custom', path: ['baseURL'], message: 'required for an OpenAI-compatible provider' });
      if (!p.apiKeyEnv && !p.keyless)
        ctx.addIssue({ code: 'custom', path: ['apiKeyEnv'], message: 'name the API key environment variable, or set keyless: true for endpoints without auth' });
    }
  });

// `policy`: a model being trained, sampled by `generate dpo` (MoAA stage 2).
export const ROLES = ['proposer', 'aggregator', 'judge', 'baseline', 'summarizer', 'policy'] as const;
export type Role = (typeof ROLES)[number];

export const ModelSchema = z
  .object({
    id: z.string().min(1),
    provider: z.string().min(1),
    /** Model name sent upstream; defaults to `id`. */
    upstream: z.string().min(1).optional(),
    /** Short label for charts, e.g. `Q110`. */
    label: z.string().min(1).optional(),
    /** USD per 1M tokens. */
    price: z.object({ input: nonNegative, output: nonNegative }).strict(),
    /** Billions of parameters; active < total for mixture-of-experts models. TFLOPs need `active`: a count
     * imported from a catalog may give the total alone, and the active count is then unknown, never assumed. */
    params: z.object({ total: positive, active: positive.optional() }).strict().optional(),
    roles: z.array(z.enum(ROLES)).min(1).default(['proposer', 'aggregator']),
    maxCopies: z.number().int().min(1).max(16).default(1),
    /** Tokens per request, prompt and answer (maxTokens) together; a request that cannot fit is refused before it is sent. */
    contextWindow: z.number().int().positive().optional(),
  })
  .strict();

export const GenerationSchema = z
  .object({
    temperature: z.number().min(0).max(2).default(0.7),
    maxTokens: z.number().int().positive().default(2048),
    topP: z.number().gt(0).max(1).optional(),
  })
  .strict();

export const SearchSettingsSchema = z
  .object({
    /** Total layers (aggregator included); a list searches each of those layer counts. */
    layers: z.union([z.number().int().min(1).max(8), z.array(z.number().int().min(2).max(8)).min(1)]).default(2),
    aggregators: z.array(z.string().min(1)).min(1).optional(),
    /** Deployment caps (as `--max-cost` / `--max-latency`): USD per 1,000 queries, TFLOPs per query. */
    maxCost: z.number().positive().optional(),
    maxLatency: z.number().positive().optional(),
  })
  .strict();

export const JudgeSchema = z
  .object({
    model: z.string().min(1).optional(),
    /** MoA as judge (MoAA): a mixture file path or inline mixture object. */
    mixture: z.union([z.string(), z.record(z.string(), z.unknown())]).optional(),
    /** Which protocol per source; `auto` = alpaca_eval for `alpaca_eval` prompts, arena_hard otherwise. */
    protocol: z.enum(['auto', 'alpaca_eval', 'arena_hard']).default('auto'),
    /** User-supplied template files, per protocol. */
    templates: z.object({ alpaca_eval: z.string().optional(), arena_hard: z.string().optional() }).strict().optional(),
    temperature: z.number().min(0).max(2).default(0),
    maxTokens: z.number().int().positive().optional(),
    seed: z.number().int().default(0),
    /** MoAA's criteria-selection step: before judging a prompt, the judge lists the criteria that matter for it. */
    criteria: z.boolean().optional(),
  })
  .strict();

export const SpaceSchema = z
  .object({
    name: z.string().optional(),
    providers: z.record(z.string(), ProviderSchema),
    models: z.array(ModelSchema).min(1),
    generation: GenerationSchema.default({ temperature: 0.7, maxTokens: 2048 }),
    search: SearchSettingsSchema.default({ layers: 2 }),
    judge: JudgeSchema.optional(),
    /** Validation set to use when none is given on the command line (path relative to this file). */
    validation: z.string().optional(),
  })
  .strict();

export type ProviderSpec = z.infer<typeof ProviderSchema>;
export type BatchSpec = z.infer<typeof BatchSchema>;
export type ModelSpec = z.infer<typeof ModelSchema>;
export type GenerationSettings = z.infer<typeof GenerationSchema>;
export type JudgeSettings = z.infer<typeof JudgeSchema>;

export interface SearchSpace extends z.infer<typeof SpaceSchema> {
  /** Absolute or given path of the file it came from (for error messages and relative paths). */
  file: string;
}

/** Load and validate a search-space file (YAML or JSON). Throws InputError naming file, line and field. */
export function loadSpace(file: string): SearchSpace {
  const doc = readStructuredFile(file, 'search-space');
  return checkSpace(validateDoc(SpaceSchema, doc), file, doc.lineOf);
}

export function parseSpace(text: string, file = '<inline space>'): SearchSpace {
  const doc = parseStructuredText(text, file);
  return checkSpace(validateDoc(SpaceSchema, doc), file, doc.lineOf);
}

function checkSpace(
  raw: z.infer<typeof SpaceSchema>,
  file: string,
  lineOf: (p: Array<string | number>) => number | undefined,
): SearchSpace {
  const seen = new Set<string>();
  raw.models.forEach((m, i) => {
    const at = (field: string) => ({ file, line: lineOf(['models', i, field]), field: `models[${i}].${field}` });
    if (seen.has(m.id)) throw new InputError(`duplicate model id "${m.id}"`, at('id'));
    seen.add(m.id);
    if (!raw.providers[m.provider])
      throw new InputError(`unknown provider "${m.provider}" (declared: ${Object.keys(raw.providers).join(', ') || 'none'})`, at('provider'));
    if (m.params?.active !== undefined && m.params.active > m.params.total)
      throw new InputError('params.active cannot exceed params.total', at('params'));
  });
  const need = (id: string | undefined, path: Array<string | number>, field: string) => {
    if (id !== undefined && !seen.has(id)) throw new InputError(`unknown model "${id}"`, { file, line: lineOf(path), field });
  };
  raw.search.aggregators?.forEach((a, i) => need(a, ['search', 'aggregators', i], `search.aggregators[${i}]`));
  need(raw.judge?.model, ['judge', 'model'], 'judge.model');
  return { ...raw, file };
}

export function findModel(space: SearchSpace, id: string): ModelSpec | undefined {
  return space.models.find((m) => m.id === id);
}

export function modelsWithRole(space: SearchSpace, role: Role): ModelSpec[] {
  return space.models.filter((m) => m.roles.includes(role));
}

/** Short label for charts and summaries: the model's `label`, else a compact form of its id. */
export function modelLabel(space: SearchSpace | undefined, id: string): string {
  const m = space ? findModel(space, id) : undefined;
  if (m?.label) return m.label;
  return id.split('/').pop()!;
}
