import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerSim(program: Command): void {
  program
    .command('sim')
    .description('(sim: not built yet)')
    .action(
      action(() => {
        throw new Error('sim is not built yet');
      }),
    );
}
