/**
 * `monitor`: the operations loop (queue retries, visibility timeouts, alert rules and their
 * notifications). Argument parsing and signals only; the work is in src/monitor/.
 */
import type { Command } from 'commander';
import { DEFAULT_MONITOR_INTERVAL_SECONDS, Monitor } from '../monitor/monitor.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { databaseOptions, requireDatabase, secondsOption, type DatabaseFlags } from './database-flags.js';
import { action } from './errors.js';
import { onStopSignals } from './signals.js';

interface Flags extends DatabaseFlags {
  name?: string;
  interval: number;
  retryBase: number;
  json?: boolean;
}

const seconds = secondsOption('30');

export function registerMonitor(program: Command): void {
  const command = program
    .command('monitor')
    .description('watch the database: retry failed queue elements, apply visibility timeouts, evaluate alert rules and send their e-mails and webhooks (run one or several; none sends a notification twice)');
  databaseOptions(command, 'encryption key, to read the Credentials channels log in with')
    .option('--name <name>', 'this monitor\'s name in element histories and the notification outbox (default monitor@<host>:<pid>)')
    .option('--interval <seconds>', 'seconds between passes', seconds, DEFAULT_MONITOR_INTERVAL_SECONDS)
    .option('--retry-base <seconds>', 'first wait after a failed notification (doubled after each failure, at most an hour)', seconds, 30)
    .option('--json', 'print one JSON object per line instead of readable lines')
    .action(
      action(async (argument: string | undefined, flags: Flags) => {
        const { connectionString, cryptoKey } = requireDatabase(argument, flags);
        const log = createConsoleLog({ json: flags.json, secrets: [cryptoKey] });
        const monitor = new Monitor({ connectionString, cryptoKey, name: flags.name, intervalSeconds: flags.interval, retryBaseSeconds: flags.retryBase }, log);
        const removeSignals = onStopSignals(() => monitor.stop());
        try {
          await monitor.run();
        } finally {
          removeSignals();
        }
      }),
    );
}
