import type { Command } from 'commander';
import { action } from '../_run.js';

// PLACEHOLDER: replaced by the owner of this command.
export function registerReport(program: Command): void {
  program
    .command('report')
    .description('(report: not built yet)')
    .action(
      action(() => {
        throw new Error('report is not built yet');
      }),
    );
}
