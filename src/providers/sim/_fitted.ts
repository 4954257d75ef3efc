// Written by bench/calibrate-sim.ts; do not edit by hand (re-run the script instead).
// Stage 2 parameters (x): [-0.7902,-93.1143,-12.9449,0.9282,-0.3914,-10.3308,-8.3462,-58.8589,-15.669]
import type { SimProfile } from './_profiles.js';

type Fitted = Partial<Pick<SimProfile, 'misProne' | 'recall'>> & { skill?: Partial<SimProfile['skill']>; agg?: Partial<SimProfile['agg']> };

export const FITTED: Record<string, Fitted> = {
  'sim-qwen1.5-110b-chat': { skill: { alpaca: 1.1103, arena: 0.5022 }, agg: {keep: 0.5344, pass: 0, own: 0, cap: 7.8923, dilution: 2} },
  'sim-llama-3-70b-instruct': { skill: { alpaca: 0.6402, arena: -0.255 }, agg: {keep: 0.0001, pass: 0, own: 0, cap: 2, dilution: 2} },
  'sim-qwen1.5-72b-chat': { skill: { alpaca: 0.8874, arena: 0.107 }, agg: {keep: 0.2348, pass: 0, own: 0, cap: 5.9128, dilution: 2} },
  'sim-mixtral-8x22b-instruct': { skill: { alpaca: 0.6661, arena: 0.1331 }, agg: {keep: 0, pass: 0, own: 0, cap: 2, dilution: 2} },
  'sim-dbrx-instruct': { skill: { alpaca: 0.3883, arena: -0.1256 }, agg: {keep: 0, pass: 0, own: 0, cap: 2, dilution: 2} },
  'sim-wizardlm-2-8x22b': { skill: { alpaca: 2.5736, arena: 1.0121 }, agg: {keep: 0, pass: 0, own: 0, cap: 2, dilution: 2} },
  'sim-qwen2-72b-instruct': { skill: { alpaca: 0.9976, arena: 0.1389 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
  'sim-gemma-2-27b-it': { skill: { alpaca: 1.188, arena: 0.7289 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
  'sim-llama-3.1-70b-instruct': { skill: { alpaca: 1.0752, arena: 0.5562 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
  'sim-llama-3-8b-instruct': { skill: { alpaca: 0.7391, arena: -1.3354 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
  'sim-mixtral-8x7b-instruct': { skill: { alpaca: 0.4223, arena: -0.3948 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
  'sim-qwen1.5-32b-chat': { skill: { alpaca: 0.4334, arena: -0.5448 }, agg: {keep: 0.3121, pass: 0, own: 0, cap: 6.5, dilution: 2} },
};
