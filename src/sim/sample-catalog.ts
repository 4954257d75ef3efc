import { shiftDecimal } from '../catalog/index.js';
import { PROFILES, type SimProfile } from './_profiles.js';

// search-spaces/catalogs/openrouter-sample.json: the simulated world's models as OpenRouter's GET /api/v1/models
// would list them (prices in USD per token as decimal strings), under the real models' ids, which the sim
// answers to. `models import` reads it in the README's "a new model shipped" walk-through. Generated, so its
// prices never drift from the profiles'.

/** Context windows (tokens) of the real models, as providers listed them in 2024. */
const CONTEXT: Record<string, number> = {
  'sim-llama-3.1-405b-instruct': 131072,
  'sim-qwen1.5-110b-chat': 32768,
  'sim-qwen1.5-72b-chat': 32768,
  'sim-wizardlm-2-8x22b': 65536,
  'sim-llama-3-70b-instruct': 8192,
  'sim-mixtral-8x22b-instruct': 65536,
  'sim-dbrx-instruct': 32768,
  'sim-qwen2-72b-instruct': 32768,
  'sim-gemma-2-27b-it': 8192,
  'sim-llama-3.1-70b-instruct': 131072,
  'sim-llama-3-8b-instruct': 8192,
  'sim-mixtral-8x7b-instruct': 32768,
  'sim-qwen1.5-32b-chat': 32768,
  'sim-gpt-4-1106-preview': 128000,
  'sim-gpt-4-turbo-2024-04-09': 128000,
  'sim-gpt-4-0314': 8192,
  'sim-gpt-4o-2024-05-13': 128000,
  'sim-gpt-4o-mini-2024-07-18': 128000,
};

const perToken = (usdPer1M: number) => shiftDecimal(String(usdPer1M), -6)!;

function entry(p: SimProfile, context: number) {
  const org = p.id.includes('/') ? p.id.split('/')[0]! : 'openai';
  return {
    id: p.id,
    name: `${org}: ${p.id.split('/').pop()}`,
    description: `${p.label} in the moa-search simulated world (sim profile ${p.name}).`,
    context_length: context,
    architecture: { modality: 'text->text', input_modalities: ['text'], output_modalities: ['text'], tokenizer: 'Other' },
    pricing: { prompt: perToken(p.price.input), completion: perToken(p.price.output), request: '0', image: '0' },
    top_provider: { context_length: context, max_completion_tokens: null, is_moderated: false },
    per_request_limits: null,
    supported_parameters: ['max_tokens', 'temperature', 'top_p', 'seed', 'logprobs', 'top_logprobs'],
  };
}

/** The catalog's text: the newest model first (as OpenRouter lists them), then the others, then its auto
 * router, whose price of -1 (variable) is the kind of entry an import must refuse only when asked for it. */
export function sampleCatalogJson(newest: string): string {
  const names = [newest, ...[...PROFILES.keys()].filter((n) => n !== newest)];
  const data: object[] = names.map((n) => entry(PROFILES.get(n)!, CONTEXT[n] ?? 8192));
  data.push({
    id: 'openrouter/auto',
    name: 'Auto Router',
    description: 'Routes each request to one of several models; the price depends on the model chosen.',
    context_length: 2000000,
    architecture: { modality: 'text->text', input_modalities: ['text'], output_modalities: ['text'], tokenizer: 'Router' },
    pricing: { prompt: '-1', completion: '-1' },
    top_provider: { context_length: null, max_completion_tokens: null, is_moderated: false },
    per_request_limits: null,
    supported_parameters: ['max_tokens', 'temperature'],
  });
  return JSON.stringify({ data }, null, 2) + '\n';
}
