import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerSearch(program: Command): void {
  program
    .command('search')
    .description('(search: not built yet)')
    .action(
      action(() => {
        throw new Error('search is not built yet');
      }),
    );
}
