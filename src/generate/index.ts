// MoAA data generation: SFT sets from a mixture (stage 1) and DPO pairs ranked by a reward model (stage 2),
// resumable through a journal beside the output and the executor's cache.
export { loadPrompts, promptText, type GenPrompt, type PromptsFile } from './prompts-file.js';
export { sftExample, type SftExample, type SftContext, type SftResult } from './sft.js';
export { rankPolicySamples, dpoExample, type DpoContext, type RankedSamples, type DpoExample } from './dpo.js';
export { Journal, journalPath, writeFileAtomic, fileSha256, type JournalHeader, type JournalRecord } from './journal.js';
export { runGeneration, GenerationFailed, type GenerationProgress, type GenerationRun, type GenerationStop, type PromptWork } from './run-generation.js';
export { writeOutput, manifestPath, type LineOf, type OutputSummary } from './output.js';
export { prepareJob, runJob, jsonSha256, type JobSpec, type PreparedJob, type JobResult, type RunContext } from './job.js';
export { prepareSft, runSft, spaceGeneration, type SftJobOptions, type RunSftOptions } from './sft-job.js';
export { prepareDpo, runDpo, dpoFormat, judgeIdentity, type DpoSettings, type DpoJobOptions, type RunDpoOptions } from './dpo-job.js';
export { emptyUsage, addCall, addUsage, type Usage, type PriceOf } from './usage.js';
export { checkOutputPath } from './_output-path.js';
