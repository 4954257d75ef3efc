import type { ModelSpec, ProviderSpec } from '../config/space.js';
import type { ProviderRequest } from '../providers/types.js';
import type { GenerationRequest } from './types.js';

/**
 * What a resolved request becomes on the wire: the model's upstream name, the sampling fields, and the
 * sample index as `seed` unless the provider says not to send it. Online calls and batch lines share it.
 */
export function toProviderRequest(r: GenerationRequest, model: ModelSpec, spec: ProviderSpec | undefined): ProviderRequest {
  const preq: ProviderRequest = { model: model.upstream ?? model.id, messages: r.messages.map((m) => ({ role: m.role, content: m.content })) };
  if (r.temperature !== undefined) preq.temperature = r.temperature;
  if (r.maxTokens !== undefined) preq.maxTokens = r.maxTokens;
  if (r.topP !== undefined) preq.topP = r.topP;
  if (spec?.sendSeed !== false) preq.seed = r.sample ?? 0;
  if (r.logprobs) {
    preq.logprobs = true;
    if (r.topLogprobs !== undefined) preq.topLogprobs = r.topLogprobs;
  }
  return preq;
}
