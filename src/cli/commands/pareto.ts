import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerPareto(program: Command): void {
  program
    .command('pareto')
    .description('(pareto: not built yet)')
    .action(
      action(() => {
        throw new Error('pareto is not built yet');
      }),
    );
}
