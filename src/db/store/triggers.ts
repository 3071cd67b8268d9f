/**
 * Triggers: one `Triggers` row plus one row in the sub-table its type names. Status changes
 * that race (claiming Idle -> Running) are conditional UPDATEs whose affected-row count decides.
 */
import { sql, type Compilable, type CompiledQuery, type Expression, type InferResult, type Kysely } from 'kysely';
import { ClaimConflictError, InputError, NotFoundError } from '../../errors.js';
import { nextRun as nextCronRun, normalizeCron, parseCron } from '../../cron/cron.js';
import { now } from '../../time/clock.js';
import { claimGuardRefusal } from '../dialects/dialect.js';
import { newId } from '../dialects/encoding.js';
import { markPrepared, prepared } from '../dialects/prepared.js';
import type { Store } from '../open.js';
import { heartbeat } from './schedulers.js';
import type { Database, TriggerStatus, TriggerType } from '../types.js';
import { TRIGGER_STATUSES } from '../types.js';
import { checkDate, checkEnum, checkId, checkInteger, checkOptionalText, checkText } from './validate.js';
import { inTransaction } from './transaction.js';

interface TriggerBase {
  id: string;
  triggerName: string;
  processName: string;
  lastRun: Date | null;
  processPath: string;
  processArgs: string | null;
  status: TriggerStatus;
  isGitRepo: boolean;
  gitBranch: string | null;
  isBlocking: boolean;
  schedulerWhitelist: string[];
  priority: number;
}

export type Trigger =
  | (TriggerBase & { type: 'SINGLE'; nextRun: Date })
  | (TriggerBase & { type: 'SCHEDULED'; nextRun: Date; cronExpr: string })
  | (TriggerBase & { type: 'QUEUE'; queueName: string; minBatchSize: number });

/** The fields a user sets; status, id and last run are the system's. */
export interface TriggerFields {
  triggerName: string;
  processName: string;
  processPath: string;
  processArgs?: string | null;
  isGitRepo?: boolean;
  gitBranch?: string | null;
  isBlocking?: boolean;
  schedulerWhitelist?: string[];
  priority?: number;
}

export type NewTrigger =
  | (TriggerFields & { type: 'SINGLE'; nextRun: Date })
  | (TriggerFields & { type: 'SCHEDULED'; cronExpr: string; nextRun?: Date })
  | (TriggerFields & { type: 'QUEUE'; queueName: string; minBatchSize?: number });

const PRIORITY_RANGE = [-2_147_483_648, 2_147_483_647] as const;

/** The whitelist column holds a JSON array of machine names; NULL or `[]` means "any machine". */
export function parseWhitelist(text: string | null): string[] {
  if (!text) return [];
  try {
    const parsed: unknown = JSON.parse(text);
    return Array.isArray(parsed) ? parsed.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

/**
 * Always text, `[]` when empty: databases made by the Python 2.0.0/2.0.1 migrations have this
 * column NOT NULL DEFAULT '[]' (SCHEMA.md), and `[]` reads as "any machine" everywhere.
 */
function encodeWhitelist({ dialect }: Store, names: string[] | undefined): string {
  if (!names || names.length === 0) return '[]';
  for (const name of names) checkText(dialect, 'scheduler whitelist entry', name, 100);
  // Python writes json.dumps(list): `["PC1", "PC2"]`, with a space after the comma.
  const text = `[${names.map((n) => JSON.stringify(n)).join(', ')}]`;
  return checkText(dialect, 'scheduler whitelist', text, 250);
}

function baseValues(store: Store, fields: TriggerFields) {
  const { dialect } = store;
  return {
    trigger_name: checkText(store.dialect, 'trigger name', fields.triggerName, 100),
    process_name: checkText(store.dialect, 'process name', fields.processName, 100),
    process_path: checkText(store.dialect, 'process path', fields.processPath, 250),
    process_args: checkOptionalText(store.dialect, 'process arguments', fields.processArgs, 1000),
    is_git_repo: dialect.encodeBool(fields.isGitRepo ?? false),
    git_branch: checkOptionalText(store.dialect, 'git branch', fields.gitBranch || null, 100),
    is_blocking: dialect.encodeBool(fields.isBlocking ?? true),
    scheduler_whitelist: encodeWhitelist(store, fields.schedulerWhitelist),
    priority: checkInteger('priority', fields.priority ?? 0, PRIORITY_RANGE[0], PRIORITY_RANGE[1]),
  };
}

/**
 * Creates a trigger (both rows in one transaction). Returns its id. With `runNow`, the trigger
 * is due at that time in the same transaction: a single or scheduled trigger's next run is
 * `runNow` (a scheduled one then goes on with its cron times), a queue trigger gets its "run now"
 * request (oo_run_requests). A Scheduler can then only ever see the trigger already due, so a
 * second step that could race it (and fail on a trigger that is Running by then) never exists.
 *
 * @example
 *   await createTrigger(store, { type: 'QUEUE', triggerName: 'q', processName: 'p', processPath: 'r.py', queueName: 'q' }, { runNow: new Date() });
 */
export async function createTrigger(store: Store, trigger: NewTrigger, options: { runNow?: Date } = {}): Promise<string> {
  const { dialect } = store;
  const base = baseValues(store, trigger);
  await assertNameFree(store, base.trigger_name);
  const id = newId();
  const encodedId = dialect.encodeUuid(id);
  const runNow = options.runNow === undefined ? undefined : checkDate('run now', options.runNow);
  const sub = subTableValues(store, runNow && trigger.type !== 'QUEUE' ? { ...trigger, nextRun: runNow } : trigger);
  await inTransaction(store, async ({ db: trx }) => {
    await trx
      .insertInto('Triggers')
      .values({ id: encodedId, ...base, last_run: null, process_status: 'IDLE', type: trigger.type })
      .execute();
    await insertSubRow(trx, trigger.type, encodedId, sub);
    if (runNow && trigger.type === 'QUEUE') await trx.insertInto('oo_run_requests').values({ trigger_id: encodedId, requested_at: dialect.encodeDate(runNow) }).execute();
  });
  return id;
}

type SubValues = { next_run?: unknown; cron_expr?: string; queue_name?: string; min_batch_size?: number };

function subTableValues(store: Store, trigger: NewTrigger): SubValues {
  const { dialect } = store;
  switch (trigger.type) {
    case 'SINGLE':
      return { next_run: dialect.encodeDate(checkDate('next run', trigger.nextRun)) };
    case 'SCHEDULED': {
      // Stored in the 5-field form, which a Python Scheduler on the same database also reads.
      const cron = normalizeCron(checkText(store.dialect, 'cron expression', trigger.cronExpr, 200));
      const schedule = parseCron(cron);
      const nextRun = trigger.nextRun ? checkDate('next run', trigger.nextRun) : nextCronRun(schedule, now());
      return { cron_expr: cron, next_run: dialect.encodeDate(nextRun) };
    }
    case 'QUEUE':
      return {
        queue_name: checkText(store.dialect, 'queue name', trigger.queueName, 200),
        min_batch_size: checkInteger('minimum batch size', trigger.minBatchSize ?? 1, 1, PRIORITY_RANGE[1]),
      };
    default:
      throw new InputError(`trigger type must be SINGLE, SCHEDULED or QUEUE`);
  }
}

async function insertSubRow(trx: Kysely<Database>, type: TriggerType, id: unknown, sub: SubValues): Promise<void> {
  if (type === 'SINGLE') await trx.insertInto('Single_Triggers').values({ id, next_run: sub.next_run }).execute();
  else if (type === 'SCHEDULED') await trx.insertInto('Scheduled_Triggers').values({ id, cron_expr: sub.cron_expr!, next_run: sub.next_run }).execute();
  else await trx.insertInto('Queue_Triggers').values({ id, queue_name: sub.queue_name!, min_batch_size: sub.min_batch_size! }).execute();
}

async function assertNameFree({ db }: Store, name: string, exceptId?: unknown): Promise<void> {
  let query = db.selectFrom('Triggers').select('id').where('trigger_name', '=', name);
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  if (await query.executeTakeFirst()) throw new InputError(`a trigger named "${name}" already exists; choose another name`);
}

const SELECT_ALL = (store: Store) =>
  store.db
    .selectFrom('Triggers as t')
    .leftJoin('Single_Triggers as s', 's.id', 't.id')
    .leftJoin('Scheduled_Triggers as c', 'c.id', 't.id')
    .leftJoin('Queue_Triggers as q', 'q.id', 't.id')
    .selectAll('t')
    .select([
      's.next_run as single_next_run',
      'c.next_run as scheduled_next_run',
      'c.cron_expr as cron_expr',
      'q.queue_name as queue_name',
      'q.min_batch_size as min_batch_size',
    ]);

type JoinedRow = Awaited<ReturnType<ReturnType<typeof SELECT_ALL>['executeTakeFirstOrThrow']>>;

function decodeTrigger({ dialect }: Store, row: JoinedRow): Trigger {
  const base: TriggerBase = {
    id: dialect.decodeUuid(row.id),
    triggerName: row.trigger_name,
    processName: row.process_name,
    lastRun: row.last_run === null || row.last_run === undefined ? null : dialect.decodeDate(row.last_run),
    processPath: row.process_path,
    processArgs: row.process_args ?? null,
    status: row.process_status,
    isGitRepo: Boolean(row.is_git_repo),
    gitBranch: row.git_branch ?? null,
    isBlocking: Boolean(row.is_blocking),
    schedulerWhitelist: parseWhitelist(row.scheduler_whitelist ?? null),
    priority: Number(row.priority ?? 0),
  };
  switch (row.type) {
    case 'SINGLE':
      return { ...base, type: 'SINGLE', nextRun: dialect.decodeDate(row.single_next_run) };
    case 'SCHEDULED':
      return { ...base, type: 'SCHEDULED', nextRun: dialect.decodeDate(row.scheduled_next_run), cronExpr: row.cron_expr ?? '' };
    default:
      return { ...base, type: 'QUEUE', queueName: row.queue_name ?? '', minBatchSize: Number(row.min_batch_size ?? 1) };
  }
}

export async function getTrigger(store: Store, id: string): Promise<Trigger> {
  const canonical = checkId('trigger id', id);
  const row = await SELECT_ALL(store).where('t.id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no trigger with id ${canonical}`);
  return decodeTrigger(store, row);
}

export async function getTriggerByName(store: Store, name: string): Promise<Trigger> {
  checkText(store.dialect, 'trigger name', name, 100);
  const row = await SELECT_ALL(store).where('t.trigger_name', '=', name).executeTakeFirst();
  if (!row) throw new NotFoundError(`no trigger named "${name}"`);
  return decodeTrigger(store, row);
}

/** All triggers, by name. */
export async function listTriggers(store: Store): Promise<Trigger[]> {
  const rows = await SELECT_ALL(store).orderBy('t.trigger_name').execute();
  return rows.map((row) => decodeTrigger(store, row));
}

/** Changes a trigger's user fields (its type stays). */
export async function updateTrigger(store: Store, id: string, trigger: NewTrigger): Promise<void> {
  const { dialect } = store;
  const current = await getTrigger(store, id);
  if (current.type !== trigger.type) throw new InputError(`a trigger's type cannot change (it is ${current.type}); delete it and create a new one`);
  const encodedId = dialect.encodeUuid(current.id);
  const base = baseValues(store, trigger);
  await assertNameFree(store, base.trigger_name, encodedId);
  const sub = subTableValues(store, trigger);
  await inTransaction(store, async ({ db: trx }) => {
    await trx
      .updateTable('Triggers')
      .set(base)
      .where('id', '=', encodedId)
      .execute()
      .catch((error: unknown) => {
        // MariaDB's claim guard cannot tell which columns a statement names: it refuses a write
        // that changes nothing on a Running trigger. This one names no status, so it changed nothing.
        if (claimGuardRefusal(error) === undefined) throw error;
      });
    if (trigger.type === 'SINGLE') await trx.updateTable('Single_Triggers').set({ next_run: sub.next_run }).where('id', '=', encodedId).execute();
    else if (trigger.type === 'SCHEDULED')
      await trx.updateTable('Scheduled_Triggers').set({ cron_expr: sub.cron_expr!, next_run: sub.next_run }).where('id', '=', encodedId).execute();
    else
      await trx.updateTable('Queue_Triggers').set({ queue_name: sub.queue_name!, min_batch_size: sub.min_batch_size! }).where('id', '=', encodedId).execute();
  });
}

/** Deletes the sub-table row first, then the trigger, in one transaction. */
export async function deleteTrigger(store: Store, id: string): Promise<void> {
  const { dialect } = store;
  const canonical = checkId('trigger id', id);
  const encodedId = dialect.encodeUuid(canonical);
  const deleted = await inTransaction(store, async ({ db: trx }) => {
    await trx.deleteFrom('Single_Triggers').where('id', '=', encodedId).execute();
    await trx.deleteFrom('Scheduled_Triggers').where('id', '=', encodedId).execute();
    await trx.deleteFrom('Queue_Triggers').where('id', '=', encodedId).execute();
    return trx.deleteFrom('Triggers').where('id', '=', encodedId).executeTakeFirst();
  });
  if (Number(deleted.numDeletedRows) === 0) throw new NotFoundError(`no trigger with id ${canonical}`);
}

/**
 * Moves a trigger to `to` only if its status is one of `from`. Returns true if this call made
 * the change: concurrent callers race on one conditional UPDATE and exactly one wins.
 */
export async function transitionTriggerStatus(
  store: Store,
  id: string,
  from: readonly TriggerStatus[] | 'any',
  to: TriggerStatus,
  extra: { lastRun?: Date } = {},
): Promise<boolean> {
  const { db, dialect } = store;
  const canonical = checkId('trigger id', id);
  checkEnum('trigger status', to, TRIGGER_STATUSES);
  // `IN ()` is a syntax error in SQL; from no status there is nothing to move.
  if (from !== 'any' && from.length === 0) return false;
  let query = db
    .updateTable('Triggers')
    .set({ process_status: to, ...(extra.lastRun ? { last_run: dialect.encodeDate(extra.lastRun) } : {}) })
    .where('id', '=', dialect.encodeUuid(canonical));
  // 'any' names no status: a PostgreSQL enum the Python migrations left without KILLING/KILLED
  // would refuse a list that mentions them.
  if (from !== 'any') query = query.where('process_status', 'in', [...from]);
  const result = await query.executeTakeFirst().catch(async (error: unknown) => {
    const refusal = claimGuardRefusal(error);
    if (refusal === undefined) throw error;
    // The guard (oo-013-claim-guard) names the trigger on every dialect but SQLite: say it here.
    const row = await db.selectFrom('Triggers').select(['trigger_name', 'process_status']).where('id', '=', dialect.encodeUuid(canonical)).executeTakeFirst().catch(() => undefined);
    throw new ClaimConflictError(row ? `claim guard: trigger "${row.trigger_name}" is ${row.process_status}: another Scheduler has it; a trigger becomes Running only from Idle` : refusal);
  });
  // Idle (enabled, or back from a run) may be due, Killing must reach the Scheduler running it:
  // the database's change tracking (oo-014) wakes the Schedulers for both, whoever writes.
  return Number(result.numUpdatedRows) === 1;
}

/** Sets a trigger's status whatever it was; unknown ids are an error. */
export async function setTriggerStatus(store: Store, id: string, status: TriggerStatus): Promise<void> {
  const changed = await transitionTriggerStatus(store, id, 'any', status);
  if (!changed) throw new NotFoundError(`no trigger with id ${checkId('trigger id', id)}`);
}

export async function setNextRun(store: Store, id: string, type: 'SINGLE' | 'SCHEDULED', nextRun: Date): Promise<void> {
  const { db, dialect } = store;
  const table = type === 'SINGLE' ? 'Single_Triggers' : 'Scheduled_Triggers';
  await db.updateTable(table).set({ next_run: dialect.encodeDate(nextRun) }).where('id', '=', dialect.encodeUuid(id)).execute();
}

/** What one poll of the trigger tables says: what is due now, and when the next timed trigger falls due. */
export interface TriggerPoll {
  /** Idle triggers due now, in the Scheduler's order (priority high first, then Single > Scheduled > Queue, then the earliest due) */
  due: Trigger[];
  /** the earliest next run after `at` and up to `until` among Idle single and scheduled triggers */
  nextTimedRun?: Date;
}

/** The poll's one statement: Idle timed triggers due by `horizon`, Idle queue triggers with work (see pollTriggers). */
export function pollStatement(store: Store, horizon: Date) {
  return prepared(pollUnion(store, horizon));
}

/**
 * What a Scheduler remembers between polls so that an idle one reads only the change counters
 * (see pollTriggers). Start with `{}`; forget it (a new `{}`) whenever the Scheduler may have
 * missed something: after a database outage, on resume.
 */
export interface ChangeWatch {
  /** the sum of the change counters (oo_queue_changes) when the trigger tables were last read */
  changes?: string;
  /** when they were last read (epoch ms) */
  readAt?: number;
  /** the earliest next run (epoch ms) of an Idle single or scheduled trigger then, if any: from a poll whose `until` reaches it, the tables are read again */
  timedAt?: number;
  /** the login may not read the counters (grants older than oo-014): every poll reads the trigger tables and probes every queue trigger */
  off?: boolean;
  /** which due triggers keep the reads going (default: all); one whitelisted for another machine need not */
  ours?: (trigger: Trigger) => boolean;
}

/**
 * Even with change tracking, the trigger tables are read this often: a safety net for tracking
 * triggers dropped while Schedulers run (the schema check finds them missing only at a
 * Scheduler's start). About 1% more per idle tick at a 6 s poll.
 */
export const FULL_POLL_EVERY_MS = 10 * 60_000;

/** The sum of the change counters, as text (each database types a SUM its own way). */
function changesSum(store: Store) {
  return store.db.selectFrom('oo_queue_changes').select(sql<string | number>`COALESCE(SUM(changes), 0)`.as('changes'));
}

/**
 * The earliest next run after `horizon` of an Idle single or scheduled trigger (through the
 * next_run indexes: each branch stops at its first Idle row).
 */
function laterTimedRun(store: Store, horizon: Date) {
  const { db, dialect } = store;
  const after = dialect.encodeDate(horizon);
  const single = db.selectFrom('Single_Triggers as n').innerJoin('Triggers as t', 't.id', 'n.id').select('n.next_run').where('t.process_status', '=', 'IDLE').where('n.next_run', '>', after);
  const scheduled = db.selectFrom('Scheduled_Triggers as n').innerJoin('Triggers as t', 't.id', 'n.id').select('n.next_run').where('t.process_status', '=', 'IDLE').where('n.next_run', '>', after);
  return db.selectFrom(single.orderBy('n.next_run').limit(1).as('a')).select('a.next_run').unionAll(db.selectFrom(scheduled.orderBy('n.next_run').limit(1).as('b')).select('b.next_run'));
}

/** `poll` with the change counters' sum and the later timed run on every row (and one row of nulls but those when it finds nothing). */
function withChanges(store: Store, poll: ReturnType<typeof pollUnion>, horizon: Date) {
  const later = store.db.selectFrom(laterTimedRun(store, horizon).as('l')).select((eb) => eb.fn.min('l.next_run').as('later'));
  return store.db
    .selectFrom(changesSum(store).as('w'))
    .crossJoin(later.as('x'))
    .leftJoin(poll.as('p'), (join) => join.onTrue())
    .selectAll('p')
    .select(['w.changes', 'x.later']);
}

type PolledRow = InferResult<ReturnType<typeof pollUnion>>[number];

/** What runPoll runs: the counters' sum alone, or a poll (with or without the sum). */
type PollStatement = Compilable<unknown> & Expression<unknown>;

/**
 * `poll` carrying the heartbeat of `machineName` (Dialect.carryHeartbeat), or undefined where the
 * dialect cannot carry it. When nothing is polled, its one row has every trigger column null.
 */
function carryBeat(store: Store, poll: PollStatement, machineName: string): CompiledQuery<PollRow & { beats: unknown }> | undefined {
  const carried = store.dialect.carryHeartbeat(poll, checkText(store.dialect, 'machine name', machineName, 100), store.dialect.encodeDate(now()));
  return carried && markPrepared(carried.$castTo<PollRow & { beats: unknown }>().compile(store.db));
}

/** Idle single and scheduled triggers due by `horizon` (through the next_run indexes). */
function timedUnion(store: Store, horizon: Date) {
  const upTo = store.dialect.encodeDate(horizon);
  const noRequest = sql<number>`0`.as('requested');
  const single = SELECT_ALL(store).select(noRequest).where('t.process_status', '=', 'IDLE').where('t.type', '=', 'SINGLE').where('s.next_run', '<=', upTo);
  const scheduled = SELECT_ALL(store).select(noRequest).where('t.process_status', '=', 'IDLE').where('t.type', '=', 'SCHEDULED').where('c.next_run', '<=', upTo);
  return single.unionAll(scheduled);
}

function pollUnion(store: Store, horizon: Date) {
  const { dialect } = store;
  const queue = SELECT_ALL(store)
    .select((eb) =>
      eb
        .case()
        .when(eb.exists(eb.selectFrom('oo_run_requests as r').select(sql<number>`1`.as('one')).whereRef('r.trigger_id', '=', 't.id')))
        .then(1)
        .else(0)
        .end()
        .as('requested'),
    )
    .where('t.process_status', '=', 'IDLE')
    .where('t.type', '=', 'QUEUE')
    .where((eb) =>
      eb.or([
        // A scalar subquery, not EXISTS: PostgreSQL drops an EXISTS's ORDER BY, the order that
        // keeps it on the index (src/db/dialects/queue-probe.ts).
        eb(dialect.newElementsSql(sql.ref<string>('q.queue_name'), 1), 'is not', null),
        eb.exists(eb.selectFrom('oo_run_requests as r').select(sql<number>`1`.as('one')).whereRef('r.trigger_id', '=', 't.id')),
      ]),
    );
  return timedUnion(store, horizon).unionAll(queue);
}

/**
 * The Scheduler's poll, in one statement served by indexes (prepared once per connection): Idle
 * single and scheduled triggers whose next run is at most `until` (through the next_run indexes
 * of oo-008-scale), and Idle queue triggers whose queue has a New element (one index probe each)
 * or that have a "run now" request. Those due by `at` are returned as due; the earliest later one
 * arms the Scheduler's timer. A queue trigger with min_batch_size > 1 is then checked by a count
 * that stops at min_batch_size, so no poll ever counts a whole queue. With `beatOf`, it also
 * writes that Scheduler's heartbeat, in the same statement where the dialect can carry it.
 *
 * With a `watch`, where the database tracks changes (oo-014 and oo-016,
 * dialects/change-tracking.ts), an idle poll reads only the sum of the change counters: the
 * trigger tables are read when that sum moved since they were last read, when a timed trigger
 * then known falls due by `until`, when a trigger found due has not started yet (it may be
 * blocked here, or lost to another Scheduler), and every FULL_POLL_EVERY_MS anyway. A poll that
 * finds the sum moved reads the tables at once, in a second statement.
 *
 * @example
 *   const { due, nextTimedRun } = await pollTriggers(store, new Date(), new Date(Date.now() + 6000));
 *   await pollTriggers(store, new Date(), new Date(Date.now() + 6000), 'PC-01'); // and beats
 *   const watch: ChangeWatch = {};
 *   await pollTriggers(store, new Date(), new Date(Date.now() + 6000), 'PC-01', watch); // each tick
 */
export async function pollTriggers(store: Store, at: Date, until: Date = at, beatOf?: string, watch?: ChangeWatch): Promise<TriggerPoll> {
  // "Now" as the database keeps a time (SQL Server: 1/300 s), in the SQL and in the code below
  // alike, so a trigger is due here exactly when the claim's `next_run <= ?` holds.
  at = store.dialect.roundDate(at);
  until = store.dialect.roundDate(until);
  const horizon = until < at ? at : until;
  const tracked = watch !== undefined && !watch.off && store.dialect.trackingTriggers.length > 0;
  const quiet = tracked && watch.changes !== undefined && Date.now() - (watch.readAt ?? 0) < FULL_POLL_EVERY_MS && (watch.timedAt === undefined || watch.timedAt > horizon.getTime());
  if (quiet) {
    const [row] = await runPoll(store, changesSum(store), beatOf);
    if (String(row?.changes) === watch.changes) return { due: [] };
    // Something changed since the last read: the trigger tables are read now, not a poll later.
    beatOf = undefined;
  }
  const rows = await runPoll(store, tracked ? withChanges(store, pollUnion(store, horizon), horizon) : pollUnion(store, horizon), beatOf);
  const polled = await dueOf(store, rows, at);
  if (tracked) {
    // A trigger found due keeps the reads going until it has started (here or elsewhere).
    const ours = watch.ours ?? (() => true);
    const later = rows[0]?.later;
    watch.changes = polled.due.some(ours) ? undefined : String(rows[0]?.changes);
    watch.readAt = Date.now();
    // A next run up to the horizon comes before any `later` one (which is after it).
    watch.timedAt = polled.nextTimedRun?.getTime() ?? (later === null || later === undefined ? undefined : store.dialect.decodeDate(later).getTime());
  }
  return polled;
}

type PollRow = Partial<PolledRow> & { beats?: unknown; changes?: unknown; later?: unknown };

/** Runs one poll statement, carrying the heartbeat of `beatOf` where the dialect can. */
async function runPoll(store: Store, statement: PollStatement, beatOf: string | undefined): Promise<PollRow[]> {
  const beating = beatOf === undefined ? undefined : carryBeat(store, statement, beatOf);
  if (beatOf !== undefined && beating === undefined) await heartbeat(store, beatOf);
  const rows = (await store.db.executeQuery(beating ?? (prepared(statement) as CompiledQuery<PollRow>))).rows;
  // The carried beat found no row (a first beat, or the row was deleted): the insert is heartbeat's.
  if (beatOf !== undefined && beating !== undefined && Number(rows[0]?.beats ?? 0) === 0) await heartbeat(store, beatOf);
  return rows;
}

/** The due triggers among a poll's rows, in the Scheduler's order, and the next timed run. */
async function dueOf(store: Store, rows: PollRow[], at: Date): Promise<TriggerPoll> {
  const due: Trigger[] = [];
  let nextTimedRun: Date | undefined;
  for (const row of rows) {
    if (row.id === null || row.id === undefined) continue; // the carried beat's row when nothing was polled
    const trigger = decodeTrigger(store, row as PolledRow);
    if (trigger.type === 'QUEUE') {
      if (Number(row.requested) === 1 || trigger.minBatchSize <= 1 || (await hasBatch(store, trigger.queueName, trigger.minBatchSize))) due.push(trigger);
    } else if (trigger.nextRun <= at) due.push(trigger);
    else if (nextTimedRun === undefined || trigger.nextRun < nextTimedRun) nextTimedRun = trigger.nextRun;
  }
  const typeRank: Record<TriggerType, number> = { SINGLE: 0, SCHEDULED: 1, QUEUE: 2 };
  const dueAt = (t: Trigger) => ('nextRun' in t ? t.nextRun.getTime() : 0);
  due.sort((a, b) => b.priority - a.priority || typeRank[a.type] - typeRank[b.type] || dueAt(a) - dueAt(b));
  return nextTimedRun === undefined ? { due } : { due, nextTimedRun };
}

/** Idle triggers that are due now (see pollTriggers). */
export async function listDueTriggers(store: Store, at: Date = now()): Promise<Trigger[]> {
  return (await pollTriggers(store, at)).due;
}

/** New elements of a queue, counted up to `cap` only, through the index (Dialect.newElementsSql). */
function newElementsUpTo({ db, dialect }: Store, queueName: string, cap: number) {
  return db.selectFrom(dialect.newElementsSql(queueName, cap).as('n')).select(sql<number>`count(*)`.as('n'));
}

/** The count of hasBatch, prepared: the poll runs it for every queue trigger with a batch size above 1 that has work. */
export function batchStatement(store: Store, queueName: string, minBatchSize: number) {
  return prepared(newElementsUpTo(store, queueName, minBatchSize));
}

/** Whether a queue holds at least `minBatchSize` New elements, without counting beyond that. */
async function hasBatch(store: Store, queueName: string, minBatchSize: number): Promise<boolean> {
  const row = await store.db.executeQuery(batchStatement(store, queueName, minBatchSize));
  return Number(row.rows[0]?.n ?? 0) >= minBatchSize;
}

/** What a claim needs to know of a trigger: a queue trigger's batch is re-checked on its queue. */
export type ClaimTarget = Pick<Trigger, 'id'> &
  ({ type: 'SINGLE' | 'SCHEDULED' } | Pick<Extract<Trigger, { type: 'QUEUE' }>, 'type' | 'queueName' | 'minBatchSize'>);

/**
 * The Scheduler's claim: Idle -> Running (and `last_run`) in one conditional UPDATE that also
 * re-checks that the trigger is still due, so a Scheduler acting on a stale list can never start
 * a run that another Scheduler already made (a scheduled trigger back in Idle has a later
 * next_run; a queue trigger needs its batch, or its "run now" request, again). The winner of a
 * queue trigger deletes its run request. Returns true if this call won the trigger.
 */
export async function claimTrigger(store: Store, trigger: ClaimTarget, at: Date = now()): Promise<boolean> {
  const { db, dialect } = store;
  const id = dialect.encodeUuid(checkId('trigger id', trigger.id));
  const stamp = dialect.encodeDate(dialect.roundDate(at));
  let query = db
    .updateTable('Triggers')
    .set({ process_status: 'RUNNING', last_run: stamp })
    .where('id', '=', id)
    .where('process_status', '=', 'IDLE');
  if (trigger.type === 'SINGLE') {
    query = query.where('id', 'in', db.selectFrom('Single_Triggers').select('id').where('id', '=', id).where('next_run', '<=', stamp));
  } else if (trigger.type === 'SCHEDULED') {
    query = query.where('id', 'in', db.selectFrom('Scheduled_Triggers').select('id').where('id', '=', id).where('next_run', '<=', stamp));
  } else if (trigger.type === 'QUEUE') {
    // The batch is counted on the queue the caller saw, up to the batch size it saw; the trigger
    // must still name that queue. A batch size raised meanwhile is then not reached (the count
    // stops below it), one lowered is: both right.
    const queueName = checkText(store.dialect, 'queue name', trigger.queueName, 100);
    const cap = checkInteger('min batch size', trigger.minBatchSize, 1, 2_147_483_647);
    const batch = db
      .selectFrom('Queue_Triggers as q')
      .select('q.id')
      .where('q.id', '=', id)
      .where('q.queue_name', '=', queueName)
      .where('q.min_batch_size', '<=', newElementsUpTo(store, queueName, cap));
    const requested = db.selectFrom('oo_run_requests').select('trigger_id').where('trigger_id', '=', id);
    query = query.where((eb) => eb.or([eb('id', 'in', batch), eb('id', 'in', requested)]));
  }
  const result = await query.executeTakeFirst();
  const won = Number(result.numUpdatedRows) === 1;
  // The conditional UPDATE above decided; only its winner consumes the "run now" request. A new
  // request cannot slip in meanwhile: run now refuses a Running trigger.
  if (won && trigger.type === 'QUEUE') await db.deleteFrom('oo_run_requests').where('trigger_id', '=', id).execute();
  return won;
}

/** The current status of each of the given triggers (deleted ones are absent from the map). */
export async function getTriggerStatuses(store: Store, ids: readonly string[]): Promise<Map<string, TriggerStatus>> {
  const { db, dialect } = store;
  const statuses = new Map<string, TriggerStatus>();
  if (ids.length === 0) return statuses;
  const encoded = ids.map((id) => dialect.encodeUuid(checkId('trigger id', id)));
  const rows = await db.selectFrom('Triggers').select(['id', 'process_status']).where('id', 'in', encoded).execute();
  for (const row of rows) statuses.set(dialect.decodeUuid(row.id), row.process_status);
  return statuses;
}

