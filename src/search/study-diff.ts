import { InputError } from '../config/input-error.js';
import type { MixtureFile } from '../config/mixture.js';
import { pairedDifference, UnpairedOutcomesError, type PairedDifference } from '../eval/statistics.js';
import { storedCompat } from './study-compat.js';
import type { StudyStore } from './study-store.js';
import type { StudyRecord, TrialRecord } from './types.js';

/** Fewer shared prompts than this and a paired interval says little (±20 points and wider on LLM-judge noise). */
export const MIN_PAIRED_PROMPTS = 20;

export interface DiffSide {
  study: string;
  label: string;
  mixture: MixtureFile;
  /** The study's answer: model estimate for the whole validation set, its 95% interval, prompts and measurements. */
  score: number;
  ci: [number, number];
  prompts: number;
  measurements: number;
  costPerQuery?: number;
  latencyProxyPerQuery?: number;
}

export type NewModelRole = 'proposer' | 'aggregator' | 'proposer and aggregator' | 'not in the new best';

export interface StudyDiff {
  old: DiffSide;
  new: DiffSide;
  /** Both studies answer with the same mixture. */
  sameMixture: boolean;
  /** New best − old best on the prompts both were judged on (averaged over replicates), with its 95% interval. */
  paired?: PairedDifference;
  /** Why there is no paired difference (too few shared prompts, another judge, the same mixture). */
  pairedNote?: string;
  /** New − old, USD per query and latency proxy (TFLOPs on the critical path) per query, as measured. */
  costDelta?: number;
  latencyDelta?: number;
  /** Models the new study's space has and the old one's had not, and their place in the new best. */
  newModels: Array<{ model: string; role: NewModelRole }>;
}

async function answered(store: StudyStore, name: string, flag: string): Promise<{ study: StudyRecord; trial: TrialRecord; trials: TrialRecord[] }> {
  const study = await store.getStudy(name);
  if (!study) throw new InputError(`no study named "${name}"`, { field: flag });
  if (!study.best) throw new InputError(`study "${name}" has no answer yet (no measurement completed, or it never stopped): finish it with --resume`, { field: flag });
  const trials = await store.listTrials(name);
  const trial = trials.find((t) => t.number === study.best!.trial)!;
  return { study, trial, trials };
}

function side(study: StudyRecord, t: TrialRecord): DiffSide {
  const b = study.best!;
  return {
    study: study.name,
    label: t.label,
    mixture: t.mixture,
    score: b.score,
    ci: b.ci,
    prompts: b.prompts,
    measurements: b.measurements,
    ...(t.costPerQuery !== undefined ? { costPerQuery: t.costPerQuery } : {}),
    ...(t.latencyProxyPerQuery !== undefined ? { latencyProxyPerQuery: t.latencyProxyPerQuery } : {}),
  };
}

function roleOf(model: string, m: MixtureFile): NewModelRole {
  const p = (m.proposers?.[model] ?? 0) > 0;
  const a = m.aggregator === model;
  return p && a ? 'proposer and aggregator' : p ? 'proposer' : a ? 'aggregator' : 'not in the new best';
}

function pairing(oldS: StudyRecord, newS: StudyRecord, oldT: TrialRecord, newT: TrialRecord): Pick<StudyDiff, 'paired' | 'pairedNote'> {
  if (oldT.mixtureKey === newT.mixtureKey) return { pairedNote: 'both studies answer with the same mixture' };
  const oc = storedCompat(oldS.config);
  const nc = storedCompat(newS.config);
  if (!oc || !nc || oc.judge !== nc.judge || oc.generation !== nc.generation) return { pairedNote: 'the studies differ in judge or generation settings (or one\'s space file is gone): their scores are not paired' };
  const changed = (oldT.perPrompt ?? []).filter((o) => oc.prompts[o.id] !== undefined && nc.prompts[o.id] !== undefined && oc.prompts[o.id] !== nc.prompts[o.id]);
  const shared = (oldT.perPrompt ?? []).filter((o) => !changed.includes(o) && (newT.perPrompt ?? []).some((x) => x.id === o.id));
  if (shared.length < MIN_PAIRED_PROMPTS)
    return { pairedNote: `the two bests share only ${shared.length} judged prompt${shared.length === 1 ? '' : 's'} (fewer than ${MIN_PAIRED_PROMPTS}): too few for a paired interval; diff spends nothing — evaluate both on the same prompts (moa-search eval) to compare them` };
  try {
    return { paired: pairedDifference(newT.perPrompt!, shared) };
  } catch (e) {
    if (e instanceof UnpairedOutcomesError) return { pairedNote: e.reason };
    throw e;
  }
}

/**
 * What changed between two studies (e.g. before and after a model release): their answers, the paired difference of
 * the two best mixtures on the prompts both were judged on, cost and latency deltas, and where the models the new
 * space added sit in the new best. Reads only: it never measures, so it never spends.
 * The old best's outcomes come from the new study when it holds that mixture (a warm start imported it and may have
 * measured it further), else from the old study.
 */
export async function diffStudies(store: StudyStore, oldName: string, newName: string): Promise<StudyDiff> {
  const o = await answered(store, oldName, '<old-study>');
  const n = await answered(store, newName, '<new-study>');
  const oldT = n.trials.find((t) => t.mixtureKey === o.trial.mixtureKey && t.perPrompt?.length) ?? o.trial;
  const oc = storedCompat(o.study.config);
  const nc = storedCompat(n.study.config);
  const added = nc && oc ? Object.keys(nc.models).filter((m) => !(m in oc.models)) : [];
  const cost = n.trial.costPerQuery !== undefined && oldT.costPerQuery !== undefined ? n.trial.costPerQuery - oldT.costPerQuery : undefined;
  const lat = n.trial.latencyProxyPerQuery !== undefined && oldT.latencyProxyPerQuery !== undefined ? n.trial.latencyProxyPerQuery - oldT.latencyProxyPerQuery : undefined;
  return {
    old: side(o.study, o.trial),
    new: side(n.study, n.trial),
    sameMixture: o.trial.mixtureKey === n.trial.mixtureKey,
    ...pairing(o.study, n.study, oldT, n.trial),
    ...(cost !== undefined ? { costDelta: cost } : {}),
    ...(lat !== undefined ? { latencyDelta: lat } : {}),
    newModels: added.map((model) => ({ model, role: roleOf(model, n.trial.mixture) })),
  };
}

