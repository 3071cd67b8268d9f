/**
 * `monitor`: the operations loop (queue retries, visibility timeouts, alert rules and their
 * notifications). Argument parsing and signals only; the work is in src/monitor/.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { readEnvironment } from '../config/environment.js';
import { InputError } from '../errors.js';
import { DEFAULT_MONITOR_INTERVAL_SECONDS, Monitor } from '../monitor/monitor.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { action } from './errors.js';

interface Flags {
  connectionString?: string;
  key?: string;
  keyFile?: string;
  name?: string;
  interval: number;
  retryBase: number;
  json?: boolean;
}

function seconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a number of seconds above 0, e.g. 30 or 0.5');
  return n;
}

export function registerMonitor(program: Command): void {
  program
    .command('monitor')
    .description('watch the database: retry failed queue elements, apply visibility timeouts, evaluate alert rules and send their e-mails and webhooks (run one or several; none sends a notification twice)')
    .option('--connection-string <url>', 'database URL (default: $OpenOrchestratorConnString)')
    .option('--key <key>', 'encryption key, to read the Credentials e-mail channels log in with (default: $OpenOrchestratorKey)')
    .option('--key-file <path>', 'read the encryption key from this file')
    .option('--name <name>', 'this monitor\'s name in element histories and the notification outbox (default monitor@<host>:<pid>)')
    .option('--interval <seconds>', 'seconds between passes', seconds, DEFAULT_MONITOR_INTERVAL_SECONDS)
    .option('--retry-base <seconds>', 'first wait after a failed notification (doubled after each failure, at most an hour)', seconds, 30)
    .option('--json', 'print one JSON object per line instead of readable lines')
    .action(
      action(async (flags: Flags) => {
        const env = readEnvironment();
        const connectionString = flags.connectionString ?? env.connectionString;
        const cryptoKey = flags.key ?? (flags.keyFile ? readFileSync(flags.keyFile, 'utf8').trim() : undefined) ?? env.cryptoKey;
        if (!connectionString) throw new InputError('give --connection-string or set OpenOrchestratorConnString');
        const log = createConsoleLog({ json: flags.json, secrets: [cryptoKey] });
        const monitor = new Monitor({ connectionString, cryptoKey, name: flags.name, intervalSeconds: flags.interval, retryBaseSeconds: flags.retryBase }, log);
        const onSignal = () => monitor.stop();
        process.on('SIGINT', onSignal);
        process.on('SIGTERM', onSignal);
        try {
          await monitor.run();
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
