// Written by bench/calibrate-sim.ts; do not edit by hand (re-run the script instead).
// Stage 2 parameters (x): [0.4785,-27.991,-0.5583,1.7266,3.2007,0.1676,0.0763,-2.6323,-0.002,-0.9835,-7.333]
import type { SimProfile } from './_profiles.js';

type Fitted = Partial<Pick<SimProfile, 'misProne' | 'recall'>> & { skill?: Partial<SimProfile['skill']>; agg?: Partial<SimProfile['agg']> };

export const FITTED: Record<string, Fitted> = {
  'sim-qwen1.5-110b-chat': { skill: { alpaca: 2.5785, arena: 1.2591 }, agg: {keep: 0.6561, pass: 0, own: 0.3835, cap: 5.8621, dilution: 25.5503} },
  'sim-llama-3-70b-instruct': { skill: { alpaca: 2.3637, arena: 0.4892 }, agg: {keep: 0.6169, pass: 0, own: 0.3637, cap: 5.6187, dilution: 25.5503} },
  'sim-qwen1.5-72b-chat': { skill: { alpaca: 2.0799, arena: 0.4989 }, agg: {keep: 0.6352, pass: 0, own: 0.3728, cap: 5.7299, dilution: 25.5503} },
  'sim-mixtral-8x22b-instruct': { skill: { alpaca: 1.924, arena: 0.7756 }, agg: {keep: 0.3764, pass: 0, own: 0.2592, cap: 4.3962, dilution: 25.5503} },
  'sim-dbrx-instruct': { skill: { alpaca: 1.446, arena: 0.3074 }, agg: {keep: 0.0011, pass: 0, own: 0.0144, cap: 0.8988, dilution: 25.5503} },
  'sim-wizardlm-2-8x22b': { skill: { alpaca: 6, arena: 1.8954 }, agg: {keep: 0.104, pass: 0, own: 0.133, cap: 2.9111, dilution: 25.5503} },
  'sim-qwen2-72b-instruct': { skill: { alpaca: 2.4015, arena: 0.8859 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
  'sim-gemma-2-27b-it': { skill: { alpaca: 3.1331, arena: 1.4439 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
  'sim-llama-3.1-70b-instruct': { skill: { alpaca: 2.9358, arena: 1.1119 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
  'sim-llama-3-8b-instruct': { skill: { alpaca: 1.8722, arena: -0.7689 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
  'sim-mixtral-8x7b-instruct': { skill: { alpaca: 1.3411, arena: 0.1466 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
  'sim-qwen1.5-32b-chat': { skill: { alpaca: 1.4726, arena: 0.1809 }, agg: {keep: 0.6174, pass: 0, own: 0.3639, cap: 5.6216, dilution: 25.5503} },
};
