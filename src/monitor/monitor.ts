/**
 * The monitor: one long-lived loop that, every interval, runs the queue retry sweep and the
 * visibility timeouts, evaluates the alert rules (opening and clearing incidents) and delivers
 * due notifications. Any number of monitors may run on one database: every move and every
 * notification is claimed by a conditional write before it happens (see db/store/retries.ts and
 * db/store/alerts.ts), so nothing is done twice.
 *
 * @example
 *   const monitor = new Monitor({ connectionString, name: 'ops-1', intervalSeconds: 30 }, log);
 *   await monitor.run(); // until monitor.stop()
 */
import { hostname } from 'node:os';
import { closeStore, openStore, toDatabaseError, type Store } from '../db/open.js';
import { checkSchema, schemaNotCurrent } from '../db/schema/upgrade.js';
import {
  claimDueNotifications,
  clearIncident,
  getChannel,
  getIncident,
  getRule,
  listOpenIncidents,
  listRules,
  markNotificationFailed,
  markNotificationSent,
  openIncident,
  type AlertChannel,
  type ClaimedNotification,
} from '../db/store/alerts.js';
import { monitorBeat, removeMonitor } from '../db/store/monitors.js';
import { sweepQueues, type SweepResult } from '../db/store/retries.js';
import { splitToFit } from '../db/store/validate.js';
import { isUserFacingError, NotFoundError } from '../errors.js';
import type { ConsoleLog } from '../scheduler/console-log.js';
import { formatNaive, now } from '../time/clock.js';
import { channelLogin, sendOverChannel, type ChannelLogin } from './channels.js';
import { SCOPE_TABLES } from '../db/store/retention.js';
import { metrics, setScrapeStore } from '../metrics/metrics.js';
import { recoverArchives } from './archive.js';
import { DEFAULT_PURGE_BATCH, purgeExpired, type PurgeReport } from './retention.js';
import { evaluateRule } from './rules.js';

/** `412,000 rows of Logs older than 2026-01-02 03:04` */
function describePurged(r: PurgeReport): string {
  return `${r.deleted.toLocaleString('en-US')} row(s) of ${r.table}${r.queueName ? ` (queue "${r.queueName}")` : ''} older than ${formatNaive(r.cutoff).slice(0, 16)}`;
}

export interface MonitorOptions {
  connectionString: string;
  /** decrypts the Credentials that e-mail channels log in with */
  cryptoKey?: string;
  /** who the history and the outbox name as the actor (default monitor@<host>:<pid>) */
  name?: string;
  intervalSeconds: number;
  /** first wait after a failed send; doubled after each further failure */
  retryBaseSeconds?: number;
  /** longest wait between two tries of one notification */
  retryMaxSeconds?: number;
  /** tries after which a notification is given up (FAILED) */
  maxTries?: number;
  /** how long a claimed notification stays this monitor's before another may take it over */
  leaseSeconds?: number;
  /** seconds between two purges of expired history (retention.ts); 0: never purge */
  purgeEverySeconds?: number;
  /** rows per purge batch */
  purgeBatch?: number;
  /** where retention archives go (the folder must exist) */
  archiveDir?: string;
}

export interface TickResult {
  sweep: SweepResult;
  opened: number;
  cleared: number;
  sent: number;
  failed: number;
}

export const DEFAULT_MONITOR_INTERVAL_SECONDS = 30;
export const DEFAULT_PURGE_EVERY_SECONDS = 600;
const DEFAULTS = { retryBaseSeconds: 30, retryMaxSeconds: 3600, maxTries: 12, leaseSeconds: 120, purgeEverySeconds: DEFAULT_PURGE_EVERY_SECONDS, purgeBatch: DEFAULT_PURGE_BATCH };

/** Wait before try `tries + 1` of a notification: base, 2 x base, 4 x base, ... up to max. */
export function notificationBackoffSeconds(tries: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(maxSeconds, baseSeconds * 2 ** Math.min(Math.max(tries - 1, 0), 30));
}

export class Monitor {
  readonly name: string;
  readonly #options: Required<Omit<MonitorOptions, 'cryptoKey' | 'name' | 'archiveDir'>> & Pick<MonitorOptions, 'cryptoKey' | 'archiveDir'>;
  readonly #log: ConsoleLog;
  readonly #store: Store;
  #stopped = false;
  #wake: (() => void) | undefined;
  #wakePurge: (() => void) | undefined;
  /** the last tick failed: the next one that works is a reconnect */
  #failing = false;

  constructor(options: MonitorOptions, log: ConsoleLog) {
    this.#options = { ...DEFAULTS, ...options };
    this.#log = log;
    this.#store = openStore(options.connectionString);
    // oo_monitors.name holds 100 as this database counts (SQL Server: UTF-16 units); a long host name is cut.
    this.name = splitToFit(this.#store.dialect, options.name ?? `monitor@${hostname()}:${process.pid}`, 100)[0] ?? '';
  }

  /** Checks the schema once, then ticks every interval until stop(); a failed tick is logged and retried. */
  async run(): Promise<void> {
    try {
      // A database that cannot be reached is named in one line, as everywhere else.
      const check = await checkSchema(this.#store.db, this.#store.dialect).catch((error: unknown) => Promise.reject(toDatabaseError(error, this.#store.config)));
      if (!check.current) throw schemaNotCurrent(check);
      this.#log.info('monitor-started', `monitor "${this.name}" watching the database every ${this.#options.intervalSeconds} s`);
      const startedAt = now();
      await this.#recoverArchives();
      // The queue and incident gauges of /metrics read through this monitor's connection.
      setScrapeStore(() => this.#store);
      const purging = this.#purgeLoop();
      while (!this.#stopped) {
        try {
          // Beats like a Scheduler, so the Orchestrator can tell whether the rules are evaluated.
          await monitorBeat(this.#store, this.name, this.#options.intervalSeconds, startedAt);
          const result = await this.tick();
          if (this.#failing) metrics().databaseReconnects.inc({ component: 'monitor' });
          this.#failing = false;
          this.#report(result);
        } catch (error) {
          metrics().databaseErrors.inc({ component: 'monitor' });
          this.#failing = true;
          const translated = toDatabaseError(error, this.#store.config);
          this.#log.error('tick-failed', isUserFacingError(translated) ? translated.message : String((translated as Error).message).split('\n')[0]!);
        }
        await this.#sleep(this.#options.intervalSeconds * 1000);
      }
      await purging;
      // Stopped on purpose: no "monitor gone" warning for it. A failure here leaves the row to go silent.
      await removeMonitor(this.#store, this.name).catch(() => undefined);
      this.#log.info('monitor-stopped', `monitor "${this.name}" stopped`);
    } finally {
      setScrapeStore(undefined);
      await closeStore(this.#store);
    }
  }

  /** Ends run() after the current tick (and the current purge batch). */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
    this.#wakePurge?.();
  }

  /**
   * One purge of expired history by the retention periods (docs/operations.md, "Retention"),
   * in batches; run() does it every purgeEverySeconds.
   */
  async purge(): Promise<PurgeReport[]> {
    const reports = await purgeExpired(this.#store, {
      batchSize: this.#options.purgeBatch,
      archiveDir: this.#options.archiveDir,
      stopping: () => this.#stopped,
      onBatch: (scope, rows) => metrics().purgedRows.inc({ table: SCOPE_TABLES[scope].table }, rows),
      onProgress: (r) => this.#log.info('purging', `purging ${describePurged(r)} so far`),
    });
    for (const r of reports) {
      if (r.skipped) this.#log.warn('purge-skipped', `kept ${r.table}${r.queueName ? ` of queue "${r.queueName}"` : ''}: ${r.skipped}`);
      else if (r.deleted > 0) this.#log.info('purged', `purged ${describePurged(r)}${r.archive ? `, archived to ${r.archive}` : ''}`);
    }
    return reports;
  }

  async #purgeLoop(): Promise<void> {
    if (this.#options.purgeEverySeconds <= 0) return;
    while (!this.#stopped) {
      try {
        await this.purge();
      } catch (error) {
        const translated = toDatabaseError(error, this.#store.config);
        this.#log.error('purge-failed', isUserFacingError(translated) ? translated.message : String((translated as Error).message).split('\n')[0]!);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, this.#options.purgeEverySeconds * 1000);
        this.#wakePurge = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wakePurge = undefined;
    }
  }

  async #recoverArchives(): Promise<void> {
    const dir = this.#options.archiveDir;
    if (!dir) return;
    for (const path of await recoverArchives(dir)) {
      this.#log.warn('archive-recovered', `repaired ${path}, left unfinished by a monitor that stopped mid-purge (its last batch may also be in a later archive)`);
    }
  }

  /** One pass: the retry sweep and timeouts, the rules, then the outbox. */
  async tick(): Promise<TickResult> {
    const sweep = await sweepQueues(this.#store, this.name);
    const { opened, cleared } = await this.#evaluateRules();
    const { sent, failed } = await this.#deliver();
    return { sweep, opened, cleared, sent, failed };
  }

  /** Closes the database connection of a monitor that is not run() (tests tick it by hand). */
  async close(): Promise<void> {
    await closeStore(this.#store);
  }

  #report(result: TickResult): void {
    const { sweep } = result;
    if (sweep.counted + sweep.retried + sweep.requeued + sweep.timedOut > 0) {
      this.#log.info('queues-swept', `queues: ${sweep.counted} failure(s) counted, ${sweep.retried} retried, ${sweep.timedOut} timed out, ${sweep.requeued} moved by hand`);
    }
    if (result.opened + result.cleared + result.sent + result.failed > 0) {
      this.#log.info('alerts', `alerts: ${result.opened} incident(s) opened, ${result.cleared} cleared, ${result.sent} notification(s) sent, ${result.failed} failed`);
    }
  }

  async #sleep(ms: number): Promise<void> {
    if (this.#stopped) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }

  async #evaluateRules(): Promise<{ opened: number; cleared: number }> {
    let opened = 0;
    let cleared = 0;
    for (const rule of await listRules(this.#store)) {
      if (!rule.enabled) continue;
      const at = now();
      const evaluation = await evaluateRule(this.#store, rule, at);
      const open = await listOpenIncidents(this.#store, rule.id);
      const openKeys = new Set(open.map((incident) => incident.key));
      for (const [key, finding] of evaluation.firing) {
        if (openKeys.has(key)) continue;
        if (await openIncident(this.#store, rule, { key, subject: finding.subject, detail: finding.detail })) opened++;
      }
      for (const incident of open) {
        if (evaluation.firing.has(incident.key)) continue;
        if (evaluation.healthy !== 'all' && !evaluation.healthy.has(incident.key)) continue;
        if (await clearIncident(this.#store, incident, rule.channelIds)) cleared++;
      }
    }
    return { opened, cleared };
  }

  async #deliver(): Promise<{ sent: number; failed: number }> {
    let sent = 0;
    let failed = 0;
    for (const notification of await claimDueNotifications(this.#store, this.name, this.#options.leaseSeconds)) {
      let kind = 'unknown';
      try {
        const channel = await getChannel(this.#store, notification.channelId);
        kind = channel.kind;
        await this.#send(notification, channel);
        await markNotificationSent(this.#store, notification);
        metrics().notifications.inc({ channel: kind, outcome: 'sent' });
        sent++;
      } catch (error) {
        metrics().notifications.inc({ channel: kind, outcome: 'failed' });
        failed++;
        const message = isUserFacingError(error) || error instanceof Error ? (error as Error).message : String(error);
        const giveUp = notification.tries >= this.#options.maxTries || error instanceof NotFoundError;
        const wait = notificationBackoffSeconds(notification.tries, this.#options.retryBaseSeconds, this.#options.retryMaxSeconds);
        await markNotificationFailed(this.#store, notification, message, giveUp ? null : new Date(now().getTime() + wait * 1000));
        this.#log.warn('notification-failed', `notification ${notification.id} (try ${notification.tries}) failed: ${message}${giveUp ? '; given up' : `; next try in ${wait} s`}`);
      }
    }
    return { sent, failed };
  }

  async #send(notification: ClaimedNotification, channel: AlertChannel): Promise<void> {
    const incident = await getIncident(this.#store, notification.incidentId);
    const rule = await getRule(this.#store, incident.ruleId);
    if (!channel.enabled) throw new Error(`channel "${channel.name}" is disabled; enable it to send`);
    await sendOverChannel(
      channel,
      {
        event: notification.event,
        ruleId: rule.id,
        ruleName: rule.name,
        ruleKind: rule.kind,
        incidentId: incident.id,
        incidentKey: incident.key,
        subject: incident.subject,
        detail: incident.detail ?? '',
        openedAt: incident.openedAt,
        clearedAt: incident.clearedAt,
      },
      await this.#login(channel),
    );
  }

  async #login(channel: AlertChannel): Promise<ChannelLogin | undefined> {
    return channelLogin(this.#store, channel, this.#options.cryptoKey);
  }

}
