/**
 * Change tracking (our migrations oo-014-change-tracking and oo-016-timed-tracking): database
 * triggers that every writer fires, ours, the Python tools' and plain SQL alike, so that an idle
 * Scheduler learns whether anything changed with one read of one small table, instead of
 * reading the trigger tables and probing every queue trigger's queue (docs/scheduler.md).
 *
 * Each change that can make a trigger due sooner adds one to a counter in `oo_queue_changes`: a
 * New element (inserted, or set back to New) and a queue trigger created or pointed at a queue
 * count on the queue's row; a single or scheduled trigger's row written (created, next run
 * moved) counts on the row of TIMED_KEY; a trigger that is Idle after an update (a run ended, it
 * was enabled or edited) and a "run now" request count on its queue's row, or TIMED_KEY's. A
 * counter row is keyed by that and a slot of the writing connection (its id modulo
 * TRACKING_SLOTS), so writers on different connections rarely share a row lock, and claims of
 * queue elements (New -> In progress) never touch the table. Counters only grow (modulo
 * COUNTER_WRAP), so their sum moves whenever a counter does: the Scheduler reads that one sum per
 * idle tick, and the trigger tables only when it moved or a timed trigger it knows of falls due.
 *
 * On PostgreSQL the same triggers send the Schedulers' wake-up (pg_notify on the channel they
 * LISTEN on), so a change made by any writer starts its trigger at once. SQL Server and Oracle
 * have no tracking (their Scheduler reads the trigger tables and probes every queue trigger on
 * each poll).
 */

/** The table of counters. */
export const QUEUE_CHANGES_TABLE = 'oo_queue_changes';
/** Slots per queue: concurrent writers to one queue mostly bump different rows. */
export const TRACKING_SLOTS = 4;
/** Counters wrap below 2^31, so a 32-bit integer column holds them on every dialect. */
const COUNTER_WRAP = 1_000_000_000;
/** The PostgreSQL channel the Schedulers LISTEN on (db/listen.ts). */
export const WAKE_CHANNEL = 'openorchestrator_wake';

/**
 * The counter key of changes to single and scheduled triggers. A queue may be named '' too; it
 * then shares the row, which only makes its changes count twice in the one sum that is read.
 */
export const TIMED_KEY = '';

/** Trigger names on every dialect that tracks; PostgreSQL adds TRACKING_NOTIFY_ONLY. */
export const TRACKING_TRIGGERS = [
  'oo_track_queues_insert',
  'oo_track_queues_update',
  'oo_track_triggers_update',
  'oo_track_queue_triggers_insert',
  'oo_track_queue_triggers_update',
  'oo_track_run_requests_insert',
  'oo_track_single_triggers_insert',
  'oo_track_single_triggers_update',
  'oo_track_scheduled_triggers_insert',
  'oo_track_scheduled_triggers_update',
] as const;
/** PostgreSQL only, a wake-up without a counter: a trigger created (its sub-table's row counts). */
const TRACKING_NOTIFY_ONLY = ['oo_track_triggers_insert'];
/** Triggers of oo-014 that oo-016 replaced (PostgreSQL's notify-only ones of the timed tables): dropped when the tracking is made. */
const RETIRED_TRIGGERS: { name: string; table: string }[] = [
  { name: 'oo_track_single_triggers', table: 'Single_Triggers' },
  { name: 'oo_track_scheduled_triggers', table: 'Scheduled_Triggers' },
];

/** The trigger names a dialect's tracking consists of (empty: the dialect does not track). */
export function trackingTriggerNames(dialect: 'postgres' | 'mysql' | 'sqlite' | 'mssql' | 'oracle'): readonly string[] {
  if (dialect === 'postgres') return [...TRACKING_TRIGGERS, ...TRACKING_NOTIFY_ONLY];
  if (dialect === 'mysql' || dialect === 'sqlite') return TRACKING_TRIGGERS;
  return [];
}

/**
 * PostgreSQL: plpgsql functions and their triggers. The functions are SECURITY DEFINER (owned by
 * the login that ran `upgrade`), so a robot login needs no right on oo_queue_changes; the
 * search_path is pinned, as such a function must. Inserts are tracked per statement through a
 * transition table, so a bulk insert bumps each queue once; updates per row behind a WHEN that
 * PostgreSQL tests without calling the function, so a claim costs nothing more.
 */
export function postgresTrackingSql(): string[] {
  const bump = (select: string) => `INSERT INTO oo_queue_changes (queue_name, slot, changes)
    ${select}
    ON CONFLICT (queue_name, slot) DO UPDATE SET changes = (oo_queue_changes.changes + 1) % ${COUNTER_WRAP}`;
  const slot = `pg_backend_pid() % ${TRACKING_SLOTS}`;
  const fn = (name: string, body: string) => `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $oo$
BEGIN
${body}
  RETURN NULL;
END
$oo$`;
  const notify = (payload: string) => `  PERFORM pg_notify('${WAKE_CHANNEL}', '${payload}');`;
  return [
    fn(
      'oo_track_new_elements',
      `  -- Sorted, so two bulk inserts into the same queues take the counter rows in one order.
  ${bump(`SELECT n.queue_name, ${slot}, 1 FROM (SELECT DISTINCT queue_name FROM oo_track_new WHERE status = 'NEW') n ORDER BY n.queue_name`)};
  IF FOUND THEN
  ${notify('queue')}
  END IF;`,
    ),
    fn('oo_track_new_element', `  ${bump(`VALUES (NEW.queue_name, ${slot}, 1)`)};\n${notify('queue')}`),
    fn(
      'oo_track_trigger',
      `  IF TG_OP = 'UPDATE' AND NEW.process_status = 'IDLE' THEN
    ${bump(`VALUES (${keyOf('NEW.id', '"Queue_Triggers"')}, ${slot}, 1)`)};
  END IF;
${notify('trigger')}`,
    ),
    fn('oo_track_queue_trigger', `  ${bump(`VALUES (NEW.queue_name, ${slot}, 1)`)};\n${notify('trigger')}`),
    fn('oo_track_timed_trigger', `  ${bump(`VALUES ('${TIMED_KEY}', ${slot}, 1)`)};\n${notify('trigger')}`),
    fn('oo_track_run_request', `  ${bump(`VALUES (${keyOf('NEW.trigger_id', '"Queue_Triggers"')}, ${slot}, 1)`)};\n${notify('trigger')}`),
    ...dropAll('postgres'),
    `CREATE TRIGGER oo_track_queues_insert AFTER INSERT ON "Queues" REFERENCING NEW TABLE AS oo_track_new FOR EACH STATEMENT EXECUTE FUNCTION oo_track_new_elements()`,
    `CREATE TRIGGER oo_track_queues_update AFTER UPDATE ON "Queues" FOR EACH ROW WHEN (NEW.status = 'NEW' AND (OLD.status <> 'NEW' OR OLD.queue_name <> NEW.queue_name)) EXECUTE FUNCTION oo_track_new_element()`,
    // Idle (a run ended, enabled, edited) may be due; Killing must reach the Scheduler running it.
    `CREATE TRIGGER oo_track_triggers_update AFTER UPDATE ON "Triggers" FOR EACH ROW WHEN (NEW.process_status IN ('IDLE', 'KILLING')) EXECUTE FUNCTION oo_track_trigger()`,
    `CREATE TRIGGER oo_track_triggers_insert AFTER INSERT ON "Triggers" FOR EACH ROW EXECUTE FUNCTION oo_track_trigger()`,
    `CREATE TRIGGER oo_track_queue_triggers_insert AFTER INSERT ON "Queue_Triggers" FOR EACH ROW EXECUTE FUNCTION oo_track_queue_trigger()`,
    `CREATE TRIGGER oo_track_queue_triggers_update AFTER UPDATE ON "Queue_Triggers" FOR EACH ROW EXECUTE FUNCTION oo_track_queue_trigger()`,
    `CREATE TRIGGER oo_track_run_requests_insert AFTER INSERT ON oo_run_requests FOR EACH ROW EXECUTE FUNCTION oo_track_run_request()`,
    ...timedTriggers((table) => `"${table}"`, 'EXECUTE FUNCTION oo_track_timed_trigger()'),
  ];
}

/**
 * MySQL/MariaDB: row triggers only; each runs with its definer's rights (the login that ran
 * `upgrade`). A claim's update passes the first IF and writes nothing.
 */
export function mysqlTrackingSql(): string[] {
  const bump = (select: string) =>
    `INSERT INTO oo_queue_changes (queue_name, slot, changes) ${select} ON DUPLICATE KEY UPDATE changes = MOD(oo_queue_changes.changes + 1, ${COUNTER_WRAP})`;
  const slot = `CONNECTION_ID() % ${TRACKING_SLOTS}`;
  const values = `SELECT NEW.queue_name, ${slot}, 1 FROM DUAL`;
  return [
    ...dropAll('mysql'),
    `CREATE TRIGGER oo_track_queues_insert AFTER INSERT ON \`Queues\` FOR EACH ROW BEGIN IF NEW.status = 'NEW' THEN ${bump(values)}; END IF; END`,
    `CREATE TRIGGER oo_track_queues_update AFTER UPDATE ON \`Queues\` FOR EACH ROW BEGIN IF NEW.status = 'NEW' AND (OLD.status <> 'NEW' OR OLD.queue_name <> NEW.queue_name) THEN ${bump(values)}; END IF; END`,
    `CREATE TRIGGER oo_track_triggers_update AFTER UPDATE ON \`Triggers\` FOR EACH ROW BEGIN IF NEW.process_status = 'IDLE' THEN ${bump(`SELECT ${keyOf('NEW.id', '`Queue_Triggers`')}, ${slot}, 1 FROM DUAL`)}; END IF; END`,
    `CREATE TRIGGER oo_track_queue_triggers_insert AFTER INSERT ON \`Queue_Triggers\` FOR EACH ROW BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_update AFTER UPDATE ON \`Queue_Triggers\` FOR EACH ROW BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_run_requests_insert AFTER INSERT ON oo_run_requests FOR EACH ROW BEGIN ${bump(`SELECT ${keyOf('NEW.trigger_id', '`Queue_Triggers`')}, ${slot}, 1 FROM DUAL`)}; END`,
    ...timedTriggers((table) => `\`${table}\``, `BEGIN ${bump(`SELECT '${TIMED_KEY}', ${slot}, 1 FROM DUAL`)}; END`),
  ];
}

/** SQLite: one writer at a time, so one slot. */
export function sqliteTrackingSql(): string[] {
  const bump = (select: string) => `INSERT INTO oo_queue_changes (queue_name, slot, changes) ${select} ON CONFLICT (queue_name, slot) DO UPDATE SET changes = (changes + 1) % ${COUNTER_WRAP}`;
  // An upsert's SELECT needs a WHERE (SQLite's parser would read ON as a join's).
  const values = `SELECT NEW.queue_name, 0, 1 WHERE true`;
  return [
    ...dropAll('sqlite'),
    `CREATE TRIGGER oo_track_queues_insert AFTER INSERT ON "Queues" WHEN NEW.status = 'NEW' BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_queues_update AFTER UPDATE ON "Queues" WHEN NEW.status = 'NEW' AND (OLD.status <> 'NEW' OR OLD.queue_name <> NEW.queue_name) BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_triggers_update AFTER UPDATE ON "Triggers" WHEN NEW.process_status = 'IDLE' BEGIN ${bump(`SELECT ${keyOf('NEW.id', '"Queue_Triggers"')}, 0, 1 WHERE true`)}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_insert AFTER INSERT ON "Queue_Triggers" BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_update AFTER UPDATE ON "Queue_Triggers" BEGIN ${bump(values)}; END`,
    `CREATE TRIGGER oo_track_run_requests_insert AFTER INSERT ON oo_run_requests BEGIN ${bump(`SELECT ${keyOf('NEW.trigger_id', '"Queue_Triggers"')}, 0, 1 WHERE true`)}; END`,
    ...timedTriggers((table) => `"${table}"`, `BEGIN ${bump(`SELECT '${TIMED_KEY}', 0, 1 WHERE true`)}; END`),
  ];
}

/** The counter key of the trigger `id` names: its queue for a queue trigger, TIMED_KEY otherwise. */
function keyOf(id: string, queueTriggers: string): string {
  return `COALESCE((SELECT q.queue_name FROM ${queueTriggers} q WHERE q.id = ${id}), '${TIMED_KEY}')`;
}

/** A row trigger per timed table and event, each running `body` (PostgreSQL: its EXECUTE FUNCTION). */
function timedTriggers(quote: (table: string) => string, body: string): string[] {
  return ['Single_Triggers', 'Scheduled_Triggers'].flatMap((table) =>
    ['insert', 'update'].map((event) => `CREATE TRIGGER oo_track_${table.toLowerCase()}_${event} AFTER ${event.toUpperCase()} ON ${quote(table)} FOR EACH ROW ${body}`),
  );
}

const TRIGGER_TABLE: Record<string, string> = {
  oo_track_queues_insert: 'Queues',
  oo_track_queues_update: 'Queues',
  oo_track_triggers_update: 'Triggers',
  oo_track_triggers_insert: 'Triggers',
  oo_track_queue_triggers_insert: 'Queue_Triggers',
  oo_track_queue_triggers_update: 'Queue_Triggers',
  oo_track_run_requests_insert: 'oo_run_requests',
  oo_track_single_triggers_insert: 'Single_Triggers',
  oo_track_single_triggers_update: 'Single_Triggers',
  oo_track_scheduled_triggers_insert: 'Scheduled_Triggers',
  oo_track_scheduled_triggers_update: 'Scheduled_Triggers',
};

/** Drops whatever of the tracking triggers exists, so putting back a missing one is repeatable. */
function dropAll(dialect: 'postgres' | 'mysql' | 'sqlite'): string[] {
  const all = [...trackingTriggerNames(dialect).map((name) => ({ name, table: TRIGGER_TABLE[name]! })), ...(dialect === 'postgres' ? RETIRED_TRIGGERS : [])];
  return all.map(({ name, table }) => (dialect === 'postgres' ? `DROP TRIGGER IF EXISTS ${name} ON "${table}"` : `DROP TRIGGER IF EXISTS ${name}`));
}
