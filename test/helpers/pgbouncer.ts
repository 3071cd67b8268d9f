/**
 * A real PgBouncer (Debian's package, /usr/sbin/pgbouncer) in transaction mode in front of the
 * test PostgreSQL, on a free port, for tests that run the Scheduler and robots through a pooler.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { tempDir, waitFor } from './scheduler.js';
import { openTestStore, type TestStore } from './stores.js';

const PGBOUNCER = '/usr/sbin/pgbouncer';

export interface Bouncer {
  /** `url` with the host and port of the pooler */
  url: string;
  /** the pooler's process id (the fleet benchmark reads its CPU time) */
  pid: number;
  /** the port it listens on */
  port: number;
  stop(): Promise<void>;
}

/** Sizes for callers that need more than the tests' defaults (the fleet benchmark: 500 Schedulers). */
export interface BouncerOptions {
  /** client connections it accepts (default 200) */
  maxClientConn?: number;
  /** server connections per database and user (default 5) */
  defaultPoolSize?: number;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Starts PgBouncer in front of the PostgreSQL database `url` (trust authentication, as the test server).
 *
 * @example
 *   const bouncer = await startPgBouncer(live.url);
 *   try { ... openStore(bouncer.url) ... } finally { await bouncer.stop(); }
 */
export async function startPgBouncer(url: string, options: BouncerOptions = {}): Promise<Bouncer> {
  if (!existsSync(PGBOUNCER)) throw new Error(`${PGBOUNCER} is missing: install Debian's package (apt-get install pgbouncer)`);
  const m = /^(postgresql(?:\+\w+)?:\/\/)([^@/]+)@([^:/]+):(\d+)\/(.+)$/.exec(url);
  if (!m) throw new Error(`cannot read PostgreSQL URL ${url}`);
  const [, scheme, user, host, serverPort] = m;
  const port = await freePort();
  const dir = tempDir('oo-pgbouncer-');
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'users.txt'), `"${user}" ""\n`);
  writeFileSync(
    join(dir, 'pgbouncer.ini'),
    [
      '[databases]',
      `* = host=${host} port=${serverPort}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      'auth_type = trust',
      `auth_file = ${join(dir, 'users.txt')}`,
      'pool_mode = transaction',
      `default_pool_size = ${options.defaultPoolSize ?? 5}`,
      `max_client_conn = ${options.maxClientConn ?? 200}`,
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
  );
  // PgBouncer refuses to run as root; -u makes it drop to the server's own user.
  const args = userInfo().uid === 0 ? ['-u', 'postgres', join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
  const child: ChildProcess = spawn(PGBOUNCER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const bouncerUrl = `${scheme}${user}@127.0.0.1:${port}/${m[5]}`;
  const started = waitFor(
    'PgBouncer to accept connections',
    async () => {
      if (child.exitCode !== null) throw new Error(`PgBouncer exited: ${stderr.trim()}`);
      const client = new pg.Client({ connectionString: bouncerUrl.replace(/^postgresql\+\w+:/, 'postgresql:') });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return true;
      } catch {
        return false;
      } finally {
        await client.end().catch(() => undefined);
      }
    },
    15_000,
  );
  try {
    await started;
  } catch (error) {
    // A pooler that never came up is not left behind.
    child.kill('SIGKILL');
    throw error;
  }
  return {
    url: bouncerUrl,
    pid: child.pid!,
    port,
    async stop() {
      child.kill('SIGINT');
      await exited;
    },
  };
}

/** A PostgreSQL test database and a PgBouncer in front of it. */
export interface PooledPostgres {
  /** the database itself, bypassing the pooler */
  live: TestStore;
  bouncer: Bouncer;
  /** stops the pooler, then closes and drops the database */
  close(): Promise<void>;
}

/**
 * Opens a PostgreSQL test database and starts PgBouncer in front of it. Hooks stay with the
 * caller: the fleet benchmark imports this module outside vitest, where vitest cannot load.
 *
 * @example
 *   let pooled: PooledPostgres;
 *   beforeAll(async () => {
 *     pooled = await openPooledPostgres();
 *   });
 *   afterAll(() => pooled?.close());
 *   // ... openStore(pooled.bouncer.url) ...
 */
export async function openPooledPostgres(): Promise<PooledPostgres> {
  const live = await openTestStore('postgres');
  let bouncer: Bouncer;
  try {
    bouncer = await startPgBouncer(live.url);
  } catch (error) {
    await live.close();
    throw error;
  }
  return {
    live,
    bouncer,
    async close() {
      await bouncer.stop();
      await live.close();
    },
  };
}
