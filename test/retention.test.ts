/**
 * Retention on live SQLite, PostgreSQL and MariaDB: the monitor's purge removes exactly the rows
 * older than each period (logs, jobs, finished queue elements per queue and for every other
 * queue, element history, cleared incidents with their notifications) while robots log, claim
 * and finish elements at the same time; what must stay stays (running jobs, open elements, a
 * Failed element waiting for its retry, open incidents, an incident with a notification still to
 * send); the archive holds exactly the rows deleted. Also: a batch whose rows changed under it
 * deletes nothing, the API edits the periods, the dashboard shows each table's size and oldest
 * row, and an archive a crash left unfinished is repaired.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import { newId } from '../src/db/dialects/encoding.js';
import type { Store } from '../src/db/open.js';
import { appendJobOutput } from '../src/db/store/job-output.js';
import { deleteExpiredBatch, saveRetention, selectExpiredBatch, type PurgeWindow } from '../src/db/store/retention.js';
import { recoverArchives } from '../src/monitor/archive.js';
import { Monitor } from '../src/monitor/monitor.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import { createConsoleLog } from '../src/scheduler/console-log.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const quiet = createConsoleLog({ write: () => undefined });
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(Date.now() - days * DAY);

/** Every line of a gzip JSON-lines archive. */
function readArchive(path: string): Record<string, unknown>[] {
  return gunzipSync(readFileSync(path))
    .toString('utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

async function ids(store: Store, table: 'Logs' | 'Jobs' | 'Queues' | 'oo_element_events' | 'oo_alert_incidents' | 'oo_alert_notifications' | 'oo_element_attempts' | 'oo_job_output'): Promise<Set<string>> {
  const column = table === 'oo_element_attempts' ? 'element_id' : table === 'oo_job_output' ? 'job_id' : 'id';
  const rows = (await store.db.selectFrom(table).select(column).execute()) as Record<string, unknown>[];
  return new Set(rows.map((row) => store.dialect.decodeUuid(row[column])));
}

describe.each(LIVE_DIALECTS)('retention on %s', (dialect: LiveDialect) => {
  let live: TestStore;
  let store: Store;
  let archiveDir: string;
  const key = generateKey();
  const enc = (date: Date) => store.dialect.encodeDate(date);
  const uuid = (id: string) => store.dialect.encodeUuid(id);

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
    archiveDir = mkdtempSync(join(tmpdir(), 'oo-archive-'));
  }, 60_000);
  afterAll(async () => {
    await live?.close();
    rmSync(archiveDir, { recursive: true, force: true });
  });

  /** Logs at `days` ago, in multi-row inserts; returns their ids. */
  async function seedLogs(count: number, days: (i: number) => number, processName: string): Promise<string[]> {
    const rows = Array.from({ length: count }, (_, i) => ({
      id: newId(),
      log_time: enc(daysAgo(days(i))),
      log_level: 'INFO' as const,
      process_name: processName,
      log_message: `old message ${i}`,
      job_id: null,
    }));
    for (let i = 0; i < rows.length; i += 500) {
      await store.db.insertInto('Logs').values(rows.slice(i, i + 500).map((row) => ({ ...row, id: uuid(row.id) }))).execute();
    }
    return rows.map((row) => row.id);
  }

  async function seedJob(status: 'RUNNING' | 'DONE' | 'FAILED' | 'KILLED', startDays: number, endDays: number | null): Promise<string> {
    const id = newId();
    await store.db
      .insertInto('Jobs')
      .values({ id: uuid(id), process_name: 'old-process', scheduler_name: 'PC1', start_time: enc(daysAgo(startDays)), end_time: endDays === null ? null : enc(daysAgo(endDays)), status, trigger_id: null })
      .execute();
    return id;
  }

  async function seedElement(queueName: string, status: 'NEW' | 'IN_PROGRESS' | 'DONE' | 'FAILED' | 'ABANDONED', endDays: number | null, createdDays = 60): Promise<string> {
    const id = newId();
    await store.db
      .insertInto('Queues')
      .values({
        id: uuid(id),
        queue_name: queueName,
        status,
        data: '{"n": 1}',
        reference: `ref-${id.slice(0, 8)}`,
        created_date: enc(daysAgo(createdDays)),
        start_date: status === 'NEW' ? null : enc(daysAgo(createdDays - 1)),
        end_date: endDays === null ? null : enc(daysAgo(endDays)),
        message: null,
        created_by: 'seed',
      })
      .execute();
    return id;
  }

  async function seedAttempts(elementId: string, queueName: string, state: 'WAITING' | 'EXHAUSTED'): Promise<void> {
    await store.db
      .insertInto('oo_element_attempts')
      .values({ element_id: uuid(elementId), queue_name: queueName, attempt: 1, state, retry_at: state === 'WAITING' ? enc(daysAgo(-1)) : null, last_error: 'boom', changed_at: enc(daysAgo(20)) })
      .execute();
  }

  async function seedEvent(elementId: string, days: number): Promise<string> {
    const id = newId();
    await store.db
      .insertInto('oo_element_events')
      .values({ id: uuid(id), element_id: uuid(elementId), queue_name: 'q', attempt: 1, event: 'FAILED', message: 'boom', actor: 'robot', event_at: enc(daysAgo(days)) })
      .execute();
    return id;
  }

  async function seedIncident(state: 'OPEN' | 'CLEARED', clearedDays: number | null, notification: 'SENT' | 'PENDING'): Promise<{ incident: string; notification: string }> {
    const incident = newId();
    const note = newId();
    await store.db
      .insertInto('oo_alert_incidents')
      .values({
        id: uuid(incident),
        rule_id: uuid(newId()),
        incident_key: 'k',
        open_key: `r|k|${incident}`,
        state,
        subject: 'a queue had a backlog',
        detail: null,
        opened_at: enc(daysAgo(40)),
        cleared_at: clearedDays === null ? null : enc(daysAgo(clearedDays)),
      })
      .execute();
    await store.db
      .insertInto('oo_alert_notifications')
      .values({
        id: uuid(note),
        incident_id: uuid(incident),
        channel_id: uuid(newId()),
        event: 'CLEARED',
        status: notification,
        tries: 1,
        next_try_at: enc(daysAgo(clearedDays ?? 0)),
        claimed_by: null,
        claimed_until: null,
        sent_at: notification === 'SENT' ? enc(daysAgo(clearedDays ?? 0)) : null,
        last_error: null,
        created_at: enc(daysAgo(clearedDays ?? 0)),
      })
      .execute();
    return { incident, notification: note };
  }

  it('purges exactly what is older than each period while robots write, and archives exactly what it deleted', async () => {
    // Logs: 1,500 from 8 to 40 days old (expired at 7 days), 300 from 1 to 6.5 days old (kept).
    const oldLogs = await seedLogs(1500, (i) => 8 + (i % 32), 'old-robot');
    const recentLogs = await seedLogs(300, (i) => 1 + (i % 11) / 2, 'recent-robot');
    // Jobs: ended 10+ days ago (expired), ended 2 days ago (kept), running since 60 days (kept).
    const oldJobs = [await seedJob('DONE', 11, 10), await seedJob('FAILED', 30, 29), await seedJob('KILLED', 9, 8)];
    const keptJobs = [await seedJob('DONE', 3, 2), await seedJob('RUNNING', 60, null)];
    // What their robots printed goes with the expired jobs, and stays with the kept ones.
    for (const job of [...oldJobs, ...keptJobs]) {
      await appendJobOutput(store, job, [1, 2].map((seq) => ({ seq, stream: 'stdout' as const, at: daysAgo(12), text: `line ${seq} of ${job}` })));
    }
    // Elements: queue "fast" keeps 7 days, every other queue 30.
    const gone = [
      await seedElement('fast', 'DONE', 10),
      await seedElement('fast', 'ABANDONED', 8),
      await seedElement('slow', 'DONE', 40),
      await seedElement('slow', 'FAILED', 31),
    ];
    const exhausted = await seedElement('fast', 'FAILED', 9);
    await seedAttempts(exhausted, 'fast', 'EXHAUSTED');
    gone.push(exhausted);
    const waiting = await seedElement('fast', 'FAILED', 20);
    await seedAttempts(waiting, 'fast', 'WAITING');
    const keptElements = [
      waiting,
      await seedElement('slow', 'DONE', 10),
      await seedElement('fast', 'DONE', 2),
      await seedElement('fast', 'NEW', null),
      await seedElement('slow', 'IN_PROGRESS', null),
    ];
    const oldEvents = [await seedEvent(gone[0]!, 9), await seedEvent(waiting, 20)];
    const keptEvents = [await seedEvent(waiting, 1)];
    const oldIncident = await seedIncident('CLEARED', 10, 'SENT');
    const stillSending = await seedIncident('CLEARED', 10, 'PENDING');
    const open = await seedIncident('OPEN', null, 'SENT');
    const recentIncident = await seedIncident('CLEARED', 1, 'SENT');

    await saveRetention(store, { scope: 'LOGS', keepDays: 7, archive: true });
    await saveRetention(store, { scope: 'JOBS', keepDays: 7 });
    await saveRetention(store, { scope: 'QUEUE_ELEMENTS', keepDays: 30, archive: true });
    await saveRetention(store, { scope: 'QUEUE_ELEMENTS', queueName: 'fast', keepDays: 7, archive: true });
    await saveRetention(store, { scope: 'ELEMENT_EVENTS', keepDays: 7 });
    await saveRetention(store, { scope: 'INCIDENTS', keepDays: 7, archive: true });

    // Four robots log and work a queue of their own for as long as the purge runs.
    const robots = Array.from({ length: 4 }, (_, i) => new OrchestratorConnection({ processName: `robot-${i}`, connectionString: live.url, cryptoKey: key }));
    for (const robot of robots) await robot.createQueueElement('live', { reference: robot.processName });
    let purging = true;
    let writes = 0;
    let failed: unknown;
    const work = robots.map(async (robot) => {
      while (purging && failed === undefined) {
        await robot.logInfo(`working ${writes}`);
        await robot.createQueueElement('live', { reference: `${robot.processName}-${writes}` });
        const element = await robot.getNextQueueElement('live');
        if (element) await robot.setQueueElementStatus(element.id, 'DONE');
        writes++;
        // SQLite answers synchronously: without a turn of the event loop the robots (separate
        // processes in real life) would keep the purge and every timer from running.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }).map((robot) => robot.catch((error: unknown) => (failed = error)));
    const monitor = new Monitor({ connectionString: live.url, cryptoKey: key, name: 'purger', intervalSeconds: 60, purgeBatch: 200, archiveDir }, quiet);
    let reports;
    try {
      // Robots are writing before the purge starts.
      while (writes < 8 && failed === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      reports = await monitor.purge();
    } finally {
      purging = false;
      await Promise.all(work);
      await Promise.all(robots.map((robot) => robot.close()));
      await monitor.close();
    }
    expect(failed).toBeUndefined();
    expect(writes).toBeGreaterThan(8);

    const logs = await ids(store, 'Logs');
    for (const id of oldLogs) expect(logs.has(id)).toBe(false);
    for (const id of recentLogs) expect(logs.has(id)).toBe(true);
    // Every robot line survived: 300 recent seeds plus one per robot loop.
    expect(logs.size).toBe(recentLogs.length + writes);
    const jobs = await ids(store, 'Jobs');
    expect(oldJobs.filter((id) => jobs.has(id))).toEqual([]);
    expect(keptJobs.filter((id) => !jobs.has(id))).toEqual([]);
    expect([...(await ids(store, 'oo_job_output'))].sort()).toEqual([...keptJobs].sort());
    const elements = await ids(store, 'Queues');
    expect(gone.filter((id) => elements.has(id))).toEqual([]);
    expect(keptElements.filter((id) => !elements.has(id))).toEqual([]);
    expect(elements.size).toBe(keptElements.length + 4 + writes);
    const attempts = await ids(store, 'oo_element_attempts');
    expect([...attempts]).toEqual([waiting]);
    const events = await ids(store, 'oo_element_events');
    expect([...events].sort()).toEqual(keptEvents.sort());
    expect(oldEvents.some((id) => events.has(id))).toBe(false);
    const incidents = await ids(store, 'oo_alert_incidents');
    expect([...incidents].sort()).toEqual([stillSending.incident, open.incident, recentIncident.incident].sort());
    const notifications = await ids(store, 'oo_alert_notifications');
    expect(notifications.has(oldIncident.notification)).toBe(false);
    expect(notifications.size).toBe(3);

    const deleted = (scope: string, queueName: string | null = null) => reports.find((r) => r.scope === scope && r.queueName === queueName)!;
    expect(deleted('LOGS').deleted).toBe(1500);
    expect(deleted('JOBS').deleted).toBe(3);
    expect(deleted('QUEUE_ELEMENTS', 'fast').deleted).toBe(3);
    expect(deleted('QUEUE_ELEMENTS').deleted).toBe(2);
    expect(deleted('ELEMENT_EVENTS').deleted).toBe(2);
    expect(deleted('INCIDENTS').deleted).toBe(1);

    // The archives: one per run and table, exactly the rows deleted, every column decoded.
    expect(readdirSync(archiveDir).filter((name) => name.endsWith('.partial'))).toEqual([]);
    const logLines = readArchive(deleted('LOGS').archive!);
    expect(logLines.map((line) => line.id).sort()).toEqual([...oldLogs].sort());
    expect(logLines[0]).toMatchObject({ log_level: 'INFO', process_name: 'old-robot', job_id: null });
    expect(String(logLines[0]!.log_time)).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}/);
    const fastLines = readArchive(deleted('QUEUE_ELEMENTS', 'fast').archive!);
    const slowLines = readArchive(deleted('QUEUE_ELEMENTS').archive!);
    expect([...fastLines, ...slowLines].map((line) => line.id).sort()).toEqual([...gone].sort());
    expect(fastLines.every((line) => line.queue_name === 'fast')).toBe(true);
    const incidentLines = readArchive(deleted('INCIDENTS').archive!);
    expect(incidentLines).toHaveLength(1);
    expect(incidentLines[0]).toMatchObject({ id: oldIncident.incident, state: 'CLEARED', notifications: [expect.objectContaining({ id: oldIncident.notification, status: 'SENT' })] });
    expect(deleted('JOBS').archive).toBeUndefined();

    // A second purge finds nothing more.
    const again = new Monitor({ connectionString: live.url, cryptoKey: key, name: 'purger', intervalSeconds: 60, archiveDir }, quiet);
    try {
      expect((await again.purge()).map((r) => r.deleted)).toEqual(reports.map(() => 0));
    } finally {
      await again.close();
    }
  }, 120_000);

  it('deletes nothing of a batch whose rows changed after it was read (the archive is then cut back)', async () => {
    const a = await seedElement('raced', 'DONE', 50);
    const b = await seedElement('raced', 'DONE', 49);
    const window: PurgeWindow = { scope: 'QUEUE_ELEMENTS', cutoff: daysAgo(30), queueName: 'raced' };
    const batch = await selectExpiredBatch(store, window, undefined, 10, true);
    expect(batch.ids).toHaveLength(2);
    // Someone retries b by hand between the read and the delete.
    await store.db.updateTable('Queues').set({ status: 'NEW', end_date: null }).where('id', '=', uuid(b)).execute();
    expect(await deleteExpiredBatch(store, window, batch.ids)).toBeUndefined();
    const left = await ids(store, 'Queues');
    expect(left.has(a) && left.has(b)).toBe(true);
    // The next batch holds only a, and deletes it.
    const next = await selectExpiredBatch(store, window, undefined, 10);
    expect(next.ids.map((id) => store.dialect.decodeUuid(id))).toEqual([a]);
    expect(await deleteExpiredBatch(store, window, next.ids)).toBe(1);
  });

  it('edits the periods through the API and shows each table\'s size and oldest row on the dashboard', async () => {
    const { app, session } = await buildOrchestrator({ connectionString: live.url, cryptoKey: key });
    const headers = { 'x-openorchestrator-request': '1' };
    try {
      const put = await app.inject({ method: 'PUT', url: '/api/operations/retention', headers, payload: { scope: 'QUEUE_ELEMENTS', queueName: 'invoices', keepDays: 365, archive: true } });
      expect(put.statusCode).toBe(200);
      expect(put.json()).toMatchObject({ scope: 'QUEUE_ELEMENTS', queueName: 'invoices', keepDays: 365, archive: true });
      const bad = await app.inject({ method: 'PUT', url: '/api/operations/retention', headers, payload: { scope: 'LOGS', queueName: 'invoices', keepDays: 3 } });
      expect(bad.statusCode).toBe(400);
      expect(bad.json().error).toBe('only QUEUE_ELEMENTS takes a queue name; leave queueName out for LOGS');
      const zero = await app.inject({ method: 'PUT', url: '/api/operations/retention', headers, payload: { scope: 'LOGS', keepDays: 0 } });
      expect(zero.json().error).toBe('keepDays must be at least 1');
      const list = await app.inject({ method: 'GET', url: '/api/operations/retention' });
      expect(list.json()).toContainEqual(expect.objectContaining({ scope: 'QUEUE_ELEMENTS', queueName: 'invoices', keepDays: 365 }));
      expect(list.json()).toContainEqual(expect.objectContaining({ scope: 'LOGS', queueName: null, keepDays: 7, archive: true }));
      const del = await app.inject({ method: 'DELETE', url: '/api/operations/retention?scope=QUEUE_ELEMENTS&queueName=invoices', headers });
      expect(del.statusCode).toBe(200);
      const missing = await app.inject({ method: 'DELETE', url: '/api/operations/retention?scope=QUEUE_ELEMENTS&queueName=invoices', headers });
      expect(missing.statusCode).toBe(404);

      // Statistics as autovacuum / InnoDB keep them: the estimate is then what the dashboard shows.
      if (dialect === 'postgres') await sql`ANALYZE "Logs"`.execute(store.db);
      if (dialect === 'mysql') await sql`ANALYZE TABLE Logs`.execute(store.db);
      const dashboard = await app.inject({ method: 'GET', url: '/api/dashboard' });
      const tables = dashboard.json().tables as { table: string; rows: number; estimated: boolean; oldest: string | null }[];
      expect(tables.map((t) => t.table)).toEqual(['Logs', 'Jobs', 'Queues', 'oo_element_events', 'oo_alert_incidents']);
      const logs = tables.find((t) => t.table === 'Logs')!;
      const exact = Number((await store.db.selectFrom('Logs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
      expect(logs.estimated).toBe(dialect !== 'sqlite');
      if (logs.estimated) expect(Math.abs(logs.rows - exact)).toBeLessThanOrEqual(exact / 2);
      else expect(logs.rows).toBe(exact);
      // The oldest log kept is the oldest recent seed: 6.5 days old at most.
      expect(new Date(logs.oldest!).getTime()).toBeGreaterThan(daysAgo(7).getTime());
      expect(tables.find((t) => t.table === 'Jobs')!.oldest).not.toBeNull();
    } finally {
      await app.close();
      await session.disconnect();
    }
  });
});

describe('archive recovery', () => {
  it('keeps the complete lines of an archive a crash left unfinished, and removes the partial file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'oo-archive-'));
    try {
      const member = (from: number, to: number) => gzipSync(Array.from({ length: to - from }, (_, i) => `${JSON.stringify({ id: from + i })}\n`).join(''));
      const third = member(4, 6);
      // Two batches synced, the third cut off mid-write.
      writeFileSync(join(dir, 'Logs-20260102-030405-abcdef.jsonl.gz.partial'), Buffer.concat([member(0, 2), member(2, 4), third.subarray(0, 12)]));
      const written = await recoverArchives(dir);
      expect(written).toEqual([join(dir, 'Logs-20260102-030405-abcdef-recovered.jsonl.gz')]);
      expect(readArchive(written[0]!).map((line) => line.id)).toEqual([0, 1, 2, 3]);
      expect(readdirSync(dir)).toEqual(['Logs-20260102-030405-abcdef-recovered.jsonl.gz']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
