/**
 * Alerts as data: channels (where notifications go), rules (what to watch), incidents (one row
 * per problem, open until it clears) and the notification outbox (one row per incident event
 * and channel). Monitors never send straight from what they see: they open or clear an
 * incident with a conditional write, which inserts the outbox rows in the same transaction,
 * and then claim each outbox row with a conditional update before sending it. Several monitors
 * on one database therefore send each notification once.
 */
import { InputError, NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { newId } from '../dialects/encoding.js';
import type { Store } from '../open.js';
import { expectOne, whoWins } from './conflict.js';
import { paged } from './paging.js';
import { checkEnum, checkId, checkInteger, checkText, splitToFit } from './validate.js';
import { inTransaction } from './transaction.js';

export const CHANNEL_KINDS = ['EMAIL', 'WEBHOOK'] as const;
export type ChannelKind = (typeof CHANNEL_KINDS)[number];
export const WEBHOOK_TEMPLATES = ['json', 'teams', 'slack', 'custom'] as const;
export type WebhookTemplate = (typeof WEBHOOK_TEMPLATES)[number];
export const SMTP_SECURITY = ['tls', 'starttls', 'none'] as const;
export type SmtpSecurity = (typeof SMTP_SECURITY)[number];

export const RULE_KINDS = ['JOB_FAILED', 'TRIGGER_LATE', 'SCHEDULER_OFFLINE', 'QUEUE_BACKLOG', 'QUEUE_OLDEST_NEW', 'STALE_IN_PROGRESS'] as const;
export type RuleKind = (typeof RULE_KINDS)[number];
/** Rules whose threshold is required, and what it counts. */
export const RULE_THRESHOLDS: Partial<Record<RuleKind, string>> = {
  TRIGGER_LATE: 'minutes',
  SCHEDULER_OFFLINE: 'minutes',
  QUEUE_BACKLOG: 'New elements',
  QUEUE_OLDEST_NEW: 'minutes',
};

/** E-mail over SMTP. The login, if any, is a Credential (its password stays encrypted at rest). */
export interface EmailSettings {
  host: string;
  port: number;
  /** tls: TLS from the start (port 465); starttls: upgrade required (587); none: plain (test servers) */
  security: SmtpSecurity;
  /** with security none: send the login anyway, as plain text (refused otherwise) */
  allowLoginWithoutTls?: boolean;
  /** false accepts a self-signed server certificate */
  verifyCertificate: boolean;
  from: string;
  to: string[];
  /** name of the Credential holding the SMTP user name and password */
  credential: string | null;
}

/** A JSON POST. `custom` bodies are JSON text with {{subject}}, {{detail}}, {{event}}, {{rule}}, {{at}} placeholders. */
export interface WebhookSettings {
  url: string;
  template: WebhookTemplate;
  body: string | null;
  /** name of the Credential sent as HTTP Basic auth (the URL itself may hold no login) */
  credential?: string | null;
}

/**
 * Why a webhook URL may not be used, or undefined: a user name or password in it would show
 * wherever the channel's settings or its address do. Checked at save and again at send.
 */
export function webhookUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'webhook url is not a valid URL: write it as http(s)://host[:port]/path';
  }
  if (parsed.username !== '' || parsed.password !== '') {
    return 'webhook url must not hold a user name or password (user:password@host): store the login as a credential and name it in the channel\'s credential setting, which sends it as HTTP Basic auth';
  }
  return undefined;
}

/**
 * Why an e-mail channel may not log in, or undefined: with security `none` and a login, the
 * password would cross the network as plain text, unless the channel says it may. Checked at
 * save and again at send.
 */
export function plainLoginProblem(settings: Pick<EmailSettings, 'security' | 'credential' | 'allowLoginWithoutTls'>): string | undefined {
  if (settings.security !== 'none' || !settings.credential || settings.allowLoginWithoutTls === true) return undefined;
  return `SMTP security "none" would send the login of credential "${settings.credential}" as plain text: choose tls or starttls, or set allowLoginWithoutTls for a server on a network you trust`;
}

export interface AlertChannel {
  id: string;
  name: string;
  kind: ChannelKind;
  settings: EmailSettings | WebhookSettings;
  enabled: boolean;
  lastError: string | null;
  lastErrorAt: Date | null;
  lastSentAt: Date | null;
  changedAt: Date;
}

export type AlertChannelInput = Pick<AlertChannel, 'name' | 'kind' | 'settings'> & { enabled?: boolean };

export interface AlertRule {
  id: string;
  name: string;
  kind: RuleKind;
  /** the process, trigger, Scheduler or queue watched; null: all of them */
  target: string | null;
  threshold: number | null;
  channelIds: string[];
  enabled: boolean;
  createdAt: Date;
  changedAt: Date;
}

export type AlertRuleInput = Pick<AlertRule, 'name' | 'kind' | 'target' | 'threshold' | 'channelIds'> & { enabled?: boolean };

export type IncidentState = 'OPEN' | 'CLEARED';
export interface Incident {
  id: string;
  ruleId: string;
  key: string;
  state: IncidentState;
  subject: string;
  detail: string | null;
  openedAt: Date;
  clearedAt: Date | null;
}

export type NotificationEvent = 'OPENED' | 'CLEARED';
export const NOTIFICATION_STATUSES = ['PENDING', 'SENDING', 'SENT', 'FAILED'] as const;
export type NotificationStatus = (typeof NOTIFICATION_STATUSES)[number];
export interface Notification {
  id: string;
  incidentId: string;
  channelId: string;
  event: NotificationEvent;
  status: NotificationStatus;
  tries: number;
  nextTryAt: Date;
  sentAt: Date | null;
  lastError: string | null;
  createdAt: Date;
}

const date = ({ dialect }: Store, value: unknown): Date | null => (value === null || value === undefined ? null : dialect.decodeDate(value));
/** A boolean column's value as the driver returns it (true, 1, 1n). */
export const bool = (value: unknown): boolean => value === true || Number(value) === 1;

function checkChannel({ dialect }: Store, input: AlertChannelInput): AlertChannelInput {
  if (typeof input !== 'object' || input === null) throw new InputError('a channel must be an object');
  checkText(dialect, 'channel name', input.name, 100);
  checkEnum('channel kind', input.kind, CHANNEL_KINDS);
  const s = input.settings as Partial<EmailSettings & WebhookSettings>;
  if (typeof s !== 'object' || s === null) throw new InputError('channel settings must be an object');
  if (input.kind === 'EMAIL') {
    checkText(dialect, 'SMTP host', s.host, 250);
    checkInteger('SMTP port', s.port, 1, 65535);
    checkEnum('SMTP security', s.security, SMTP_SECURITY);
    checkText(dialect, 'sender address (from)', s.from, 250);
    if (!Array.isArray(s.to) || s.to.length === 0) throw new InputError('give at least one recipient address (to)');
    s.to.forEach((address) => checkText(dialect, 'recipient address', address, 250));
    if (s.credential !== null && s.credential !== undefined) checkText(dialect, 'SMTP credential name', s.credential, 100);
    if (s.allowLoginWithoutTls !== undefined && typeof s.allowLoginWithoutTls !== 'boolean') throw new InputError('allowLoginWithoutTls must be true or false');
    const problem = plainLoginProblem({ security: s.security!, credential: s.credential ?? null, allowLoginWithoutTls: s.allowLoginWithoutTls === true });
    if (problem) throw new InputError(problem);
  } else {
    checkText(dialect, 'webhook url', s.url, 1000);
    if (!/^https?:\/\/\S+$/i.test(s.url!)) throw new InputError('webhook url must start with http:// or https://');
    const problem = webhookUrlProblem(s.url!);
    if (problem) throw new InputError(problem);
    if (s.credential !== null && s.credential !== undefined) checkText(dialect, 'webhook credential name', s.credential, 100);
    checkEnum('webhook template', s.template, WEBHOOK_TEMPLATES);
    if (s.template === 'custom') {
      checkText(dialect, 'webhook body template', s.body, 2000);
      try {
        JSON.parse(s.body!.replace(/\{\{\w+\}\}/g, ''));
      } catch {
        throw new InputError('webhook body template must be JSON once its {{placeholders}} are filled, e.g. {"text": "{{subject}}"}');
      }
    }
  }
  return input;
}

function normalizeSettings(input: AlertChannelInput): EmailSettings | WebhookSettings {
  const s = input.settings as Partial<EmailSettings & WebhookSettings>;
  if (input.kind === 'EMAIL') {
    return {
      host: s.host!,
      port: s.port!,
      security: s.security!,
      allowLoginWithoutTls: s.allowLoginWithoutTls === true,
      verifyCertificate: s.verifyCertificate !== false,
      from: s.from!,
      to: s.to!,
      credential: s.credential ?? null,
    };
  }
  return { url: s.url!, template: s.template!, body: s.template === 'custom' ? (s.body ?? null) : null, credential: s.credential ?? null };
}

function decodeChannel(store: Store, row: Record<string, unknown>): AlertChannel {
  return {
    id: store.dialect.decodeUuid(row.id),
    name: String(row.name),
    kind: row.kind as ChannelKind,
    settings: JSON.parse(String(row.settings)) as EmailSettings | WebhookSettings,
    enabled: bool(row.enabled),
    lastError: (row.last_error as string | null) ?? null,
    lastErrorAt: date(store, row.last_error_at),
    lastSentAt: date(store, row.last_sent_at),
    changedAt: store.dialect.decodeDate(row.changed_at),
  };
}

export async function createChannel(store: Store, input: AlertChannelInput): Promise<AlertChannel> {
  checkChannel(store, input);
  const id = newId();
  const settings = JSON.stringify(normalizeSettings(input));
  if (settings.length > 4000) throw new InputError('channel settings are too long (4000 characters at most)');
  await store.db
    .insertInto('oo_alert_channels')
    .values({
      id: store.dialect.encodeUuid(id),
      name: input.name,
      kind: input.kind,
      settings,
      enabled: store.dialect.encodeBool(input.enabled !== false),
      last_error: null,
      last_error_at: null,
      last_sent_at: null,
      changed_at: store.dialect.encodeDate(now()),
    })
    .execute();
  return getChannel(store, id);
}

export async function updateChannel(store: Store, id: string, input: AlertChannelInput): Promise<AlertChannel> {
  const canonical = checkId('channel id', id);
  checkChannel(store, input);
  const settings = JSON.stringify(normalizeSettings(input));
  if (settings.length > 4000) throw new InputError('channel settings are too long (4000 characters at most)');
  const result = await store.db
    .updateTable('oo_alert_channels')
    .set({ name: input.name, kind: input.kind, settings, enabled: store.dialect.encodeBool(input.enabled !== false), changed_at: store.dialect.encodeDate(now()) })
    .where('id', '=', store.dialect.encodeUuid(canonical))
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`no alert channel with id ${canonical}`);
  return getChannel(store, canonical);
}

export async function getChannel(store: Store, id: string): Promise<AlertChannel> {
  const canonical = checkId('channel id', id);
  const row = await store.db.selectFrom('oo_alert_channels').selectAll().where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no alert channel with id ${canonical}`);
  return decodeChannel(store, row);
}

export async function listChannels(store: Store): Promise<AlertChannel[]> {
  const rows = await store.db.selectFrom('oo_alert_channels').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map((row) => decodeChannel(store, row));
}

/** Deletes a channel and its unsent notifications; rules that named it simply stop using it. */
export async function deleteChannel(store: Store, id: string): Promise<void> {
  const canonical = checkId('channel id', id);
  const encoded = store.dialect.encodeUuid(canonical);
  await inTransaction(store, async ({ db: trx }) => {
    const result = await trx.deleteFrom('oo_alert_channels').where('id', '=', encoded).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no alert channel with id ${canonical}`);
    await trx.deleteFrom('oo_alert_notifications').where('channel_id', '=', encoded).where('status', 'in', ['PENDING', 'SENDING']).execute();
  });
}

function checkRule({ dialect }: Store, input: AlertRuleInput): AlertRuleInput {
  if (typeof input !== 'object' || input === null) throw new InputError('a rule must be an object');
  checkText(dialect, 'rule name', input.name, 100);
  checkEnum('rule kind', input.kind, RULE_KINDS);
  if (input.target !== null && input.target !== undefined) checkText(dialect, 'rule target', input.target, 100);
  const unit = RULE_THRESHOLDS[input.kind];
  if (unit && (input.threshold === null || input.threshold === undefined)) throw new InputError(`a ${input.kind} rule needs a threshold (${unit})`);
  if (input.threshold !== null && input.threshold !== undefined) checkInteger('threshold', input.threshold, 0, 10_000_000);
  if (!Array.isArray(input.channelIds)) throw new InputError('channelIds must be a list of channel ids');
  input.channelIds.forEach((channel) => checkId('channel id', channel));
  return input;
}

function decodeRule(store: Store, row: Record<string, unknown>): AlertRule {
  return {
    id: store.dialect.decodeUuid(row.id),
    name: String(row.name),
    kind: row.kind as RuleKind,
    target: (row.target as string | null) ?? null,
    threshold: row.threshold === null || row.threshold === undefined ? null : Number(row.threshold),
    channelIds: JSON.parse(String(row.channel_ids)) as string[],
    enabled: bool(row.enabled),
    createdAt: store.dialect.decodeDate(row.created_at),
    changedAt: store.dialect.decodeDate(row.changed_at),
  };
}

async function checkChannelsExist(store: Store, ids: string[]): Promise<string[]> {
  const canonical = [...new Set(ids.map((id) => checkId('channel id', id)))];
  for (const id of canonical) await getChannel(store, id);
  const text = JSON.stringify(canonical);
  if (text.length > 1000) throw new InputError('a rule may name at most 25 channels');
  return canonical;
}

export async function createRule(store: Store, input: AlertRuleInput): Promise<AlertRule> {
  checkRule(store, input);
  const channelIds = await checkChannelsExist(store, input.channelIds);
  const id = newId();
  const stamp = store.dialect.encodeDate(now());
  await store.db
    .insertInto('oo_alert_rules')
    .values({
      id: store.dialect.encodeUuid(id),
      name: input.name,
      kind: input.kind,
      target: input.target ?? null,
      threshold: input.threshold ?? null,
      channel_ids: JSON.stringify(channelIds),
      enabled: store.dialect.encodeBool(input.enabled !== false),
      created_at: stamp,
      changed_at: stamp,
    })
    .execute();
  return getRule(store, id);
}

/**
 * Changes a rule. Its open incidents stay open (and clear, with a notification, when the
 * condition ends); a changed kind or target is a different watch, so those are cleared quietly.
 */
export async function updateRule(store: Store, id: string, input: AlertRuleInput): Promise<AlertRule> {
  const canonical = checkId('rule id', id);
  checkRule(store, input);
  const channelIds = await checkChannelsExist(store, input.channelIds);
  const before = await getRule(store, canonical);
  const encoded = store.dialect.encodeUuid(canonical);
  await store.db
    .updateTable('oo_alert_rules')
    .set({
      name: input.name,
      kind: input.kind,
      target: input.target ?? null,
      threshold: input.threshold ?? null,
      channel_ids: JSON.stringify(channelIds),
      enabled: store.dialect.encodeBool(input.enabled !== false),
      changed_at: store.dialect.encodeDate(now()),
    })
    .where('id', '=', encoded)
    .execute();
  if (before.kind !== input.kind || before.target !== (input.target ?? null)) {
    for (const incident of await listOpenIncidents(store, canonical)) await clearIncident(store, incident, []);
  }
  return getRule(store, canonical);
}

export async function getRule(store: Store, id: string): Promise<AlertRule> {
  const canonical = checkId('rule id', id);
  const row = await store.db.selectFrom('oo_alert_rules').selectAll().where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no alert rule with id ${canonical}`);
  return decodeRule(store, row);
}

export async function listRules(store: Store): Promise<AlertRule[]> {
  const rows = await store.db.selectFrom('oo_alert_rules').selectAll().orderBy('name').orderBy('id').execute();
  return rows.map((row) => decodeRule(store, row));
}

/** Deletes a rule with its incidents and their notifications. */
export async function deleteRule(store: Store, id: string): Promise<void> {
  const canonical = checkId('rule id', id);
  const encoded = store.dialect.encodeUuid(canonical);
  await inTransaction(store, async ({ db: trx }) => {
    const result = await trx.deleteFrom('oo_alert_rules').where('id', '=', encoded).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no alert rule with id ${canonical}`);
    const incidents = trx.selectFrom('oo_alert_incidents').select('id').where('rule_id', '=', encoded);
    await trx.deleteFrom('oo_alert_notifications').where('incident_id', 'in', incidents).execute();
    await trx.deleteFrom('oo_alert_incidents').where('rule_id', '=', encoded).execute();
  });
}

function decodeIncident(store: Store, row: Record<string, unknown>): Incident {
  return {
    id: store.dialect.decodeUuid(row.id),
    ruleId: store.dialect.decodeUuid(row.rule_id),
    key: String(row.incident_key),
    state: row.state as IncidentState,
    subject: String(row.subject),
    detail: (row.detail as string | null) ?? null,
    openedAt: store.dialect.decodeDate(row.opened_at),
    clearedAt: date(store, row.cleared_at),
  };
}

async function queueNotifications(trx: Store, incidentId: string, channelIds: string[], event: NotificationEvent): Promise<void> {
  const stamp = trx.dialect.encodeDate(now());
  for (const channelId of channelIds) {
    await trx.db
      .insertInto('oo_alert_notifications')
      .values({
        id: trx.dialect.encodeUuid(newId()),
        incident_id: trx.dialect.encodeUuid(incidentId),
        channel_id: trx.dialect.encodeUuid(channelId),
        event,
        status: 'PENDING',
        tries: 0,
        next_try_at: stamp,
        claimed_by: null,
        claimed_until: null,
        sent_at: null,
        last_error: null,
        created_at: stamp,
      })
      .execute();
  }
}

/**
 * Opens an incident and queues its "opened" notifications, unless the same incident is open
 * already (another monitor opened it first): the unique open_key decides. Returns the incident,
 * or undefined when it was open already.
 */
export async function openIncident(
  store: Store,
  rule: Pick<AlertRule, 'id' | 'channelIds'>,
  incident: { key: string; subject: string; detail: string | null },
): Promise<Incident | undefined> {
  const id = newId();
  const key = incident.key.slice(0, 150);
  const values = {
    id: store.dialect.encodeUuid(id),
    rule_id: store.dialect.encodeUuid(rule.id),
    incident_key: key,
    open_key: `${rule.id}|${key}`,
    state: 'OPEN',
    subject: incident.subject.slice(0, 250),
    detail: incident.detail === null ? null : incident.detail.slice(0, 2000),
    opened_at: store.dialect.encodeDate(now()),
    cleared_at: null,
  };
  return whoWins(store, async (trx) => {
    await trx.db.insertInto('oo_alert_incidents').values(values).execute();
    await queueNotifications(trx, id, rule.channelIds, 'OPENED');
    return decodeIncident(store, values);
  });
}

/**
 * Clears an open incident and queues its "cleared" notifications to `channelIds`; false when
 * another monitor cleared it first. The open_key gets the incident id appended, freeing it for
 * the next incident of the same problem.
 */
export async function clearIncident(store: Store, incident: Pick<Incident, 'id' | 'ruleId' | 'key'>, channelIds: string[]): Promise<boolean> {
  const won = await whoWins(store, async (trx) => {
    expectOne(
      await trx.db
        .updateTable('oo_alert_incidents')
        .set({ state: 'CLEARED', cleared_at: trx.dialect.encodeDate(now()), open_key: `${incident.ruleId}|${incident.key}|${incident.id}` })
        .where('id', '=', trx.dialect.encodeUuid(incident.id))
        .where('state', '=', 'OPEN')
        .executeTakeFirst(),
    );
    await queueNotifications(trx, incident.id, channelIds, 'CLEARED');
    return true;
  });
  return won === true;
}

export async function listOpenIncidents(store: Store, ruleId: string): Promise<Incident[]> {
  const rows = await store.db
    .selectFrom('oo_alert_incidents')
    .selectAll()
    .where('rule_id', '=', store.dialect.encodeUuid(checkId('rule id', ruleId)))
    .where('state', '=', 'OPEN')
    .orderBy('opened_at')
    .execute();
  return rows.map((row) => decodeIncident(store, row));
}

/** Incidents newest first, optionally only open or cleared ones, or those of one rule. */
export async function listIncidents(store: Store, filter: { state?: IncidentState; ruleId?: string; limit?: number; offset?: number } = {}): Promise<Incident[]> {
  let query = store.db.selectFrom('oo_alert_incidents').selectAll();
  if (filter.state !== undefined) query = query.where('state', '=', checkEnum('state', filter.state, ['OPEN', 'CLEARED'] as const));
  if (filter.ruleId !== undefined) query = query.where('rule_id', '=', store.dialect.encodeUuid(checkId('rule id', filter.ruleId)));
  const limit = checkInteger('limit', filter.limit ?? 100, 1, 1000);
  const offset = checkInteger('offset', filter.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const rows = await query.orderBy('opened_at', 'desc').orderBy('id', 'desc').$call(paged(store.dialect, limit, offset)).execute();
  return rows.map((row) => decodeIncident(store, row));
}

function decodeNotification(store: Store, row: Record<string, unknown>): Notification {
  return {
    id: store.dialect.decodeUuid(row.id),
    incidentId: store.dialect.decodeUuid(row.incident_id),
    channelId: store.dialect.decodeUuid(row.channel_id),
    event: row.event as NotificationEvent,
    status: row.status as NotificationStatus,
    tries: Number(row.tries),
    nextTryAt: store.dialect.decodeDate(row.next_try_at),
    sentAt: date(store, row.sent_at),
    lastError: (row.last_error as string | null) ?? null,
    createdAt: store.dialect.decodeDate(row.created_at),
  };
}

/** Notifications newest first, optionally of one status or incident. */
export async function listNotifications(
  store: Store,
  filter: { status?: NotificationStatus; incidentId?: string; limit?: number; offset?: number } = {},
): Promise<Notification[]> {
  let query = store.db.selectFrom('oo_alert_notifications').selectAll();
  if (filter.status !== undefined) query = query.where('status', '=', checkEnum('status', filter.status, NOTIFICATION_STATUSES));
  if (filter.incidentId !== undefined) query = query.where('incident_id', '=', store.dialect.encodeUuid(checkId('incident id', filter.incidentId)));
  const limit = checkInteger('limit', filter.limit ?? 100, 1, 1000);
  const offset = checkInteger('offset', filter.offset ?? 0, 0, Number.MAX_SAFE_INTEGER);
  const rows = await query.orderBy('created_at', 'desc').orderBy('id', 'desc').$call(paged(store.dialect, limit, offset)).execute();
  return rows.map((row) => decodeNotification(store, row));
}

/** A notification this monitor holds: the claim it must present to finish it. */
export interface ClaimedNotification extends Notification {
  claimedBy: string;
}

/**
 * Claims up to `limit` notifications that are due (pending and past their next try, or held
 * by a monitor whose lease ran out). Each claim is a conditional update on the row's status and
 * try count, so a notification goes to one monitor only.
 */
export async function claimDueNotifications(store: Store, monitor: string, leaseSeconds: number, limit = 50): Promise<ClaimedNotification[]> {
  const { db, dialect } = store;
  const at = now();
  const stamp = dialect.encodeDate(at);
  const rows = await db
    .selectFrom('oo_alert_notifications')
    .selectAll()
    .where((eb) => eb.or([eb.and([eb('status', '=', 'PENDING'), eb('next_try_at', '<=', stamp)]), eb.and([eb('status', '=', 'SENDING'), eb('claimed_until', '<', stamp)])]))
    .orderBy('next_try_at')
    .orderBy('id')
    .$call(paged(dialect, limit))
    .execute();
  const claimed: ClaimedNotification[] = [];
  for (const row of rows) {
    const tries = Number(row.tries);
    const result = await db
      .updateTable('oo_alert_notifications')
      .set({ status: 'SENDING', tries: tries + 1, claimed_by: monitor.slice(0, 100), claimed_until: dialect.encodeDate(new Date(at.getTime() + leaseSeconds * 1000)) })
      .where('id', '=', row.id)
      .where('status', '=', row.status)
      .where('tries', '=', tries)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) claimed.push({ ...decodeNotification(store, row), status: 'SENDING', tries: tries + 1, claimedBy: monitor.slice(0, 100) });
  }
  return claimed;
}

/** Records a sent notification (only while this monitor's claim holds). */
export async function markNotificationSent(store: Store, notification: ClaimedNotification): Promise<boolean> {
  const { db, dialect } = store;
  const stamp = dialect.encodeDate(now());
  const result = await db
    .updateTable('oo_alert_notifications')
    .set({ status: 'SENT', sent_at: stamp, claimed_until: null })
    .where('id', '=', dialect.encodeUuid(notification.id))
    .where('status', '=', 'SENDING')
    .where('tries', '=', notification.tries)
    .where('claimed_by', '=', notification.claimedBy)
    .executeTakeFirst();
  await db.updateTable('oo_alert_channels').set({ last_sent_at: stamp }).where('id', '=', dialect.encodeUuid(notification.channelId)).execute();
  return Number(result.numUpdatedRows) === 1;
}

/**
 * Records a failed send: the notification waits until `retryAt` (or, with null, is given up as
 * FAILED), and the error is kept on it and on its channel for the Orchestrator to show.
 */
export async function markNotificationFailed(store: Store, notification: ClaimedNotification, error: string, retryAt: Date | null): Promise<void> {
  const { db, dialect } = store;
  const stamp = dialect.encodeDate(now());
  const message = splitToFit(dialect, error.split('\n')[0]!, 1000)[0] ?? '';
  await db
    .updateTable('oo_alert_notifications')
    .set({ status: retryAt ? 'PENDING' : 'FAILED', next_try_at: dialect.encodeDate(retryAt ?? now()), claimed_until: null, last_error: message })
    .where('id', '=', dialect.encodeUuid(notification.id))
    .where('status', '=', 'SENDING')
    .where('tries', '=', notification.tries)
    .where('claimed_by', '=', notification.claimedBy)
    .execute();
  await db.updateTable('oo_alert_channels').set({ last_error: message, last_error_at: stamp }).where('id', '=', dialect.encodeUuid(notification.channelId)).execute();
}

export async function getIncident(store: Store, id: string): Promise<Incident> {
  const canonical = checkId('incident id', id);
  const row = await store.db.selectFrom('oo_alert_incidents').selectAll().where('id', '=', store.dialect.encodeUuid(canonical)).executeTakeFirst();
  if (!row) throw new NotFoundError(`no incident with id ${canonical}`);
  return decodeIncident(store, row);
}
