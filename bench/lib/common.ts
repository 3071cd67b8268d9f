/** Shared pieces of the benchmarks: databases, bare drivers, statistics, progress, result rows. */
import Database from 'better-sqlite3';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { closeStore, openStore, type Store } from '../../src/db/open.js';
import { upgradeDatabase } from '../../src/db/schema/upgrade.js';
import { createTestDatabase, type LiveDialect } from '../../test/helpers/databases.js';

export type { LiveDialect };
export const DIALECT_LABEL: Record<LiveDialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL', mysql: 'MariaDB' };

/** One line of the results table. Every figure is ours beside a baseline measured in the same run. */
export interface Row {
  bench: string;
  dialect: string;
  /** data size the figure was measured at, e.g. "100k elements" */
  size: string;
  metric: string;
  unit: string;
  ours: number;
  baselineName: string;
  baseline: number;
  /** ours / baseline for times, baseline / ours never: the ratio always reads "how many baselines" */
  ratio: number;
  target: string;
  met: boolean | null;
  note?: string;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Progress on stderr, so the table on stdout stays clean. */
export function progress(line: string): void {
  process.stderr.write(`  … ${line}\n`);
}

export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
export const median = (values: number[]) => quantile(values, 0.5);

export async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

/** A fresh database at the current schema, with a Store on it. */
export interface BenchDatabase {
  dialect: LiveDialect;
  url: string;
  store: Store;
  /** opens another Store on the same database (one per simulated robot) */
  open(): Store;
  close(): Promise<void>;
}

export async function benchDatabase(dialect: LiveDialect): Promise<BenchDatabase> {
  const database = await createTestDatabase(dialect);
  const store = openStore(database.url);
  await upgradeDatabase(store.db, store.dialect);
  const extra: Store[] = [];
  return {
    dialect,
    url: database.url,
    store,
    open() {
      const s = openStore(database.url);
      extra.push(s);
      return s;
    },
    async close() {
      for (const s of extra) await closeStore(s).catch(() => undefined);
      await closeStore(store);
      await database.drop();
    },
  };
}

/** The bare driver of a dialect on the same database: the baseline's side. */
export interface RawDb {
  /** statement with `?` placeholders (numbered $n for PostgreSQL automatically) */
  query(sql: string, params?: unknown[]): Promise<Record<string, unknown>[]>;
  /** runs `fn` in one transaction */
  transaction(fn: () => Promise<void>): Promise<void>;
  /** double-quoted or backticked identifier */
  q(name: string): string;
  close(): Promise<void>;
}

function numbered(text: string): string {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
}

export async function rawDb(dialect: LiveDialect, store: Store): Promise<RawDb> {
  if (dialect === 'sqlite') {
    const db = new Database(store.config.filename!);
    db.pragma('journal_mode = WAL');
    db.pragma('busy_timeout = 5000');
    const cache = new Map<string, Database.Statement>();
    const prepared = (text: string) => {
      let st = cache.get(text);
      if (!st) {
        st = db.prepare(text);
        cache.set(text, st);
      }
      return st;
    };
    return {
      async query(text, params = []) {
        const st = prepared(text);
        return st.reader ? (st.all(...params) as Record<string, unknown>[]) : (st.run(...params), []);
      },
      async transaction(fn) {
        db.exec('BEGIN');
        try {
          await fn();
          db.exec('COMMIT');
        } catch (error) {
          db.exec('ROLLBACK');
          throw error;
        }
      },
      q: (name) => `"${name}"`,
      close: async () => {
        db.close();
      },
    };
  }
  if (dialect === 'postgres') {
    const client = new pg.Client(pgConfig(store));
    await client.connect();
    return {
      async query(text, params = []) {
        return (await client.query(numbered(text), params)).rows as Record<string, unknown>[];
      },
      async transaction(fn) {
        await client.query('BEGIN');
        try {
          await fn();
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      },
      q: (name) => `"${name}"`,
      close: () => client.end(),
    };
  }
  const conn = await mysql.createConnection(mysqlConfig(store));
  return {
    async query(text, params = []) {
      const [rows] = await conn.query(text, params);
      return Array.isArray(rows) ? (rows as Record<string, unknown>[]) : [];
    },
    async transaction(fn) {
      await conn.beginTransaction();
      try {
        await fn();
        await conn.commit();
      } catch (error) {
        await conn.rollback();
        throw error;
      }
    },
    q: (name) => `\`${name}\``,
    close: () => conn.end(),
  };
}

/** Driver options from the parsed connection string (the same server and database). */
export function pgConfig(store: Store): pg.ClientConfig {
  const c = store.config;
  return { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database };
}

export function mysqlConfig(store: Store): mysql.ConnectionOptions {
  const c = store.config;
  return { host: c.host, port: c.port, user: c.user, password: c.password, database: c.database };
}

export const fmt = (value: number) =>
  value >= 1000 ? Math.round(value).toLocaleString('en-US') : value >= 100 ? value.toFixed(0) : value >= 10 ? value.toFixed(1) : value.toFixed(2);
