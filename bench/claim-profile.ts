/**
 * Where the time of a queue claim goes: the claim bench's two sides (bench/lib/claim.ts) and the
 * layers between them, each draining a fresh queue of N elements with W workers, in R rounds
 * taken in turn (so load from elsewhere on the machine spreads over all of them). Prints each
 * layer's median claims/s, its ratio to the dialect's ceiling, this process's CPU per claim
 * (in-process layers only), the statements per claim our store sends, and what the Done update
 * alone costs the process three ways.
 *
 *   npx tsx bench/claim-profile.ts                      every live dialect, 8 workers, 2,000 elements, 3 rounds
 *   npx tsx bench/claim-profile.ts postgres 32 2000 5   dialect(s), workers, elements, rounds
 *
 * Not part of `npm run bench`: it answers "which layer costs what", not "are we fast enough".
 */
import { cpus } from 'node:os';
import BetterSqlite3 from 'better-sqlite3';
import { CompiledQuery, sql, type Kysely, type RawBuilder } from 'kysely';
import mysqlCallbacks from 'mysql2';
import type mysql from 'mysql2/promise';
import pg from 'pg';
import { postgresPoolConfig } from '../src/db/dialects/postgres.js';
import { prepared } from '../src/db/dialects/prepared.js';
import type { Store } from '../src/db/open.js';
import { createQueueElement, getNextQueueElement, setQueueElementStatus } from '../src/db/store/queues.js';
import { checkId, checkText } from '../src/db/store/validate.js';
import type { Database } from '../src/db/types.js';
import { formatNaive, now } from '../src/time/clock.js';
import { drain, MYSQL_CLAIM, mysqlCeilingSide, mysqlConnection, oursSide, pgbench, sqliteSide, storeSide, type Drain, type Side } from './lib/claim.js';
import { benchDatabase, DIALECT_LABEL, fmt, median, type LiveDialect } from './lib/common.js';

const QUEUE = 'bench';

/** Our PostgreSQL claim (postgres.ts) and the Done update as Kysely compiles setQueueElementStatus's. */
const PG_CLAIM = {
  claim: `UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = $1
    WHERE id = (SELECT id FROM "Queues" WHERE queue_name = $2 AND status = 'NEW' ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED)
    RETURNING *`,
  done: 'update "Queues" set "status" = $1, "end_date" = $2 where "id" = $3',
};

/** node-postgres on one client per worker; named statements are parsed once per connection. */
function nodePostgresSide(named: boolean): Side {
  return async (bench) => {
    const client = new pg.Client(postgresPoolConfig(bench.store.config));
    await client.connect();
    return {
      async step() {
        const claimed = await client.query(named ? { name: 'claim', text: PG_CLAIM.claim, values: [formatNaive(now()), QUEUE] } : { text: PG_CLAIM.claim, values: [formatNaive(now()), QUEUE] });
        const id = claimed.rows[0]?.id as string | undefined;
        if (id === undefined) return undefined;
        const values = ['DONE', formatNaive(now()), id];
        await client.query(named ? { name: 'done', text: PG_CLAIM.done, values } : { text: PG_CLAIM.done, values });
        return id;
      },
      close: () => client.end(),
    };
  };
}

/** The same statements through a Store's Kysely (driver, pool and Kysely; no store code). */
const kyselyPostgresOrSqliteSide: Side = storeSide((store) => {
  const forUpdate = store.dialect.name === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  return async () => {
    const claimed = await sql<{ id: string }>`UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ${formatNaive(now())}
      WHERE id = (SELECT id FROM "Queues" WHERE queue_name = ${QUEUE} AND status = 'NEW' ORDER BY created_date LIMIT 1 ${forUpdate})
      RETURNING *`.execute(store.db);
    const id = claimed.rows[0]?.id;
    if (id === undefined) return undefined;
    // Upper case: not the text setQueueElementStatus marks prepared (marks go by text).
    await sql`UPDATE "Queues" SET "status" = ${'DONE'}, "end_date" = ${formatNaive(now())} WHERE "id" = ${id}`.execute(store.db);
    return store.dialect.decodeUuid(id);
  };
});

/** Our MariaDB claim's transaction through a Store's Kysely (what mysql-claim.ts does, no store code). */
const kyselyMysqlSide: Side = storeSide((store) => async () => {
  const id = await store.db.transaction().execute(async (trx) => {
    const picked = await sql<{ id: string }>`SELECT id FROM \`Queues\` WHERE queue_name = ${QUEUE} AND status = 'NEW' ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED`.execute(trx);
    const found = picked.rows[0]?.id;
    if (found === undefined) return undefined;
    await sql`UPDATE \`Queues\` SET status = 'IN_PROGRESS', start_date = ${formatNaive(now())} WHERE id = ${found}`.execute(trx);
    await sql`SELECT * FROM \`Queues\` WHERE id = ${found}`.execute(trx);
    return found;
  });
  if (id === undefined) return undefined;
  await sql`UPDATE \`Queues\` SET \`status\` = ${'DONE'}, \`end_date\` = ${formatNaive(now())} WHERE \`id\` = ${id}`.execute(store.db);
  return id;
});

/**
 * Bare mysql2 with the text protocol (`query`, values escaped into the text: what Kysely's
 * driver sends) or server-prepared statements (`execute`); `readBack` false locks the whole row
 * with SELECT * ... FOR UPDATE and reads nothing after the UPDATE (one round trip less).
 */
function mysqlSide(protocol: 'query' | 'execute', readBack: boolean): Side {
  return async (bench) => {
    const conn = await mysqlConnection(bench);
    const run = (text: string, values: string[]) => (protocol === 'query' ? conn.query<mysql.RowDataPacket[]>(text, values) : conn.execute<mysql.RowDataPacket[]>(text, values));
    const pick = readBack ? MYSQL_CLAIM.pick : MYSQL_CLAIM.pick.replace('SELECT id', 'SELECT *');
    return {
      async step() {
        await conn.query('BEGIN');
        const [picked] = await run(pick, [QUEUE]);
        const id = picked[0]?.id as string | undefined;
        if (id !== undefined) {
          await run(MYSQL_CLAIM.take, [formatNaive(now()), id]);
          if (readBack) await run(MYSQL_CLAIM.readBack, [id]);
        }
        await conn.query('COMMIT');
        if (id !== undefined) await run(MYSQL_CLAIM.done, ['DONE', formatNaive(now()), id]);
        return id;
      },
      close: () => conn.end(),
    };
  };
}

/**
 * A raw statement marked to be prepared once per connection, as the store marks its own. Marks
 * go by text and last for the process, so the text gets a leading comment: the unmarked layers
 * (and the dialects' own claims) keep running the same statements unprepared.
 */
const preparedSql = <R>(db: Kysely<Database>, query: RawBuilder<R>) =>
  prepared<R>({
    compile: (): CompiledQuery<R> => {
      const compiled = query.compile(db);
      return { ...compiled, sql: `/* marked */ ${compiled.sql}` };
    },
  });

/** What getNextQueueElement does around the claim: check the name, decode the row. */
function decodeClaimed(store: Store, row: Record<string, unknown>): string {
  store.dialect.decodeDate(row.created_date);
  store.dialect.decodeDate(row.start_date);
  return store.dialect.decodeUuid(row.id);
}

/**
 * Ours as it would be with the dialect's claim UPDATE (postgres.ts, sqlite.ts) marked by
 * `prepared`: the same text, run through the Store with the store's checks and decoding.
 */
const oursClaimPreparedSide: Side = storeSide((store) => {
  const forUpdate = store.dialect.name === 'postgres' ? sql`FOR UPDATE SKIP LOCKED` : sql``;
  return async () => {
    checkText(store.dialect, 'queue name', QUEUE, 100);
    const claim = sql<Record<string, unknown>>`UPDATE "Queues" SET status = 'IN_PROGRESS', start_date = ${store.dialect.encodeDate(now())}
      WHERE id = (SELECT id FROM "Queues" WHERE queue_name = ${QUEUE} AND status = 'NEW' ORDER BY created_date LIMIT 1 ${forUpdate})
      RETURNING *`;
    const row = (await store.db.executeQuery(preparedSql(store.db, claim))).rows[0];
    if (!row) return undefined;
    const id = decodeClaimed(store, row);
    await setQueueElementStatus(store, id, 'DONE');
    return id;
  };
});

/**
 * Ours as it would be with mysql-claim.ts's statements marked by `prepared` (so mysql2 executes
 * them server-prepared), and with `readBack` false also without the SELECT after the UPDATE: the
 * locking read takes the whole row and the claim sets status and start_date on it itself.
 */
function oursMysqlPreparedSide(readBack: boolean): Side {
  return storeSide((store) => async () => {
    checkText(store.dialect, 'queue name', QUEUE, 100);
    const startDate = store.dialect.encodeDate(now());
    const row = await store.db.transaction().execute(async (trx) => {
      const columns = readBack ? sql`id` : sql`*`;
      const picked = await trx.executeQuery(
        preparedSql(trx, sql<Record<string, unknown>>`SELECT ${columns} FROM \`Queues\` WHERE queue_name = ${QUEUE} AND status = 'NEW' ORDER BY created_date LIMIT 1 FOR UPDATE SKIP LOCKED`),
      );
      const found = picked.rows[0];
      if (!found) return undefined;
      await trx.executeQuery(preparedSql(trx, sql`UPDATE \`Queues\` SET status = 'IN_PROGRESS', start_date = ${startDate} WHERE id = ${found.id}`));
      if (!readBack) return { ...found, status: 'IN_PROGRESS', start_date: startDate };
      return (await trx.executeQuery(preparedSql(trx, sql<Record<string, unknown>>`SELECT * FROM \`Queues\` WHERE id = ${found.id}`))).rows[0];
    });
    if (!row) return undefined;
    const id = decodeClaimed(store, row);
    await setQueueElementStatus(store, id, 'DONE');
    return id;
  });
}

/**
 * Ours as it was before setQueueElementStatus marked its UPDATE prepared (the same builder
 * statement, run unprepared): the before side of that change, in the same run.
 */
const oursBeforeSide: Side = storeSide((store) => async () => {
  const element = await getNextQueueElement(store, QUEUE);
  if (!element) return undefined;
  const { db, dialect } = store;
  const id = checkId('queue element id', element.id);
  const stamp = dialect.encodeDate(now());
  // The columns in the other order: not the text setQueueElementStatus now marks prepared.
  const result = await db.updateTable('Queues').set({ end_date: stamp, status: 'DONE' }).where('id', '=', dialect.encodeUuid(id)).executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new Error(`no queue element with id ${id}`);
  return element.id;
});

interface Layer {
  name: string;
  run(workers: number, count: number): Promise<Drain>;
}

const layer = (dialect: LiveDialect, name: string, side: Side): Layer => ({ name, run: (w, n) => drain(dialect, side, w, n) });

/** The first layer of each dialect is the claim bench's ceiling, the last is ours. */
const LAYERS: Record<LiveDialect, Layer[]> = {
  postgres: [
    { name: `pgbench -M prepared (ceiling; -j ${cpus().length})`, run: (w, n) => pgbench(w, n, 'prepared') },
    { name: 'pgbench -M extended (unnamed statements)', run: (w, n) => pgbench(w, n, 'extended') },
    layer('postgres', 'node-postgres, named statements', nodePostgresSide(true)),
    layer('postgres', 'node-postgres, unnamed (as Kysely)', nodePostgresSide(false)),
    layer('postgres', 'Kysely sql on a Store', kyselyPostgresOrSqliteSide),
    layer('postgres', 'ours, claim UPDATE prepared (postgres.ts)', oursClaimPreparedSide),
    layer('postgres', 'ours before (Done update unprepared)', oursBeforeSide),
    layer('postgres', 'ours (store)', oursSide),
  ],
  mysql: [
    layer('mysql', 'mysql2 execute (ceiling)', mysqlCeilingSide),
    layer('mysql', 'mysql2 execute, no read-back', mysqlSide('execute', false)),
    layer('mysql', 'mysql2 query (as Kysely)', mysqlSide('query', true)),
    layer('mysql', 'mysql2 query, no read-back', mysqlSide('query', false)),
    layer('mysql', 'Kysely sql on a Store', kyselyMysqlSide),
    layer('mysql', 'ours, claim prepared (mysql-claim.ts)', oursMysqlPreparedSide(true)),
    layer('mysql', 'ours, claim prepared, no read-back', oursMysqlPreparedSide(false)),
    layer('mysql', 'ours before (Done update unprepared)', oursBeforeSide),
    layer('mysql', 'ours (store)', oursSide),
  ],
  sqlite: [
    layer('sqlite', 'better-sqlite3 prepared once (ceiling)', sqliteSide(true)),
    layer('sqlite', 'better-sqlite3 prepare per call (as Kysely)', sqliteSide(false)),
    layer('sqlite', 'Kysely sql on a Store', kyselyPostgresOrSqliteSide),
    layer('sqlite', 'ours, claim UPDATE prepared (sqlite.ts)', oursClaimPreparedSide),
    layer('sqlite', 'ours before (Done update unprepared)', oursBeforeSide),
    layer('sqlite', 'ours (store)', oursSide),
  ],
};

/**
 * Records the statements the drivers are handed while `record` is on. Installed before a Store
 * connects, since the dialects wrap each new connection's methods as they find them.
 */
function statementRecorder() {
  const seen: string[] = [];
  let record = false;
  const text = (value: unknown) => String(typeof value === 'string' ? value : ((value as { text?: string; sql?: string })?.text ?? (value as { sql?: string })?.sql)).replace(/\s+/g, ' ').trim();
  const pgQuery = pg.Client.prototype.query;
  const connection = (mysqlCallbacks as unknown as { Connection: { prototype: Record<string, (...args: unknown[]) => unknown> } }).Connection.prototype;
  const [myQuery, myExecute] = [connection.query!, connection.execute!];
  // Statements run (cached ones too): better-sqlite3's Statement methods, found on a statement.
  const probe = new BetterSqlite3(':memory:');
  const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<'run' | 'get' | 'all', (...args: unknown[]) => unknown>;
  probe.close();
  const [run, get, all] = [statement.run, statement.get, statement.all];
  const wrap = <F extends (...args: never[]) => unknown>(original: F, how: string): F =>
    function (this: unknown, ...args: Parameters<F>) {
      const named = typeof (args[0] as unknown as { name?: unknown } | undefined)?.name === 'string' ? ' [named]' : '';
      if (record) seen.push(`${how}${named}: ${text(args[0]).slice(0, 80)}`);
      return original.apply(this, args);
    } as F;
  pg.Client.prototype.query = wrap(pgQuery, 'pg query');
  connection.query = wrap(myQuery, 'mysql2 query');
  connection.execute = wrap(myExecute, 'mysql2 execute');
  for (const [name, original] of [['run', run], ['get', get], ['all', all]] as const) {
    statement[name] = function (this: { source: string }, ...args: unknown[]) {
      if (record) seen.push(`better-sqlite3 ${name}: ${text(this.source).slice(0, 80)}`);
      return original.apply(this, args);
    };
  }
  return {
    async during<T>(fn: () => Promise<T>): Promise<T> {
      record = true;
      try {
        return await fn();
      } finally {
        record = false;
      }
    },
    seen,
    uninstall() {
      pg.Client.prototype.query = pgQuery;
      connection.query = myQuery;
      connection.execute = myExecute;
      Object.assign(statement, { run, get, all });
    },
  };
}

async function profile(dialect: LiveDialect, workers: number, count: number, rounds: number): Promise<void> {
  const layers = LAYERS[dialect];
  const rates = layers.map(() => [] as number[]);
  const cpu = layers.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    for (const [i, l] of layers.entries()) {
      const result = await l.run(workers, count);
      if (result.duplicates !== 0 || result.notDone !== 0) throw new Error(`${l.name}: ${result.duplicates} duplicates, ${result.notDone} not done`);
      rates[i]!.push(result.rate);
      if (result.cpuPerClaim !== undefined) cpu[i]!.push(result.cpuPerClaim);
      process.stderr.write(`  … ${DIALECT_LABEL[dialect]} round ${round + 1}: ${l.name} ${fmt(result.rate)}/s\n`);
    }
  }
  const ceiling = median(rates[0]!);
  console.log(`\n${DIALECT_LABEL[dialect]}, ${workers} workers, ${fmt(count)} elements, median of ${rounds} rounds`);
  for (const [i, l] of layers.entries()) {
    const rate = median(rates[i]!);
    const cpuText = cpu[i]!.length > 0 ? `${fmt(median(cpu[i]!))} µs CPU/claim` : 'CPU in pgbench';
    console.log(`  ${l.name.padEnd(48)} ${fmt(rate).padStart(7)}/s  ${(rate / ceiling).toFixed(2)}x  ${cpuText}   (${rates[i]!.map(fmt).join(', ')})`);
  }
  // Ours on a queue of three elements, the statements of its last claim and finish recorded
  // (the first ones also prepare what is prepared once per connection).
  const recorder = statementRecorder();
  try {
    const counted: Side = async (bench) => {
      const worker = await oursSide(bench);
      let claims = 0;
      return {
        step: () => (++claims === 3 ? recorder.during(() => worker.step()) : worker.step()),
        close: () => worker.close(),
      };
    };
    await drain(dialect, counted, 1, 3);
  } finally {
    recorder.uninstall();
  }
  const sent = recorder.seen;
  console.log(`  ours hands the driver ${sent.length} statements per claim + finish (after the first):\n${sent.map((s) => `    ${s}`).join('\n')}`);
}

/**
 * What the Done update costs this process, one connection, one element updated `runs` times:
 * setQueueElementStatus as it is, its builder compiled and marked on each call (what it does
 * after its checks), and the same text compiled once with new values bound (what a compiled
 * cache in prepared.ts would leave).
 */
async function doneUpdateCost(dialect: LiveDialect, runs: number): Promise<void> {
  const bench = await benchDatabase(dialect);
  try {
    const store = bench.store;
    const element = await createQueueElement(store, QUEUE);
    const id = store.dialect.encodeUuid(element.id);
    const build = () => store.db.updateTable('Queues').set({ status: 'DONE', end_date: store.dialect.encodeDate(now()) }).where('id', '=', id);
    const once = prepared(build());
    const ways: Array<[string, () => Promise<unknown>]> = [
      ['setQueueElementStatus', () => setQueueElementStatus(store, element.id, 'DONE')],
      ['builder + prepared() each call', () => store.db.executeQuery(prepared(build()))],
      ['compiled once, values bound', () => store.db.executeQuery(CompiledQuery.raw(once.sql, ['DONE', store.dialect.encodeDate(now()), id]))],
    ];
    const cpu = new Map<string, number[]>();
    for (let round = 0; round < 3; round++) {
      for (const [name, run] of ways) {
        for (let i = 0; i < 200; i++) await run();
        const start = process.cpuUsage();
        for (let i = 0; i < runs; i++) await run();
        const used = process.cpuUsage(start);
        cpu.set(name, [...(cpu.get(name) ?? []), (used.user + used.system) / runs]);
      }
    }
    console.log(`  the Done update alone, this process's CPU per call (median of 3 x ${fmt(runs)}):`);
    for (const [name] of ways) console.log(`    ${name.padEnd(34)} ${fmt(median(cpu.get(name)!))} µs`);
  } finally {
    await bench.close();
  }
}

const [dialectArg, workersArg, countArg, roundsArg] = process.argv.slice(2);
const dialects = (dialectArg?.split(',') ?? ['sqlite', 'postgres', 'mysql']) as LiveDialect[];
for (const dialect of dialects) {
  await profile(dialect, Number(workersArg ?? 8), Number(countArg ?? 2000), Number(roundsArg ?? 3));
  await doneUpdateCost(dialect, 3000);
}
