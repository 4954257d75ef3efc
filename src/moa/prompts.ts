import { readFileSync } from 'node:fs';
import { InputError } from '../config/input-error.js';
import type { ChatMessage } from '../providers/types.js';

/** The three kinds of prompt the engine injects. */
export type TemplateKind = 'aggregate' | 'rank' | 'summarize';

/** A prompt template: plain text with `{{responses}}` (the numbered list) and optionally `{{n}}`. */
export interface PromptTemplates {
  aggregate: string;
  rank: string;
  summarize: string;
}

// Written for this project, after the Aggregate-and-Synthesize idea of the MoA paper: the model is
// told the responses may be flawed and asked for one better answer, not a pick or a copy.
export const AGGREGATE_TEMPLATE = `You are given {{n}} candidate responses that other assistants wrote for the latest user request in this conversation. Your job is to merge them into one answer of the highest quality.

Read them with a critical eye: any of them may contain factual errors, weak reasoning, omissions or bias, and agreement between responses is evidence, not proof. Keep what is correct and useful, fix or drop what is not, and add anything important they all missed. Do not copy one response or stitch them together verbatim; write a single coherent, accurate and complete reply in your own voice. Do not mention the candidate responses or this process in your reply.

Candidate responses:

{{responses}}`;

// The LLM-ranker baseline: the model only chooses; the engine returns the chosen text verbatim.
export const RANK_TEMPLATE = `You are given {{n}} candidate responses to the latest user request in this conversation. Decide which single response answers it best: the most correct, helpful and complete one. Some responses may contain errors or bias.

Reply with the number of the best response only (an integer from 1 to {{n}}), with no other text.

Candidate responses:

{{responses}}`;

// Inter-layer summarizer: condenses a layer so the next one reads less text (curbs verbosity).
export const SUMMARIZE_TEMPLATE = `You are given {{n}} responses that assistants wrote for the latest user request in this conversation. Write one concise digest of them for another assistant who will write the final answer.

Keep every distinct substantive point, fact, step and argument; where the responses disagree, state each position briefly; drop repetition, filler and pleasantries. Do not add new claims and do not answer the request yourself beyond what the responses say.

Responses:

{{responses}}`;

export const BUILTIN_TEMPLATES: Readonly<PromptTemplates> = Object.freeze({
  aggregate: AGGREGATE_TEMPLATE,
  rank: RANK_TEMPLATE,
  summarize: SUMMARIZE_TEMPLATE,
});

/** Reject a template that cannot show the responses; `file` names the template file in the error. */
export function checkTemplate(text: string, file: string, field?: string): string {
  if (!text.includes('{{responses}}'))
    throw new InputError('template has no {{responses}} placeholder (where the numbered responses go)', { file, field });
  const unknown = [...text.matchAll(/\{\{\s*([A-Za-z_]+)\s*\}\}/g)].map((m) => m[1]!).filter((p) => p !== 'responses' && p !== 'n');
  if (unknown.length) throw new InputError(`template has unknown placeholder {{${unknown[0]}}} (known: {{responses}}, {{n}})`, { file, field });
  return text;
}

/**
 * The templates a mixture runs with: the built-ins, overridden by the mixture's template files.
 * Throws InputError naming the file when one is missing or lacks `{{responses}}`.
 */
export function loadTemplates(files?: Partial<Record<TemplateKind, string>>): PromptTemplates {
  const out: PromptTemplates = { ...BUILTIN_TEMPLATES };
  for (const kind of ['aggregate', 'rank', 'summarize'] as const) {
    const file = files?.[kind];
    if (!file) continue;
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new InputError(`cannot read template file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { file, field: `prompts.${kind}` });
    }
    out[kind] = checkTemplate(text, file, `prompts.${kind}`);
  }
  return out;
}

/** The numbered list of responses: `[Response 1]` headers, blank lines between entries. */
export function formatResponses(responses: readonly string[]): string {
  return responses.map((r, i) => `[Response ${i + 1}]\n${r.trim()}`).join('\n\n');
}

/** Fill a template's placeholders. Single pass, so response text containing `{{n}}` is left alone. */
export function renderTemplate(template: string, responses: readonly string[]): string {
  const list = formatResponses(responses);
  return template.replace(/\{\{\s*(responses|n)\s*\}\}/g, (_, name: string) => (name === 'responses' ? list : String(responses.length)));
}

/**
 * The conversation with the injected prompt: appended to the first system message when there is one
 * (never a second system message), else a new system message placed first.
 */
export function injectSystem(messages: readonly ChatMessage[], injected: string): ChatMessage[] {
  const i = messages.findIndex((m) => m.role === 'system');
  if (i < 0) return [{ role: 'system', content: injected }, ...messages.map((m) => ({ ...m }))];
  return messages.map((m, j) => (j === i ? { role: 'system', content: `${m.content}\n\n${injected}` } : { ...m }));
}

/** Messages for an aggregating agent (layer > 1 or the final aggregator). */
export function aggregateMessages(messages: readonly ChatMessage[], responses: readonly string[], t: PromptTemplates = BUILTIN_TEMPLATES): ChatMessage[] {
  return injectSystem(messages, renderTemplate(t.aggregate, responses));
}

export function rankMessages(messages: readonly ChatMessage[], responses: readonly string[], t: PromptTemplates = BUILTIN_TEMPLATES): ChatMessage[] {
  return injectSystem(messages, renderTemplate(t.rank, responses));
}

export function summarizeMessages(messages: readonly ChatMessage[], responses: readonly string[], t: PromptTemplates = BUILTIN_TEMPLATES): ChatMessage[] {
  return injectSystem(messages, renderTemplate(t.summarize, responses));
}

/**
 * The response number a ranker chose, or undefined. Accepts a bare number ("3", "**3**"), an explicit
 * verdict ("The best is response #2", "Response 3 is the best"), else the first "Response N" named,
 * else a lone number. Numbers outside 1..n are ignored.
 */
export function parseRankChoice(text: string, n: number): number | undefined {
  const ok = (v: number) => Number.isInteger(v) && v >= 1 && v <= n;
  const first = (re: RegExp) => [...text.matchAll(re)].map((m) => Number(m[1])).find(ok);
  const t = text.trim();
  const whole = /^\W*(\d+)\W*$/.exec(t);
  if (whole && ok(Number(whole[1]))) return Number(whole[1]);
  const verdict =
    first(/\bbest\b[^\d\n]{0,40}?(\d+)/gi) ??
    first(/(?<![\d.])(\d+)\W{0,3}\s+(?:is|was)\s+(?:the\s+)?(?:best|strongest|most\b)/gi);
  if (verdict !== undefined) return verdict;
  // A ranker that names responses usually names its choice first.
  const named = first(/response\s*(?:#|no\.?|number)?\s*\[?(\d+)/gi);
  if (named !== undefined) return named;
  const any = [...t.matchAll(/(?<![\d.])(\d+)(?!\d|\.\d)/g)].map((m) => Number(m[1])).filter(ok);
  const distinct = [...new Set(any)];
  // A lone candidate number is a choice; several different ones is ambiguous.
  return distinct.length === 1 ? distinct[0] : undefined;
}
