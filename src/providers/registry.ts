import type { ProviderSpec } from '../config/space.js';
import { InputError } from '../config/input-error.js';
import { createOpenAIProvider, type OpenAIProviderOptions } from './openai-provider.js';
import { Limiter, withLimits } from './limits.js';
import type { CallOptions, ChatProvider, ProviderRequest, ProviderResponse } from './types.js';
import type { BatchClient, RemoteBatch } from './batch-client.js';
import { createOpenAIBatchClient } from './openai-batch-client.js';

export type CreateProviderOptions = OpenAIProviderOptions;

interface SimModule {
  createSimProvider(opts: { worldSeed?: number; latencyMs?: number }): ChatProvider | Promise<ChatProvider>;
  createSimBatchClient(opts: { name: string; worldSeed?: number; delayMs?: number }): BatchClient;
}

// A variable specifier keeps the sim (and its world) out of the load path until a sim provider is used.
const SIM_MODULE = '../sim/index.js';

/**
 * The ChatProvider for a provider entry of a search space. `kind: openai` builds an SDK client now
 * (so a missing API key fails before any call); `kind: sim` loads the simulated world on first use.
 * Both pass through the spec's concurrency and requests-per-minute limits.
 */
export function createProvider(name: string, spec: ProviderSpec, opts: CreateProviderOptions = {}): ChatProvider {
  const limiter = opts.limiter ?? new Limiter(spec.maxConcurrency, spec.requestsPerMinute);
  if (spec.kind === 'sim') return withLimits(lazySim(name, spec), limiter);
  return createOpenAIProvider(name, spec, { ...opts, limiter });
}

function lazySim(name: string, spec: ProviderSpec): ChatProvider {
  let inner: Promise<ChatProvider> | undefined;
  const load = () =>
    (inner ??= (import(SIM_MODULE) as Promise<SimModule>).then((m) => m.createSimProvider({ worldSeed: spec.worldSeed, latencyMs: spec.latencyMs })));
  return {
    name,
    async complete(req: ProviderRequest, o?: CallOptions): Promise<ProviderResponse> {
      return (await load()).complete(req, o);
    },
    async close() {
      if (inner) await (await inner).close?.();
    },
  };
}

/**
 * The Batch API client of a provider that declares `batch` (InputError naming the provider otherwise).
 * `kind: sim` gets the in-process simulated world's Batch API, loaded on first use.
 */
export function createBatchClient(name: string, spec: ProviderSpec, opts: Pick<CreateProviderOptions, 'env'> = {}): BatchClient {
  if (!spec.batch) throw new InputError(`provider "${name}" has no Batch API: add \`batch: { discount: 0.5 }\` to it if its endpoint has one`, { field: `providers.${name}.batch` });
  if (spec.kind === 'openai') return createOpenAIBatchClient(name, spec, opts);
  let inner: Promise<BatchClient> | undefined;
  const load = () => (inner ??= (import(SIM_MODULE) as Promise<SimModule>).then((m) => m.createSimBatchClient({ name, worldSeed: spec.worldSeed, delayMs: spec.batchDelayMs })));
  const via =
    <A extends unknown[], R>(f: (c: BatchClient, ...a: A) => Promise<R>) =>
    async (...a: A): Promise<R> =>
      f(await load(), ...a);
  return {
    provider: name,
    upload: via((c, jsonl: string) => c.upload(jsonl)),
    create: via((c, fileId: string, metadata: Record<string, string>) => c.create(fileId, metadata)),
    retrieve: via((c, id: string): Promise<RemoteBatch> => c.retrieve(id)),
    findByInputFile: via((c, fileId: string, after: number) => c.findByInputFile(fileId, after)),
    download: via((c, fileId: string) => c.download(fileId)),
  };
}

/**
 * Check, before anything is opened or written, that every provider the given models use has its
 * API key in the environment. Throws the same InputError a call would, naming provider and variable.
 */
export function checkProviderKeys(
  space: { providers: Record<string, ProviderSpec>; models: ReadonlyArray<{ id: string; provider: string }>; file?: string },
  modelIds?: Iterable<string>,
  env: Record<string, string | undefined> = process.env,
): void {
  const wanted = modelIds ? new Set(modelIds) : undefined;
  const seen = new Set<string>();
  for (const m of space.models) {
    if (wanted && !wanted.has(m.id)) continue;
    if (seen.has(m.provider)) continue;
    seen.add(m.provider);
    const spec = space.providers[m.provider];
    if (!spec || spec.kind === 'sim' || spec.keyless) continue;
    const v = spec.apiKeyEnv ? env[spec.apiKeyEnv] : undefined;
    if (!v || !v.trim()) {
      throw new InputError(`provider "${m.provider}" needs an API key: environment variable ${spec.apiKeyEnv ?? '(apiKeyEnv)'} is not set`, {
        file: space.file,
        field: `providers.${m.provider}.apiKeyEnv`,
      });
    }
  }
}
