import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('(serve: not built yet)')
    .action(
      action(() => {
        throw new Error('serve is not built yet');
      }),
    );
}
