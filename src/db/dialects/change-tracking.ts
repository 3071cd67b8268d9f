/**
 * Change tracking (our migrations oo-014-change-tracking, oo-016-timed-tracking and
 * oo-017-slot-counters): database triggers that every writer fires, ours, the Python tools' and
 * plain SQL alike, so that an idle Scheduler learns whether anything changed with one read of one
 * small table, instead of reading the trigger tables and probing every queue trigger's queue
 * (docs/scheduler.md).
 *
 * Each change that can make a trigger due sooner adds one to a counter in `oo_queue_changes`: a
 * New element (inserted, or set back to New), a queue trigger created or pointed at a queue, a
 * single or scheduled trigger's row written (created, next run moved), a trigger that is Idle
 * after an update (a run ended, it was enabled or edited) and a "run now" request. The counter
 * is the writing connection's: its id modulo TRACKING_SLOTS picks the row (key SLOT_KEY), so the
 * table never has more than TRACKING_SLOTS rows, whatever the number of queues and triggers, and
 * the sum the Scheduler reads costs the same for a team with 5 queues or 5,000. Writers on
 * different connections rarely share a row lock, a transaction takes at most one counter row (so
 * two can no longer deadlock on the counters alone), and claims of queue elements (New -> In
 * progress) never touch the table. Counters only grow (modulo COUNTER_WRAP), so their sum moves
 * whenever a counter does: the Scheduler reads that one sum per idle tick, and the trigger
 * tables only when it moved or a timed trigger it knows of falls due.
 *
 * (oo-014 and oo-016 kept a counter per queue and slot: the table, and the idle tick's cost,
 * grew with every queue that ever had an element. The column queue_name stays, always SLOT_KEY,
 * so that Schedulers of that version, which read the same sum, keep working during an upgrade.)
 *
 * On PostgreSQL the same triggers send the Schedulers' wake-up (pg_notify on the channel they
 * LISTEN on), so a change made by any writer starts its trigger at once. SQL Server and Oracle
 * have no tracking (their Scheduler reads the trigger tables and probes every queue trigger on
 * each poll).
 */

/** The table of counters. */
export const QUEUE_CHANGES_TABLE = 'oo_queue_changes';
/** Counter rows: writers on different connections rarely share one (a row lock held to commit). */
export const TRACKING_SLOTS = 64;
/** The queue_name of every counter row since oo-017 (rows with another key are oo-014's, deleted by the upgrade). */
export const SLOT_KEY = '';
/** Counters wrap below 2^31, so a 32-bit integer column holds them on every dialect. */
const COUNTER_WRAP = 1_000_000_000;
/** The PostgreSQL channel the Schedulers LISTEN on (db/listen.ts). */
export const WAKE_CHANNEL = 'openorchestrator_wake';

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
 * transition table, so a bulk insert bumps once; updates per row behind a WHEN that PostgreSQL
 * tests without calling the function, so a claim costs nothing more.
 */
export function postgresTrackingSql(): string[] {
  const bump = `INSERT INTO oo_queue_changes (queue_name, slot, changes) VALUES ('${SLOT_KEY}', pg_backend_pid() % ${TRACKING_SLOTS}, 1)
    ON CONFLICT (queue_name, slot) DO UPDATE SET changes = (oo_queue_changes.changes + 1) % ${COUNTER_WRAP}`;
  const fn = (name: string, body: string) => `CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $oo$
BEGIN
${body}
  RETURN NULL;
END
$oo$`;
  const notify = (payload: string) => `  PERFORM pg_notify('${WAKE_CHANNEL}', '${payload}');`;
  const counted = (payload: string) => `  ${bump};\n${notify(payload)}`;
  return [
    fn(
      'oo_track_new_elements',
      `  IF EXISTS (SELECT 1 FROM oo_track_new WHERE status = 'NEW') THEN
${counted('queue')}
  END IF;`,
    ),
    fn('oo_track_new_element', counted('queue')),
    fn(
      'oo_track_trigger',
      `  IF TG_OP = 'UPDATE' AND NEW.process_status = 'IDLE' THEN
    ${bump};
  END IF;
${notify('trigger')}`,
    ),
    fn('oo_track_queue_trigger', counted('trigger')),
    fn('oo_track_timed_trigger', counted('trigger')),
    fn('oo_track_run_request', counted('trigger')),
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
  const bump = `INSERT INTO oo_queue_changes (queue_name, slot, changes) VALUES ('${SLOT_KEY}', CONNECTION_ID() % ${TRACKING_SLOTS}, 1) ON DUPLICATE KEY UPDATE changes = MOD(oo_queue_changes.changes + 1, ${COUNTER_WRAP})`;
  return [
    ...dropAll('mysql'),
    `CREATE TRIGGER oo_track_queues_insert AFTER INSERT ON \`Queues\` FOR EACH ROW BEGIN IF NEW.status = 'NEW' THEN ${bump}; END IF; END`,
    `CREATE TRIGGER oo_track_queues_update AFTER UPDATE ON \`Queues\` FOR EACH ROW BEGIN IF NEW.status = 'NEW' AND (OLD.status <> 'NEW' OR OLD.queue_name <> NEW.queue_name) THEN ${bump}; END IF; END`,
    `CREATE TRIGGER oo_track_triggers_update AFTER UPDATE ON \`Triggers\` FOR EACH ROW BEGIN IF NEW.process_status = 'IDLE' THEN ${bump}; END IF; END`,
    `CREATE TRIGGER oo_track_queue_triggers_insert AFTER INSERT ON \`Queue_Triggers\` FOR EACH ROW BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_update AFTER UPDATE ON \`Queue_Triggers\` FOR EACH ROW BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_run_requests_insert AFTER INSERT ON oo_run_requests FOR EACH ROW BEGIN ${bump}; END`,
    ...timedTriggers((table) => `\`${table}\``, `BEGIN ${bump}; END`),
  ];
}

/** SQLite: one writer at a time, so one counter row. */
export function sqliteTrackingSql(): string[] {
  const bump = `INSERT INTO oo_queue_changes (queue_name, slot, changes) VALUES ('${SLOT_KEY}', 0, 1) ON CONFLICT (queue_name, slot) DO UPDATE SET changes = (changes + 1) % ${COUNTER_WRAP}`;
  return [
    ...dropAll('sqlite'),
    `CREATE TRIGGER oo_track_queues_insert AFTER INSERT ON "Queues" WHEN NEW.status = 'NEW' BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_queues_update AFTER UPDATE ON "Queues" WHEN NEW.status = 'NEW' AND (OLD.status <> 'NEW' OR OLD.queue_name <> NEW.queue_name) BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_triggers_update AFTER UPDATE ON "Triggers" WHEN NEW.process_status = 'IDLE' BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_insert AFTER INSERT ON "Queue_Triggers" BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_queue_triggers_update AFTER UPDATE ON "Queue_Triggers" BEGIN ${bump}; END`,
    `CREATE TRIGGER oo_track_run_requests_insert AFTER INSERT ON oo_run_requests BEGIN ${bump}; END`,
    ...timedTriggers((table) => `"${table}"`, `BEGIN ${bump}; END`),
  ];
}

/** oo-017: counter rows of oo-014's keys (per queue) are no longer bumped; their removal moves the sum once. */
export const RETIRED_COUNTERS_SQL = `DELETE FROM oo_queue_changes WHERE queue_name <> '${SLOT_KEY}'`;

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
