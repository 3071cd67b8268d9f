/**
 * A database for team mode with real logins that check their passwords: on PostgreSQL a server
 * of the test's own (TLS, scram-sha-256 for the team's logins; the shared one trusts everybody),
 * on MariaDB a throw-away database on the shared server with accounts made for the test. The
 * logins get exactly what `openorchestrator grants` gives their role; close() drops them.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { runGrants } from '../../src/cli/grants.js';
import { runUpgrade } from '../../src/cli/upgrade.js';
import { closeStore, openStore, type Store } from '../../src/db/open.js';
import { createTestDatabase, type TestDatabase } from './databases.js';
import { isolateHome, makeCerts, startPostgresTls, type TestCerts, type TestServer } from './tls-servers.js';

export type TeamDialect = 'postgres' | 'mysql';
export type TeamLogin = 'admin' | 'admin2' | 'viewer' | 'robot';
const ROLE_OF: Record<TeamLogin, 'admin' | 'viewer' | 'robot'> = { admin: 'admin', admin2: 'admin', viewer: 'viewer', robot: 'robot' };

export interface TeamDatabase {
  dialect: TeamDialect;
  /** the connection string a team server is given: no user, no password */
  url: string;
  logins: Record<TeamLogin, { user: string; password: string }>;
  /** the database as its superuser, to see what it holds */
  root: Store;
  /** certificates (a CA and a server certificate for localhost): also for the Orchestrator's HTTPS */
  certs: TestCerts;
  /** connections the database has open for `user` now */
  connectionsOf(user: string): Promise<number>;
  /** every password, for "never in any answer" checks */
  passwords: string[];
  close(): Promise<void>;
}

const MYSQL = process.env.OO_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/mysql';

export async function createTeamDatabase(dialect: TeamDialect): Promise<TeamDatabase> {
  const suffix = randomBytes(3).toString('hex');
  const logins = Object.fromEntries(
    (['admin', 'admin2', 'viewer', 'robot'] as const).map((login) => [login, { user: `oo_t${suffix}_${login}`, password: `Pw!${randomBytes(9).toString('base64url')} x` }]),
  ) as TeamDatabase['logins'];
  const users = Object.values(logins);
  const certs = makeCerts();
  const restoreHome = isolateHome();
  let server: TestServer | undefined;
  let database: TestDatabase | undefined;
  let rootUrl: string;
  let url: string;
  const quoted = (password: string) => password.replace(/'/g, "''");
  try {
    if (dialect === 'postgres') {
      server = await startPostgresTls(certs.serverCert, certs.serverKey, certs.caCert, users.map((u) => u.user));
      const tls = `sslmode=verify-full&sslrootcert=${encodeURIComponent(certs.caCert)}`;
      const bootstrap = openStore(`postgresql://postgres@localhost:${server.port}/postgres?${tls}`);
      try {
        await sql.raw('CREATE DATABASE orchestrator').execute(bootstrap.db);
        for (const { user, password } of users) await sql.raw(`CREATE ROLE ${user} LOGIN PASSWORD '${quoted(password)}'`).execute(bootstrap.db);
      } finally {
        await closeStore(bootstrap);
      }
      rootUrl = `postgresql://postgres@localhost:${server.port}/orchestrator?${tls}`;
      url = `postgresql+psycopg2://localhost:${server.port}/orchestrator?${tls}`;
    } else {
      database = await createTestDatabase('mysql');
      const conn = await mysql.createConnection(MYSQL);
      try {
        for (const { user, password } of users) await conn.query(`CREATE USER '${user}'@'%' IDENTIFIED BY '${quoted(password)}'`);
      } finally {
        await conn.end();
      }
      rootUrl = database.url;
      url = database.url.replace(/\/\/[^@/]*@/, '//');
    }
    const print = () => undefined;
    const withLogin = (login: TeamLogin) => rootUrl.replace(/\/\/[^@/]*@/, `//${logins[login].user}:${encodeURIComponent(logins[login].password)}@`);
    // As `openorchestrator grants` documents it: the admin grants, the admin's upgrade, then the others.
    for (const login of ['admin', 'admin2'] as const) await runGrants(rootUrl, { role: 'admin', user: logins[login].user, apply: true }, print);
    await runUpgrade(withLogin('admin'), print);
    if (dialect === 'postgres') {
      // PostgreSQL: the admin grants made the first admin the owner; the second admin shares its rights through it.
      const owner = openStore(rootUrl);
      try {
        await sql.raw(`GRANT ${logins.admin.user} TO ${logins.admin2.user}`).execute(owner.db);
      } finally {
        await closeStore(owner);
      }
    }
    for (const login of ['viewer', 'robot'] as const) await runGrants(rootUrl, { role: ROLE_OF[login], user: logins[login].user, apply: true }, print);
  } catch (error) {
    await server?.stop();
    await database?.drop();
    restoreHome();
    throw error;
  }
  const root = openStore(rootUrl);
  return {
    dialect,
    url,
    logins,
    root,
    certs,
    passwords: users.map((u) => u.password),
    connectionsOf: async (user) => {
      if (dialect === 'postgres') {
        const r = await sql<{ n: string }>`SELECT count(*) AS n FROM pg_stat_activity WHERE usename = ${user}`.execute(root.db);
        return Number(r.rows[0]?.n ?? 0);
      }
      const r = await sql<{ n: number }>`SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE USER = ${user}`.execute(root.db);
      return Number(r.rows[0]?.n ?? 0);
    },
    close: async () => {
      await closeStore(root).catch(() => undefined);
      if (server) await server.stop();
      if (database) {
        await database.drop();
        const conn = await mysql.createConnection(MYSQL);
        try {
          for (const { user } of users) await conn.query(`DROP USER IF EXISTS '${user}'@'%'`);
        } finally {
          await conn.end();
        }
      }
      restoreHome();
    },
  };
}
