/**
 * `orchestrator` (alias `o`): the admins' web app. A local HTTP server (127.0.0.1, port 8765 or a
 * free one when taken, unless --port) serving the browser UI and its JSON API.
 */
import { spawn } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import type { Command } from 'commander';
import { InputError } from '../errors.js';
import { redactConnectionString } from '../config/connection-string.js';
import { DEFAULT_IDLE_MINUTES, DEFAULT_SESSION_HOURS, TOKEN_ENV, isLoopback } from '../orchestrator/access.js';
import type { RunningOrchestrator, TeamSettings } from '../orchestrator/server.js';
import { databaseOptions, resolveDatabase, type DatabaseFlags } from './database-flags.js';
import { action } from './errors.js';
import { onStopSignals } from './signals.js';

export interface OrchestratorCliOptions extends DatabaseFlags {
  host: string;
  port?: string;
  browser: boolean;
  metrics?: boolean;
  team?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  allowPlainHttp?: boolean;
  idleMinutes?: string;
  sessionHours?: string;
}

/** Opens `url` in the desktop's browser; failures are ignored (the URL is printed anyway). */
export function openBrowser(url: string): void {
  const [command, args] =
    process.platform === 'win32' ? ['cmd', ['/c', 'start', '""', url]] : process.platform === 'darwin' ? ['open', [url]] : ['xdg-open', [url]];
  try {
    const child = spawn(command, args, { stdio: 'ignore', detached: true });
    child.on('error', () => undefined);
    child.unref();
  } catch {
    // no browser here: the printed URL is enough
  }
}

/** The port the Orchestrator tries first, so a bookmark keeps working across restarts. */
export const DEFAULT_PORT = 8765;
/** Overrides DEFAULT_PORT (tests running in parallel each take their own). */
export const PORT_ENV = 'OpenOrchestratorPort';

/** A port number from a flag or a variable; one clear line when it is not one. */
export function parsePort(value: string, what: string): number {
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`${what} must be a number from 0 to 65535 (0: any free port), got "${value}"`);
  return port;
}

/** A positive number of at most `max` from a flag; one clear line when it is not one. */
export function parsePositive(value: string, what: string, max: number): number {
  const number = Number(value);
  if (value.trim() === '' || !Number.isFinite(number) || number <= 0 || number > max) throw new InputError(`${what} must be a number above 0 and at most ${max}, got "${value}"`);
  return number;
}

/** The port to try when --port is not given: $OpenOrchestratorPort, else DEFAULT_PORT. */
export function defaultPort(env: NodeJS.ProcessEnv = process.env): number {
  const value = env[PORT_ENV]?.trim();
  return value ? parsePort(value, PORT_ENV) : DEFAULT_PORT;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

/**
 * The links teammates can open when the server listens on every interface: one per
 * non-internal address of this machine (IPv4 for 0.0.0.0, IPv4 and IPv6 for ::). IPv6
 * link-local addresses are left out: a URL cannot carry the zone they need.
 */
export function teamLinks(
  host: string,
  port: number,
  token: string | undefined,
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
  scheme: 'http' | 'https' = 'http',
): string[] {
  if (!WILDCARDS.has(host)) return [];
  const fragment = token ? `#token=${encodeURIComponent(token)}` : '';
  const links: string[] = [];
  for (const addresses of Object.values(interfaces)) {
    for (const address of addresses ?? []) {
      if (address.internal) continue;
      if (address.family === 'IPv6' && (host === '0.0.0.0' || address.address.toLowerCase().startsWith('fe80:'))) continue;
      const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
      links.push(`${scheme}://${shown}:${port}/${fragment}`);
    }
  }
  return links;
}

const portOf = (server: RunningOrchestrator): number => Number(new URL(server.baseUrl).port);

/**
 * Starts the server and prints where it runs. Without `port` it takes the default port, or a
 * free one (said in one line) when that is taken; a `port` given is used or refused. Stopping
 * is the caller's: see stopOnSignals.
 */
export async function runOrchestrator(
  options: {
    host?: string;
    port?: number;
    token?: string;
    connectionString?: string;
    cryptoKey?: string;
    browser: boolean;
    team?: TeamSettings;
    tls?: { certFile: string; keyFile: string };
    allowPlainHttp?: boolean;
    metrics?: boolean;
  },
  print: (line: string) => void,
): Promise<RunningOrchestrator> {
  const host = options.host ?? '127.0.0.1';
  // In team mode people sign in; a token in the environment (for the local case) is not used.
  const token = options.team ? options.token : (options.token ?? process.env[TOKEN_ENV]?.trim() ?? undefined);
  if (!options.team && !isLoopback(host) && !token) {
    throw new InputError(`listening on ${host} makes the Orchestrator reachable from other machines; give an access token with --token or ${TOKEN_ENV}, or sign people in with --team`);
  }
  // Loaded on demand, so other subcommands do not pay for the web server's start-up.
  const { startOrchestrator } = await import('../orchestrator/server.js');
  const start = (port: number) => startOrchestrator({ ...options, host, port, token: token || undefined });
  const wanted = options.port ?? defaultPort();
  let server: RunningOrchestrator;
  try {
    server = await start(wanted);
  } catch (error) {
    if (wanted === 0 || !/EADDRINUSE/.test((error as Error).message)) throw error;
    if (options.port !== undefined) throw new InputError(`port ${wanted} is taken on ${host}: choose another with --port, or --port 0 for any free one`);
    server = await start(0);
    print(`port ${wanted} is taken: using ${portOf(server)} instead (--port or ${PORT_ENV} chooses one)`);
  }
  print(`Orchestrator running at ${server.url}`);
  const links = teamLinks(host, portOf(server), token, undefined, options.tls ? 'https' : 'http');
  if (links.length > 0) print(`teammates open: ${links.join('  ')}`);
  else if (WILDCARDS.has(host)) print('no network address found on this machine for teammates: check its network interfaces');
  if (server.team) {
    print(`team mode: each person signs in with their own database login to ${redactConnectionString(options.connectionString ?? '')}`);
    if (!options.tls && !isLoopback(host)) print(`warning: plain HTTP on ${host}: passwords and session cookies cross the network unencrypted; give --tls-cert and --tls-key to serve HTTPS`);
  } else if (server.session.status().connected) print(`connected to ${server.session.status().connectionString}`);
  else print('not connected yet: open the Settings tab to connect to a database');
  print('press Ctrl+C to stop');
  if (options.browser) openBrowser(server.url);
  return server;
}

/** `orchestrator` alone: the first stop signal closes the server and exits. */
function stopOnSignals(server: RunningOrchestrator): void {
  onStopSignals((count) => {
    if (count === 1) void server.close().finally(() => process.exit(0));
  });
}

export function registerOrchestrator(program: Command): void {
  const command = program
    .command('orchestrator')
    .alias('o')
    .description('start the Orchestrator web app (a local server and browser UI over the central database; without one, connect in the Settings tab)');
  databaseOptions(command, 'encryption key for credentials')
    .option('--host <host>', 'address to listen on; anything but loopback needs a token', '127.0.0.1')
    .option('--port <port>', `port to listen on (default: ${DEFAULT_PORT} or $${PORT_ENV}, or a free one when taken; 0: a free one)`)
    .option('--token <token>', `access token every API call must carry (default: $${TOKEN_ENV})`)
    .option('--team', 'team mode: each person signs in with their own database login (the connection string names no user)')
    .option('--tls-cert <file>', 'serve HTTPS with this certificate (PEM, chain included)')
    .option('--tls-key <file>', 'the private key of --tls-cert (PEM)')
    .option('--allow-plain-http', 'team mode beyond loopback without TLS (passwords cross the network unencrypted)')
    .option('--idle-minutes <n>', `team mode: a session ends after this many minutes without a request (default ${DEFAULT_IDLE_MINUTES})`)
    .option('--session-hours <n>', `team mode: and this many hours after sign-in (default ${DEFAULT_SESSION_HOURS})`)
    .option('--no-browser', 'do not open a browser')
    .option('--metrics', 'also serve Prometheus metrics at /metrics on this address (behind the token, like the API)')
    .action(
      action(async (argument: string | undefined, options: OrchestratorCliOptions) => {
        const { connectionString, cryptoKey } = resolveDatabase(argument, options);
        const port = options.port === undefined ? undefined : parsePort(options.port, '--port');
        if ((options.tlsCert === undefined) !== (options.tlsKey === undefined)) throw new InputError('give --tls-cert and --tls-key together (the certificate and its private key)');
        if (!options.team && (options.idleMinutes !== undefined || options.sessionHours !== undefined)) throw new InputError('--idle-minutes and --session-hours are for team mode: add --team');
        const server = await runOrchestrator(
          {
            host: options.host,
            port,
            token: options.token,
            connectionString,
            cryptoKey,
            browser: options.browser,
            metrics: options.metrics,
            team: options.team
              ? {
                  idleMinutes: options.idleMinutes === undefined ? undefined : parsePositive(options.idleMinutes, '--idle-minutes', 24 * 60),
                  sessionHours: options.sessionHours === undefined ? undefined : parsePositive(options.sessionHours, '--session-hours', 24 * 7),
                }
              : undefined,
            tls: options.tlsCert && options.tlsKey ? { certFile: options.tlsCert, keyFile: options.tlsKey } : undefined,
            allowPlainHttp: options.allowPlainHttp,
          },
          (line) => console.log(line),
        );
        stopOnSignals(server);
      }),
    );
}
