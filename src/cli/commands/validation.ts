import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerValidation(program: Command): void {
  program
    .command('validation')
    .description('(validation: not built yet)')
    .action(
      action(() => {
        throw new Error('validation is not built yet');
      }),
    );
}
