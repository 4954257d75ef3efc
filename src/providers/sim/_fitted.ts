// Written by bench/calibrate-sim.ts; do not edit by hand (re-run the script instead).
import type { SimProfile } from './_profiles.js';

type Fitted = Partial<Pick<SimProfile, 'misProne' | 'recall'>> & { skill?: Partial<SimProfile['skill']>; agg?: Partial<SimProfile['agg']> };

export const FITTED: Record<string, Fitted> = {};
