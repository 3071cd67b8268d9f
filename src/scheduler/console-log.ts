/**
 * The Scheduler's console output: one timestamped, readable line per decision or event, or one
 * JSON object per line with `--json`. Every line passes through `scrub`, so no secret (the
 * database password, the key) is ever printed, whatever a message carries.
 *
 * @example
 *   const log = createConsoleLog({ json: false, secrets: [password, key] });
 *   log.info('job-started', 'started trigger "invoices"', { jobId });
 */
import { scrubSecrets } from '../config/secrets.js';
import { formatNaive } from '../time/clock.js';
import { now } from '../time/clock.js';

export type ConsoleLevel = 'debug' | 'info' | 'warn' | 'error';
export type Fields = Record<string, string | number | boolean | null | undefined>;

export interface ConsoleLog {
  debug(event: string, message: string, fields?: Fields): void;
  info(event: string, message: string, fields?: Fields): void;
  warn(event: string, message: string, fields?: Fields): void;
  error(event: string, message: string, fields?: Fields): void;
}

export interface ConsoleLogOptions {
  json?: boolean;
  /** strings replaced by *** wherever they appear */
  secrets?: readonly (string | undefined)[];
  /** where lines go (default: stdout) */
  write?: (line: string) => void;
  /** print debug lines too */
  verbose?: boolean;
}

/** Replaces every secret in `text` by `***`: the program's one scrub, `scrubSecrets` (see there for the rule). */
export function scrub(text: string, secrets: readonly (string | undefined)[]): string {
  return scrubSecrets(text, secrets);
}

export function createConsoleLog(options: ConsoleLogOptions = {}): ConsoleLog {
  const secrets = options.secrets ?? [];
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const emit = (level: ConsoleLevel, event: string, message: string, fields: Fields = {}) => {
    if (level === 'debug' && !options.verbose) return;
    const time = formatNaive(now()).slice(0, 23);
    let line: string;
    if (options.json) {
      line = JSON.stringify({ time: time.replace(' ', 'T'), level, event, message, ...fields });
    } else {
      const extra = Object.entries(fields)
        .filter(([, value]) => value !== undefined && value !== null && value !== '')
        .map(([key, value]) => `${key}=${String(value)}`)
        .join(' ');
      line = `${time} ${level.toUpperCase().padEnd(5)} ${message}${extra ? `  (${extra})` : ''}`;
    }
    write(scrub(line, secrets));
  };
  return {
    debug: (event, message, fields) => emit('debug', event, message, fields),
    info: (event, message, fields) => emit('info', event, message, fields),
    warn: (event, message, fields) => emit('warn', event, message, fields),
    error: (event, message, fields) => emit('error', event, message, fields),
  };
}

/** The same log with more secrets scrubbed from every message and field. */
export function withSecrets(log: ConsoleLog, secrets: readonly (string | undefined)[]): ConsoleLog {
  const clean = (fields?: Fields): Fields | undefined =>
    fields && Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, typeof v === 'string' ? scrub(v, secrets) : v]));
  return {
    debug: (event, message, fields) => log.debug(event, scrub(message, secrets), clean(fields)),
    info: (event, message, fields) => log.info(event, scrub(message, secrets), clean(fields)),
    warn: (event, message, fields) => log.warn(event, scrub(message, secrets), clean(fields)),
    error: (event, message, fields) => log.error(event, scrub(message, secrets), clean(fields)),
  };
}

/** A log that prints nothing (library use and tests). */
export const silentLog: ConsoleLog = { debug() {}, info() {}, warn() {}, error() {} };
