/** Schedulers: one heartbeat row per worker machine. */
import { now } from '../../time/clock.js';
import { prepared } from '../dialects/prepared.js';
import type { Store } from '../open.js';
import { checkText } from './validate.js';

export interface SchedulerRow {
  machineName: string;
  lastUpdate: Date;
  latestTrigger: string | null;
  latestTriggerTime: Date | null;
}

/** Records that a Scheduler is alive (insert on its first beat, update after). */
export async function heartbeat({ db, dialect }: Store, machineName: string): Promise<void> {
  checkText(dialect, 'machine name', machineName, 100);
  const stamp = dialect.encodeDate(now());
  // Every Scheduler runs this once a poll interval: prepared once per connection.
  const result = await db.executeQuery(prepared(db.updateTable('Schedulers').set({ last_update: stamp }).where('machine_name', '=', machineName)));
  if (Number(result.numAffectedRows ?? 0) > 0) return;
  try {
    await db.insertInto('Schedulers').values({ machine_name: machineName, last_update: stamp, latest_trigger: null, latest_trigger_time: null }).execute();
  } catch (error) {
    // Another process with the same machine name inserted first: its row serves us too.
    const again = await db.updateTable('Schedulers').set({ last_update: stamp }).where('machine_name', '=', machineName).executeTakeFirst();
    if (Number(again.numUpdatedRows) === 0) throw error;
  }
}

export async function recordLatestTrigger({ db, dialect }: Store, machineName: string, triggerName: string): Promise<void> {
  await db
    .updateTable('Schedulers')
    .set({ latest_trigger: triggerName.slice(0, 100), latest_trigger_time: dialect.encodeDate(now()) })
    .where('machine_name', '=', machineName)
    .execute();
}

export async function listSchedulers({ db, dialect }: Store): Promise<SchedulerRow[]> {
  const rows = await db.selectFrom('Schedulers').selectAll().orderBy('machine_name').execute();
  return rows.map((row) => ({
    machineName: row.machine_name,
    lastUpdate: dialect.decodeDate(row.last_update),
    latestTrigger: row.latest_trigger ?? null,
    latestTriggerTime: row.latest_trigger_time === null || row.latest_trigger_time === undefined ? null : dialect.decodeDate(row.latest_trigger_time),
  }));
}
