/**
 * `monitor`: the operations loop (queue retries, visibility timeouts, alert rules and their
 * notifications). Argument parsing and signals only; the work is in src/monitor/.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { InputError } from '../errors.js';
import { DEFAULT_MONITOR_INTERVAL_SECONDS, DEFAULT_PURGE_EVERY_SECONDS, Monitor } from '../monitor/monitor.js';
import { DEFAULT_PURGE_BATCH } from '../monitor/retention.js';
import { parseMetricsAddress, serveMetrics } from '../metrics/server.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { databaseOptions, requireDatabase, secondsOption, type DatabaseFlags } from './database-flags.js';
import { action } from './errors.js';
import { onStopSignals } from './signals.js';

interface Flags extends DatabaseFlags {
  name?: string;
  interval: number;
  retryBase: number;
  purgeEvery: number;
  purgeBatch: number;
  archiveDir?: string;
  metrics?: string;
  json?: boolean;
}

/** The archive folder must exist and be a folder this process may write into. */
function checkArchiveDir(path: string | undefined): string | undefined {
  if (path === undefined) return undefined;
  try {
    if (!statSync(path).isDirectory()) throw new InputError(`--archive-dir ${path} is not a folder; give an existing folder`);
    accessSync(path, constants.W_OK);
  } catch (error) {
    if (error instanceof InputError) throw error;
    throw new InputError(`--archive-dir ${path} cannot be written (${(error as NodeJS.ErrnoException).code ?? 'error'}); give an existing folder this user may write into`);
  }
  return path;
}

function rowCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 100_000) throw new InvalidArgumentError('expected a whole number of rows from 1 to 100000, e.g. 2000');
  return n;
}

function purgeSeconds(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number of seconds, e.g. 600, or 0 for never');
  return n;
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
    .option('--purge-every <seconds>', 'seconds between two purges of history older than its retention period (0: never purge)', purgeSeconds, DEFAULT_PURGE_EVERY_SECONDS)
    .option('--purge-batch <rows>', 'rows deleted per purge transaction', rowCount, DEFAULT_PURGE_BATCH)
    .option('--archive-dir <folder>', 'write purged rows to gzip JSON-lines files in this folder first (needed by periods that ask for an archive)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (e.g. 127.0.0.1:9465; off by default)')
    .option('--json', 'print one JSON object per line instead of readable lines')
    .action(
      action(async (argument: string | undefined, flags: Flags) => {
        const { connectionString, cryptoKey } = requireDatabase(argument, flags);
        const log = createConsoleLog({ json: flags.json, secrets: [cryptoKey] });
        const monitor = new Monitor(
          {
            connectionString,
            cryptoKey,
            name: flags.name,
            intervalSeconds: flags.interval,
            retryBaseSeconds: flags.retryBase,
            purgeEverySeconds: flags.purgeEvery,
            purgeBatch: flags.purgeBatch,
            archiveDir: checkArchiveDir(flags.archiveDir),
          },
          log,
        );
        const metricsServer = flags.metrics === undefined ? undefined : await serveMetrics(parseMetricsAddress(flags.metrics));
        if (metricsServer) log.info('metrics', `metrics at ${metricsServer.url}`);
        const removeSignals = onStopSignals(() => monitor.stop());
        try {
          await monitor.run();
        } finally {
          removeSignals();
          await metricsServer?.close();
        }
      }),
    );
}
