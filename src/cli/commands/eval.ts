import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerEval(program: Command): void {
  program
    .command('eval')
    .description('(eval: not built yet)')
    .action(
      action(() => {
        throw new Error('eval is not built yet');
      }),
    );
}
