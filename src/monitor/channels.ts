/**
 * Sending one notification over a channel: e-mail over SMTP (nodemailer) or a JSON POST.
 *
 * Failures become text in one place, `sendOverChannel`: a ChannelError whose one line is made
 * here from status codes and error codes, never from a library's message or a server's reply
 * (fetch quotes the URL, SMTP servers quote what they were sent), and which then passes the
 * project's one scrub with every secret of the channel (its URL, the URL's token and login, the
 * login's password in the spellings HTTP Basic and SMTP AUTH give it). The monitor stores and
 * prints that line and the Orchestrator answers it; nothing else about a failure leaves here.
 *
 * Webhooks never follow a redirect (a 3xx is a failed delivery); templates escape the text they
 * did not write for their own markup (Slack mrkdwn, Teams HTML and Markdown).
 */
import { STATUS_CODES } from 'node:http';
import nodemailer from 'nodemailer';
import { loginSecrets, scrubSecrets } from '../config/secrets.js';
import type { Store } from '../db/open.js';
import { plainLoginProblem, webhookUrlProblem, type AlertChannel, type EmailSettings, type NotificationEvent, type WebhookSettings } from '../db/store/alerts.js';
import { getCredential } from '../db/store/credentials.js';
import { InputError } from '../errors.js';
import { formatNaive } from '../time/clock.js';

/** A failed send: one line, made from codes, with the channel's secrets scrubbed. */
export class ChannelError extends Error {
  override name = 'ChannelError';
}

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

/** A channel's login (SMTP AUTH, or HTTP Basic for a webhook), read from a Credential by the caller. */
export interface ChannelLogin {
  user: string;
  pass: string;
}

const TIMEOUT_MS = 20_000;
const naive = (d: Date | null) => (d ? formatNaive(d).slice(0, 19) : null);

/** The subject line: `[OpenOrchestrator] Queue "x" has a backlog` or `... cleared: ...`. */
export function messageTitle(message: AlertMessage): string {
  return `[OpenOrchestrator] ${message.event === 'CLEARED' ? 'Cleared: ' : ''}${message.subject}`;
}

/** The message as lines of text; `escape` is applied to every text the template did not write. */
function messageText(message: AlertMessage, escape: (text: string) => string = (text) => text): string {
  const lines = [escape(message.detail), '', `Rule: ${escape(message.ruleName)} (${message.ruleKind})`, `Opened: ${naive(message.openedAt)}`];
  if (message.clearedAt) lines.push(`Cleared: ${naive(message.clearedAt)}`);
  return lines.join('\n');
}

/**
 * Text for Slack's mrkdwn: `&`, `<` and `>` as entities, so `<!channel>`, `<@U123>` and
 * `<http://x|disguised>` show as written instead of notifying or linking (Slack's own rule).
 */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const TEAMS_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

/**
 * Text for a Teams card's `text`, which reads Markdown and HTML: HTML's special characters as entities,
 * and Markdown's (links, emphasis, headings, code) as numeric ones, so `<b>x</b>` and
 * `[click](http://x)` show as written.
 */
export function escapeTeams(text: string): string {
  return text.replace(/[&<>"]/g, (c) => TEAMS_ENTITIES[c]!).replace(/[\\`*_[\]()#~!|{}]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The JSON body a webhook receives, by template. */
export function webhookBody(settings: WebhookSettings, message: AlertMessage): unknown {
  const title = messageTitle(message);
  switch (settings.template) {
    case 'teams':
      return {
        '@type': 'MessageCard',
        '@context': 'https://schema.org/extensions',
        // Summary and title are plain text to Teams (only `text` is formatted): nothing to escape.
        summary: title,
        themeColor: message.event === 'OPENED' ? 'D83B01' : '2EB886',
        title,
        text: messageText(message, escapeTeams).replace(/\n/g, '<br>'),
      };
    case 'slack':
      return { text: `*${escapeSlack(title)}*\n${messageText(message, escapeSlack)}` };
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

/** Error codes of the network and TLS layers, by what they mean to whoever reads the channel's error. */
const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed',
  UND_ERR_HEADERS_TIMEOUT: 'no answer in time',
  CERT_HAS_EXPIRED: 'the server\'s certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the server\'s certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server\'s certificate chain is self-signed',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server\'s certificate is not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'the server\'s certificate is for another host name',
};

/** An error code as libraries set it (`ECONNREFUSED`, `UND_ERR_SOCKET`); never free text. */
function codeOf(error: unknown): string | undefined {
  for (const candidate of [(error as { cause?: { code?: unknown } })?.cause?.code, (error as { code?: unknown })?.code]) {
    if (typeof candidate === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(candidate)) return candidate;
  }
  return undefined;
}

/** Why a webhook request failed, from the error's kind and code only. */
function webhookRequestFailure(error: unknown): string {
  if ((error as Error)?.name === 'TimeoutError') return `webhook request failed: no answer within ${TIMEOUT_MS / 1000} s`;
  const code = codeOf(error);
  if (code) return `webhook request failed: ${NETWORK_CODES[code] ? `${NETWORK_CODES[code]} (${code})` : code}`;
  return `webhook request failed: the request could not be made (${(error as Error)?.name ?? 'unknown error'})`;
}

/** A status line as the standard names it: a server's own reason phrase may say anything. */
function webhookStatusFailure(status: number): string {
  const named = `webhook answered HTTP ${status}${STATUS_CODES[status] ? ` ${STATUS_CODES[status]}` : ''}`;
  return status >= 300 && status < 400 ? `${named}: redirects are not followed; give the channel the address it redirects to` : named;
}

async function sendWebhook(settings: WebhookSettings, login: ChannelLogin | undefined, message: AlertMessage): Promise<void> {
  const problem = webhookUrlProblem(settings.url);
  if (problem) throw new ChannelError(problem);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (login) headers.authorization = `Basic ${Buffer.from(`${login.user}:${login.pass}`, 'utf8').toString('base64')}`;
  let response: Response;
  try {
    response = await fetch(settings.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(webhookBody(settings, message)),
      // A notification goes where it was configured to, or nowhere: a 3xx is a failed delivery.
      redirect: 'manual',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (error) {
    throw new ChannelError(webhookRequestFailure(error));
  }
  // The body is read and dropped so the connection can be reused.
  await response.text().catch(() => '');
  if (response.status < 200 || response.status >= 300) throw new ChannelError(webhookStatusFailure(response.status));
}

/** nodemailer's error codes, by what they mean, and what to check. */
const SMTP_CODES: Record<string, string> = {
  EAUTH: 'the server refused the login',
  ENOAUTH: 'the server asks for a login and the channel names no credential',
  ECONNECTION: 'cannot connect to the server',
  ETIMEDOUT: 'no answer in time',
  ESOCKET: 'the connection failed (network or TLS)',
  EDNS: 'host not found',
  ETLS: 'STARTTLS failed',
  EREQUIRETLS: 'the server does not offer STARTTLS',
  EENVELOPE: 'the server refused the sender or a recipient',
  EMESSAGE: 'the server refused the message',
  EPROTOCOL: 'the server answered outside the SMTP protocol',
};
const SMTP_HINTS: Record<string, string> = { EAUTH: '; check the channel\'s credential', EENVELOPE: '; check the from and to addresses' };

/** Why an e-mail failed, from nodemailer's error code, the SMTP reply code and the command it answered. */
function smtpFailure(settings: EmailSettings, error: unknown): string {
  const err = error as { responseCode?: unknown; command?: unknown };
  const code = codeOf(error);
  const command = typeof err.command === 'string' && /^[A-Z][A-Z ]{1,20}$/.test(err.command) ? ` to ${err.command}` : '';
  const reply = typeof err.responseCode === 'number' ? ` (SMTP ${err.responseCode}${command})` : '';
  const what = (code && SMTP_CODES[code]) ?? 'the server or the connection failed';
  return `e-mail via ${settings.host}:${settings.port} failed${code ? ` (${code})` : ''}: ${what}${reply}${(code && SMTP_HINTS[code]) ?? ''}`;
}

async function sendEmail(settings: EmailSettings, login: ChannelLogin | undefined, message: AlertMessage): Promise<void> {
  const problem = login ? plainLoginProblem(settings) : undefined;
  if (problem) throw new ChannelError(problem);
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
    throw new ChannelError(smtpFailure(settings, error));
  } finally {
    transport.close();
  }
}

/**
 * Every secret a channel's text could hold: the webhook's URL (whole, and its path and query),
 * each query value, the login written into an old channel's URL, also base64-encoded, and the
 * channel's login with the spellings HTTP Basic and SMTP AUTH give it.
 *
 * @example
 *   scrubSecrets(line, channelSecrets(channel, login));
 */
export function channelSecrets(channel: AlertChannel, login?: ChannelLogin): string[] {
  const found: string[] = [];
  const logins: string[] = login ? loginSecrets(login.user, login.pass) : [];
  if (channel.kind === 'WEBHOOK') {
    const url = (channel.settings as WebhookSettings).url;
    found.push(url);
    try {
      const parsed = new URL(url);
      found.push(parsed.href, parsed.pathname, `${parsed.pathname}${parsed.search}`, parsed.search.slice(1), parsed.hash.slice(1), ...parsed.searchParams.values());
      if (parsed.password) logins.push(parsed.password, ...loginSecrets(decodeURIComponent(parsed.username), decodeURIComponent(parsed.password)));
    } catch {
      // not a URL: the text as written is all there is to mask
    }
  }
  const base64 = found.map((secret) => Buffer.from(secret, 'utf8').toString('base64'));
  return [...found, ...base64, ...logins].filter((secret) => secret !== '' && secret !== '/');
}

/** Sends `message` over `channel`; rejects with a ChannelError (one line, no secret) or an error reading the channel's login. */
export async function sendOverChannel(channel: AlertChannel, message: AlertMessage, login?: ChannelLogin): Promise<void> {
  try {
    if (channel.kind === 'EMAIL') await sendEmail(channel.settings as EmailSettings, login, message);
    else await sendWebhook(channel.settings as WebhookSettings, login, message);
  } catch (error) {
    const line = error instanceof ChannelError ? error.message : `channel "${channel.name}" failed unexpectedly (${(error as Error)?.name ?? 'error'})`;
    throw new ChannelError(scrubSecrets(line, channelSecrets(channel, login)));
  }
}

/** The login a channel names (SMTP, or a webhook's HTTP Basic), decrypted with `cryptoKey`; undefined when it needs none. */
export async function channelLogin(store: Store, channel: AlertChannel, cryptoKey: string | undefined): Promise<ChannelLogin | undefined> {
  const name = (channel.settings as EmailSettings | WebhookSettings).credential;
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
