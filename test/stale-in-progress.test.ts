/**
 * The stale In Progress test (src/db/store/queues.ts, staleInProgress) on live SQLite,
 * PostgreSQL and MariaDB: each edge of its definition on hand-made jobs and claims, then the
 * definition itself, written out in JS, against random jobs and claims. An element is stale
 * when (a) a job that has ended covers its claim (start_time <= start_date <= end_time) and
 * (b) no Running job had started by its claim.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { newId } from '../src/db/dialects/encoding.js';
import type { Store } from '../src/db/open.js';
import { listInProgressPastTimeout, listStaleInProgress, retryStaleInProgress } from '../src/db/store/queues.js';
import type { JobStatus, QueueStatus } from '../src/db/types.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

/** Whole seconds: MariaDB databases made by the Python tools keep no fractions. */
const T0 = new Date(2026, 0, 12, 8, 0, 0);
const at = (minutes: number) => new Date(T0.getTime() + minutes * 60_000);

interface Job {
  start: number;
  end: number | null;
  status: JobStatus;
}

interface Claim {
  ref: string;
  start: number | null;
  status?: QueueStatus;
  queue?: string;
}

/** The definition, in minutes since T0. */
function isStale(claim: Claim, jobs: Job[]): boolean {
  if ((claim.status ?? 'IN_PROGRESS') !== 'IN_PROGRESS' || claim.start === null) return false;
  const x = claim.start;
  const covered = jobs.some((j) => j.status !== 'RUNNING' && j.end !== null && j.start <= x && x <= j.end);
  const held = jobs.some((j) => j.status === 'RUNNING' && j.start <= x);
  return covered && !held;
}

/** A deterministic pseudo-random sequence (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe.each(LIVE_DIALECTS)('stale In Progress on %s', (dialect: LiveDialect) => {
  let live: TestStore;
  let store: Store;

  const addJobs = async (jobs: Job[]) => {
    const { db, dialect: d } = store;
    for (const job of jobs) {
      await db
        .insertInto('Jobs')
        .values({
          id: d.encodeUuid(newId()),
          process_name: 'robot',
          scheduler_name: 'PC1',
          start_time: d.encodeDate(at(job.start)),
          end_time: job.end === null ? null : d.encodeDate(at(job.end)),
          status: job.status,
          trigger_id: null,
        })
        .execute();
    }
  };
  /** Inserts the claims and returns their ids by reference. */
  const addClaims = async (claims: Claim[]) => {
    const { db, dialect: d } = store;
    const ids = new Map<string, string>();
    for (const claim of claims) {
      const id = newId();
      ids.set(claim.ref, id);
      await db
        .insertInto('Queues')
        .values({
          id: d.encodeUuid(id),
          queue_name: claim.queue ?? 'q',
          status: claim.status ?? 'IN_PROGRESS',
          data: null,
          reference: claim.ref,
          created_date: d.encodeDate(at(-1000)),
          start_date: claim.start === null ? null : d.encodeDate(at(claim.start)),
          end_date: null,
          message: null,
          created_by: null,
        })
        .execute();
    }
    return ids;
  };
  const staleRefs = async (options: { queueName?: string; limit?: number } = {}) => (await listStaleInProgress(store, options)).map((e) => e.reference);

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
  }, 60_000);

  beforeEach(async () => {
    await store.db.deleteFrom('Jobs').execute();
    await store.db.deleteFrom('Queues').execute();
  });

  afterAll(async () => {
    await live?.close();
  });

  it('lists a claim that an ended job covers, its start and end included, oldest claim first', async () => {
    await addJobs([
      { start: 0, end: 10, status: 'DONE' },
      { start: 20, end: 30, status: 'FAILED' },
      { start: 40, end: 50, status: 'KILLED' },
    ]);
    await addClaims([
      { ref: 'at end', start: 30 },
      { ref: 'inside', start: 5 },
      { ref: 'at start', start: 40 },
    ]);
    expect(await staleRefs()).toEqual(['inside', 'at end', 'at start']);
    expect(await staleRefs({ limit: 2 })).toEqual(['inside', 'at end']);
  });

  it('lists nothing claimed at or after the start of a job that is still Running, and a Running job started later holds nothing', async () => {
    await addJobs([
      { start: 0, end: 100, status: 'DONE' },
      { start: 50, end: null, status: 'RUNNING' },
    ]);
    await addClaims([
      { ref: 'before the running job', start: 49 },
      { ref: 'at its start', start: 50 },
      { ref: 'during it', start: 60 },
    ]);
    expect(await staleRefs()).toEqual(['before the running job']);
  });

  it('does not list a claim that no job covers, nor one between two jobs', async () => {
    await addJobs([
      { start: 0, end: 10, status: 'DONE' },
      { start: 20, end: 30, status: 'DONE' },
    ]);
    await addClaims([
      { ref: 'before every job', start: -5 },
      { ref: 'between', start: 15 },
      { ref: 'after every job', start: 31 },
      { ref: 'covered', start: 25 },
    ]);
    expect(await staleRefs()).toEqual(['covered']);
  });

  it('finds the earlier, longer job that covers a claim when a later-started job ended before it', async () => {
    // The job that started last before the claim ended before it, and many short jobs end
    // after the claim before the long one does: only the long one covers it.
    await addJobs([
      { start: 0, end: 500, status: 'DONE' },
      { start: 10, end: 20, status: 'DONE' },
      ...Array.from({ length: 30 }, (_, i): Job => ({ start: 40 + i * 10, end: 45 + i * 10, status: 'DONE' })),
    ]);
    await addClaims([{ ref: 'claimed at 30', start: 30 }]);
    expect(await staleRefs()).toEqual(['claimed at 30']);
  });

  it('leaves out elements that are not In Progress or have no claim time, and filters by queue', async () => {
    await addJobs([{ start: 0, end: 100, status: 'DONE' }]);
    await addClaims([
      { ref: 'done', start: 10, status: 'DONE' },
      { ref: 'failed', start: 10, status: 'FAILED' },
      { ref: 'no claim time', start: null },
      { ref: 'other queue', start: 20, queue: 'other' },
      { ref: 'this queue', start: 30 },
    ]);
    expect(await staleRefs()).toEqual(['other queue', 'this queue']);
    expect(await staleRefs({ queueName: 'q' })).toEqual(['this queue']);
  });

  it('agrees with the definition on random jobs and claims, in the list, the retry and the visibility timeout', async () => {
    const next = random(20260112);
    const minute = (span: number) => Math.floor(next() * span);
    const statuses: JobStatus[] = ['DONE', 'FAILED', 'KILLED'];
    const jobs: Job[] = Array.from({ length: 60 }, () => {
      const start = minute(2000);
      return { start, end: start + 1 + minute(next() < 0.2 ? 400 : 30), status: statuses[minute(3)]! };
    });
    // Two Running jobs late in the span: claims after the first of them are held.
    jobs.push({ start: 1700 + minute(100), end: null, status: 'RUNNING' }, { start: 1900 + minute(100), end: null, status: 'RUNNING' });
    const claims: Claim[] = Array.from({ length: 150 }, (_, i) => ({ ref: `e${String(i).padStart(3, '0')}`, start: minute(2100), queue: i % 2 ? 'odd' : 'even' }));
    await addJobs(jobs);
    const ids = await addClaims(claims);

    const expected = claims
      .filter((c) => isStale(c, jobs))
      .sort((a, b) => a.start! - b.start! || ids.get(a.ref)!.localeCompare(ids.get(b.ref)!))
      .map((c) => c.ref);
    expect(expected.length).toBeGreaterThan(10);
    expect(expected.length).toBeLessThan(claims.length - 10);
    const listed = await staleRefs({ limit: 1000 });
    // Order by claim time; ties (same minute) may come in any id order.
    expect([...listed].sort()).toEqual([...expected].sort());
    expect(listed.map((ref) => claims.find((c) => c.ref === ref)!.start)).toEqual(expected.map((ref) => claims.find((c) => c.ref === ref)!.start));
    expect(await staleRefs({ limit: 5 })).toEqual(listed.slice(0, 5));
    expect(await staleRefs({ queueName: 'odd', limit: 1000 })).toEqual(listed.filter((ref) => claims.find((c) => c.ref === ref)!.queue === 'odd'));

    // The visibility timeout: every stale element of the queue as "job ended", the rest by age.
    const timedOut = await listInProgressPastTimeout(store, 'even', at(-10_000));
    const evenStale = expected.filter((ref) => claims.find((c) => c.ref === ref)!.queue === 'even');
    expect(timedOut.map((e) => e.reason)).toEqual(evenStale.map(() => 'job ended'));
    expect(timedOut.map((e) => e.id).sort()).toEqual(evenStale.map((ref) => ids.get(ref)!).sort());

    // Retrying every element moves exactly the stale ones back to New.
    expect(await retryStaleInProgress(store, [...ids.values()])).toBe(expected.length);
    const rows = await store.db.selectFrom('Queues').select(['reference', 'status']).execute();
    const backToNew = rows.filter((r) => r.status === 'NEW').map((r) => r.reference);
    expect(backToNew.sort()).toEqual([...expected].sort());
    expect(await staleRefs({ limit: 1000 })).toEqual([]);
  });
});
