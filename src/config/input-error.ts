/** Where a piece of bad input lives: a file, a line in it, a field path. */
export interface InputLocation {
  file?: string;
  line?: number;
  field?: string;
}

/**
 * Bad input from the user (config, mixture, validation set, CLI flag).
 * The CLI prints `message` as one line and exits with code 2; nothing is written.
 */
export class InputError extends Error {
  override readonly name = 'InputError';
  readonly exitCode = 2;
  readonly reason: string;
  readonly location: InputLocation;

  constructor(reason: string, location: InputLocation = {}) {
    super(formatLocated(reason, location));
    this.reason = reason;
    this.location = location;
  }
}

export function formatLocated(reason: string, { file, line, field }: InputLocation): string {
  let where = file ?? '';
  if (file && line !== undefined) where += `:${line}`;
  if (field) where += where ? ` (${field})` : field;
  const text = where ? `${where}: ${reason}` : reason;
  // One line, always: a multi-line reason would break the CLI's contract.
  return text.replace(/\s*\n\s*/g, ' ');
}

export function isInputError(e: unknown): e is InputError {
  return e instanceof InputError;
}
