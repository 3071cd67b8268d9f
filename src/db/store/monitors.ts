/**
 * Monitors' heartbeats (oo_monitors): each running monitor beats like a Scheduler does, so the
 * Orchestrator can tell whether anything evaluates the alert rules. A monitor that stops cleanly
 * removes its row; one that died stays, silent.
 */
import { now } from '../../time/clock.js';
import type { Store } from '../open.js';
import { checkInteger, checkText } from './validate.js';

export interface MonitorRow {
  name: string;
  startedAt: Date;
  lastBeat: Date;
  intervalSeconds: number;
}

/** Records that the monitor `name` is alive (insert on its first beat, update after). */
export async function monitorBeat({ db, dialect }: Store, name: string, intervalSeconds: number, startedAt: Date): Promise<void> {
  checkText(dialect, 'monitor name', name, 100);
  const interval = checkInteger('monitor interval', Math.max(1, Math.round(intervalSeconds)), 1, 2_147_483_647);
  const stamp = dialect.encodeDate(now());
  const update = () => db.updateTable('oo_monitors').set({ last_beat: stamp, interval_seconds: interval }).where('name', '=', name).executeTakeFirst();
  if (Number((await update()).numUpdatedRows) > 0) return;
  try {
    await db.insertInto('oo_monitors').values({ name, started_at: dialect.encodeDate(startedAt), last_beat: stamp, interval_seconds: interval }).execute();
  } catch (error) {
    // Another monitor of the same name inserted first: its row serves us too.
    if (Number((await update()).numUpdatedRows) === 0) throw error;
  }
}

/** A monitor that stopped cleanly: nothing is missing when it is gone. */
export async function removeMonitor({ db, dialect }: Store, name: string): Promise<void> {
  await db.deleteFrom('oo_monitors').where('name', '=', checkText(dialect, 'monitor name', name, 100)).execute();
}

export async function listMonitors({ db, dialect }: Store): Promise<MonitorRow[]> {
  const rows = await db.selectFrom('oo_monitors').selectAll().orderBy('name').execute();
  return rows.map((row) => ({ name: row.name, startedAt: dialect.decodeDate(row.started_at), lastBeat: dialect.decodeDate(row.last_beat), intervalSeconds: Number(row.interval_seconds) }));
}

/**
 * Alive: beat within three of its intervals, and at least within the minute a Scheduler gets
 * (a monitor beats at the start of each pass, and a pass may take a while).
 */
export function monitorAlive(monitor: MonitorRow, at: Date = now()): boolean {
  return at.getTime() - monitor.lastBeat.getTime() <= Math.max(60, 3 * monitor.intervalSeconds) * 1000;
}
