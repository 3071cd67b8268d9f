/**
 * Operations: queue retry settings, alert channels and rules (read and edit), incidents and the
 * notification outbox with each one's last error, and a queue element's attempts and history.
 * The monitor (`openorchestrator monitor`) acts on what is stored here.
 */
import type { FastifyInstance } from 'fastify';
import {
  CHANNEL_KINDS,
  NOTIFICATION_STATUSES,
  RULE_KINDS,
  SMTP_SECURITY,
  WEBHOOK_TEMPLATES,
  createChannel,
  createRule,
  deleteChannel,
  deleteRule,
  getChannel,
  getRule,
  listChannels,
  listIncidents,
  listNotifications,
  listRules,
  updateChannel,
  updateRule,
  type AlertChannel,
  type AlertChannelInput,
  type AlertRule,
  type AlertRuleInput,
  type Incident,
  type IncidentState,
  type Notification,
  type NotificationStatus,
} from '../../db/store/alerts.js';
import {
  DELAY_MODES,
  VISIBILITY_ACTIONS,
  deleteQueueSettings,
  getElementAttempts,
  getQueueSettings,
  listQueueSettings,
  saveQueueSettings,
  type QueueSettings,
  type QueueSettingsInput,
} from '../../db/store/retries.js';
import { listMonitors, monitorAlive } from '../../db/store/monitors.js';
import type { Store } from '../../db/open.js';
import { NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { ChannelError, sendTestMessage } from '../../monitor/channels.js';
import { HttpError } from '../http-error.js';
import type { Session } from '../session.js';
import { errorReplies, nullableDateTime, pageQuery, text, toApiDate, uuid } from '../schemas.js';

const idParams = { type: 'object', required: ['id'], properties: { id: uuid } } as const;
const queueParams = { type: 'object', required: ['queueName'], properties: { queueName: text(100, 1) } } as const;
const deleted = { 200: { type: 'object', properties: { deleted: { type: 'string' } } }, ...errorReplies } as const;
const nullableInteger = (minimum: number, maximum: number) => ({ type: ['integer', 'null'], minimum, maximum }) as const;

const settingsFields = {
  maxAttempts: { type: 'integer', minimum: 1, maximum: 1000, description: 'tries in all, the first included (1: never retried)' },
  delayMode: { type: 'string', enum: [...DELAY_MODES], description: 'FIXED: the same wait each time; EXPONENTIAL: delaySeconds doubled after each failure' },
  delaySeconds: { type: 'integer', minimum: 0, maximum: 2_592_000 },
  maxDelaySeconds: { ...nullableInteger(0, 2_592_000), description: 'EXPONENTIAL: the longest wait' },
  visibilityMinutes: { ...nullableInteger(1, 525_600), description: 'take back In Progress elements after this many minutes, or when their job has ended (null: off)' },
  visibilityAction: { type: 'string', enum: [...VISIBILITY_ACTIONS], description: 'where a timed-out element goes' },
} as const;
const settingsBody = { type: 'object', additionalProperties: false, required: ['maxAttempts', 'delayMode', 'delaySeconds'], properties: settingsFields } as const;
const settingsItem = {
  type: 'object',
  properties: {
    queueName: { type: 'string' },
    maxAttempts: { type: 'integer' },
    delayMode: { type: 'string' },
    delaySeconds: { type: 'integer' },
    maxDelaySeconds: { type: ['integer', 'null'] },
    visibilityMinutes: { type: ['integer', 'null'] },
    visibilityAction: { type: 'string' },
    changedAt: nullableDateTime,
  },
} as const;
type SettingsBody = Omit<QueueSettingsInput, 'queueName' | 'maxDelaySeconds' | 'visibilityMinutes'> & { maxDelaySeconds?: number | null; visibilityMinutes?: number | null };
const toApiSettings = (s: QueueSettings) => ({ ...s, changedAt: toApiDate(s.changedAt) });

const channelSettings = {
  type: 'object',
  additionalProperties: false,
  description:
    'EMAIL: host, port, security, allowLoginWithoutTls (security none with a login: refused unless true), verifyCertificate, from, to, credential (a Credential name with the SMTP login); WEBHOOK: url (no user:password in it), template, body (custom), credential (a Credential name sent as HTTP Basic auth)',
  properties: {
    host: text(250, 1),
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    security: { type: 'string', enum: [...SMTP_SECURITY] },
    allowLoginWithoutTls: { type: 'boolean' },
    verifyCertificate: { type: 'boolean' },
    from: text(250, 1),
    to: { type: 'array', minItems: 1, maxItems: 50, items: text(250, 1) },
    credential: { type: ['string', 'null'], maxLength: 100 },
    url: text(1000, 1),
    template: { type: 'string', enum: [...WEBHOOK_TEMPLATES] },
    body: { type: ['string', 'null'], maxLength: 2000 },
  },
} as const;
const channelBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'settings'],
  properties: { name: text(100, 1), kind: { type: 'string', enum: [...CHANNEL_KINDS] }, settings: channelSettings, enabled: { type: 'boolean' } },
} as const;
const channelItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    settings: { type: 'object', additionalProperties: true },
    enabled: { type: 'boolean' },
    lastError: { type: ['string', 'null'], description: 'the last failed send, for the UI to show' },
    lastErrorAt: nullableDateTime,
    lastSentAt: nullableDateTime,
    changedAt: nullableDateTime,
  },
} as const;
const toApiChannel = (c: AlertChannel) => ({ ...c, lastErrorAt: toApiDate(c.lastErrorAt), lastSentAt: toApiDate(c.lastSentAt), changedAt: toApiDate(c.changedAt) });

const ruleBody = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'kind', 'channelIds'],
  properties: {
    name: text(100, 1),
    kind: { type: 'string', enum: [...RULE_KINDS] },
    target: { type: ['string', 'null'], maxLength: 100, description: 'the process, trigger name, Scheduler or queue watched; null: all' },
    threshold: { ...nullableInteger(0, 10_000_000), description: 'minutes (TRIGGER_LATE, SCHEDULER_OFFLINE, QUEUE_OLDEST_NEW) or New elements (QUEUE_BACKLOG)' },
    channelIds: { type: 'array', maxItems: 25, items: uuid },
    enabled: { type: 'boolean' },
  },
} as const;
const ruleItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    kind: { type: 'string' },
    target: { type: ['string', 'null'] },
    threshold: { type: ['integer', 'null'] },
    channelIds: { type: 'array', items: { type: 'string' } },
    enabled: { type: 'boolean' },
    createdAt: nullableDateTime,
    changedAt: nullableDateTime,
  },
} as const;
type RuleBody = Omit<AlertRuleInput, 'target' | 'threshold'> & { target?: string | null; threshold?: number | null };
const toRuleInput = (body: RuleBody): AlertRuleInput => ({ ...body, target: body.target?.trim() || null, threshold: body.threshold ?? null });
const toApiRule = (r: AlertRule) => ({ ...r, createdAt: toApiDate(r.createdAt), changedAt: toApiDate(r.changedAt) });

const incidentItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    ruleId: { type: 'string' },
    key: { type: 'string' },
    state: { type: 'string' },
    subject: { type: 'string' },
    detail: { type: ['string', 'null'] },
    openedAt: nullableDateTime,
    clearedAt: nullableDateTime,
  },
} as const;
const toApiIncident = (i: Incident) => ({ ...i, openedAt: toApiDate(i.openedAt), clearedAt: toApiDate(i.clearedAt) });

const notificationItem = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    incidentId: { type: 'string' },
    channelId: { type: 'string' },
    event: { type: 'string' },
    status: { type: 'string' },
    tries: { type: 'integer' },
    nextTryAt: nullableDateTime,
    sentAt: nullableDateTime,
    lastError: { type: ['string', 'null'] },
    createdAt: nullableDateTime,
  },
} as const;
const toApiNotification = (n: Notification) => ({ ...n, nextTryAt: toApiDate(n.nextTryAt), sentAt: toApiDate(n.sentAt), createdAt: toApiDate(n.createdAt) });

const attemptsItem = {
  type: 'object',
  properties: {
    elementId: { type: 'string' },
    queueName: { type: 'string' },
    attempt: { type: 'integer' },
    state: { type: 'string', description: 'FIRST (never failed), QUEUED, WAITING, EXHAUSTED, BUSINESS or ABANDONED' },
    retryAt: nullableDateTime,
    lastError: { type: ['string', 'null'] },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: { id: { type: 'string' }, attempt: { type: 'integer' }, event: { type: 'string' }, message: { type: ['string', 'null'] }, actor: { type: 'string' }, at: nullableDateTime },
      },
    },
  },
} as const;

const list = (item: object) => ({ type: 'object', properties: { items: { type: 'array', items: item } } }) as const;

/** Who evaluates the alert rules: the monitors' heartbeats (oo_monitors) beside the enabled rules. */
export const monitoring = {
  type: 'object',
  properties: {
    monitors: {
      type: 'array',
      items: {
        type: 'object',
        properties: { name: { type: 'string' }, startedAt: nullableDateTime, lastBeat: nullableDateTime, intervalSeconds: { type: 'integer' }, alive: { type: 'boolean' } },
      },
    },
    alive: { type: 'integer', description: 'monitors that beat lately' },
    enabledRules: { type: 'integer' },
    warning: { type: ['string', 'null'], description: 'set when enabled rules have no monitor alive to evaluate them' },
  },
} as const;

/**
 * The monitors and whether the enabled rules are evaluated at all (a rule shows "Enabled: yes"
 * whether or not a monitor runs).
 *
 * @example
 *   const { warning } = await readMonitoring(store, now());
 */
export async function readMonitoring(store: Store, at: Date) {
  const [monitors, rules] = await Promise.all([listMonitors(store), listRules(store)]);
  const shown = monitors.map((m) => ({ name: m.name, startedAt: toApiDate(m.startedAt), lastBeat: toApiDate(m.lastBeat), intervalSeconds: m.intervalSeconds, alive: monitorAlive(m, at) }));
  const alive = shown.filter((m) => m.alive).length;
  const enabledRules = rules.filter((r) => r.enabled).length;
  const warning =
    enabledRules > 0 && alive === 0
      ? `${enabledRules} enabled alert rule${enabledRules === 1 ? '' : 's'} but no monitor running: nothing evaluates ${enabledRules === 1 ? 'it' : 'them'} and no alert is sent. Run \`openorchestrator monitor\` (\`openorchestrator start\` runs one).`
      : null;
  return { monitors: shown, alive, enabledRules, warning };
}

export function registerOperationsRoutes(app: FastifyInstance, session: Session): void {
  const tags = ['operations'];
  const base = '/api/operations';

  app.get(`${base}/monitors`, { schema: { tags, summary: 'the monitors (their heartbeats) and whether the enabled rules have one alive', response: { 200: monitoring, ...errorReplies } } }, async () =>
    readMonitoring(session.requireStore(), now()),
  );

  app.get(`${base}/queue-settings`, { schema: { tags, summary: 'retry settings of every queue that has them', response: { 200: list(settingsItem), ...errorReplies } } }, async () => ({
    items: (await listQueueSettings(session.requireStore())).map(toApiSettings),
  }));
  app.get<{ Params: { queueName: string } }>(
    `${base}/queue-settings/:queueName`,
    { schema: { tags, summary: "one queue's retry settings", params: queueParams, response: { 200: settingsItem, ...errorReplies } } },
    async (request) => {
      const settings = await getQueueSettings(session.requireStore(), request.params.queueName);
      if (!settings) throw new NotFoundError(`queue "${request.params.queueName}" has no retry settings`);
      return toApiSettings(settings);
    },
  );
  app.post<{ Body: SettingsBody & { queueName: string } }>(
    `${base}/queue-settings`,
    {
      schema: {
        tags,
        summary: 'give a queue retry settings',
        body: { ...settingsBody, required: ['queueName', ...settingsBody.required], properties: { queueName: text(100, 1), ...settingsFields } },
        response: { 201: settingsItem, ...errorReplies },
      },
    },
    async (request, reply) => {
      const store = session.requireStore();
      if (await getQueueSettings(store, request.body.queueName)) {
        throw new HttpError(409, `queue "${request.body.queueName}" has retry settings already; change them with PUT ${base}/queue-settings/<queue>`);
      }
      return reply.code(201).send(toApiSettings(await saveQueueSettings(store, { maxDelaySeconds: null, visibilityMinutes: null, ...request.body })));
    },
  );
  app.put<{ Params: { queueName: string }; Body: SettingsBody }>(
    `${base}/queue-settings/:queueName`,
    { schema: { tags, summary: "set a queue's retry settings (created when missing)", params: queueParams, body: settingsBody, response: { 200: settingsItem, ...errorReplies } } },
    async (request) =>
      toApiSettings(await saveQueueSettings(session.requireStore(), { maxDelaySeconds: null, visibilityMinutes: null, ...request.body, queueName: request.params.queueName })),
  );
  app.delete<{ Params: { queueName: string } }>(
    `${base}/queue-settings/:queueName`,
    { schema: { tags, summary: "remove a queue's retry settings (its elements are no longer retried)", params: queueParams, response: deleted } },
    async (request) => {
      await deleteQueueSettings(session.requireStore(), request.params.queueName);
      return { deleted: request.params.queueName };
    },
  );

  app.get(`${base}/channels`, { schema: { tags, summary: 'alert channels, by name, with their last error', response: { 200: list(channelItem), ...errorReplies } } }, async () => ({
    items: (await listChannels(session.requireStore())).map(toApiChannel),
  }));
  app.get<{ Params: { id: string } }>(`${base}/channels/:id`, { schema: { tags, summary: 'one alert channel', params: idParams, response: { 200: channelItem, ...errorReplies } } }, async (request) =>
    toApiChannel(await getChannel(session.requireStore(), request.params.id)),
  );
  app.post<{ Body: AlertChannelInput }>(
    `${base}/channels`,
    { schema: { tags, summary: 'create an alert channel (e-mail or webhook)', body: channelBody, response: { 201: channelItem, ...errorReplies } } },
    async (request, reply) => reply.code(201).send(toApiChannel(await createChannel(session.requireStore(), request.body))),
  );
  app.put<{ Params: { id: string }; Body: AlertChannelInput }>(
    `${base}/channels/:id`,
    { schema: { tags, summary: 'change an alert channel', params: idParams, body: channelBody, response: { 200: channelItem, ...errorReplies } } },
    async (request) => toApiChannel(await updateChannel(session.requireStore(), request.params.id, request.body)),
  );
  app.delete<{ Params: { id: string } }>(`${base}/channels/:id`, { schema: { tags, summary: 'delete an alert channel and its unsent notifications', params: idParams, response: deleted } }, async (request) => {
    await deleteChannel(session.requireStore(), request.params.id);
    return { deleted: request.params.id };
  });

  app.post<{ Params: { id: string } }>(
    `${base}/channels/:id/test`,
    {
      schema: {
        tags,
        summary: 'send a test message over a channel now; a failure is a 502 with the channel\'s one-line error',
        params: idParams,
        response: { 200: { type: 'object', properties: { sent: { type: 'boolean' } } }, 502: errorReplies[400], ...errorReplies },
      },
    },
    async (request) => {
      const store = session.requireStore();
      const channel = await getChannel(store, request.params.id);
      try {
        await sendTestMessage(store, channel, session.optionalKey());
      } catch (error) {
        if (error instanceof ChannelError) throw new HttpError(502, error.message);
        throw error;
      }
      return { sent: true };
    },
  );

  app.get(`${base}/rules`, { schema: { tags, summary: 'alert rules, by name', response: { 200: list(ruleItem), ...errorReplies } } }, async () => ({
    items: (await listRules(session.requireStore())).map(toApiRule),
  }));
  app.get<{ Params: { id: string } }>(`${base}/rules/:id`, { schema: { tags, summary: 'one alert rule', params: idParams, response: { 200: ruleItem, ...errorReplies } } }, async (request) =>
    toApiRule(await getRule(session.requireStore(), request.params.id)),
  );
  app.post<{ Body: RuleBody }>(
    `${base}/rules`,
    { schema: { tags, summary: 'create an alert rule', body: ruleBody, response: { 201: ruleItem, ...errorReplies } } },
    async (request, reply) => reply.code(201).send(toApiRule(await createRule(session.requireStore(), toRuleInput(request.body)))),
  );
  app.put<{ Params: { id: string }; Body: RuleBody }>(
    `${base}/rules/:id`,
    { schema: { tags, summary: 'change an alert rule', params: idParams, body: ruleBody, response: { 200: ruleItem, ...errorReplies } } },
    async (request) => toApiRule(await updateRule(session.requireStore(), request.params.id, toRuleInput(request.body))),
  );
  app.delete<{ Params: { id: string } }>(`${base}/rules/:id`, { schema: { tags, summary: 'delete an alert rule with its incidents', params: idParams, response: deleted } }, async (request) => {
    await deleteRule(session.requireStore(), request.params.id);
    return { deleted: request.params.id };
  });

  app.get<{ Querystring: { state?: IncidentState; ruleId?: string; offset: number; limit: number } }>(
    `${base}/incidents`,
    {
      schema: {
        tags,
        summary: 'incidents, newest first',
        querystring: { type: 'object', properties: { state: { type: 'string', enum: ['OPEN', 'CLEARED'] }, ruleId: uuid, ...pageQuery } },
        response: { 200: list(incidentItem), ...errorReplies },
      },
    },
    async (request) => ({ items: (await listIncidents(session.requireStore(), request.query)).map(toApiIncident) }),
  );
  app.get<{ Querystring: { status?: NotificationStatus; incidentId?: string; offset: number; limit: number } }>(
    `${base}/notifications`,
    {
      schema: {
        tags,
        summary: 'the notification outbox, newest first, with each one\'s tries and last error',
        querystring: { type: 'object', properties: { status: { type: 'string', enum: [...NOTIFICATION_STATUSES] }, incidentId: uuid, ...pageQuery } },
        response: { 200: list(notificationItem), ...errorReplies },
      },
    },
    async (request) => ({ items: (await listNotifications(session.requireStore(), request.query)).map(toApiNotification) }),
  );

  app.get<{ Params: { id: string } }>(
    `${base}/elements/:id/attempts`,
    { schema: { tags, summary: "a queue element's attempt counter and history", params: idParams, response: { 200: attemptsItem, ...errorReplies } } },
    async (request) => {
      const attempts = await getElementAttempts(session.requireStore(), request.params.id);
      return { ...attempts, retryAt: toApiDate(attempts.retryAt), history: attempts.history.map((e) => ({ ...e, at: toApiDate(e.at) })) };
    },
  );
}
