/**
 * `scheduler` (alias `s`): the worker daemon. Argument parsing and signals only; the work is in
 * src/scheduler/.
 */
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { createConsoleLog } from '../scheduler/console-log.js';
import { Scheduler } from '../scheduler/loop.js';
import { parseMetricsAddress, serveMetrics } from '../metrics/server.js';
import { Monitor } from '../monitor/monitor.js';
import {
  DEFAULT_CLONE_TIMEOUT_SECONDS,
  DEFAULT_INTERVAL_SECONDS,
  DEFAULT_KILL_GRACE_SECONDS,
  DEFAULT_MAX_BACKOFF_SECONDS,
  defaultMachineName,
  defaultPython,
  defaultWorkDir,
} from '../scheduler/options.js';
import { databaseOptions, requireDatabase, secondsOption, type DatabaseFlags } from './database-flags.js';
import { action } from './errors.js';
import { onStopSignals } from './signals.js';

interface Flags extends DatabaseFlags {
  machineName: string;
  interval: number;
  exclusive?: boolean;
  workDir: string;
  python: string;
  secretsInEnvOnly?: boolean;
  secretsInArgv?: boolean;
  killGrace: number;
  cloneTimeout: number;
  ignoreScripts?: boolean;
  maxBackoff: number;
  paused?: boolean;
  json?: boolean;
  verbose?: boolean;
  monitor?: number | true;
  metrics?: string;
}

const seconds = secondsOption('6');

export function registerScheduler(program: Command): void {
  const command = program
    .command('scheduler')
    .alias('s')
    .description('run the Scheduler on this worker machine: claim due triggers and run their robots until stopped (SIGINT/SIGTERM: finish running robots; twice: kill them)');
  databaseOptions(command, 'encryption key robots receive')
    .option('--machine-name <name>', 'name in Schedulers and in trigger whitelists', defaultMachineName())
    .option('--interval <seconds>', 'seconds between polls', seconds, DEFAULT_INTERVAL_SECONDS)
    .option('--exclusive', 'run only triggers whose whitelist names this machine')
    .option('--work-dir <path>', 'where git triggers are cloned', defaultWorkDir())
    .option('--python <command>', 'command that runs .py robots', defaultPython())
    .option('--secrets-in-env-only', 'pass the connection string and key to every robot in the environment only (empty in argv)')
    .option('--secrets-in-argv', 'also pass them in the argv of .js/.ts robots (default: environment only for those; argv is visible to every local user)')
    .option('--kill-grace <seconds>', 'seconds between SIGTERM and SIGKILL when killing a robot', seconds, DEFAULT_KILL_GRACE_SECONDS)
    .option('--clone-timeout <seconds>', 'seconds a git clone (and a robot\'s npm ci) may take', seconds, DEFAULT_CLONE_TIMEOUT_SECONDS)
    .option('--ignore-scripts', 'install git robots\' npm dependencies without running any install script (npm ci --ignore-scripts)')
    .option('--max-backoff <seconds>', 'longest wait between reconnection attempts while the database is down', seconds, DEFAULT_MAX_BACKOFF_SECONDS)
    .option('--paused', 'start paused (SIGUSR2 resumes, SIGUSR1 pauses; POSIX only)')
    .option('--json', 'print one JSON object per line instead of readable lines')
    .option('--verbose', 'also print routine decisions (lost claims)')
    .option('--metrics <host:port>', 'serve Prometheus metrics at http://<host:port>/metrics (e.g. 127.0.0.1:9464; off by default)')
    .option('--monitor [seconds]', 'also run the operations monitor (queue retries, alerts) in this process, every N seconds (default 30)', (v: string) => seconds(v))
    .action(
      action(async (argument: string | undefined, flags: Flags) => {
        const { connectionString, cryptoKey } = requireDatabase(argument, flags);
        if (!cryptoKey) throw new InputError('give --key or --key-file, or set OpenOrchestratorKey');
        const log = createConsoleLog({ json: flags.json, verbose: flags.verbose, secrets: [cryptoKey] });
        const metricsServer = flags.metrics === undefined ? undefined : await serveMetrics(parseMetricsAddress(flags.metrics));
        if (metricsServer) log.info('metrics', `metrics at ${metricsServer.url}`);
        const scheduler = new Scheduler(
          {
            connectionString,
            cryptoKey,
            machineName: flags.machineName,
            intervalSeconds: flags.interval,
            exclusive: flags.exclusive,
            workDir: flags.workDir,
            python: flags.python,
            secretsInEnvOnly: flags.secretsInEnvOnly,
            secretsInArgv: flags.secretsInArgv,
            killGraceSeconds: flags.killGrace,
            cloneTimeoutSeconds: flags.cloneTimeout,
            ignoreScripts: flags.ignoreScripts,
            maxBackoffSeconds: flags.maxBackoff,
            paused: flags.paused,
          },
          log,
        );
        // --monitor without a value gives true; the monitor stops with the Scheduler.
        const monitor = flags.monitor ? new Monitor({ connectionString, cryptoKey, name: `monitor@${flags.machineName}`, intervalSeconds: flags.monitor === true ? 30 : flags.monitor }, log) : undefined;
        const monitorRun = monitor?.run().catch((error: unknown) => log.error('monitor-failed', (error as Error).message.split('\n')[0]!));
        const removeSignals = onStopSignals(
          () => {
            scheduler.stop();
            monitor?.stop();
          },
          (signal) => {
            log.error('exit', `${signal} a third time: exiting without waiting`);
            process.exit(130);
          },
        );
        if (process.platform !== 'win32') {
          process.on('SIGUSR1', () => scheduler.pause());
          process.on('SIGUSR2', () => scheduler.resume());
        }
        try {
          await scheduler.run();
          monitor?.stop();
          await monitorRun;
        } finally {
          removeSignals();
          await metricsServer?.close();
        }
      }),
    );
}
