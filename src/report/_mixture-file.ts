import { sortCounts, type Mixture, type MixtureFile } from '../config/mixture.js';

/**
 * The normalized mixture of a stored trial's mixture file. Stored files were validated when the trial ran, so
 * this only reshapes (no file or space checks: a report must still render if a template file moved since).
 */
export function mixtureOfFile(f: MixtureFile): Mixture {
  const proposerLayers =
    typeof f.layers === 'number'
      ? Array.from({ length: f.layers - 1 }, () => sortCounts(f.proposers ?? {}))
      : f.layers.map(sortCounts);
  const m: Mixture = { proposerLayers, aggregator: f.aggregator, mode: f.mode ?? 'synthesize' };
  if (f.summarizer) m.summarizer = f.summarizer;
  if (f.name) m.name = f.name;
  if (f.prompts) m.prompts = { ...f.prompts };
  return m;
}

export function mixtureModels(m: Mixture): string[] {
  const ids = new Set<string>([m.aggregator]);
  for (const l of m.proposerLayers) for (const id of Object.keys(l)) ids.add(id);
  if (m.summarizer) ids.add(m.summarizer);
  return [...ids].sort();
}
