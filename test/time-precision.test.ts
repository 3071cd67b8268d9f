/**
 * Nothing depends on sub-second precision a database does not keep. Live on MariaDB with the
 * whole-second DATETIME columns the Python 2.0.x migrations made (after our upgrade, which keeps
 * them): claims take equal created_dates in one fixed order, "due" is decided alike in the
 * Scheduler's poll and in its claim, run now works, and the robot API behaves as on DATETIME(6).
 * SQL Server's DATETIME (1/300 s) through the rounding its dialect applies, checked against
 * tedious's own encoding of a DATETIME parameter.
 */
import { sql } from 'kysely';
import { TYPES } from 'tedious';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import { roundToDatetime } from '../src/db/dialects/mssql.js';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { upgradeDatabase } from '../src/db/schema/upgrade.js';
import { createLog, listLogs } from '../src/db/store/logs.js';
import { createQueueElement, getNextQueueElement, getQueueElement, getQueueElements, setQueueElementStatus } from '../src/db/store/queues.js';
import { runTriggerNow } from '../src/db/store/run-requests.js';
import { claimTrigger, createTrigger, getTrigger, listDueTriggers, setTriggerStatus } from '../src/db/store/triggers.js';
import { setClock } from '../src/time/clock.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { buildShape, SHAPES } from './helpers/upstream-schemas.js';

const KEY = generateKey();
/** A second well in the future, so nothing else is due at it. */
const S = new Date(2031, 4, 6, 7, 8, 9, 0);
const at = (ms: number) => new Date(S.getTime() + ms);

describe('on MariaDB with the whole-second DATETIME columns of a Python 2.0.x database', () => {
  let database: TestDatabase;
  let store: Store;
  let restoreClock: (() => void) | undefined;

  beforeAll(async () => {
    database = await createTestDatabase('mysql');
    store = openStore(database.url);
    await buildShape(store.db, 'mysql', SHAPES.find((s) => s.whitelistNotNull && s.revision === '1c87ed320c78')!);
    await upgradeDatabase(store.db, store.dialect);
  });
  afterAll(async () => {
    await closeStore(store);
    await database?.drop();
  });
  afterEach(() => {
    restoreClock?.();
    restoreClock = undefined;
  });
  const freezeAt = (date: Date) => {
    restoreClock?.();
    restoreClock = setClock(() => new Date(date));
  };

  it('keeps the Python columns at whole seconds after upgrade (what the rest of this file runs on)', async () => {
    const precision = await sql<{ column_name: string; p: number }>`
      SELECT column_name, datetime_precision AS p FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name IN ('Queues', 'Single_Triggers', 'Logs') AND data_type = 'datetime'`.execute(store.db);
    expect(precision.rows.length).toBeGreaterThanOrEqual(5);
    for (const row of precision.rows) expect(Number(row.p), row.column_name).toBe(0);
    freezeAt(at(600));
    const element = await createQueueElement(store, 'probe');
    expect((await getQueueElement(store, element.id)).createdDate).toEqual(S);
  });

  it('claims elements created within one second in one fixed order (created_date, then id), and a peek shows the next claim', async () => {
    const queue = 'same-second';
    const ids: string[] = [];
    for (const ms of [900, 100, 600, 0, 300, 999]) {
      freezeAt(at(ms));
      ids.push((await createQueueElement(store, queue, { reference: `ms-${ms}` })).id);
    }
    freezeAt(at(1100)); // the next second: after all of them whatever their ids
    const later = (await createQueueElement(store, queue, { reference: 'next second' })).id;
    const expected = [...[...ids].sort(), later];

    const oc = new OrchestratorConnection({ processName: 'precision', connectionString: database.url, cryptoKey: KEY });
    try {
      const claimed: string[] = [];
      for (let i = 0; i < expected.length; i++) {
        const peek = await getNextQueueElement(store, queue, { setStatus: false });
        // Alternating our store and the robot API: both claim in the same order.
        const element = i % 2 === 0 ? await getNextQueueElement(store, queue) : await oc.getNextQueueElement(queue);
        expect(element?.id).toBe(peek?.id);
        claimed.push(element!.id);
      }
      expect(claimed).toEqual(expected);
      expect(await oc.getNextQueueElement(queue)).toBeUndefined();
    } finally {
      await oc.close();
    }
  });

  it('decides "due" alike in the poll and in the claim when next_run lost its fraction of a second', async () => {
    freezeAt(at(0));
    const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'due-probe', processName: 'p', processPath: '/x.py', nextRun: at(600) });
    // Stored as the whole second it was written in.
    expect(((await getTrigger(store, id)) as { nextRun: Date }).nextRun).toEqual(S);
    for (const ms of [-1000, -1, 0, 1, 300, 599, 600, 601]) {
      const due = (await listDueTriggers(store, at(ms))).some((t) => t.id === id);
      const won = await claimTrigger(store, { id, type: 'SINGLE' }, at(ms));
      expect(won, `at ${ms} ms: the poll said ${due ? 'due' : 'not due'}`).toBe(due);
      expect(due, `at ${ms} ms`).toBe(ms >= 0);
      if (won) await setTriggerStatus(store, id, 'IDLE');
    }
  });

  it('run now makes a trigger due at that instant, though next_run keeps only the second', async () => {
    freezeAt(at(0));
    const id = await createTrigger(store, { type: 'SINGLE', triggerName: 'run-now-probe', processName: 'p', processPath: '/x.py', nextRun: new Date(2040, 0, 1) });
    await setTriggerStatus(store, id, 'DONE');
    expect(await runTriggerNow(store, id, at(2750))).toBe(true);
    expect((await listDueTriggers(store, at(2750))).map((t) => t.id)).toContain(id);
    expect(await claimTrigger(store, { id, type: 'SINGLE' }, at(2750))).toBe(true);
    expect((await getTrigger(store, id)).status).toBe('RUNNING');
  });

  it('robot API: logs and elements of one second are all listed, in a stable order; start and end dates stay ordered', async () => {
    const oc = new OrchestratorConnection({ processName: 'same-second-robot', connectionString: database.url, cryptoKey: KEY });
    try {
      for (const ms of [5100, 5400, 5700]) {
        freezeAt(at(ms));
        await oc.logInfo(`at ${ms}`);
        await oc.createQueueElement('robot-second', { reference: `r${ms}` });
      }
      const logs = await listLogs(store, { processName: 'same-second-robot' });
      expect(logs.map((l) => l.message).sort()).toEqual(['at 5100', 'at 5400', 'at 5700']);
      expect(await listLogs(store, { processName: 'same-second-robot' })).toEqual(logs);
      const first = await getQueueElements(store, 'robot-second');
      expect(first).toHaveLength(3);
      expect(await oc.getQueueElements('robot-second')).toEqual(first);

      freezeAt(at(5900));
      const element = (await oc.getNextQueueElement('robot-second'))!;
      freezeAt(at(5950));
      await oc.setQueueElementStatus(element.id, 'DONE');
      const done = await getQueueElement(store, element.id);
      expect(done.startDate!.getTime()).toBeLessThanOrEqual(done.endDate!.getTime());
      expect(done.createdDate.getTime()).toBeLessThanOrEqual(done.startDate!.getTime());
      await setQueueElementStatus(store, element.id, 'FAILED', 'again in the same second');
      expect((await getQueueElement(store, element.id)).status).toBe('FAILED');
      await createLog(store, { level: 'INFO', processName: 'same-second-robot', message: 'after' });
      expect(await listLogs(store, { processName: 'same-second-robot' })).toHaveLength(4);
    } finally {
      await oc.close();
    }
  });
});

/** What tedious sends for a DATETIME parameter and reads back: its own encoder, its decoding rule. */
function tediousRoundTrip(value: Date): Date {
  const type = TYPES.DateTime as unknown as { generateParameterData(p: { value: Date }, o: { useUTC: boolean }): Iterable<Buffer> };
  const buffer = Buffer.concat([...type.generateParameterData({ value }, { useUTC: false })]);
  const days = buffer.readInt32LE(0);
  const ticks = buffer.readUInt32LE(4);
  return new Date(1900, 0, 1 + days, 0, 0, 0, Math.round(ticks * (3 + 1 / 3)));
}

describe("SQL Server's DATETIME (1/300 s): the dialect rounds a time as the database keeps it", () => {
  it('matches what a DATETIME parameter stores, for every millisecond of a second and at midnight', () => {
    for (let ms = 0; ms < 1000; ms++) {
      const value = new Date(2031, 4, 6, 23, 59, 59, ms);
      expect(roundToDatetime(value).getTime(), `.${ms}`).toBe(tediousRoundTrip(value).getTime());
    }
    expect(roundToDatetime(new Date(2031, 4, 6, 7, 8, 9, 12)).getMilliseconds()).toBe(13);
    expect(roundToDatetime(new Date(2031, 4, 6, 23, 59, 59, 999))).toEqual(new Date(2031, 4, 7, 0, 0, 0, 0));
  });

  it('rounds monotonically and idempotently, so "next_run <= now" holds alike on both sides', () => {
    let previous = 0;
    for (let ms = 0; ms < 2000; ms++) {
      const rounded = roundToDatetime(at(ms));
      expect(rounded.getTime()).toBeGreaterThanOrEqual(previous);
      expect(roundToDatetime(rounded)).toEqual(rounded);
      expect(Math.abs(rounded.getTime() - at(ms).getTime())).toBeLessThanOrEqual(2);
      previous = rounded.getTime();
    }
  });
});
