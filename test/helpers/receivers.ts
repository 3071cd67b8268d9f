/**
 * Real endpoints for alert tests: an SMTP server (smtp-server) that checks a login and keeps
 * each message, and an HTTP receiver (node:http) that keeps each JSON POST and can be told to
 * answer 500 a number of times first, or with any status, reason phrase and Location. Both
 * record a message before answering, so a send that resolved is already visible.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

/** Decodes RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) in a header value. */
export function decodeHeader(value: string): string {
  return value
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?([\w-]+)\?([QqBb])\?([^?]*)\?=/g, (_all, _charset: string, encoding: string, text: string) =>
      encoding.toUpperCase() === 'B'
        ? Buffer.from(text, 'base64').toString('utf8')
        : Buffer.from(text.replace(/_/g, ' ').replace(/=([0-9A-Fa-f]{2})/g, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'),
    );
}

export interface ReceivedMail {
  subject: string;
  from: string;
  to: string[];
  user: string | undefined;
  text: string;
}

export interface SmtpReceiver {
  port: number;
  mails: ReceivedMail[];
  /** the user name of every AUTH attempt, accepted or not */
  logins: string[];
  close(): Promise<void>;
}

export interface SmtpReceiverOptions {
  /** the text of the 535 answer to a wrong login (default "Invalid username or password") */
  refusal?: (auth: { username: string; password: string }) => string;
}

/** An SMTP server on 127.0.0.1 that accepts only `user`/`password` (plain connection, AUTH PLAIN/LOGIN). */
export async function startSmtpReceiver(user: string, password: string, options: SmtpReceiverOptions = {}): Promise<SmtpReceiver> {
  const mails: ReceivedMail[] = [];
  const logins: string[] = [];
  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authMethods: ['PLAIN', 'LOGIN'],
    logger: false,
    onAuth(auth, _session, callback) {
      logins.push(auth.username ?? '');
      if (auth.username === user && auth.password === password) callback(null, { user });
      else callback(new Error(options.refusal?.({ username: auth.username ?? '', password: auth.password ?? '' }) ?? 'Invalid username or password'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const [head = '', ...body] = raw.split(/\r?\n\r?\n/);
        // Folded header lines (a long subject) continue with whitespace.
        const subject = decodeHeader(/^Subject: (.*(?:\r?\n[ \t].*)*)/im.exec(head)?.[1]?.replace(/\r?\n[ \t]/g, ' ') ?? '');
        mails.push({
          subject,
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          user: typeof session.user === 'string' ? session.user : undefined,
          text: body.join('\n\n'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as AddressInfo).port;
  return { port, mails, logins, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

export interface ReceivedPost {
  path: string;
  body: Record<string, unknown>;
  /** the Authorization header, if one came */
  authorization: string | undefined;
  at: number;
  answered: number;
}

/** An answer other than 200: a status, the reason phrase after it, a Location. */
export interface ScriptedAnswer {
  status: number;
  reason?: string;
  location?: string;
}

export interface HttpReceiver {
  url: string;
  posts: ReceivedPost[];
  /** the next `count` POSTs to `path` are answered 500 */
  failNext(path: string, count: number): void;
  /** the next POSTs to `path` get these answers, one each, in order (then 200 again) */
  answerNext(path: string, answers: ScriptedAnswer[]): void;
  close(): Promise<void>;
}

export async function startHttpReceiver(): Promise<HttpReceiver> {
  const posts: ReceivedPost[] = [];
  const scripts = new Map<string, ScriptedAnswer[]>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      const answer = scripts.get(path)?.shift() ?? { status: 200 };
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        body = { unparsable: true };
      }
      posts.push({ path, body, authorization: request.headers.authorization, at: Date.now(), answered: answer.status });
      const headers = { 'content-type': 'application/json', ...(answer.location ? { location: answer.location } : {}) };
      if (answer.reason === undefined) response.writeHead(answer.status, headers);
      else response.writeHead(answer.status, answer.reason, headers);
      response.end(answer.status === 200 ? '{"ok":true}' : '{"error":"try later"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    posts,
    failNext: (path, count) => scripts.set(path, Array.from({ length: count }, () => ({ status: 500 }))),
    answerNext: (path, answers) => scripts.set(path, [...answers]),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Resolves once `check` holds, testing it again after each short pause; fails after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
