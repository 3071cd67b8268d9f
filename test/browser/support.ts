/**
 * Test support for the Orchestrator tests: a fresh upgraded database opened as a Store, and row
 * counts to prove a refused request changed nothing.
 */
import { closeStore, openStore, type Store } from '../../src/db/open.js';
import { upgradeDatabase } from '../../src/db/schema/upgrade.js';
import { createTestDatabase, type LiveDialect } from '../helpers/databases.js';

export interface LiveStore {
  url: string;
  store: Store;
  close(): Promise<void>;
}

export async function openLiveStore(dialect: LiveDialect): Promise<LiveStore> {
  const database = await createTestDatabase(dialect);
  const store = openStore(database.url);
  await upgradeDatabase(store.db, store.dialect);
  return {
    url: database.url,
    store,
    close: async () => {
      await closeStore(store);
      await database.drop();
    },
  };
}

export const TABLES = ['Logs', 'Queues', 'Constants', 'Credentials', 'Triggers', 'Single_Triggers', 'Scheduled_Triggers', 'Queue_Triggers', 'Schedulers', 'Jobs'] as const;

export async function countRows(store: Store, table: (typeof TABLES)[number]): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}
