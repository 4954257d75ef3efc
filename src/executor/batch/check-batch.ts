import { InputError } from '../../config/input-error.js';
import { findModel, type SearchSpace } from '../../config/space.js';

/**
 * `--batch` needs a Batch API on every provider the run will call: check before anything is opened or paid.
 * Throws InputError naming the first provider (in name order) without `batch`, and a model that uses it.
 */
export function checkBatchProviders(space: SearchSpace, modelIds: Iterable<string>, flag = '--batch'): void {
  const byProvider = new Map<string, string>();
  for (const id of modelIds) {
    const m = findModel(space, id);
    if (m && !byProvider.has(m.provider)) byProvider.set(m.provider, id);
  }
  for (const provider of [...byProvider.keys()].sort()) {
    if (space.providers[provider]?.batch) continue;
    throw new InputError(
      `${flag}: provider "${provider}" (used by ${byProvider.get(provider)}) has no Batch API; add \`batch: { discount: 0.5 }\` to it in the space if its endpoint has one, or run without ${flag}`,
      { file: space.file, field: `providers.${provider}.batch` },
    );
  }
}
