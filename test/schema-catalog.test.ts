/**
 * A database made by `upgrade` compared with SCHEMA.md through the live catalog: names (case
 * kept), types per the value-encoding table, nullability, keys, defaults and indexes; then the
 * encodings of values the store writes, read back with plain SQL.
 */
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { upgradeDatabase } from '../src/db/schema/upgrade.js';
import { createConstant } from '../src/db/store/constants.js';
import { createLog } from '../src/db/store/logs.js';
import { createQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { setClock } from '../src/time/clock.js';
import { readCatalogSnapshot, type CatalogSnapshot } from './helpers/catalog.js';
import { CONTRACT_ENUMS, CONTRACT_TABLES, expectedCatalogType } from './helpers/contract.js';
import { createTestDatabase, LIVE_DIALECTS, type LiveDialect, type TestDatabase } from './helpers/databases.js';

const HEX32 = /^[0-9a-f]{32}$/;
const q = (dialect: LiveDialect, name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);

describe.each(LIVE_DIALECTS)('schema on %s', (dialect) => {
  let database: TestDatabase;
  let store: Store;
  let catalog: CatalogSnapshot;
  let restoreClock: (() => void) | undefined;

  beforeAll(async () => {
    database = await createTestDatabase(dialect);
    store = openStore(database.url);
    await upgradeDatabase(store.db, store.dialect);
    catalog = await readCatalogSnapshot(store.db, dialect);
  });

  afterAll(async () => {
    await closeStore(store);
    await database.drop();
  });

  afterEach(() => restoreClock?.());

  /** One column of one row, read with plain SQL (no store decoding). */
  async function raw(table: string, column: string, id: string, idColumn = 'id'): Promise<unknown> {
    const key = dialect === 'postgres' || idColumn !== 'id' ? id : id.replace(/-/g, '');
    const result = await sql
      .raw<Record<string, unknown>>(`SELECT ${q(dialect, column)} AS v FROM ${q(dialect, table)} WHERE ${q(dialect, idColumn)} = '${key}'`)
      .execute(store.db);
    expect(result.rows, `${table} row ${id}`).toHaveLength(1);
    return result.rows[0]!.v;
  }

  /** The database's own name for a value's type (pg_typeof / typeof), or undefined on MySQL. */
  async function storedType(table: string, column: string, id: string): Promise<string | undefined> {
    if (dialect === 'mysql') return undefined;
    const type = dialect === 'postgres' ? `pg_typeof(${q(dialect, column)})::text` : `typeof(${q(dialect, column)})`;
    const key = dialect === 'postgres' ? id : id.replace(/-/g, '');
    const result = await sql.raw<{ t: string }>(`SELECT ${type} AS t FROM ${q(dialect, table)} WHERE id = '${key}'`).execute(store.db);
    return result.rows[0]?.t;
  }

  it('has exactly the tables of SCHEMA.md, names in their case', () => {
    expect(Object.keys(catalog.tables).sort()).toEqual(Object.keys(CONTRACT_TABLES).sort());
  });

  it.each(Object.keys(CONTRACT_TABLES))('%s: columns, types, nullability, primary key, foreign keys, indexes', (name) => {
    const contract = CONTRACT_TABLES[name]!;
    const table = catalog.tables[name]!;
    expect(table.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable }))).toEqual(
      contract.columns.map((c) => ({ name: c.name, type: expectedCatalogType(dialect, c.type), nullable: c.nullable })),
    );
    expect(table.primaryKey).toEqual(contract.primaryKey);
    expect(table.foreignKeys).toEqual(contract.foreignKeys);
    expect(table.indexes).toEqual(contract.indexes);
    // The only server default in the contract is Triggers.priority = 0.
    const defaults = Object.fromEntries(table.columns.filter((c) => c.default !== null).map((c) => [c.name, c.default]));
    expect(defaults).toEqual(name === 'Triggers' ? { priority: '0' } : {});
  });

  it('has the enum types with their labels in order (PostgreSQL), or none elsewhere', () => {
    expect(catalog.enums).toEqual(dialect === 'postgres' ? CONTRACT_ENUMS : {});
  });

  it('applies the priority default when a writer leaves it out', async () => {
    const id = '9e8d7c6b-5a49-4837-8261-504f3e2d1c0b';
    const key = dialect === 'postgres' ? id : id.replace(/-/g, '');
    const bool = dialect === 'postgres' ? 'true' : '1';
    await sql
      .raw(
        `INSERT INTO ${q(dialect, 'Triggers')} (id, trigger_name, process_name, process_path, process_status, is_git_repo, is_blocking, type) ` +
          `VALUES ('${key}', 'no priority', 'p', 'p.py', 'IDLE', ${bool}, ${bool}, 'QUEUE')`,
      )
      .execute(store.db);
    expect(Number(await raw('Triggers', 'priority', id))).toBe(0);
  });

  it('stores ids, datetimes, enum names, booleans and the whitelist as the Python side does', async () => {
    restoreClock = setClock(() => new Date(2024, 0, 2, 3, 4, 5, 678));
    const triggerId = await createTrigger(store, {
      type: 'SCHEDULED',
      triggerName: 'encodings',
      processName: 'enc',
      processPath: 'enc.py',
      cronExpr: '*/5 * * * *',
      nextRun: new Date(2024, 0, 2, 3, 5, 0, 0),
      isGitRepo: true,
      isBlocking: false,
      schedulerWhitelist: ['PC1', 'PC2'],
    });
    const element = await createQueueElement(store, 'encodings', { reference: 'r1' });
    await setQueueElementStatus(store, element.id, 'IN_PROGRESS');
    const logId = await createLog(store, { level: 'ERROR', processName: 'enc', message: 'm' });
    await createConstant(store, 'encodings', 'v');

    // UUIDs: native on PostgreSQL, 32 lowercase hex digits elsewhere.
    for (const [table, id] of [
      ['Triggers', triggerId],
      ['Scheduled_Triggers', triggerId],
      ['Queues', element.id],
      ['Logs', logId],
    ] as const) {
      const value = await raw(table, 'id', id);
      if (dialect === 'postgres') {
        expect(value).toBe(id);
        expect(await storedType(table, 'id', id)).toBe('uuid');
      } else {
        expect(value).toMatch(HEX32);
        expect(value).toBe(id.replace(/-/g, ''));
      }
    }

    // Datetimes: SQLite text with six fraction digits; MySQL DATETIME(6) keeps the fraction.
    const expectedTime = {
      sqlite: '2024-01-02 03:04:05.678000',
      mysql: '2024-01-02 03:04:05.678000',
      postgres: '2024-01-02 03:04:05.678',
    }[dialect];
    expect(await raw('Logs', 'log_time', logId)).toBe(expectedTime);
    expect(await raw('Queues', 'created_date', element.id)).toBe(expectedTime);
    expect(await raw('Queues', 'start_date', element.id)).toBe(expectedTime);
    expect(await raw('Constants', 'changed_at', 'encodings', 'name')).toBe(expectedTime);
    expect(await raw('Scheduled_Triggers', 'next_run', triggerId)).toBe(
      dialect === 'postgres' ? '2024-01-02 03:05:00' : '2024-01-02 03:05:00.000000',
    );
    if (dialect === 'sqlite') expect(await storedType('Logs', 'log_time', logId)).toBe('text');
    if (dialect === 'postgres') expect(await storedType('Logs', 'log_time', logId)).toBe('timestamp without time zone');

    // Enums store the member NAME.
    expect(await raw('Queues', 'status', element.id)).toBe('IN_PROGRESS');
    expect(await raw('Logs', 'log_level', logId)).toBe('ERROR');
    expect(await raw('Triggers', 'process_status', triggerId)).toBe('IDLE');
    expect(await raw('Triggers', 'type', triggerId)).toBe('SCHEDULED');

    // Booleans: 0/1 on SQLite and MySQL, native on PostgreSQL.
    expect(await raw('Triggers', 'is_git_repo', triggerId)).toBe(dialect === 'postgres' ? true : 1);
    expect(await raw('Triggers', 'is_blocking', triggerId)).toBe(dialect === 'postgres' ? false : 0);

    // Whitelist: Python's json.dumps(list).
    expect(await raw('Triggers', 'scheduler_whitelist', triggerId)).toBe('["PC1", "PC2"]');
    expect(Number(await raw('Triggers', 'priority', triggerId))).toBe(0);
  });
});
