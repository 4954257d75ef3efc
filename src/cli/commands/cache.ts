import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerCache(program: Command): void {
  program
    .command('cache')
    .description('(cache: not built yet)')
    .action(
      action(() => {
        throw new Error('cache is not built yet');
      }),
    );
}
