/**
 * The monitor's purge: removes what is older than each retention period (db/store/retention.ts)
 * in small batches, oldest first. A batch is read without locks through the time column's
 * index and deleted by primary key in a transaction of its own; after each batch the purge
 * waits as long as the batch took (`pause`), so robots and Schedulers writing at the same time
 * never wait for more than one batch and get at least half of the database's time. With an
 * archive, each batch is written and synced to the run's file before its delete, and cut off
 * again when the delete did not happen, so the file holds exactly the rows deleted.
 *
 * @example
 *   const reports = await purgeExpired(store, { batchSize: 2000, archiveDir: '/var/archive' });
 */
import type { Store } from '../db/open.js';
import {
  deleteExpiredBatch,
  listNotificationsOf,
  listRetention,
  ownQueuePeriods,
  selectExpiredBatch,
  SCOPE_TABLES,
  type PurgeWindow,
  type RetentionPolicy,
  type RetentionScope,
} from '../db/store/retention.js';
import { now } from '../time/clock.js';
import { ArchiveFile } from './archive.js';

export interface PurgeOptions {
  /** the most rows per batch (default 2,000); a batch that takes longer than `batchMs` halves the next one */
  batchSize?: number;
  /** how long one batch (its read and its delete transaction) may take before batches shrink (default 250 ms) */
  batchMs?: number;
  /** after each batch, wait this many times as long as the batch took (default 1) */
  pause?: number;
  /** where archives go; a period that asks for an archive purges nothing without it */
  archiveDir?: string;
  /** asked between batches: true ends the purge there (the monitor is stopping) */
  stopping?: () => boolean;
  /** told after each batch deleted */
  onBatch?: (scope: RetentionScope, rows: number, ms: number) => void;
  /** told every `progressEverySeconds` of a long purge (default 10 s) */
  onProgress?: (report: PurgeReport) => void;
  progressEverySeconds?: number;
}

export interface PurgeReport {
  scope: RetentionScope;
  table: string;
  /** a queue's own period; null for the scope as a whole */
  queueName: string | null;
  cutoff: Date;
  deleted: number;
  /** the archive written (none when nothing was deleted or no archive was asked for) */
  archive?: string;
  /** why nothing was purged, when a period could not be applied */
  skipped?: string;
  /** a batch found rows changed under it this many times (another monitor purging, a retried element) */
  conflicts: number;
}

export const DEFAULT_PURGE_BATCH = 2_000;
const DEFAULT_BATCH_MS = 250;
/** Batches never shrink below this: a purge must still move on a slow database. */
const MIN_BATCH = 100;
/** A window whose batches keep losing their race is left for the next run after this many in a row. */
const MAX_CONFLICTS_IN_A_ROW = 5;

/** One window per period: a queue's own, and QUEUE_ELEMENTS of every other queue. */
function windowsOf(policies: RetentionPolicy[], at: Date): { policy: RetentionPolicy; window: PurgeWindow }[] {
  const ownQueues = ownQueuePeriods(policies).map((p) => p.queueName!);
  return policies.map((policy) => {
    const window: PurgeWindow = { scope: policy.scope, cutoff: new Date(at.getTime() - policy.keepDays * 86_400_000) };
    if (policy.scope === 'QUEUE_ELEMENTS') {
      if (policy.queueName !== null) window.queueName = policy.queueName;
      else window.exceptQueues = ownQueues;
    }
    return { policy, window };
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs every retention period once, to the end (or until `stopping`). */
export async function purgeExpired(store: Store, options: PurgeOptions = {}): Promise<PurgeReport[]> {
  const reports: PurgeReport[] = [];
  for (const { policy, window } of windowsOf(await listRetention(store), now())) {
    if (options.stopping?.()) break;
    reports.push(await purgeWindow(store, policy, window, options));
  }
  return reports;
}

async function purgeWindow(store: Store, policy: RetentionPolicy, window: PurgeWindow, options: PurgeOptions): Promise<PurgeReport> {
  const { table } = SCOPE_TABLES[window.scope];
  const report: PurgeReport = { scope: window.scope, table, queueName: policy.queueName, cutoff: window.cutoff, deleted: 0, conflicts: 0 };
  if (policy.archive && !options.archiveDir) {
    report.skipped = 'its period asks for an archive and this monitor has no --archive-dir';
    return report;
  }
  const maxBatch = options.batchSize ?? DEFAULT_PURGE_BATCH;
  const batchMs = options.batchMs ?? DEFAULT_BATCH_MS;
  let batchSize = maxBatch;
  const pause = options.pause ?? 1;
  const progressMs = (options.progressEverySeconds ?? 10) * 1000;
  let archive: ArchiveFile | undefined;
  let from: Date | undefined;
  let conflictsInARow = 0;
  let lastProgress = Date.now();
  try {
    while (!options.stopping?.()) {
      const started = Date.now();
      const batch = await selectExpiredBatch(store, window, from, batchSize, policy.archive);
      if (batch.ids.length === 0) break;
      let undo: (() => Promise<void>) | undefined;
      if (policy.archive) {
        archive ??= await ArchiveFile.create(options.archiveDir!, policy.queueName === null ? table : `${table}-${policy.queueName}`);
        let lines = batch.rows!;
        if (window.scope === 'INCIDENTS') {
          const notifications = await listNotificationsOf(store, batch.ids);
          lines = lines.map((incident) => ({ ...incident, notifications: notifications.filter((n) => n.incident_id === incident.id) }));
        }
        undo = await archive.append(lines);
      }
      // An error here (the connection lost, maybe during COMMIT) keeps the batch's lines: its
      // rows may be gone, and may then be archived a second time, but are never lost.
      const deleted = await deleteExpiredBatch(store, window, batch.ids);
      if (deleted === undefined) {
        await undo?.();
        report.conflicts++;
        if (++conflictsInARow >= MAX_CONFLICTS_IN_A_ROW) break;
        continue;
      }
      conflictsInARow = 0;
      report.deleted += deleted;
      from = batch.last;
      const ms = Date.now() - started;
      options.onBatch?.(window.scope, deleted, ms);
      if (Date.now() - lastProgress >= progressMs) {
        lastProgress = Date.now();
        options.onProgress?.({ ...report });
      }
      if (batch.ids.length < batchSize) break;
      // Keeps the delete's locks short on a slow or busy database, and grows back when it is quick.
      if (ms > batchMs) batchSize = Math.max(MIN_BATCH, Math.floor(batchSize / 2));
      else if (ms < batchMs / 2) batchSize = Math.min(maxBatch, Math.ceil(batchSize * 1.5));
      if (pause > 0) await sleep(ms * pause);
    }
  } finally {
    const path = await archive?.finish();
    if (path) report.archive = path;
  }
  return report;
}
