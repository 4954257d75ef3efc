import { toMixtureFile, type Mixture } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { loadTemplates, type GenerationParams } from '../moa/index.js';
import { sha256Hex } from '../random.js';
import { jsonSha256, prepareJob, runJob, type JobResult, type PreparedJob, type RunContext } from './job.js';
import type { PromptsFile } from './prompts-file.js';
import { sftExample, type SftExample } from './sft.js';

export interface SftJobOptions {
  space: SearchSpace;
  mixture: Mixture;
  /** The mixture as the user gave it (a path, or inline JSON), for the manifest. */
  mixtureSource?: string;
  prompts: PromptsFile;
  out: string;
  limit?: number;
}

/** The sampling every agent of the mixture uses: the space's generation settings. */
export function spaceGeneration(space: SearchSpace, temperature?: number): GenerationParams {
  const g = space.generation;
  return { temperature: temperature ?? g.temperature, maxTokens: g.maxTokens, ...(g.topP !== undefined ? { topP: g.topP } : {}) };
}

/** The mixture's identity for journals and manifests: what it runs, not what it is called. */
function mixtureIdentity(m: Mixture): Record<string, unknown> {
  const { name: _name, meta: _meta, prompts: _prompts, ...file } = toMixtureFile(m);
  const t = loadTemplates(m.prompts);
  return { ...file, templates: sha256Hex(JSON.stringify([t.aggregate, t.rank, t.summarize])) };
}

/** Validate an SFT generation (see prepareJob): nothing is written or spent. */
export function prepareSft(o: SftJobOptions): PreparedJob {
  const generation = spaceGeneration(o.space);
  const mixture = mixtureIdentity(o.mixture);
  return prepareJob({
    ...o,
    kind: 'sft',
    config: { mixture, generation },
    inputs: {
      mixture: { source: o.mixtureSource, sha256: jsonSha256(mixture), mixture: toMixtureFile(o.mixture) },
      generation,
    },
  });
}

export interface RunSftOptions extends RunContext {
  space: SearchSpace;
  mixture: Mixture;
}

/** Generate the SFT set: the mixture's answer to every prompt, as chat-format lines. */
export async function runSft(job: PreparedJob, o: RunSftOptions): Promise<JobResult> {
  const generation = spaceGeneration(o.space);
  const templates = loadTemplates(o.mixture.prompts);
  return runJob(job, {
    ...o,
    work: async (prompt, signal) => {
      const r = await sftExample(prompt, { mixture: o.mixture, executor: o.executor, generation, templates, signal });
      return { record: { ...(r.example ? { example: r.example } : { dropped: r.dropped }), accounts: { mixture: r.usage } }, usage: r.usage };
    },
    lineOf: (rec) => (rec.example ? { line: rec.example as SftExample } : { dropped: String(rec.dropped) }),
  });
}
