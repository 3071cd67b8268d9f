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
import { isUserFacingError, NotFoundError } from '../errors.js';
import type { ConsoleLog } from '../scheduler/console-log.js';
import { now } from '../time/clock.js';
import { channelLogin, sendOverChannel, type ChannelLogin } from './channels.js';
import { evaluateRule } from './rules.js';

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
}

export interface TickResult {
  sweep: SweepResult;
  opened: number;
  cleared: number;
  sent: number;
  failed: number;
}

export const DEFAULT_MONITOR_INTERVAL_SECONDS = 30;
const DEFAULTS = { retryBaseSeconds: 30, retryMaxSeconds: 3600, maxTries: 12, leaseSeconds: 120 };

/** Wait before try `tries + 1` of a notification: base, 2 x base, 4 x base, ... up to max. */
export function notificationBackoffSeconds(tries: number, baseSeconds: number, maxSeconds: number): number {
  return Math.min(maxSeconds, baseSeconds * 2 ** Math.min(Math.max(tries - 1, 0), 30));
}

export class Monitor {
  readonly name: string;
  readonly #options: Required<Omit<MonitorOptions, 'cryptoKey' | 'name'>> & Pick<MonitorOptions, 'cryptoKey'>;
  readonly #log: ConsoleLog;
  readonly #store: Store;
  #stopped = false;
  #wake: (() => void) | undefined;

  constructor(options: MonitorOptions, log: ConsoleLog) {
    this.name = (options.name ?? `monitor@${hostname()}:${process.pid}`).slice(0, 100);
    this.#options = { ...DEFAULTS, ...options };
    this.#log = log;
    this.#store = openStore(options.connectionString);
  }

  /** Checks the schema once, then ticks every interval until stop(); a failed tick is logged and retried. */
  async run(): Promise<void> {
    try {
      // A database that cannot be reached is named in one line, as everywhere else.
      const check = await checkSchema(this.#store.db, this.#store.dialect).catch((error: unknown) => Promise.reject(toDatabaseError(error, this.#store.config)));
      if (!check.current) throw schemaNotCurrent(check);
      this.#log.info('monitor-started', `monitor "${this.name}" watching the database every ${this.#options.intervalSeconds} s`);
      const startedAt = now();
      while (!this.#stopped) {
        try {
          // Beats like a Scheduler, so the Orchestrator can tell whether the rules are evaluated.
          await monitorBeat(this.#store, this.name, this.#options.intervalSeconds, startedAt);
          const result = await this.tick();
          this.#report(result);
        } catch (error) {
          const translated = toDatabaseError(error, this.#store.config);
          this.#log.error('tick-failed', isUserFacingError(translated) ? translated.message : String((translated as Error).message).split('\n')[0]!);
        }
        await this.#sleep(this.#options.intervalSeconds * 1000);
      }
      // Stopped on purpose: no "monitor gone" warning for it. A failure here leaves the row to go silent.
      await removeMonitor(this.#store, this.name).catch(() => undefined);
      this.#log.info('monitor-stopped', `monitor "${this.name}" stopped`);
    } finally {
      await closeStore(this.#store);
    }
  }

  /** Ends run() after the current tick. */
  stop(): void {
    this.#stopped = true;
    this.#wake?.();
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
      try {
        await this.#send(notification);
        await markNotificationSent(this.#store, notification);
        sent++;
      } catch (error) {
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

  async #send(notification: ClaimedNotification): Promise<void> {
    const incident = await getIncident(this.#store, notification.incidentId);
    const rule = await getRule(this.#store, incident.ruleId);
    const channel = await getChannel(this.#store, notification.channelId);
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
