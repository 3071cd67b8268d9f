/** The `openorchestrator` command. Each subcommand lives in its own file. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { registerGrants } from './grants.js';
import { registerKey } from './key.js';
import { registerMonitor } from './monitor.js';
import { registerOrchestrator } from './orchestrator.js';
import { registerScheduler } from './scheduler.js';
import { registerStart } from './start.js';
import { registerUpgrade } from './upgrade.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('openorchestrator')
  .description('OpenOrchestrator: run robots and scripts from one central database (a peer of the Python OpenOrchestrator)')
  .version(version)
  .showHelpAfterError('(run with --help for usage)');

registerStart(program);
registerUpgrade(program);
registerKey(program);
registerOrchestrator(program);
registerScheduler(program);
registerGrants(program);
registerMonitor(program);

await program.parseAsync(process.argv);
