/**
 * A fresh database at the current schema, opened as a Store, for tests that exercise the store
 * and the robot API against live servers.
 *
 * @example
 *   const live = await openTestStore('postgres');
 *   afterAll(() => live.close());
 */
import { closeStore, openStore, type Store } from '../../src/db/open.js';
import { upgradeDatabase } from '../../src/db/schema/upgrade.js';
import { createTestDatabase, type SuiteDialect } from './databases.js';

export interface TestStore {
  /** the connection string, to open more connections to the same database */
  url: string;
  store: Store;
  /** closes the store and drops the database */
  close(): Promise<void>;
}

export async function openTestStore(dialect: SuiteDialect): Promise<TestStore> {
  const database = await createTestDatabase(dialect);
  const store = openStore(database.url);
  try {
    await upgradeDatabase(store.db, store.dialect);
  } catch (error) {
    await closeStore(store);
    await database.drop();
    throw error;
  }
  return {
    url: database.url,
    store,
    close: async () => {
      await closeStore(store);
      await database.drop();
    },
  };
}

/** Number of rows in a table (as a number on every dialect: PostgreSQL's count is a bigint string). */
export async function countRows(store: Store, table: 'Logs' | 'Queues' | 'Constants' | 'Credentials' | 'Triggers' | 'Single_Triggers' | 'Scheduled_Triggers' | 'Queue_Triggers' | 'Schedulers' | 'Jobs'): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
