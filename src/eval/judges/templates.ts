import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { InputError } from '../../config/input-error.js';
import type { ChatMessage } from '../../providers/types.js';

export type JudgeProtocol = 'alpaca_eval' | 'arena_hard';

/**
 * A judge template: chat messages with `{name}` placeholders. Only the protocol's own placeholder names are
 * replaced (single pass), so braces elsewhere in a template (the official AlpacaEval one is full of JSON-like
 * braces) and braces inside the answers are left alone.
 *
 * AlpacaEval: `{instruction}`, `{output_1}` (shown first, labelled `m`), `{output_2}` (second, `M`).
 * Arena-Hard: `{question_1}`, `{answer_1}` (Assistant A), `{answer_2}` (Assistant B).
 */
export interface JudgeTemplate {
  protocol: JudgeProtocol;
  messages: ChatMessage[];
  /** Where it came from (`builtin` or a file path), for error messages. */
  origin: string;
}

export const PLACEHOLDERS: Record<JudgeProtocol, readonly string[]> = {
  alpaca_eval: ['instruction', 'output_1', 'output_2'],
  arena_hard: ['question_1', 'answer_1', 'answer_2'],
};

// Written for this project following the AlpacaEval protocol: two labelled outputs, a one-identifier answer
// whose first token's logprobs give the preference.
const ALPACA_SYSTEM = `You are a careful, impartial evaluator of AI assistants. You decide which of two outputs the person who wrote an instruction would rather receive.`;

const ALPACA_USER = `Two AI models were given the same instruction. Each model is known only by its label, "m" or "M". Read the instruction and both outputs, then say which model did better.

### Instruction
{instruction}

### Output of model m
{output_1}

### Output of model M
{output_2}

### What to do
Judge which output better serves the instruction: is it correct, helpful, relevant, complete and clearly written? The order in which the outputs appear means nothing, and a longer output is not better for being longer.
Reply with the label of the better model only: the single character m or the single character M, with nothing before or after it.`;

// Written for this project following the Arena-Hard protocol: a short assessment that ends in one of five
// bracketed verdicts.
const ARENA_SYSTEM = `You are an impartial judge comparing how well two AI assistants, A and B, answered a user's prompt.

Work in this order. First, sketch your own answer to the prompt, so you know what a good answer contains. Then examine each assistant's answer against yours: name any mistakes or inaccurate statements, and judge whether the answer is helpful (it does what was asked; when a prompt is ambiguous, asking for clarification beats guessing), relevant (every part bears on the prompt) and concise (clear, without padding). Where the prompt calls for it, weigh creativity and novelty. Note anything important that an answer leaves out.

Keep the assessment brief. Then finish with exactly one of these verdict labels:
[[A>>B]] if Assistant A is clearly better,
[[A>B]] if Assistant A is a little better,
[[A=B]] if they are about equally good,
[[B>A]] if Assistant B is a little better,
[[B>>A]] if Assistant B is clearly better.
For example: "Final verdict: [[B>A]]".`;

const ARENA_USER = `[The user's prompt]
{question_1}

[Start of Assistant A's answer]
{answer_1}
[End of Assistant A's answer]

[Start of Assistant B's answer]
{answer_2}
[End of Assistant B's answer]`;

export const BUILTIN_JUDGE_TEMPLATES: Readonly<Record<JudgeProtocol, JudgeTemplate>> = Object.freeze({
  alpaca_eval: {
    protocol: 'alpaca_eval',
    origin: 'builtin',
    messages: [
      { role: 'system', content: ALPACA_SYSTEM },
      { role: 'user', content: ALPACA_USER },
    ],
  },
  arena_hard: {
    protocol: 'arena_hard',
    origin: 'builtin',
    messages: [
      { role: 'system', content: ARENA_SYSTEM },
      { role: 'user', content: ARENA_USER },
    ],
  },
});

const ROLES = new Set(['system', 'user', 'assistant']);

/** `<|im_start|>role\n…<|im_end|>` blocks (the chat-formatted text AlpacaEval's templates use) → messages. */
export function parseChatMarkup(text: string, file: string): ChatMessage[] {
  const out: ChatMessage[] = [];
  const re = /<\|im_start\|>([A-Za-z]+)[ \t]*\r?\n([\s\S]*?)<\|im_end\|>/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const role = m[1]!.toLowerCase();
    if (!ROLES.has(role)) throw new InputError(`unknown role "${m[1]}" in <|im_start|> block`, { file, line: text.slice(0, m.index).split('\n').length });
    out.push({ role: role as ChatMessage['role'], content: m[2]!.replace(/\s+$/, '') });
  }
  if (!out.length) throw new InputError('no <|im_start|>role … <|im_end|> blocks', { file });
  return out;
}

/** Arena-Hard's judge config (`system_prompt` + `prompt_template`, a string or a one-element list). */
function fromArenaConfig(data: Record<string, unknown>, file: string): ChatMessage[] {
  const tpl = Array.isArray(data.prompt_template) ? data.prompt_template[0] : data.prompt_template;
  if (typeof tpl !== 'string' || !tpl.trim()) throw new InputError('prompt_template must be a string (or a list holding one)', { file, field: 'prompt_template' });
  const msgs: ChatMessage[] = [];
  if (data.system_prompt !== undefined) {
    if (typeof data.system_prompt !== 'string') throw new InputError('must be a string', { file, field: 'system_prompt' });
    msgs.push({ role: 'system', content: data.system_prompt });
  }
  msgs.push({ role: 'user', content: tpl });
  return msgs;
}

/**
 * Load a user's judge template file. Three forms are accepted:
 * - YAML/JSON with `prompt_template` (and optional `system_prompt`): Arena-Hard's `judge_config.yaml`;
 * - chat markup with `<|im_start|>role … <|im_end|>` blocks: AlpacaEval's `*.txt` templates;
 * - any other text: one user message.
 * The protocol's placeholders must all appear (InputError naming the file otherwise).
 */
export function loadJudgeTemplate(file: string, protocol: JudgeProtocol, field = `judge.templates.${protocol}`): JudgeTemplate {
  if (!existsSync(file)) throw new InputError('judge template file not found', { file, field });
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`cannot read judge template: ${(e as Error).message}`, { file, field });
  }
  let messages: ChatMessage[] | undefined;
  if (/\.(ya?ml|json)$/i.test(file)) {
    let data: unknown;
    try {
      data = parseYaml(text);
    } catch (e) {
      throw new InputError(`malformed YAML/JSON: ${(e as Error).message.split('\n')[0]}`, { file, field });
    }
    if (typeof data !== 'object' || data === null || !('prompt_template' in data))
      throw new InputError('a YAML/JSON judge template needs prompt_template (and optionally system_prompt)', { file, field });
    messages = fromArenaConfig(data as Record<string, unknown>, file);
  } else if (text.includes('<|im_start|>')) {
    messages = parseChatMarkup(text, file);
  } else {
    if (!text.trim()) throw new InputError('judge template is empty', { file, field });
    messages = [{ role: 'user', content: text }];
  }
  const all = messages.map((m) => m.content).join('\n');
  for (const p of PLACEHOLDERS[protocol])
    if (!all.includes(`{${p}}`))
      throw new InputError(`template lacks the {${p}} placeholder (${protocol} templates use ${PLACEHOLDERS[protocol].map((x) => `{${x}}`).join(', ')})`, { file, field });
  return { protocol, messages, origin: file };
}

/** Fill a template. Single pass: answer text containing `{output_2}` is never re-substituted. */
export function renderJudgeTemplate(t: JudgeTemplate, values: Record<string, string>): ChatMessage[] {
  const names = PLACEHOLDERS[t.protocol];
  const re = new RegExp(`\\{(${names.join('|')})\\}`, 'g');
  return t.messages.map((m) => ({ role: m.role, content: m.content.replace(re, (_, n: string) => values[n] ?? '') }));
}
