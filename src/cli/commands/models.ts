import type { Command } from 'commander';
import { action, collect, numberArg } from '../_run.js';
import type { ModelsImportOptions } from '../models-import.js';

export function registerModels(program: Command): void {
  const models = program.command('models').description('Manage the models of a search space from provider catalogs.');
  models
    .command('import')
    .description(
      "Add or update models in a space file from a provider's model list (OpenRouter's /api/v1/models or Together's /v1/models JSON): " +
        'prices (USD per 1M tokens), context windows, parameter counts where the catalog gives them. Comments and order are kept; ' +
        "without --model/--match, refreshes the space's models of that provider.",
    )
    .argument('[catalog]', 'catalog file (JSON), as saved from the provider\'s model-list endpoint')
    .requiredOption('--space <file>', 'search-space file to update (written atomically)')
    .option('--from-url [url]', "fetch the catalog instead (default: the provider's baseURL + /models), with the key from the provider's apiKeyEnv")
    .option('--provider <name>', "the space's provider the models belong to (default: its only provider)")
    .option('--model <id>', 'add or update this catalog model (repeatable)', collect)
    .option('--match <glob>', 'add or update every catalog model whose id matches (repeatable; * and ?, case-insensitive)', collect)
    .option('--roles <list>', 'roles of added models, comma-separated', 'proposer,aggregator')
    .option('--max-copies <n>', "maxCopies of added proposers (default: the largest among the space's proposers)", numberArg({ integer: true, min: 1, max: 16 }))
    .option('--search-aggregator', 'also search the imported models as the final aggregator (adds them to search.aggregators)')
    .option('--dry-run', 'print the change as a diff of the space file; write nothing')
    .option('--json', 'print what changed as JSON')
    .action(action(async (catalog: string | undefined, opts: ModelsImportOptions) => (await import('../models-import.js')).runModelsImport(catalog, opts)));
}
