/**
 * Concurrent robots draining one queue, each over its own connection (its own pool; on SQLite
 * its own better-sqlite3 handle on the same file): no element is handed out twice, none is lost,
 * none is left In Progress. Prints the claim rate per dialect; test/sqlite-processes.test.ts
 * proves SQLite across real processes.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStore, openStore, type Store } from '../src/db/open.js';
import { bulkCreateQueueElements, createQueueElement, getNextQueueElement, getQueueElements, listQueues, setQueueElementStatus } from '../src/db/store/queues.js';
import { FileLock, fileLock } from '../src/db/dialects/sqlite-file-lock.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const WORKERS = 8;
const ELEMENTS = 2_000;

describe.each(LIVE_DIALECTS)('queue claims on %s', (dialect) => {
  let live: TestStore;
  let workers: Store[] = [];

  beforeAll(async () => {
    live = await openTestStore(dialect);
    workers = Array.from({ length: WORKERS }, () => openStore(live.url));
  });
  afterAll(async () => {
    await Promise.all(workers.map((store) => closeStore(store)));
    await live?.close();
  });

  it(`${WORKERS} workers drain ${ELEMENTS} elements: each claimed exactly once, all Done`, async () => {
    const elements = Array.from({ length: ELEMENTS }, (_, i) => ({ reference: `e${i}`, data: String(i) }));
    await bulkCreateQueueElements(live.store, 'drain', elements);
    // A second queue the workers must leave alone.
    await bulkCreateQueueElements(live.store, 'bystander', [{ reference: 'stay' }]);
    // Connect every worker before the clock starts, so the rate measures claims, not logins.
    await Promise.all(workers.map((store) => getQueueElements(store, 'drain', { limit: 1 })));

    const claimedBy = new Map<string, number[]>();
    const perWorker = new Array<number>(WORKERS).fill(0);
    const started = performance.now();
    await Promise.all(
      workers.map(async (store, worker) => {
        for (;;) {
          const element = await getNextQueueElement(store, 'drain');
          if (!element) return;
          expect(element.status).toBe('IN_PROGRESS');
          claimedBy.set(element.id, [...(claimedBy.get(element.id) ?? []), worker]);
          perWorker[worker]! += 1;
          await setQueueElementStatus(store, element.id, 'DONE', `worker ${worker}`);
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const rate = Math.round(ELEMENTS / seconds);
    console.log(`queue claims: ${dialect} ${WORKERS} workers ${ELEMENTS} elements ${rate}/s (claim + set Done; per worker ${perWorker.join(' ')})`);

    const duplicates = [...claimedBy.entries()].filter(([, by]) => by.length > 1);
    expect(duplicates).toEqual([]);
    expect(claimedBy.size).toBe(ELEMENTS);
    expect(perWorker.reduce((a, b) => a + b, 0)).toBe(ELEMENTS);

    const rows = await live.store.db.selectFrom('Queues').select(['id', 'status', 'message', 'start_date', 'end_date']).where('queue_name', '=', 'drain').execute();
    expect(rows).toHaveLength(ELEMENTS);
    expect(rows.filter((row) => row.status !== 'DONE')).toEqual([]);
    expect(rows.filter((row) => row.start_date === null || row.end_date === null)).toEqual([]);
    const ids = new Set(rows.map((row) => live.store.dialect.decodeUuid(row.id)));
    expect([...claimedBy.keys()].filter((id) => !ids.has(id))).toEqual([]);
    // Each element records the worker that finished it: the one that claimed it.
    for (const row of rows) expect(row.message).toBe(`worker ${claimedBy.get(live.store.dialect.decodeUuid(row.id))?.[0]}`);

    expect(await listQueues(live.store)).toEqual([
      { queueName: 'bystander', counts: { NEW: 1, IN_PROGRESS: 0, DONE: 0, FAILED: 0, ABANDONED: 0 } },
      { queueName: 'drain', counts: { NEW: 0, IN_PROGRESS: 0, DONE: ELEMENTS, FAILED: 0, ABANDONED: 0 } },
    ]);
  });

  it('lets another connection of this process write while a bulk insert holds its transaction', async () => {
    // On SQLite a second handle's write inside the bulk insert's transaction used to wait for
    // the file lock synchronously, freezing the event loop until "database is locked".
    const elements = Array.from({ length: 30_000 }, (_, i) => ({ reference: `b${i}` }));
    const bulk = bulkCreateQueueElements(live.store, 'bulk-while-writing', elements);
    const writes = (async () => {
      const ids: string[] = [];
      for (let i = 0; i < 20; i++) ids.push((await createQueueElement(workers[0]!, 'written-alongside', { reference: `w${i}` })).id);
      return ids;
    })();
    const [inserted, ids] = await Promise.all([bulk, writes]);
    expect(inserted).toBe(30_000);
    expect(ids).toHaveLength(20);
    const counts = Object.fromEntries((await listQueues(live.store)).map((q) => [q.queueName, q.counts.NEW]));
    expect(counts['bulk-while-writing']).toBe(30_000);
    expect(counts['written-alongside']).toBe(20);
  });

  it('never tells a worker its reference is empty while another worker claims a different one', async () => {
    // Each worker wants its own reference; the elements lie interleaved in created_date order,
    // so a claim that scans (and locks) the rows of other references would make them look taken.
    for (let round = 0; round < 25; round++) {
      const queue = `per-ref-${round}`;
      await bulkCreateQueueElements(
        live.store,
        queue,
        workers.map((_, worker) => ({ reference: `r${worker}`, data: String(worker) })),
      );
      const got = await Promise.all(workers.map((store, worker) => getNextQueueElement(store, queue, { reference: `r${worker}` })));
      expect(got.map((element) => element?.data)).toEqual(workers.map((_, worker) => String(worker)));
    }
  });

  it('gives each of as many concurrent claims as there are elements one element, with and without a reference', async () => {
    for (let round = 0; round < 25; round++) {
      for (const reference of [undefined, 'same']) {
        const queue = `one-each-${round}-${reference ?? 'any'}`;
        await bulkCreateQueueElements(live.store, queue, workers.map((_, i) => ({ reference: 'same', data: String(i) })));
        const got = await Promise.all(workers.map((store) => getNextQueueElement(store, queue, reference === undefined ? {} : { reference })));
        expect(got.filter((element) => element === undefined)).toHaveLength(0);
        expect(new Set(got.map((element) => element?.data)).size).toBe(WORKERS);
      }
    }
  });

  it('hands elements with one reference to concurrent workers exactly once', async () => {
    await bulkCreateQueueElements(
      live.store,
      'by-ref',
      Array.from({ length: 400 }, (_, i) => ({ reference: i % 2 ? 'odd' : 'even', data: String(i) })),
    );
    const claimed: string[] = [];
    await Promise.all(
      workers.map(async (store) => {
        for (;;) {
          const element = await getNextQueueElement(store, 'by-ref', { reference: 'odd' });
          if (!element) return;
          expect(element.reference).toBe('odd');
          claimed.push(element.data ?? '');
        }
      }),
    );
    expect(claimed).toHaveLength(200);
    expect(new Set(claimed).size).toBe(200);
    expect((await listQueues(live.store)).find((q) => q.queueName === 'by-ref')?.counts).toMatchObject({ NEW: 200, IN_PROGRESS: 200 });
  });
});

describe('the in-process lock of an SQLite file', () => {
  it('grants the lock first come, first served', async () => {
    const lock = new FileLock();
    const order: number[] = [];
    const first = await lock.acquire(1_000);
    const waiting = [1, 2, 3].map(async (n) => {
      const release = await lock.acquire(1_000);
      order.push(n);
      release();
    });
    order.push(0);
    first();
    await Promise.all(waiting);
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('gives up with SQLITE_BUSY after the timeout, and passes its turn on', async () => {
    const lock = new FileLock();
    const held = await lock.acquire(1_000);
    await expect(lock.acquire(20)).rejects.toMatchObject({ code: 'SQLITE_BUSY', message: 'database is locked (by another connection of this process)' });
    const next = lock.acquire(1_000);
    held();
    (await next)();
  });

  it('is one lock per file, and none for :memory:', () => {
    expect(fileLock('/tmp/a.db')).toBe(fileLock('/tmp/../tmp/a.db'));
    expect(fileLock('/tmp/a.db')).not.toBe(fileLock('/tmp/b.db'));
    expect(fileLock(':memory:')).toBeUndefined();
  });
});
