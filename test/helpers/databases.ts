/**
 * Real databases for tests: a fresh SQLite file, PostgreSQL database or MariaDB database per
 * call, dropped afterwards. Test files run in parallel, so nothing is shared between them.
 *
 * Servers: PostgreSQL at OO_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/postgres)
 * and MariaDB at OO_TEST_MYSQL (default mysql://root@127.0.0.1:3306/mysql).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { sql } from 'kysely';
import { closeStore, openStore } from '../../src/db/open.js';

export type LiveDialect = 'sqlite' | 'postgres' | 'mysql';
export const LIVE_DIALECTS: LiveDialect[] = ['sqlite', 'postgres', 'mysql'];

/**
 * A SQL Server for the per-dialect suites (store, robot API, Scheduler): an admin connection
 * string in OO_TEST_MSSQL, e.g. `mssql+pymssql://sa:pw@host:1433/master`. None is configured
 * on the development machines or in CI: then those runs do not happen, and say so (mssql.ts).
 */
export const MSSQL_ADMIN_URL: string | undefined = process.env.OO_TEST_MSSQL || undefined;
/** The dialects the per-dialect suites run on: the live three, and SQL Server when configured. */
export type SuiteDialect = LiveDialect | 'mssql';
export const SUITE_DIALECTS: SuiteDialect[] = MSSQL_ADMIN_URL ? [...LIVE_DIALECTS, 'mssql'] : LIVE_DIALECTS;
/** How the output says a suite did not run on SQL Server. */
export const MSSQL_NOT_RUN = 'NOT RUN on mssql: no SQL Server configured (set OO_TEST_MSSQL to an admin connection string to run it there)';

const POSTGRES = process.env.OO_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MYSQL = process.env.OO_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/mysql';

export interface TestDatabase<D extends SuiteDialect = LiveDialect> {
  dialect: D;
  /** SQLAlchemy-style URL, as users write it */
  url: string;
  drop(): Promise<void>;
}

function serverUrl(base: string, database: string): { scheme: string; rest: string } {
  const m = /^(\w+)(?:\+\w+)?:\/\/(.*)\/[^/]*$/.exec(base);
  if (!m) throw new Error(`cannot read test server URL ${base}`);
  return { scheme: m[1]!, rest: `${m[2]}/${database}` };
}

/**
 * A new empty database on `dialect`.
 *
 * @example
 *   const db = await createTestDatabase('postgres');
 *   afterAll(() => db.drop());
 */
export async function createTestDatabase(dialect: LiveDialect): Promise<TestDatabase>;
export async function createTestDatabase(dialect: SuiteDialect): Promise<TestDatabase<SuiteDialect>>;
export async function createTestDatabase(dialect: SuiteDialect): Promise<TestDatabase<SuiteDialect>> {
  const name = `oo_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  if (dialect === 'mssql') return createMssqlDatabase(name);
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'oo-test-'));
    return {
      dialect,
      url: `sqlite+pysqlite:///${join(dir, `${name}.db`)}`,
      drop: async () => rmSync(dir, { recursive: true, force: true }),
    };
  }
  if (dialect === 'postgres') {
    const admin = new pg.Client({ connectionString: POSTGRES });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const { rest } = serverUrl(POSTGRES, name);
    return {
      dialect,
      url: `postgresql+psycopg2://${rest}`,
      drop: async () => {
        const client = new pg.Client({ connectionString: POSTGRES });
        await client.connect();
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await client.end();
      },
    };
  }
  const admin = await mysql.createConnection(MYSQL);
  await admin.query(`CREATE DATABASE ${name} CHARACTER SET utf8mb4`);
  await admin.end();
  const { rest } = serverUrl(MYSQL, name);
  return {
    dialect,
    url: `mysql+pymysql://${rest}`,
    drop: async () => {
      const conn = await mysql.createConnection(MYSQL);
      await conn.query(`DROP DATABASE IF EXISTS ${name}`);
      await conn.end();
    },
  };
}

/** A new database on the SQL Server of OO_TEST_MSSQL, made and dropped through our own mssql dialect. */
async function createMssqlDatabase(name: string): Promise<TestDatabase<'mssql'>> {
  if (!MSSQL_ADMIN_URL) throw new Error('no SQL Server configured: set OO_TEST_MSSQL to an admin connection string');
  const admin = MSSQL_ADMIN_URL;
  const onAdmin = async (statement: string) => {
    const store = openStore(admin);
    try {
      await sql.raw(statement).execute(store.db);
    } finally {
      await closeStore(store);
    }
  };
  await onAdmin(`CREATE DATABASE [${name}]`);
  // The same login and options, another database: the path of the URL, before any query string.
  const m = /^([^?]*\/)[^/?]*(\?.*)?$/.exec(admin);
  if (!m) throw new Error('cannot read OO_TEST_MSSQL: expected mssql+<driver>://user:password@host:port/database');
  return {
    dialect: 'mssql',
    url: `${m[1]}${name}${m[2] ?? ''}`,
    drop: () => onAdmin(`ALTER DATABASE [${name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [${name}]`),
  };
}
