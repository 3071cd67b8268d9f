/**
 * `orchestrator` (alias `o`): the admins' web app. A local HTTP server (127.0.0.1, a free port
 * unless --port) serving the browser UI and its JSON API.
 */
import { spawn } from 'node:child_process';
import type { Command } from 'commander';
import { readEnvironment } from '../config/environment.js';
import { InputError } from '../errors.js';
import { TOKEN_ENV, isLoopback } from '../orchestrator/access.js';
import type { RunningOrchestrator } from '../orchestrator/server.js';
import { action } from './errors.js';

export interface OrchestratorCliOptions {
  host: string;
  port: string;
  token?: string;
  key?: string;
  browser: boolean;
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

/** Starts the server, prints where it runs, and stops it on Ctrl+C / SIGTERM. */
export async function runOrchestrator(
  options: { host?: string; port?: number; token?: string; connectionString?: string; cryptoKey?: string; browser: boolean },
  print: (line: string) => void,
): Promise<RunningOrchestrator> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? process.env[TOKEN_ENV]?.trim() ?? undefined;
  if (!isLoopback(host) && !token) {
    throw new InputError(`listening on ${host} makes the Orchestrator reachable from other machines; give an access token with --token or ${TOKEN_ENV}`);
  }
  // Loaded on demand, so other subcommands do not pay for the web server's start-up.
  const { startOrchestrator } = await import('../orchestrator/server.js');
  const server = await startOrchestrator({ ...options, host, token: token || undefined });
  print(`Orchestrator running at ${server.url}`);
  if (server.session.status().connected) print(`connected to ${server.session.status().connectionString}`);
  else print('not connected yet: open the Settings tab to connect to a database');
  print('press Ctrl+C to stop');
  if (options.browser) openBrowser(server.url);
  const stop = () => {
    void server.close().finally(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

export function registerOrchestrator(program: Command): void {
  program
    .command('orchestrator')
    .alias('o')
    .description('start the Orchestrator web app (a local server and browser UI over the central database)')
    .argument('[connection-string]', 'database to connect to (default: $OpenOrchestratorConnString; or connect in the Settings tab)')
    .option('--key <key>', 'encryption key for credentials (default: $OpenOrchestratorKey)')
    .option('--host <host>', 'address to listen on; anything but loopback needs a token', '127.0.0.1')
    .option('--port <port>', 'port to listen on (default: a free one)', '0')
    .option('--token <token>', `access token every API call must carry (default: $${TOKEN_ENV})`)
    .option('--no-browser', 'do not open a browser')
    .action(
      action(async (connectionString: string | undefined, options: OrchestratorCliOptions) => {
        const env = readEnvironment();
        const port = Number(options.port);
        if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InputError(`--port must be a number from 0 to 65535, got "${options.port}"`);
        await runOrchestrator(
          {
            host: options.host,
            port,
            token: options.token,
            connectionString: connectionString ?? env.connectionString,
            cryptoKey: options.key ?? env.cryptoKey,
            browser: options.browser,
          },
          (line) => console.log(line),
        );
      }),
    );
}
