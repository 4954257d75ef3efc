import { InputError } from '../config/input-error.js';
import { mixtureKey, mixtureName, toMixtureFile, type Mixture, type MixtureFile } from '../config/mixture.js';
import type { SearchSpace } from '../config/space.js';
import { trialMixture } from './budget-plan.js';
import { fromMixtureFile, searchDims } from './encoding.js';
import { storedCompat, type StudyCompat } from './study-compat.js';
import type { StudyStore } from './study-store.js';
import type { FidelityPlan, ObservationRecord, StudyRecord, TrialKind, TrialRecord, WarmStartRecord } from './types.js';

/** Observations of one earlier trial that carry over, and the mixture as the new space reads it. */
export interface WarmImport {
  source: string;
  trial: TrialRecord;
  kind: TrialKind;
  mixture: Mixture;
  observations: ObservationRecord[];
}

export type WarmSkip = NonNullable<WarmStartRecord['skipped']>[number];

export interface WarmPlan {
  /** The fidelity plan the new study takes over (the first usable source's), so imported measurements stay paired. */
  plan?: FidelityPlan;
  imports: WarmImport[];
  skipped: WarmSkip[];
  /** Observations imported. */
  count: number;
}

export interface WarmTarget {
  name: string;
  space: SearchSpace;
  compat: StudyCompat;
  /** The study's own plan when it exists already (resume); else the first usable source's becomes it. */
  plan?: FidelityPlan;
  /** Notes of observations already imported (an interrupted import resumes where it stopped). */
  done?: ReadonlySet<string>;
}

const noteOf = (study: string, o: ObservationRecord) => `warm start: ${study} #${o.number}`;

export function modelsOf(m: MixtureFile): string[] {
  const out = new Set<string>([m.aggregator]);
  for (const k of Object.keys(m.proposers ?? {})) out.add(k);
  if (m.summarizer) out.add(m.summarizer);
  return [...out];
}

class Skips {
  private readonly counts = new Map<string, WarmSkip>();
  add(study: string, count: number, reason: string): void {
    if (count <= 0) return;
    const k = `${study}\n${reason}`;
    const s = this.counts.get(k) ?? this.counts.set(k, { study, count: 0, reason }).get(k)!;
    s.count += count;
  }
  list(): WarmSkip[] {
    return [...this.counts.values()];
  }
}

/** Why a whole study cannot carry over, or undefined when it can. */
function studyMismatch(study: StudyRecord, target: WarmTarget): string | undefined {
  const sc = storedCompat(study.config);
  if (!sc) return `its space file ${study.config.spaceFile} is gone, and the study predates stored compatibility records`;
  if (sc.judge !== target.compat.judge) return 'another judge or judge protocol';
  if (sc.generation !== target.compat.generation) return 'other generation settings (temperature, max tokens, top-p)';
  const order = study.config.fidelity?.order ?? [];
  const known = Object.keys(sc.prompts).length > 0;
  const same = order.length === Object.keys(target.compat.prompts).length && order.every((id) => target.compat.prompts[id] !== undefined && (!known || sc.prompts[id] === target.compat.prompts[id]));
  if (!same) return 'another validation set (its prompts differ from this study\'s)';
  if (target.plan && JSON.stringify(study.config.fidelity) !== JSON.stringify(target.plan)) return 'another prompt order or fidelity plan (another --seed?): its measurements would not line up with this study\'s fidelity levels';
  return undefined;
}

/** Why one trial's observations cannot carry over, or undefined. */
function trialMismatch(t: TrialRecord, sc: StudyCompat, target: WarmTarget): string | undefined {
  for (const m of modelsOf(t.mixture)) {
    if (!target.compat.models[m]) return `uses ${m}, which the new space lacks`;
    if (sc.models[m] !== undefined && sc.models[m] !== target.compat.models[m]) return `${m} answers from another provider or upstream model now`;
  }
  if (t.kind === 'search' && !fromMixtureFile(searchDims(target.space), t.mixture)) return 'outside the new search box (copies, roles, depth or aggregator)';
  return undefined;
}

function mixtureIn(t: TrialRecord, space: SearchSpace): Mixture | string {
  try {
    return trialMixture(t, space);
  } catch (e) {
    if (e instanceof InputError) return `not a valid mixture in the new space (${e.reason})`;
    throw e;
  }
}

/**
 * Which observations of the earlier studies become observations of the new one: complete ones, of mixtures
 * expressible in the new space (every model there with the same identity; search mixtures inside the new box), on
 * the same prompts, judge and generation settings, in the same prompt order. The rest are counted by reason. A
 * measurement met twice (two sources that imported the same one) is taken once: copies are not replicates.
 * Reads only; a study that does not exist is an input error.
 */
export async function planWarmStart(store: StudyStore, names: readonly string[], target: WarmTarget, where = 'the database'): Promise<WarmPlan> {
  const skips = new Skips();
  const imports: WarmImport[] = [];
  const seen = new Set<string>();
  let plan = target.plan;
  let count = 0;
  for (const name of names) {
    if (name === target.name) throw new InputError(`--warm-start: study "${name}" cannot warm-start itself`, { field: '--warm-start' });
    const study = await store.getStudy(name);
    if (!study) throw new InputError(`--warm-start: no study named "${name}" in ${where}`, { field: '--warm-start' });
    const trials = await store.listTrials(name);
    const all = await store.listObservations(name);
    const complete = all.filter((o) => o.state === 'COMPLETE' && o.perPrompt?.length);
    skips.add(name, all.length - complete.length, 'unfinished or failed measurements');
    const why = studyMismatch(study, { ...target, ...(plan ? { plan } : {}) });
    if (why) {
      skips.add(name, complete.length, why);
      continue;
    }
    plan ??= study.config.fidelity;
    const sc = storedCompat(study.config)!;
    for (const t of trials) {
      const obs = complete.filter((o) => o.trial === t.number);
      if (!obs.length) continue;
      const mismatch = trialMismatch(t, sc, target);
      const mixture = mismatch ?? mixtureIn(t, target.space);
      if (typeof mixture === 'string') {
        skips.add(name, obs.length, mixture);
        continue;
      }
      const key = mixtureKey(mixture);
      const kept: ObservationRecord[] = [];
      for (const o of obs) {
        if (target.done?.has(noteOf(name, o))) continue;
        const cells = o.promptIds.map((id) => `${key}\n${o.sampleOffset}\n${id}`);
        if (cells.some((c) => seen.has(c))) {
          skips.add(name, 1, 'the same measurement came from an earlier --warm-start study');
          continue;
        }
        for (const c of cells) seen.add(c);
        kept.push(o);
      }
      if (kept.length) imports.push({ source: name, trial: t, kind: t.kind, mixture, observations: kept });
      count += kept.length;
    }
  }
  return { ...(plan ? { plan } : {}), imports, skipped: skips.list(), count };
}

/** Write the planned observations into the new study, at no cost: each says where it came from. */
export async function applyWarmStart(store: StudyStore, studyName: string, wp: WarmPlan, space: SearchSpace): Promise<void> {
  for (const imp of wp.imports) {
    const trial = await store.ensureTrial(studyName, {
      kind: imp.kind,
      strategy: 'warm-start',
      mixture: toMixtureFile(imp.mixture),
      mixtureKey: mixtureKey(imp.mixture),
      label: mixtureName(imp.mixture, space),
    });
    for (const o of imp.observations) {
      const started = await store.startObservation(studyName, trial.number, {
        purpose: o.purpose,
        strategy: 'warm-start',
        fidelity: o.fidelity,
        sampleOffset: o.sampleOffset,
        promptIds: o.promptIds,
        projectedUsd: 0,
        note: noteOf(imp.source, o),
      });
      const { score, ci, bySource, lc, costPerQuery, tflopsPerQuery, latencyProxyPerQuery, perPrompt, tokenStats } = o;
      const measured = { score, ci, bySource, lc, costPerQuery, tflopsPerQuery, latencyProxyPerQuery, perPrompt, tokenStats };
      const defined = Object.fromEntries(Object.entries(measured).filter(([, v]) => v !== undefined));
      await store.completeObservation(studyName, started.number, { ...defined, spent: 0, spentCumulative: 0, projectedUsd: 0, calls: { made: 0, cached: 0 } });
    }
  }
}

/** One line per skip reason, for the terminal and the report. */
export function describeSkips(skipped: readonly WarmSkip[]): string[] {
  return skipped.map((s) => `skipped ${s.count} observation${s.count === 1 ? '' : 's'} of study ${s.study}: ${s.reason}`);
}

/**
 * Bring a study's `--warm-start` import to its end: on creation, and again on a resume when a killed process left
 * it unfinished (observations already imported are recognized by their note and not taken twice). The study's
 * record then says how many were imported and what was skipped.
 */
export async function completeWarmStart(store: StudyStore, study: StudyRecord, space: SearchSpace): Promise<StudyRecord> {
  const ws = study.config.warmStart;
  if (!ws || ws.imported !== undefined || !study.config.compat) return study;
  const done = new Set((await store.listObservations(study.name)).map((o) => o.note ?? ''));
  const target: WarmTarget = { name: study.name, space, compat: study.config.compat, done, ...(study.config.fidelity ? { plan: study.config.fidelity } : {}) };
  const wp = await planWarmStart(store, ws.from, target);
  await applyWarmStart(store, study.name, wp, space);
  const imported = (await store.listObservations(study.name)).filter((o) => o.strategy === 'warm-start').length;
  return store.updateStudy(study.name, { config: { ...study.config, warmStart: { from: ws.from, imported, skipped: wp.skipped } } });
}
