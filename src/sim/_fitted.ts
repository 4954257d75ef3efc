// Written by bench/calibrate-sim.ts; do not edit by hand (re-run the script instead).
// Stage 2 parameters: {"keep (AlpacaEval-style)":0.2345,"keep ratio on Arena-style prompts":0.8306,"misconception pass-through":0.2203,"own-knowledge rate":0.8214,"aggregation quality sim-qwen1.5-110b-chat":-0.1075,"aggregation quality sim-qwen1.5-72b-chat":0.036,"aggregation quality sim-wizardlm-2-8x22b":-0.8912,"aggregation quality sim-llama-3-70b-instruct":-0.0172,"aggregation quality sim-mixtral-8x22b-instruct":0.0861,"aggregation quality sim-dbrx-instruct":0.0209}
import type { SimProfile } from './_profiles.js';

type Fitted = Partial<Pick<SimProfile, 'misProne' | 'recall'>> & { skill?: Partial<SimProfile['skill']>; agg?: Partial<SimProfile['agg']> };

export const FITTED: Record<string, Fitted> = {
  'sim-qwen1.5-110b-chat': { skill: { alpaca: 1.1103, arena: 0.5022 }, agg: {keep: 0.2157, keepArena: 0.1784, pass: 0.2393, own: 0.8134, cap: 6.5, dilution: 2} },
  'sim-llama-3-70b-instruct': { skill: { alpaca: 0.6402, arena: -0.255 }, agg: {keep: 0.2314, keepArena: 0.192, pass: 0.2232, own: 0.8202, cap: 6.5, dilution: 2} },
  'sim-qwen1.5-72b-chat': { skill: { alpaca: 0.8874, arena: 0.107 }, agg: {keep: 0.241, keepArena: 0.2004, pass: 0.2141, own: 0.8241, cap: 6.5, dilution: 2} },
  'sim-mixtral-8x22b-instruct': { skill: { alpaca: 0.6661, arena: 0.1331 }, agg: {keep: 0.2503, keepArena: 0.2086, pass: 0.2058, own: 0.8277, cap: 6.5, dilution: 2} },
  'sim-dbrx-instruct': { skill: { alpaca: 0.3883, arena: -0.1256 }, agg: {keep: 0.2382, keepArena: 0.198, pass: 0.2167, own: 0.823, cap: 6.5, dilution: 2} },
  'sim-wizardlm-2-8x22b': { skill: { alpaca: 2.5736, arena: 1.0121 }, agg: {keep: 0.1116, keepArena: 0.0902, pass: 0.4078, own: 0.7466, cap: 6.5, dilution: 2} },
  'sim-qwen2-72b-instruct': { skill: { alpaca: 0.9976, arena: 0.1389 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-gemma-2-27b-it': { skill: { alpaca: 1.188, arena: 0.7289 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-llama-3.1-70b-instruct': { skill: { alpaca: 1.0752, arena: 0.5562 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-llama-3-8b-instruct': { skill: { alpaca: 0.7391, arena: -1.3354 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-mixtral-8x7b-instruct': { skill: { alpaca: 0.4223, arena: -0.3948 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-qwen1.5-32b-chat': { skill: { alpaca: 0.4334, arena: -0.5448 }, agg: {keep: 0.2345, keepArena: 0.1947, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
  'sim-gpt-4o-2024-05-13': { skill: { alpaca: 1.7172, arena: 1.0888 } },
  'sim-gpt-4-turbo-2024-04-09': { skill: { alpaca: 1.1386, arena: 1.6042 } },
  'sim-gpt-4o-mini-2024-07-18': { skill: { alpaca: 1.2304, arena: 1.3306 } },
  'sim-llama-3.1-405b-instruct': { skill: { alpaca: 0.9574, arena: 0.4643 }, agg: {keep: 0.2345, keepArena: 0.1948, pass: 0.2203, own: 0.8214, cap: 6.5, dilution: 2} },
};
