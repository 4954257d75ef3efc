// Written by bench/calibrate-sim.ts; do not edit by hand (re-run the script instead).
// Stage 2 parameters (x): [-0.619,-1.0986,0.8473,0.3,0,-1,0,-0.3,-0.5]
import type { SimProfile } from './_profiles.js';

type Fitted = Partial<Pick<SimProfile, 'misProne' | 'recall'>> & { skill?: Partial<SimProfile['skill']>; agg?: Partial<SimProfile['agg']> };

export const FITTED: Record<string, Fitted> = {
  'sim-qwen1.5-110b-chat': { skill: { alpaca: 1.1103, arena: 0.497 }, agg: {keep: 0.4209, pass: 0.198, own: 0.759, cap: 6.95, dilution: 2} },
  'sim-llama-3-70b-instruct': { skill: { alpaca: 0.732, arena: -0.2448 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-qwen1.5-72b-chat': { skill: { alpaca: 0.9192, arena: 0.2006 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-mixtral-8x22b-instruct': { skill: { alpaca: 0.7309, arena: 0.2374 }, agg: {keep: 0.2852, pass: 0.3103, own: 0.6335, cap: 6.05, dilution: 2} },
  'sim-dbrx-instruct': { skill: { alpaca: 0.3961, arena: -0.1134 }, agg: {keep: 0.2462, pass: 0.3547, own: 0.586, cap: 5.75, dilution: 2} },
  'sim-wizardlm-2-8x22b': { skill: { alpaca: 2.7714, arena: 0.9996 }, agg: {keep: 0.1653, pass: 0.4754, own: 0.4619, cap: 5, dilution: 2} },
  'sim-qwen2-72b-instruct': { skill: { alpaca: 1.0079, arena: 0.2733 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-gemma-2-27b-it': { skill: { alpaca: 1.2188, arena: 0.6185 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-llama-3.1-70b-instruct': { skill: { alpaca: 1.1302, arena: 0.5595 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-llama-3-8b-instruct': { skill: { alpaca: 0.7505, arena: -1.2096 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-mixtral-8x7b-instruct': { skill: { alpaca: 0.4947, arena: -0.3691 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
  'sim-qwen1.5-32b-chat': { skill: { alpaca: 0.4759, arena: -0.4723 }, agg: {keep: 0.35, pass: 0.25, own: 0.7, cap: 6.5, dilution: 2} },
};
