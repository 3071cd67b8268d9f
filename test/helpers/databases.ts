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

export type LiveDialect = 'sqlite' | 'postgres' | 'mysql';
export const LIVE_DIALECTS: LiveDialect[] = ['sqlite', 'postgres', 'mysql'];

const POSTGRES = process.env.OO_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
const MYSQL = process.env.OO_TEST_MYSQL ?? 'mysql://root@127.0.0.1:3306/mysql';

export interface TestDatabase {
  dialect: LiveDialect;
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
export async function createTestDatabase(dialect: LiveDialect): Promise<TestDatabase> {
  const name = `oo_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
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
