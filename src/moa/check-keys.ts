import type { Mixture } from '../config/mixture.js';
import { InputError } from '../config/input-error.js';
import { findModel, type SearchSpace } from '../config/space.js';

/** Every model id a mixture calls (proposers, summarizer, aggregator), sorted. */
export function mixtureModels(m: Mixture): string[] {
  const ids = new Set<string>([m.aggregator]);
  if (m.summarizer) ids.add(m.summarizer);
  for (const layer of m.proposerLayers) for (const id of Object.keys(layer)) ids.add(id);
  return [...ids].sort();
}

/**
 * Fail before anything is opened or written when a provider the mixture needs has no API key in the
 * environment. Names the variable, never a value.
 */
export function checkMixtureKeys(m: Mixture, space: SearchSpace, env: NodeJS.ProcessEnv = process.env): void {
  const providers = new Set(mixtureModels(m).map((id) => findModel(space, id)?.provider).filter((p): p is string => !!p));
  for (const name of [...providers].sort()) {
    const spec = space.providers[name];
    if (!spec || spec.kind === 'sim' || spec.keyless) continue;
    const v = spec.apiKeyEnv ? env[spec.apiKeyEnv] : undefined;
    if (!v || !v.trim())
      throw new InputError(`provider "${name}" needs an API key: environment variable ${spec.apiKeyEnv ?? '(none named)'} is not set`, {
        file: space.file,
        field: `providers.${name}.apiKeyEnv`,
      });
  }
}
