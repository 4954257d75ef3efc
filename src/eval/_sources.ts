import { InputError } from '../config/input-error.js';
import { isText, jsonlObjects, type InputFile } from './_input-files.js';

/** One AlpacaEval instruction with the reference model's output. `index` is its position in the file. */
export interface AlpacaEvalRow {
  index: number;
  instruction: string;
  output: string;
  dataset?: string;
  generator?: string;
}

/** AlpacaEval `model_outputs.json`: a JSON array of `{instruction, output, generator, dataset}`. */
export function readAlpacaEvalOutputs(f: InputFile): AlpacaEvalRow[] {
  let data: unknown;
  try {
    data = JSON.parse(f.text);
  } catch (e) {
    throw new InputError(`malformed JSON: ${(e as Error).message}`, { file: f.file });
  }
  if (!Array.isArray(data)) throw new InputError('expected a JSON array of {instruction, output, dataset} (AlpacaEval model_outputs.json)', { file: f.file });
  return data.map((r: unknown, index) => {
    const o = (r ?? {}) as Record<string, unknown>;
    if (typeof o.instruction !== 'string' || typeof o.output !== 'string')
      throw new InputError('entry needs string "instruction" and "output"', { file: f.file, field: `[${index}]` });
    const row: AlpacaEvalRow = { index, instruction: o.instruction, output: o.output };
    if (typeof o.dataset === 'string') row.dataset = o.dataset;
    if (typeof o.generator === 'string') row.generator = o.generator;
    return row;
  });
}

export type ArenaHardFormat = 'arena-hard-2025' | 'arena-hard-2024';

export interface ArenaHardQuestion {
  /** `uid` (2025) or `question_id` (2024): the same key in both formats. */
  qid: string;
  prompt: string;
  category?: string;
}

/** Arena-Hard questions: 2025 `{uid, category, cluster, prompt}` or 2024 `{question_id, category, turns: [{content}]}`. */
export function readArenaHardQuestions(f: InputFile): { format: ArenaHardFormat; questions: ArenaHardQuestion[] } {
  let format: ArenaHardFormat | undefined;
  const questions: ArenaHardQuestion[] = [];
  for (const { line, obj } of jsonlObjects(f)) {
    let q: ArenaHardQuestion;
    let fmt: ArenaHardFormat;
    if (typeof obj.uid === 'string' && typeof obj.prompt === 'string') {
      fmt = 'arena-hard-2025';
      q = { qid: obj.uid, prompt: obj.prompt };
    } else if (typeof obj.question_id === 'string' && Array.isArray(obj.turns)) {
      fmt = 'arena-hard-2024';
      const first = obj.turns[0] as { content?: unknown } | undefined;
      if (typeof first?.content !== 'string') throw new InputError('turns[0].content must be a string', { file: f.file, line, field: 'turns' });
      q = { qid: obj.question_id, prompt: first.content };
    } else {
      throw new InputError('not an Arena-Hard question: expected {uid, prompt} (2025) or {question_id, turns} (2024)', { file: f.file, line });
    }
    if (format && fmt !== format) throw new InputError(`mixes Arena-Hard formats (${format} above, ${fmt} here)`, { file: f.file, line });
    format = fmt;
    if (typeof obj.category === 'string') q.category = obj.category;
    questions.push(q);
  }
  if (!format) throw new InputError('no questions', { file: f.file });
  return { format, questions };
}

/**
 * Arena-Hard baseline answers: 2025 `{uid, model, messages: [..., {role: 'assistant', content: {answer}}]}` or
 * 2024 `{question_id, model_id, choices: [{turns: [{content}]}]}`. Returns question id → answer text.
 */
export function readArenaHardAnswers(f: InputFile): { format: ArenaHardFormat; model?: string; answers: Map<string, string> } {
  let format: ArenaHardFormat | undefined;
  let model: string | undefined;
  const answers = new Map<string, string>();
  for (const { line, obj } of jsonlObjects(f)) {
    let qid: string;
    let text: unknown;
    let fmt: ArenaHardFormat;
    if (typeof obj.uid === 'string' && Array.isArray(obj.messages)) {
      fmt = 'arena-hard-2025';
      qid = obj.uid;
      const last = [...(obj.messages as Array<{ role?: unknown; content?: unknown }>)].reverse().find((m) => m?.role === 'assistant');
      const c = last?.content;
      text = typeof c === 'string' ? c : (c as { answer?: unknown } | undefined)?.answer;
      if (typeof obj.model === 'string') model ??= obj.model;
    } else if (typeof obj.question_id === 'string' && Array.isArray(obj.choices)) {
      fmt = 'arena-hard-2024';
      qid = obj.question_id;
      text = (obj.choices[0] as { turns?: Array<{ content?: unknown }> } | undefined)?.turns?.[0]?.content;
      if (typeof obj.model_id === 'string') model ??= obj.model_id;
    } else {
      throw new InputError('not an Arena-Hard answer: expected {uid, messages} (2025) or {question_id, choices} (2024)', { file: f.file, line });
    }
    if (format && fmt !== format) throw new InputError(`mixes Arena-Hard formats (${format} above, ${fmt} here)`, { file: f.file, line });
    format = fmt;
    if (typeof text !== 'string') throw new InputError('no assistant answer text', { file: f.file, line });
    if (answers.has(qid)) throw new InputError(`duplicate question id ${qid}`, { file: f.file, line });
    if (isText(text)) answers.set(qid, text);
  }
  if (!format) throw new InputError('no answers', { file: f.file });
  return { format, model, answers };
}
