/**
 * Sending one notification over a channel: e-mail over SMTP (nodemailer) or a JSON POST. Errors
 * come back as one line that names the channel's problem but never its login or the webhook's
 * address (which often carries a secret token).
 */
import nodemailer from 'nodemailer';
import type { Store } from '../db/open.js';
import type { AlertChannel, EmailSettings, NotificationEvent, WebhookSettings } from '../db/store/alerts.js';
import { getCredential } from '../db/store/credentials.js';
import { InputError } from '../errors.js';
import { formatNaive } from '../time/clock.js';

/** What a notification says. */
export interface AlertMessage {
  event: NotificationEvent;
  ruleId: string;
  ruleName: string;
  ruleKind: string;
  incidentId: string;
  incidentKey: string;
  subject: string;
  detail: string;
  openedAt: Date;
  clearedAt: Date | null;
}

/** A login for SMTP, read from a Credential by the caller. */
export interface SmtpLogin {
  user: string;
  pass: string;
}

const TIMEOUT_MS = 20_000;
const naive = (d: Date | null) => (d ? formatNaive(d).slice(0, 19) : null);

/** The subject line: `[OpenOrchestrator] Queue "x" has a backlog` or `... cleared: ...`. */
export function messageTitle(message: AlertMessage): string {
  return `[OpenOrchestrator] ${message.event === 'CLEARED' ? 'Cleared: ' : ''}${message.subject}`;
}

function messageText(message: AlertMessage): string {
  const lines = [message.detail, '', `Rule: ${message.ruleName} (${message.ruleKind})`, `Opened: ${naive(message.openedAt)}`];
  if (message.clearedAt) lines.push(`Cleared: ${naive(message.clearedAt)}`);
  return lines.join('\n');
}

/** The JSON body a webhook receives, by template. */
export function webhookBody(settings: WebhookSettings, message: AlertMessage): unknown {
  const title = messageTitle(message);
  switch (settings.template) {
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        summary: title,
        themeColor: message.event === 'OPENED' ? 'D83B01' : '2EB886',
        title,
        text: messageText(message).replace(/\n/g, '<br>'),
      };
    case 'slack':
      return { text: `*${title}*\n${messageText(message)}` };
    case 'custom': {
      const values: Record<string, string> = {
        event: message.event,
        subject: message.subject,
        title,
        detail: message.detail,
        rule: message.ruleName,
        kind: message.ruleKind,
        key: message.incidentKey,
        at: naive(message.clearedAt ?? message.openedAt) ?? '',
      };
      // Each value is put in as the inside of a JSON string, so the template stays valid JSON.
      const text = (settings.body ?? '{}').replace(/\{\{(\w+)\}\}/g, (_all, name: string) => JSON.stringify(values[name] ?? '').slice(1, -1));
      return JSON.parse(text) as unknown;
    }
    default:
      return {
        event: message.event,
        title,
        subject: message.subject,
        detail: message.detail,
        rule: { id: message.ruleId, name: message.ruleName, kind: message.ruleKind },
        incident: { id: message.incidentId, key: message.incidentKey, openedAt: naive(message.openedAt), clearedAt: naive(message.clearedAt) },
      };
  }
}

async function sendWebhook(settings: WebhookSettings, message: AlertMessage): Promise<void> {
  let response: Response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(webhookBody(settings, message)),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? ((error as Error).name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : (cause?.message ?? (error as Error).message));
    throw new Error(`webhook request failed: ${String(why).split('\n')[0]}`);
  }
  // The body is read and dropped so the connection can be reused.
  await response.text().catch(() => '');
  if (!response.ok) throw new Error(`webhook answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
}

async function sendEmail(settings: EmailSettings, login: SmtpLogin | undefined, message: AlertMessage): Promise<void> {
  const transport = nodemailer.createTransport({
    host: settings.host,
    port: settings.port,
    secure: settings.security === 'tls',
    requireTLS: settings.security === 'starttls',
    ignoreTLS: settings.security === 'none',
    auth: login ? { user: login.user, pass: login.pass } : undefined,
    tls: { rejectUnauthorized: settings.verifyCertificate },
    connectionTimeout: TIMEOUT_MS,
    greetingTimeout: TIMEOUT_MS,
    socketTimeout: TIMEOUT_MS,
  });
  try {
    await transport.sendMail({ from: settings.from, to: settings.to.join(', '), subject: messageTitle(message), text: messageText(message) });
  } catch (error) {
    const err = error as { code?: string; responseCode?: number; message?: string };
    let why = String(err.message ?? error).split('\n')[0]!;
    if (login) why = why.split(login.pass).join('***');
    throw new Error(`e-mail via ${settings.host}:${settings.port} failed${err.code ? ` (${err.code})` : ''}: ${why}`);
  } finally {
    transport.close();
  }
}

/** Sends `message` over `channel`; rejects with a one-line Error. */
export async function sendOverChannel(channel: AlertChannel, message: AlertMessage, login?: SmtpLogin): Promise<void> {
  if (channel.kind === 'EMAIL') return sendEmail(channel.settings as EmailSettings, login, message);
  return sendWebhook(channel.settings as WebhookSettings, message);
}

/** The SMTP login an e-mail channel names, decrypted with `cryptoKey`; undefined when it needs none. */
export async function channelLogin(store: Store, channel: AlertChannel, cryptoKey: string | undefined): Promise<SmtpLogin | undefined> {
  if (channel.kind !== 'EMAIL') return undefined;
  const name = (channel.settings as EmailSettings).credential;
  if (!name) return undefined;
  if (!cryptoKey) throw new InputError(`channel "${channel.name}" logs in with credential "${name}": give the encryption key (--key or OpenOrchestratorKey) to decrypt it`);
  const credential = await getCredential(store, cryptoKey, name);
  return { user: credential.username, pass: credential.password };
}

/** Sends a test message over `channel` now (no incident, no outbox row); rejects with a one-line Error. */
export async function sendTestMessage(store: Store, channel: AlertChannel, cryptoKey: string | undefined): Promise<void> {
  const at = new Date();
  await sendOverChannel(
    channel,
    {
      event: 'OPENED',
      ruleId: '00000000-0000-0000-0000-000000000000',
      ruleName: 'test',
      ruleKind: 'TEST',
      incidentId: '00000000-0000-0000-0000-000000000000',
      incidentKey: 'test',
      subject: `Test message from OpenOrchestrator to channel "${channel.name}"`,
      detail: 'If you read this, the channel works.',
      openedAt: at,
      clearedAt: null,
    },
    await channelLogin(store, channel, cryptoKey),
  );
}
