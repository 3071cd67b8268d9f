/**
 * The robot API (OrchestratorConnection) against live databases: the same assertions on every
 * dialect, reading back what reached the tables.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createConnectionFromArgs,
  createConnectionFromEnvironment,
  OrchestratorConnection,
} from '../src/connection/orchestrator-connection.js';
import { generateKey, decryptString } from '../src/crypto/fernet.js';
import { CryptoError, InputError, NotFoundError } from '../src/errors.js';
import { createConstant, getConstant } from '../src/db/store/constants.js';
import { createCredential, getCredential } from '../src/db/store/credentials.js';
import { startJob } from '../src/db/store/jobs.js';
import { createTrigger, getTrigger, transitionTriggerStatus } from '../src/db/store/triggers.js';
import { setClock } from '../src/time/clock.js';
import { SUITE_DIALECTS } from './helpers/databases.js';
import { reportMssqlNotRun } from './helpers/mssql.js';
import { countRows, openTestStore, type TestStore } from './helpers/stores.js';

const KEY = generateKey();
/** The smallest step every dialect keeps apart: 3 ticks of SQL Server's DATETIME (1/300 s). */
const TICK = 10;

/** A message whose every slice is distinct, so a wrong cut cannot pass by accident. */
function patterned(length: number): string {
  let text = '';
  for (let i = 0; text.length < length; i++) text += `${i};`;
  return text.slice(0, length);
}

reportMssqlNotRun('robot API');

describe.each(SUITE_DIALECTS)('robot API on %s', (dialect) => {
  let live: TestStore;
  let oc: OrchestratorConnection;
  let restoreClock: (() => void) | undefined;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    oc = new OrchestratorConnection({ processName: 'robot-a', connectionString: live.url, cryptoKey: KEY });
  });
  afterAll(async () => {
    await oc?.close();
    await live?.close();
  });
  afterEach(() => {
    restoreClock?.();
    restoreClock = undefined;
  });

  /** `date` as this database keeps a time (SQL Server's DATETIME: 1/300 s), which is what reads return. */
  const kept = (date: Date): Date => live.store.dialect.roundDate(date);

  /** Fixes "now" until the end of the test. */
  function freezeAt(date: Date): void {
    restoreClock?.();
    restoreClock = setClock(() => new Date(date));
  }

  describe('creating a connection', () => {
    it('reads the argv protocol: process_name connection_string crypto_key process_args trigger_id', async () => {
      const triggerId = randomUUID();
      const conn = createConnectionFromArgs(['argv-robot', live.url, KEY, '{"x": 1}', triggerId], {});
      try {
        expect(conn.processName).toBe('argv-robot');
        expect(conn.processArguments).toBe('{"x": 1}');
        expect(conn.triggerId).toBe(triggerId);
        expect(conn.jobId).toBeUndefined();
        await conn.logInfo('from argv');
        const row = await live.store.db.selectFrom('Logs').selectAll().where('log_message', '=', 'from argv').executeTakeFirstOrThrow();
        expect(row.process_name).toBe('argv-robot');
      } finally {
        await conn.close();
      }
    });

    it('reads the job id of the 3.0 argv (sys.argv[6]) and logs with it; refuses one that is no UUID', async () => {
      const jobId = randomUUID();
      const conn = createConnectionFromArgs(['argv30-robot', live.url, KEY, '', randomUUID(), jobId], {});
      try {
        expect(conn.jobId).toBe(jobId);
        await conn.logInfo('from the 3.0 argv');
        const row = await live.store.db.selectFrom('Logs').selectAll().where('log_message', '=', 'from the 3.0 argv').executeTakeFirstOrThrow();
        expect(live.store.dialect.decodeUuid(row.job_id)).toBe(jobId);
      } finally {
        await conn.close();
      }
      expect(() => createConnectionFromArgs(['argv30-robot', live.url, KEY, '', '', 'not-a-uuid'], {})).toThrow(/^job id must be a UUID/);
    });

    it('falls back to the environment for empty argv values', async () => {
      const triggerId = randomUUID();
      const jobId = randomUUID();
      const env = {
        OpenOrchestratorConnString: live.url,
        OpenOrchestratorKey: KEY,
        OpenOrchestratorTriggerId: triggerId,
        OpenOrchestratorJobId: jobId,
      };
      const conn = createConnectionFromArgs(['env-robot', '', '', 'args here', ''], env);
      try {
        expect(conn.processName).toBe('env-robot');
        expect(conn.processArguments).toBe('args here');
        expect(conn.triggerId).toBe(triggerId);
        expect(conn.jobId).toBe(jobId);
        await conn.logInfo('from env');
        const row = await live.store.db.selectFrom('Logs').selectAll().where('log_message', '=', 'from env').executeTakeFirstOrThrow();
        expect(row.process_name).toBe('env-robot');
        expect(live.store.dialect.decodeUuid(row.job_id)).toBe(jobId);
      } finally {
        await conn.close();
      }
    });

    it('refuses to start without connection string or key', () => {
      expect(() => createConnectionFromArgs(['robot', '', '', '', ''], {})).toThrow(InputError);
      expect(() => createConnectionFromArgs([], {})).toThrow(/OpenOrchestratorConnString/);
    });

    it('builds a connection from the environment alone', async () => {
      const conn = createConnectionFromEnvironment('env-only', { OpenOrchestratorConnString: live.url, OpenOrchestratorKey: KEY });
      try {
        expect(conn.processName).toBe('env-only');
        expect(conn.triggerId).toBeUndefined();
        await conn.logError('env only');
        const row = await live.store.db.selectFrom('Logs').selectAll().where('log_message', '=', 'env only').executeTakeFirstOrThrow();
        expect(row.process_name).toBe('env-only');
        expect(row.log_level).toBe('ERROR');
      } finally {
        await conn.close();
      }
      expect(() => createConnectionFromEnvironment('x', { OpenOrchestratorKey: KEY })).toThrow('the environment variable OpenOrchestratorConnString is not set');
      expect(() => createConnectionFromEnvironment('x', { OpenOrchestratorConnString: live.url })).toThrow('the environment variable OpenOrchestratorKey is not set');
    });

    it('refuses a malformed key before touching the database', () => {
      expect(() => new OrchestratorConnection({ processName: 'p', connectionString: live.url, cryptoKey: 'not a key' })).toThrow(CryptoError);
    });
  });

  describe('logs', () => {
    it('stores the level NAME, the process name and the local time to the millisecond', async () => {
      const at = new Date(2031, 4, 6, 7, 8, 9, 123);
      freezeAt(at);
      const conn = new OrchestratorConnection({ processName: 'log-robot', connectionString: live.url, cryptoKey: KEY });
      try {
        await conn.logTrace('t message');
        await conn.logInfo('i message');
        await conn.logError('e message');
      } finally {
        await conn.close();
      }
      const rows = await live.store.db.selectFrom('Logs').selectAll().where('process_name', '=', 'log-robot').execute();
      const byMessage = new Map(rows.map((row) => [row.log_message, row]));
      expect(rows).toHaveLength(3);
      expect(byMessage.get('t message')?.log_level).toBe('TRACE');
      expect(byMessage.get('i message')?.log_level).toBe('INFO');
      expect(byMessage.get('e message')?.log_level).toBe('ERROR');
      for (const row of rows) {
        expect(live.store.dialect.decodeDate(row.log_time).getTime()).toBe(kept(at).getTime());
        expect(row.job_id).toBeNull();
      }
    });

    it('keeps the first 4000 and the last 4000 characters of a 9000-character message', async () => {
      const message = patterned(9000);
      await oc.logInfo(message);
      const row = await live.store.db
        .selectFrom('Logs')
        .selectAll()
        .where('process_name', '=', 'robot-a')
        .where('log_message', 'like', `${message.slice(0, 20)}%`)
        .executeTakeFirstOrThrow();
      expect(row.log_message).toHaveLength(8000);
      expect(row.log_message).toBe(message.slice(0, 4000) + message.slice(5000));
    });

    it('counts characters, not UTF-16 units, when cutting a message', async () => {
      // 9,000 emoji: 18,000 UTF-16 units. Python keeps 4,000 + 4,000 of them, none split in half.
      const emoji = Array.from({ length: 9000 }, (_, i) => String.fromCodePoint(0x1f600 + (i % 64)));
      const message = `🙂${emoji.join('').slice(2)}`;
      await oc.logInfo(message);
      const row = await live.store.db.selectFrom('Logs').select('log_message').where('log_message', 'like', '🙂%').executeTakeFirstOrThrow();
      const stored = Array.from(row.log_message);
      expect(stored).toHaveLength(8000);
      expect(row.log_message).toBe(Array.from(message).slice(0, 4000).join('') + Array.from(message).slice(5000).join(''));
    });

    it('stores an 8000-character message whole', async () => {
      const message = `8k:${patterned(7997)}`;
      await oc.logInfo(message);
      const row = await live.store.db.selectFrom('Logs').select('log_message').where('log_message', 'like', '8k:%').executeTakeFirstOrThrow();
      expect(row.log_message).toBe(message);
    });

    it('carries the job id of the run', async () => {
      const jobId = await startJob(live.store, { processName: 'job-robot', schedulerName: 'PC1' });
      const conn = new OrchestratorConnection({ processName: 'job-robot', connectionString: live.url, cryptoKey: KEY, jobId });
      try {
        await conn.logInfo('with job');
      } finally {
        await conn.close();
      }
      const row = await live.store.db.selectFrom('Logs').selectAll().where('process_name', '=', 'job-robot').executeTakeFirstOrThrow();
      expect(live.store.dialect.decodeUuid(row.job_id)).toBe(jobId);
    });

    it('rejects (not throws) a message that is not text', async () => {
      const call = oc.logInfo(42 as unknown as string);
      await expect(call).rejects.toThrow(InputError);
    });
  });

  describe('constants', () => {
    it('reads and updates a constant', async () => {
      await createConstant(live.store, 'api-url', 'https://old.example');
      const before = await oc.getConstant('api-url');
      expect(before.name).toBe('api-url');
      expect(before.value).toBe('https://old.example');

      const later = new Date(2032, 0, 2, 3, 4, 5, 678);
      freezeAt(later);
      await oc.updateConstant('api-url', 'https://new.example');
      const after = await oc.getConstant('api-url');
      expect(after.value).toBe('https://new.example');
      expect(after.changedAt.getTime()).toBe(kept(later).getTime());

      // The same value again is still a success (MySQL counts such a row as unchanged).
      await expect(oc.updateConstant('api-url', 'https://new.example')).resolves.toBeUndefined();
    });

    it('names an unknown constant', async () => {
      await expect(oc.getConstant('no-such')).rejects.toThrow(NotFoundError);
      await expect(oc.getConstant('no-such')).rejects.toThrow('no constant named "no-such"');
      await expect(oc.updateConstant('no-such', 'v')).rejects.toThrow('no constant named "no-such"');
    });

    it('refuses a 1001-character value and leaves the constant as it was', async () => {
      await createConstant(live.store, 'limited', 'kept');
      const error = await oc.updateConstant('limited', 'v'.repeat(1001)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InputError);
      expect((error as Error).message).toBe('constant value is 1001 characters long; the limit is 1000');
      expect((await getConstant(live.store, 'limited')).value).toBe('kept');
      await oc.updateConstant('limited', 'v'.repeat(1000));
      expect((await getConstant(live.store, 'limited')).value).toHaveLength(1000);
    });
  });

  describe('credentials', () => {
    it('decrypts a credential created through the store', async () => {
      await createCredential(live.store, KEY, 'mail', 'robot@example.com', 'pæssw0rd ✓');
      const credential = await oc.getCredential('mail');
      expect(credential.username).toBe('robot@example.com');
      expect(credential.password).toBe('pæssw0rd ✓');
    });

    it('re-encrypts on update', async () => {
      await createCredential(live.store, KEY, 'erp', 'old-user', 'old-password');
      const before = await live.store.db.selectFrom('Credentials').selectAll().where('name', '=', 'erp').executeTakeFirstOrThrow();
      await oc.updateCredential('erp', 'new-user', 'new-password');
      const after = await live.store.db.selectFrom('Credentials').selectAll().where('name', '=', 'erp').executeTakeFirstOrThrow();
      expect(after.password).not.toBe(before.password);
      expect(after.password).not.toContain('new-password');
      expect(decryptString(KEY, after.password)).toBe('new-password');
      expect(after.username).toBe('new-user');
      const credential = await oc.getCredential('erp');
      expect(credential).toMatchObject({ name: 'erp', username: 'new-user', password: 'new-password' });
    });

    it('says so when the key is not the one the credential was encrypted with', async () => {
      await createCredential(live.store, generateKey(), 'foreign', 'user', 'secret');
      const error = await oc.getCredential('foreign').catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CryptoError);
      expect((error as Error).message).toBe('the encryption key does not match the key these credentials were encrypted with');
    });

    it('names an unknown credential', async () => {
      await expect(oc.getCredential('nobody')).rejects.toThrow(NotFoundError);
      await expect(oc.getCredential('nobody')).rejects.toThrow('no credential named "nobody"');
      await expect(oc.updateCredential('nobody', 'u', 'p')).rejects.toThrow('no credential named "nobody"');
    });
  });

  describe('queue elements', () => {
    it('creates an element and reads it back with its local creation time to the millisecond', async () => {
      const at = new Date(2030, 11, 31, 23, 59, 59, 999);
      freezeAt(at);
      const created = await oc.createQueueElement('q-create', { reference: 'ref-1', data: '{"a": 1}' });
      expect(created).toMatchObject({ queueName: 'q-create', status: 'NEW', reference: 'ref-1', data: '{"a": 1}', createdBy: null });
      const [read] = await oc.getQueueElements('q-create');
      expect(read).toEqual(created);
      expect(read?.createdDate.getTime()).toBe(kept(at).getTime());
      expect(read?.startDate).toBeNull();
      expect(read?.endDate).toBeNull();
      const raw = await live.store.db.selectFrom('Queues').select('status').where('queue_name', '=', 'q-create').executeTakeFirstOrThrow();
      expect(raw.status).toBe('NEW');
    });

    it('bulk-creates 10,000 elements in one call, createdBy defaulting to the process name', async () => {
      const elements = Array.from({ length: 10_000 }, (_, i) => ({
        reference: `bulk-${i}`,
        data: JSON.stringify({ i }),
        ...(i === 7 ? { createdBy: 'someone-else' } : {}),
      }));
      expect(await oc.bulkCreateQueueElements('q-bulk', elements)).toBe(10_000);
      const rows = await live.store.db.selectFrom('Queues').select(['reference', 'created_by', 'status', 'data']).where('queue_name', '=', 'q-bulk').execute();
      expect(rows).toHaveLength(10_000);
      expect(new Set(rows.map((r) => r.reference)).size).toBe(10_000);
      const byRef = new Map(rows.map((r) => [r.reference, r]));
      expect(byRef.get('bulk-7')?.created_by).toBe('someone-else');
      expect(byRef.get('bulk-9999')).toEqual({ reference: 'bulk-9999', created_by: 'robot-a', status: 'NEW', data: '{"i":9999}' });
      expect(rows.filter((r) => r.created_by === 'robot-a')).toHaveLength(9_999);
    });

    it('bulk-creates elements carrying the longest data the column takes', async () => {
      // 2,000 characters of 3-byte UTF-8 each: a single statement of this many rows would pass
      // MySQL's 16 MB packet limit.
      const data = '€'.repeat(2000);
      const elements = Array.from({ length: 5_000 }, (_, i) => ({ reference: `big-${i}`, data }));
      expect(await oc.bulkCreateQueueElements('q-bulk-big', elements)).toBe(5_000);
      const sample = await oc.getQueueElements('q-bulk-big', { reference: 'big-4999' });
      expect(sample[0]?.data).toBe(data);
      expect(await countQueue('q-bulk-big')).toBe(5_000);
    });

    it('claims the oldest New element by created_date, not by insertion order', async () => {
      const base = new Date(2030, 0, 1, 12, 0, 0, 0);
      const created: Record<string, string> = {};
      // Milliseconds apart, but each in its own 1/300 s, so SQL Server's DATETIME keeps them apart too.
      for (const [name, offsetMs] of [
        ['late', 50],
        ['first', 0],
        ['middle', 30],
        ['middle-2', 40],
      ] as const) {
        freezeAt(new Date(base.getTime() + offsetMs));
        created[name] = (await oc.createQueueElement('q-order', { reference: name })).id;
      }
      const claimAt = new Date(2030, 0, 1, 13, 0, 0, 250);
      freezeAt(claimAt);
      const order: string[] = [];
      for (;;) {
        const element = await oc.getNextQueueElement('q-order');
        if (!element) break;
        expect(element.status).toBe('IN_PROGRESS');
        expect(element.startDate?.getTime()).toBe(kept(claimAt).getTime());
        order.push(element.reference ?? '');
      }
      expect(order).toEqual(['first', 'middle', 'middle-2', 'late']);
      const rows = await oc.getQueueElements('q-order', { status: 'IN_PROGRESS' });
      expect(rows).toHaveLength(4);
      for (const row of rows) expect(row.startDate?.getTime()).toBe(kept(claimAt).getTime());
    });

    it('filters the claim by exact reference', async () => {
      const base = new Date(2030, 0, 2, 12, 0, 0, 0);
      freezeAt(base);
      await oc.createQueueElement('q-ref', { reference: 'A', data: 'a1' });
      freezeAt(new Date(base.getTime() + TICK));
      await oc.createQueueElement('q-ref', { reference: 'B', data: 'b1' });
      freezeAt(new Date(base.getTime() + 2 * TICK));
      await oc.createQueueElement('q-ref', { reference: 'B', data: 'b2' });
      freezeAt(new Date(base.getTime() + 3 * TICK));
      expect((await oc.getNextQueueElement('q-ref', { reference: 'B' }))?.data).toBe('b1');
      expect((await oc.getNextQueueElement('q-ref', { reference: 'B' }))?.data).toBe('b2');
      expect(await oc.getNextQueueElement('q-ref', { reference: 'B' })).toBeUndefined();
      expect(await oc.getNextQueueElement('q-ref', { reference: 'C' })).toBeUndefined();
      expect((await oc.getNextQueueElement('q-ref'))?.data).toBe('a1');
      expect(await oc.getNextQueueElement('q-ref')).toBeUndefined();
      expect(await oc.getNextQueueElement('q-nothing-here')).toBeUndefined();
    });

    it('leaves the element New with setStatus: false', async () => {
      const created = await oc.createQueueElement('q-peek', { reference: 'p' });
      const peeked = await oc.getNextQueueElement('q-peek', { setStatus: false });
      expect(peeked).toEqual(created);
      expect(peeked?.status).toBe('NEW');
      const again = await oc.getNextQueueElement('q-peek', { setStatus: false, reference: 'p' });
      expect(again?.id).toBe(created.id);
      expect(await oc.getNextQueueElement('q-peek', { setStatus: false, reference: 'other' })).toBeUndefined();
      const [row] = await oc.getQueueElements('q-peek');
      expect(row?.status).toBe('NEW');
      expect(row?.startDate).toBeNull();
      expect((await oc.getNextQueueElement('q-peek'))?.id).toBe(created.id);
    });

    it('lists elements by reference, status, date range, offset and limit, newest first', async () => {
      const base = new Date(2029, 5, 15, 8, 30, 0, 0);
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        freezeAt(new Date(base.getTime() + i * 1000 + i * TICK));
        ids.push((await oc.createQueueElement('q-list', { reference: i % 2 === 0 ? 'even' : 'odd', data: String(i) })).id);
      }
      await oc.setQueueElementStatus(ids[1]!, 'DONE');
      await oc.setQueueElementStatus(ids[4]!, 'FAILED');

      const all = await oc.getQueueElements('q-list');
      expect(all.map((e) => e.data)).toEqual(['5', '4', '3', '2', '1', '0']);
      expect((await oc.getQueueElements('q-list', { reference: 'even' })).map((e) => e.data)).toEqual(['4', '2', '0']);
      expect((await oc.getQueueElements('q-list', { status: 'NEW' })).map((e) => e.data)).toEqual(['5', '3', '2', '0']);
      expect((await oc.getQueueElements('q-list', { status: 'DONE' })).map((e) => e.data)).toEqual(['1']);
      expect((await oc.getQueueElements('q-list', { reference: 'even', status: 'FAILED' })).map((e) => e.data)).toEqual(['4']);
      // Bounds are inclusive and exact to what the column keeps.
      const from = new Date(base.getTime() + 1000 + TICK);
      const to = new Date(base.getTime() + 4000 + 4 * TICK);
      expect((await oc.getQueueElements('q-list', { fromDate: from, toDate: to })).map((e) => e.data)).toEqual(['4', '3', '2', '1']);
      expect((await oc.getQueueElements('q-list', { fromDate: new Date(from.getTime() + TICK) })).map((e) => e.data)).toEqual(['5', '4', '3', '2']);
      expect((await oc.getQueueElements('q-list', { toDate: new Date(to.getTime() - TICK) })).map((e) => e.data)).toEqual(['3', '2', '1', '0']);
      expect((await oc.getQueueElements('q-list', { offset: 1, limit: 2 })).map((e) => e.data)).toEqual(['4', '3']);
      expect((await oc.getQueueElements('q-list', { offset: 5, limit: 10 })).map((e) => e.data)).toEqual(['0']);
      expect(await oc.getQueueElements('q-list', { offset: 6 })).toEqual([]);
      expect(await oc.getQueueElements('q-list', { reference: 'none' })).toEqual([]);
    });

    it('sets start_date on IN_PROGRESS, end_date on DONE/FAILED/ABANDONED, and stores the message', async () => {
      const created = new Date(2028, 1, 29, 10, 0, 0, 1);
      freezeAt(created);
      const ids = await Promise.all(['done', 'failed', 'abandoned'].map(async (reference) => (await oc.createQueueElement('q-status', { reference })).id));
      const started = new Date(2028, 1, 29, 10, 5, 0, 2);
      freezeAt(started);
      for (const id of ids) await oc.setQueueElementStatus(id, 'IN_PROGRESS');
      const ended = new Date(2028, 1, 29, 10, 10, 0, 3);
      freezeAt(ended);
      await oc.setQueueElementStatus(ids[0]!, 'DONE', 'all good');
      await oc.setQueueElementStatus(ids[1]!, 'FAILED', 'x'.repeat(1000));
      await oc.setQueueElementStatus(ids[2]!, 'ABANDONED');

      const byRef = new Map((await oc.getQueueElements('q-status')).map((e) => [e.reference, e]));
      for (const [reference, status, message] of [
        ['done', 'DONE', 'all good'],
        ['failed', 'FAILED', 'x'.repeat(1000)],
        ['abandoned', 'ABANDONED', null],
      ] as const) {
        const element = byRef.get(reference);
        expect(element?.status).toBe(status);
        expect(element?.message).toBe(message);
        expect(element?.createdDate.getTime()).toBe(kept(created).getTime());
        expect(element?.startDate?.getTime()).toBe(kept(started).getTime());
        expect(element?.endDate?.getTime()).toBe(kept(ended).getTime());
      }
      const raw = await live.store.db.selectFrom('Queues').select('status').where('queue_name', '=', 'q-status').where('reference', '=', 'abandoned').executeTakeFirstOrThrow();
      expect(raw.status).toBe('ABANDONED');
    });

    it('deletes an element', async () => {
      const element = await oc.createQueueElement('q-delete', { reference: 'gone' });
      await oc.deleteQueueElement(element.id);
      expect(await oc.getQueueElements('q-delete')).toEqual([]);
      await expect(oc.deleteQueueElement(element.id)).rejects.toThrow(`no queue element with id ${element.id}`);
    });

    it('names an unknown queue element id', async () => {
      const id = randomUUID();
      await expect(oc.setQueueElementStatus(id, 'DONE')).rejects.toThrow(NotFoundError);
      await expect(oc.setQueueElementStatus(id, 'DONE')).rejects.toThrow(`no queue element with id ${id}`);
      await expect(oc.deleteQueueElement(id)).rejects.toThrow(`no queue element with id ${id}`);
      await expect(oc.setQueueElementStatus('not-a-uuid', 'DONE')).rejects.toThrow(InputError);
    });

    it('takes 100 emoji as a 100-character reference, as the column does', async () => {
      const reference = '📦'.repeat(100);
      const element = await oc.createQueueElement('q-emoji', { reference, data: '€'.repeat(2000) });
      const [read] = await oc.getQueueElements('q-emoji', { reference });
      expect(read?.id).toBe(element.id);
      expect(read?.reference).toBe(reference);
      await expect(oc.createQueueElement('q-emoji', { reference: '📦'.repeat(101) })).rejects.toThrow(
        'queue element reference is 101 characters long; the limit is 100',
      );
    });

    it('refuses over-long values, naming the field and the limit, and writes nothing', async () => {
      await oc.createQueueElement('q-long', { reference: 'r'.repeat(100), data: 'd'.repeat(2000) });
      const before = await countRows(live.store, 'Queues');

      const reference = await oc.createQueueElement('q-long', { reference: 'r'.repeat(101) }).catch((e: unknown) => e);
      expect(reference).toBeInstanceOf(InputError);
      expect((reference as Error).message).toBe('queue element reference is 101 characters long; the limit is 100');

      const data = await oc.createQueueElement('q-long', { data: 'd'.repeat(2001) }).catch((e: unknown) => e);
      expect(data).toBeInstanceOf(InputError);
      expect((data as Error).message).toBe('queue element data is 2001 characters long; the limit is 2000');

      // One bad element in a bulk call: nothing of the batch is written.
      const bulk = [...Array.from({ length: 50 }, (_, i) => ({ reference: `ok-${i}` })), { data: 'd'.repeat(2001) }];
      const bulkError = await oc.bulkCreateQueueElements('q-long', bulk).catch((e: unknown) => e);
      expect(bulkError).toBeInstanceOf(InputError);
      expect((bulkError as Error).message).toBe('element 50: queue element data is 2001 characters long; the limit is 2000');

      const status = await oc.createQueueElement('q-long', {});
      const message = await oc.setQueueElementStatus(status.id, 'FAILED', 'm'.repeat(1001)).catch((e: unknown) => e);
      expect(message).toBeInstanceOf(InputError);
      expect((message as Error).message).toBe('queue element message is 1001 characters long; the limit is 1000');
      expect((await oc.getQueueElements('q-long', { reference: undefined })).find((e) => e.id === status.id)?.status).toBe('NEW');

      const queueName = await oc.createQueueElement('q'.repeat(101), {}).catch((e: unknown) => e);
      expect((queueName as Error).message).toBe('queue name is 101 characters long; the limit is 100');

      expect(await countRows(live.store, 'Queues')).toBe(before + 1);
    });
  });

  describe('one queue element (Python 3.0 parity)', () => {
    it('reads an element by id and updates exactly the fields given', async () => {
      const created = await oc.createQueueElement('parity', { reference: 'R-1', data: '{"a": 1}' });
      expect(await oc.getQueueElement(created.id)).toMatchObject({ id: created.id, status: 'NEW', reference: 'R-1', data: '{"a": 1}', createdBy: null });
      const start = new Date(2026, 0, 2, 3, 4, 5);
      const updated = await oc.updateQueueElement(created.id, { reference: 'R-2', status: 'IN_PROGRESS', message: 'halfway', createdBy: 'someone', startDate: start });
      expect(updated).toMatchObject({ reference: 'R-2', status: 'IN_PROGRESS', message: 'halfway', createdBy: 'someone', data: '{"a": 1}', endDate: null });
      expect(updated.startDate).toEqual(kept(start));
      // A status alone sets no date; null clears a nullable field.
      const again = await oc.updateQueueElement(created.id, { status: 'DONE', reference: null, startDate: null });
      expect(again).toMatchObject({ status: 'DONE', reference: null, startDate: null, endDate: null, message: 'halfway' });
      expect(await oc.getQueueElement(created.id)).toEqual(again);
    });

    it('refuses unknown ids, unknown fields and over-long values, changing nothing', async () => {
      const created = await oc.createQueueElement('parity', { reference: 'keep' });
      await expect(oc.getQueueElement(randomUUID())).rejects.toBeInstanceOf(NotFoundError);
      await expect(oc.updateQueueElement(randomUUID(), { message: 'x' })).rejects.toBeInstanceOf(NotFoundError);
      await expect(oc.updateQueueElement(created.id, { colour: 'red' } as never)).rejects.toThrow(/^unknown queue element field "colour"/);
      await expect(oc.updateQueueElement(created.id, { reference: 'x'.repeat(101) })).rejects.toThrow(/reference is 101 characters long; the limit is 100/);
      await expect(oc.updateQueueElement(created.id, { status: 'LOST' as never })).rejects.toBeInstanceOf(InputError);
      expect(await oc.getQueueElement(created.id)).toMatchObject({ reference: 'keep', status: 'NEW' });
    });
  });

  describe('triggers', () => {
    async function connectionForNewTrigger(name: string): Promise<{ conn: OrchestratorConnection; triggerId: string }> {
      const triggerId = await createTrigger(live.store, {
        type: 'SINGLE',
        triggerName: name,
        processName: 'robot-a',
        processPath: 'robot.py',
        nextRun: new Date(2030, 0, 1),
      });
      const conn = createConnectionFromArgs(['robot-a', live.url, KEY, '', triggerId], {});
      return { conn, triggerId };
    }

    it('reports and requests pausing of a running trigger', async () => {
      const { conn, triggerId } = await connectionForNewTrigger('pause-running');
      try {
        expect(await transitionTriggerStatus(live.store, triggerId, ['IDLE'], 'RUNNING')).toBe(true);
        expect(await conn.isTriggerPausing()).toBe(false);
        await conn.pauseMyTrigger();
        expect((await getTrigger(live.store, triggerId)).status).toBe('PAUSING');
        expect(await conn.isTriggerPausing()).toBe(true);
        const raw = await live.store.db.selectFrom('Triggers').select('process_status').where('id', '=', live.store.dialect.encodeUuid(triggerId)).executeTakeFirstOrThrow();
        expect(raw.process_status).toBe('PAUSING');
      } finally {
        await conn.close();
      }
    });

    it('pauses an idle trigger directly', async () => {
      const { conn, triggerId } = await connectionForNewTrigger('pause-idle');
      try {
        await conn.pauseMyTrigger();
        expect((await getTrigger(live.store, triggerId)).status).toBe('PAUSED');
        // Python 3.0's is_trigger_pausing answers true for Paused as well as Pausing.
        expect(await conn.isTriggerPausing()).toBe(true);
      } finally {
        await conn.close();
      }
    });

    it('names an unknown trigger id, and refuses without one', async () => {
      const missing = randomUUID();
      const conn = createConnectionFromArgs(['robot-a', live.url, KEY, '', missing], {});
      try {
        await expect(conn.isTriggerPausing()).rejects.toThrow(NotFoundError);
        await expect(conn.isTriggerPausing()).rejects.toThrow(`no trigger with id ${missing}`);
        await expect(conn.pauseMyTrigger()).rejects.toThrow(`no trigger with id ${missing}`);
      } finally {
        await conn.close();
      }
      await expect(oc.isTriggerPausing()).rejects.toThrow(InputError);
      await expect(oc.pauseMyTrigger()).rejects.toThrow('this connection has no trigger id');
    });
  });

  it('keeps two connections to two databases apart', async () => {
    const other = await openTestStore(dialect);
    const conn = new OrchestratorConnection({ processName: 'robot-b', connectionString: other.url, cryptoKey: KEY });
    try {
      await createConstant(live.store, 'where', 'first');
      await createConstant(other.store, 'where', 'second');
      await Promise.all([oc.logInfo('into first'), conn.logInfo('into second')]);
      await Promise.all([oc.createQueueElement('q-two', { reference: 'first' }), conn.createQueueElement('q-two', { reference: 'second' })]);

      expect((await oc.getConstant('where')).value).toBe('first');
      expect((await conn.getConstant('where')).value).toBe('second');
      expect((await oc.getNextQueueElement('q-two'))?.reference).toBe('first');
      expect((await conn.getNextQueueElement('q-two'))?.reference).toBe('second');
      expect(await oc.getNextQueueElement('q-two')).toBeUndefined();

      const firstLogs = await live.store.db.selectFrom('Logs').select('log_message').where('log_message', 'like', 'into %').execute();
      const secondLogs = await other.store.db.selectFrom('Logs').selectAll().execute();
      expect(firstLogs.map((r) => r.log_message)).toEqual(['into first']);
      expect(secondLogs.map((r) => [r.process_name, r.log_message])).toEqual([['robot-b', 'into second']]);
    } finally {
      await conn.close();
      await other.close();
    }
  });

  it('still works after closing another connection to the same database', async () => {
    const conn = new OrchestratorConnection({ processName: 'short-lived', connectionString: live.url, cryptoKey: KEY });
    await conn.logInfo('short');
    await conn.close();
    await conn.close();
    await expect(conn.logInfo('too late')).rejects.toThrow('this OrchestratorConnection is closed; create a new one to use the database again');
    await oc.logInfo('after close');
    expect((await getCredential(live.store, KEY, 'mail')).password).toBe('pæssw0rd ✓');
  });

  async function countQueue(queueName: string): Promise<number> {
    const row = await live.store.db
      .selectFrom('Queues')
      .select((eb) => eb.fn.countAll().as('n'))
      .where('queue_name', '=', queueName)
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }
});
