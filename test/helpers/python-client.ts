/**
 * The statements the unchanged Python OpenOrchestrator 3.0 sends through its SQLAlchemy ORM, in
 * its order and with its transactions, for tests of what the shared database does with them
 * (read from upstream's db_util.py, not copied): a claim is a SELECT and then an UPDATE by id with
 * no status condition; the ORM writes only the attributes whose value changed, so setting a status
 * the row already has leaves it out of the SET. On SQLite, pysqlite runs the SELECT outside any
 * transaction and opens one only for the UPDATE; on PostgreSQL and MariaDB the session's one
 * transaction holds both.
 */
import { sql, type Kysely } from 'kysely';
import type { Store } from '../../src/db/open.js';
import type { Database } from '../../src/db/types.js';
import { now } from '../../src/time/clock.js';

type Session<T> = (db: Kysely<Database>) => Promise<T>;

/** One ORM session: its statements in one transaction, except SQLite's reads (see above). */
async function session<T>(store: Store, read: Session<unknown>, write: (db: Kysely<Database>, read: unknown) => Promise<T>): Promise<T> {
  if (store.dialect.name === 'sqlite') return write(store.db, await read(store.db));
  return store.db.transaction().execute(async (trx) => write(trx, await read(trx)));
}

/**
 * `get_next_queue_element(queue_name)`: the oldest New element, then `UPDATE Queues SET
 * status='IN_PROGRESS', start_date=<now> WHERE id=<id>`. Returns the raw id it claimed, or
 * undefined when the queue had no New element; a refused UPDATE throws the driver's error.
 */
export async function pythonGetNextQueueElement(store: Store, queueName: string): Promise<string | undefined> {
  const { dialect } = store;
  return session(
    store,
    async (db) => {
      const rows = await sql<{ id: string }>`SELECT ${sql.ref('id')} FROM ${sql.table('Queues')} WHERE ${sql.ref('queue_name')} = ${queueName} AND ${sql.ref('status')} = 'NEW' ORDER BY ${sql.ref('created_date')} LIMIT 1`.execute(db);
      return rows.rows[0]?.id;
    },
    async (db, id) => {
      if (id === undefined) return undefined;
      await sql`UPDATE ${sql.table('Queues')} SET ${sql.ref('status')} = 'IN_PROGRESS', ${sql.ref('start_date')} = ${dialect.encodeDate(now())} WHERE ${sql.ref('id')} = ${id}`.execute(db);
      return dialect.decodeUuid(id);
    },
  );
}

/**
 * `set_queue_element_status(id, status, message)`: reads the row by id, then writes the status
 * only if it differs (the ORM), the message if given, start_date for In Progress and end_date
 * for Done, Failed and Abandoned.
 */
export async function pythonSetQueueElementStatus(store: Store, id: string, status: string, message?: string): Promise<void> {
  const { dialect } = store;
  const encoded = dialect.encodeUuid(id);
  await session(
    store,
    async (db) => (await sql<{ status: string }>`SELECT ${sql.ref('status')} FROM ${sql.table('Queues')} WHERE ${sql.ref('id')} = ${encoded}`.execute(db)).rows[0]?.status,
    async (db, current) => {
      const set = [];
      if (current !== status) set.push(sql`${sql.ref('status')} = ${status}`);
      if (message !== undefined) set.push(sql`${sql.ref('message')} = ${message}`);
      if (status === 'IN_PROGRESS') set.push(sql`${sql.ref('start_date')} = ${dialect.encodeDate(now())}`);
      if (['DONE', 'FAILED', 'ABANDONED'].includes(status)) set.push(sql`${sql.ref('end_date')} = ${dialect.encodeDate(now())}`);
      if (set.length > 0) await sql`UPDATE ${sql.table('Queues')} SET ${sql.join(set)} WHERE ${sql.ref('id')} = ${encoded}`.execute(db);
    },
  );
}

/**
 * The Python Scheduler's start of a single trigger (`begin_single_trigger`): reads the trigger
 * (Triggers joined with Single_Triggers), gives up unless it is Idle, then `UPDATE Triggers SET
 * process_status='RUNNING', last_run=<now> WHERE id=<id>`. True when it started the trigger.
 */
export async function pythonBeginSingleTrigger(store: Store, id: string): Promise<boolean> {
  const { dialect } = store;
  const encoded = dialect.encodeUuid(id);
  return session(
    store,
    async (db) =>
      (
        await sql<{ process_status: string }>`SELECT t.${sql.ref('process_status')} FROM ${sql.table('Triggers')} t JOIN ${sql.table('Single_Triggers')} s ON s.${sql.ref('id')} = t.${sql.ref('id')} WHERE t.${sql.ref('id')} = ${encoded}`.execute(db)
      ).rows[0]?.process_status,
    async (db, current) => {
      if (current !== 'IDLE') return false;
      await sql`UPDATE ${sql.table('Triggers')} SET ${sql.ref('process_status')} = 'RUNNING', ${sql.ref('last_run')} = ${dialect.encodeDate(now())} WHERE ${sql.ref('id')} = ${encoded}`.execute(db);
      return true;
    },
  );
}

/** `set_trigger_status(id, status)` (the Python Scheduler's end states, the Orchestrator's buttons): the ORM writes it only if it differs. */
export async function pythonSetTriggerStatus(store: Store, id: string, status: string): Promise<void> {
  const encoded = store.dialect.encodeUuid(id);
  await session(
    store,
    async (db) => (await sql<{ process_status: string }>`SELECT ${sql.ref('process_status')} FROM ${sql.table('Triggers')} WHERE ${sql.ref('id')} = ${encoded}`.execute(db)).rows[0]?.process_status,
    async (db, current) => {
      if (current !== status) await sql`UPDATE ${sql.table('Triggers')} SET ${sql.ref('process_status')} = ${status} WHERE ${sql.ref('id')} = ${encoded}`.execute(db);
    },
  );
}

/** The Python Orchestrator's trigger edit (`update_trigger`): the changed fields only, never the status. */
export async function pythonEditTrigger(store: Store, id: string, fields: { trigger_name?: string; process_args?: string }): Promise<void> {
  const set = Object.entries(fields).map(([column, value]) => sql`${sql.ref(column)} = ${value}`);
  await sql`UPDATE ${sql.table('Triggers')} SET ${sql.join(set)} WHERE ${sql.ref('id')} = ${store.dialect.encodeUuid(id)}`.execute(store.db);
}
