/**
 * `scheduler`, `monitor`, `orchestrator`, `upgrade` and `grants` take the database the same four ways (an
 * argument, --connection-string, --connection-string-file, OpenOrchestratorConnString), as real
 * processes; a password, key or token on the command line, which `ps` shows every local user,
 * draws one warning on stderr that says how to avoid it, and the environment or a file none.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawnCli } from './helpers/cli.js';
import { waitUntil } from './helpers/receivers.js';
import { KEY, tempDir } from './helpers/scheduler.js';

type Command = 'scheduler' | 'monitor' | 'orchestrator' | 'upgrade' | 'grants';
type Way = 'argument' | 'flag' | 'file' | 'environment';

const COMMANDS: Command[] = ['scheduler', 'monitor', 'orchestrator', 'upgrade', 'grants'];
const WAYS: Way[] = ['argument', 'flag', 'file', 'environment'];
/** Flags each command needs besides the database, so that it starts without a browser or a stray work folder. */
const EXTRA: Record<Command, string[]> = {
  scheduler: ['--work-dir', tempDir('oo-work-'), '--machine-name', 'flags-test'],
  monitor: [],
  orchestrator: ['--no-browser', '--port', '0'],
  upgrade: [],
  grants: ['--role', 'scheduler'],
};

/** How `command` is started with `url` given the `way` way: its arguments and environment. */
function invocation(command: Command, way: Way, url: string): { args: string[]; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = { OpenOrchestratorConnString: '', OpenOrchestratorKey: command === 'scheduler' ? KEY : '', OpenOrchestratorToken: '' };
  const args = [command, ...EXTRA[command]];
  if (way === 'argument') args.push(url);
  if (way === 'flag') args.push('--connection-string', url);
  if (way === 'file') {
    const file = join(tempDir('oo-conn-'), 'connection-string');
    writeFileSync(file, `${url}\n`, { mode: 0o600 });
    args.push('--connection-string-file', file);
  }
  if (way === 'environment') env.OpenOrchestratorConnString = url;
  return { args, env };
}

/** Runs a command until it exits, or until `done` holds for its output (then SIGTERM). */
async function runUntil(args: string[], env: NodeJS.ProcessEnv, done: (stdout: string, stderr: string) => boolean) {
  const cli = spawnCli(args, env);
  let exit: number | null | undefined;
  void cli.exited.then((code) => (exit = code));
  try {
    await waitUntil(() => exit !== undefined || done(cli.stdout(), cli.stderr()), `${args[0]} to start or exit`);
  } finally {
    cli.stop();
  }
  const status = await cli.exited;
  return { status: exit ?? status, stdout: cli.stdout(), stderr: cli.stderr() };
}

describe('the database flags of the long-running commands and upgrade', () => {
  const PASSWORD = 'Pw-on-the-command-line';
  const WITH_PASSWORD = `postgresql://oo:${PASSWORD}@127.0.0.1:1/orchestrator`;
  const warnings = (stderr: string) => stderr.split('\n').filter((line) => line.startsWith('warning:'));

  it('refuses, in one line, a database given two ways on the command line, no database, and an unreadable file', async () => {
    const url = `sqlite+pysqlite:///${join(tempDir('oo-db-'), 'twice.db')}`;
    const twice = await runUntil(['monitor', url, '--connection-string', url], { OpenOrchestratorConnString: '' }, () => false);
    expect(twice).toMatchObject({ status: 1, stderr: 'error: the connection string is given twice (as the argument and with --connection-string): give it once\n' });
    const none = await runUntil(['monitor'], { OpenOrchestratorConnString: '' }, () => false);
    expect(none).toMatchObject({
      status: 1,
      stderr: 'error: no database given: set OpenOrchestratorConnString, or give --connection-string-file <path> or the connection string (e.g. sqlite+pysqlite:///orchestrator.db)\n',
    });
    const missing = await runUntil(['scheduler', '--connection-string-file', '/nonexistent/oo-conn'], { OpenOrchestratorConnString: '' }, () => false);
    expect(missing).toMatchObject({ status: 1, stderr: 'error: cannot read the connection string file /nonexistent/oo-conn (ENOENT); give the path of a file holding the connection string\n' });
  });

  it.each(COMMANDS)('%s takes the connection string as an argument, --connection-string, --connection-string-file or OpenOrchestratorConnString, and warns once when ps would show its password', async (command) => {
    const runs = WAYS.map(async (way) => {
      const { args, env } = invocation(command, way, WITH_PASSWORD);
      // Each fails to connect to the closed port, or keeps trying (the Scheduler), naming it.
      return { way, result: await runUntil(args, env, (stdout, stderr) => /connection refused/.test(stdout + stderr)) };
    });
    for (const { way, result } of await Promise.all(runs)) {
      const what = `${command} with the ${way}`;
      expect(result.stdout + result.stderr, `${what}: it tried the database it was given`).toContain('postgres at 127.0.0.1:1/orchestrator (user oo)');
      const onCommandLine = way === 'argument' || way === 'flag';
      expect(warnings(result.stderr), what).toEqual(
        onCommandLine
          ? ['warning: this command line shows the database password to every local user (ps, /proc/<pid>/cmdline); instead set OpenOrchestratorConnString (or give --connection-string-file <path>)']
          : [],
      );
      expect(result.stderr + result.stdout, what).not.toContain(PASSWORD);
    }
  });

  it('names every secret on the command line in the one warning: the key and the access token too', async () => {
    const scheduler = await runUntil(['scheduler', ...EXTRA.scheduler, WITH_PASSWORD, '--key', KEY], { OpenOrchestratorConnString: '', OpenOrchestratorKey: '' }, (_o, e) => e.includes('warning:'));
    expect(warnings(scheduler.stderr)).toEqual([
      'warning: this command line shows the database password and the key to every local user (ps, /proc/<pid>/cmdline); instead set OpenOrchestratorConnString (or give --connection-string-file <path>) and OpenOrchestratorKey (or give --key-file <path>)',
    ]);
    const orchestrator = await runUntil(['orchestrator', ...EXTRA.orchestrator, '--token', 'tok-on-argv-1234'], { OpenOrchestratorConnString: '', OpenOrchestratorToken: '' }, (o) => o.includes('press Ctrl+C'));
    expect(warnings(orchestrator.stderr)).toEqual(['warning: this command line shows the access token to every local user (ps, /proc/<pid>/cmdline); instead set OpenOrchestratorToken']);
    // A connection string without a password is no secret: no warning.
    const plain = await runUntil(['upgrade', `sqlite+pysqlite:///${join(tempDir('oo-db-'), 'plain.db')}`], {}, () => false);
    expect(plain).toMatchObject({ status: 0, stderr: '' });
  });
});
