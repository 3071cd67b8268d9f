/**
 * The atomic queue claim on MySQL/MariaDB, which has no UPDATE ... RETURNING: lock one row
 * with SKIP LOCKED, change it and read it back in one transaction, so the lock is held until
 * the change is committed.
 *
 * InnoDB locks every row a locking read scans, and at REPEATABLE READ keeps the locks on rows
 * that then fail the rest of the WHERE clause until the transaction ends. Queue, status and
 * created_date are all in the index the claim walks, so without a reference every scanned row
 * matches. A reference is not in that index: a claim for reference A would lock the rows of
 * reference B that it passes over, and a concurrent claim for B would SKIP them and wrongly
 * find its queue empty. Claims by reference therefore pick candidates with a plain read and
 * lock them one at a time by primary key.
 */
import { sql, type Kysely } from 'kysely';
import type { Database } from '../types.js';
import type { ClaimQueueElementArgs, RawRow } from './dialect.js';

/** Candidates a claim by reference reads at once: more than the robots that usually compete. */
const CANDIDATES = 16;

export async function claimQueueElementMysql(db: Kysely<Database>, args: ClaimQueueElementArgs): Promise<RawRow | undefined> {
  return args.reference === undefined ? claimOldest(db, args) : claimByReference(db, { ...args, reference: args.reference });
}

async function claimOldest(db: Kysely<Database>, { queueName, startDate }: ClaimQueueElementArgs): Promise<RawRow | undefined> {
  // Sent as text, not `prepared`: server-prepared, this pick read hundreds of index entries per
  // claim with 8 robots on one queue, and drained it 2-4x slower (bench/lib/claim.ts).
  return db.transaction().execute(async (trx) => {
    const picked = await sql<{ id: string }>`
      SELECT id FROM \`Queues\`
      WHERE queue_name = ${queueName} AND status = 'NEW'
      -- Oldest first, ties by id as on every dialect (InnoDB's index carries the primary key, so
      -- the index yields this order without a sort).
      ORDER BY created_date, id LIMIT 1
      FOR UPDATE SKIP LOCKED`.execute(trx);
    const id = picked.rows[0]?.id;
    return id === undefined ? undefined : take(trx, id, startDate);
  });
}

async function claimByReference(
  db: Kysely<Database>,
  { queueName, reference, startDate }: ClaimQueueElementArgs & { reference: string },
): Promise<RawRow | undefined> {
  for (let attempt = 0; ; attempt++) {
    // A plain read outside any transaction sees the latest commits and locks nothing.
    const candidates = await sql<{ id: string }>`
      SELECT id FROM \`Queues\`
      WHERE queue_name = ${queueName} AND status = 'NEW' AND reference = ${reference}
      ORDER BY created_date, id LIMIT ${CANDIDATES}`.execute(db);
    if (candidates.rows.length === 0) return undefined;
    const row = await db.transaction().execute(async (trx) => {
      for (const { id } of candidates.rows) {
        // By primary key: locks this one row only, and re-checks it is still New.
        const locked = await sql<{ id: string }>`
          SELECT id FROM \`Queues\` WHERE id = ${id} AND status = 'NEW' FOR UPDATE SKIP LOCKED`.execute(trx);
        if (locked.rows.length > 0) return take(trx, id, startDate);
      }
      return undefined;
    });
    if (row) return row;
    // Every candidate was taken meanwhile or is being taken right now: look again, backing off
    // a little so a crowd of robots does not spin on the same rows.
    await new Promise((resolve) => setTimeout(resolve, Math.min(2 ** attempt, 50)));
  }
}

async function take(trx: Kysely<Database>, id: string, startDate: unknown): Promise<RawRow | undefined> {
  await sql`UPDATE \`Queues\` SET status = 'IN_PROGRESS', start_date = ${startDate} WHERE id = ${id}`.execute(trx);
  const row = await sql<RawRow>`SELECT * FROM \`Queues\` WHERE id = ${id}`.execute(trx);
  return row.rows[0];
}
