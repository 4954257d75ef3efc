import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerAsk(program: Command): void {
  program
    .command('ask')
    .description('(ask: not built yet)')
    .action(
      action(() => {
        throw new Error('ask is not built yet');
      }),
    );
}
