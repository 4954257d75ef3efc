import { shiftDecimal } from '../catalog/index.js';
import { PROFILES, type SimProfile } from './_profiles.js';

// search-spaces/catalogs/openrouter-sample.json: the simulated world's models as OpenRouter's GET /api/v1/models
// would list them (prices in USD per token as decimal strings), under the real models' ids, which the sim
// answers to. `models import` reads it in the README's "a new model shipped" walk-through. Generated, so its
// prices never drift from the profiles'.


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
  const data: object[] = names.map((n) => entry(PROFILES.get(n)!, PROFILES.get(n)!.contextWindow));
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
