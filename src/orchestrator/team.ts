/**
 * Team mode: each person signs in with their own database login, and every request of theirs
 * runs with it. The server holds the database's address (a connection string without a user),
 * the key, and, per signed-in person, a small pool of their login's connections. Nothing else
 * about them is kept: no password is stored (it lives only in the pool's driver config, in
 * memory, for as long as the person is signed in), and sessions live in this process only.
 *
 * A session is a random id (32 bytes) in an HttpOnly, SameSite=Strict cookie (Secure and
 * `__Host-` under TLS). It ends at sign-out, after `idleMs` without a request, or `absoluteMs`
 * after sign-in, whichever comes first, or when its login signs in a sixth time; its pool is
 * closed then.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { probeAccess, type AccessReport } from '../access/probe.js';
import { parseConnectionString, redactConnectionString, withLogin, type ConnectionConfig } from '../config/connection-string.js';
import { closeStore, openStoreWith, toDatabaseError } from '../db/open.js';
import { checkSchemaInUse } from '../db/schema/upgrade.js';
import { InputError } from '../errors.js';
import { DEFAULT_IDLE_MINUTES, DEFAULT_SESSION_HOURS } from './access.js';
import { HttpError } from './http-error.js';
import { DatabaseSession, fullSchemaCheck } from './session.js';

export interface TeamOptions {
  /** the database, without a user or password */
  connectionString: string;
  cryptoKey?: string;
  /** a session ends after this long without a request (default 30 minutes) */
  idleMs?: number;
  /** and this long after sign-in whatever happens (default 12 hours) */
  absoluteMs?: number;
  /** served over TLS: the cookie is Secure and named with the __Host- prefix */
  secure: boolean;
  /** connections per person (default 3) */
  poolSize?: number;
}

const DEFAULT_POOL = 3;
/** Sessions one login may hold at once: a further sign-in ends its oldest (each holds connections). */
export const MAX_SESSIONS_PER_LOGIN = 5;

/** One signed-in person. */
export interface Person {
  login: string;
  session: DatabaseSession;
  access: AccessReport;
  signedInAt: number;
  lastSeenAt: number;
}

export type Lookup = { person: Person } | { refusal: string };

/**
 * Checks that a connection string can serve a team: a database with logins, and no login of
 * its own (each person brings theirs). Throws InputError with one line otherwise.
 */
export function teamDatabase(connectionString: string | undefined): void {
  if (!connectionString || connectionString.trim() === '') {
    throw new InputError('team mode needs the database: give its connection string without a user, e.g. postgresql://dbhost:5432/orchestrator');
  }
  const text = connectionString.trim();
  const refuseLogin = () => {
    throw new InputError(`team mode: give the connection string without a user and password (${redactConnectionString(text)} names one); each person signs in with their own login`);
  };
  // Some strings parse only with a login (SQL Server over TCP: without one it would be a Windows login).
  let own: ConnectionConfig | undefined;
  try {
    own = parseConnectionString(text);
  } catch {
    own = undefined;
  }
  if (own?.dialect === 'sqlite' || /^sqlite\b/i.test(text)) {
    throw new InputError('team mode needs a database with logins (PostgreSQL, MySQL/MariaDB, SQL Server, Oracle): SQLite has none, so nobody could sign in as themselves');
  }
  if (own !== undefined && (own.user !== undefined || own.password !== undefined)) refuseLogin();
  // What a sign-in opens: the same string with the person's login (a DSN's UID and PWD, ...).
  const signedIn = parseConnectionString(withLogin(text, 'someone', 'their-password'));
  if (signedIn.user !== 'someone') refuseLogin();
  // A raw ODBC string carries its own login (or a Windows one): a person's sign-in could not replace it.
  if (signedIn.query.odbc_connect !== undefined) {
    throw new InputError('team mode cannot use odbc_connect, which carries its own login: write mssql+pyodbc://dsnname or mssql+pymssql://host:1433/database, and each person signs in with their own');
  }
  if (signedIn.mssql?.integratedSecurity || signedIn.odbc?.trustedConnection) {
    throw new InputError('team mode cannot use a Windows login (Trusted_Connection): each person signs in with a database login');
  }
}

/** The connection a person who signed in gets: the team's database with their own login, through the one parser. */
export function personConfig(connectionString: string, user: string, password: string, poolSize: number): ConnectionConfig {
  return { ...parseConnectionString(withLogin(connectionString, user, password)), poolSize };
}

/** True when the database refused the user name or password (rather than being unreachable). */
function isLoginRefusal(error: unknown): boolean {
  const err = error as { code?: unknown; errorNum?: unknown; message?: unknown };
  return ['28P01', '28000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ELOGIN'].includes(String(err?.code)) || Number(err?.errorNum) === 1017;
}

const hashOf = (id: string) => createHash('sha256').update(id).digest('hex');

export class Team {
  private readonly shown: string;
  private readonly people = new Map<string, Person>();
  private readonly sweeper: NodeJS.Timeout;
  readonly idleMs: number;
  readonly absoluteMs: number;
  readonly cookieName: string;

  constructor(private readonly options: TeamOptions) {
    teamDatabase(options.connectionString);
    this.shown = redactConnectionString(options.connectionString.trim());
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MINUTES * 60_000;
    this.absoluteMs = options.absoluteMs ?? DEFAULT_SESSION_HOURS * 3_600_000;
    this.cookieName = options.secure ? '__Host-oo-session' : 'oo-session';
    this.sweeper = setInterval(() => void this.sweep(), Math.max(200, Math.min(this.idleMs / 4, 60_000)));
    this.sweeper.unref();
  }

  /**
   * Proves `user`/`password` by connecting (one short read every role may make), then sets up
   * the person's connection. Returns the new session id; a failure is the database's refusal,
   * as one line without the password.
   */
  async signIn(user: string, password: string): Promise<{ id: string; person: Person }> {
    const config = personConfig(this.options.connectionString, user, password, this.options.poolSize ?? DEFAULT_POOL);
    const store = openStoreWith(config);
    let access: AccessReport;
    try {
      await store.db.selectFrom('alembic_version').select('version_num').execute();
      access = await probeAccess(store);
    } catch (error) {
      await closeStore(store).catch(() => undefined);
      const translated = toDatabaseError(error, config);
      throw isLoginRefusal(error) ? new HttpError(401, translated.message) : translated;
    }
    // An admin sees every table and may be told to upgrade; other logins see only what they
    // may, so their schema check is the one the Scheduler makes (upgrade.ts).
    const check = access.roles.includes('admin') ? fullSchemaCheck : (s: typeof store) => checkSchemaInUse(s.db, s.dialect);
    const session = new DatabaseSession();
    await session.adopt(store, { shown: `${this.shown} (signed in as ${user})`, cryptoKey: this.options.cryptoKey, check, locked: true });
    const id = randomBytes(32).toString('base64url');
    const now = Date.now();
    const person: Person = { login: user, session, access, signedInAt: now, lastSeenAt: now };
    const same = [...this.people.entries()].filter(([, p]) => p.login === user);
    for (const [key, oldest] of same.slice(0, Math.max(0, same.length - MAX_SESSIONS_PER_LOGIN + 1))) {
      this.people.delete(key);
      await oldest.session.close();
    }
    this.people.set(hashOf(id), person);
    return { id, person };
  }

  /** The person a cookie names, touched as seen now; or why there is none. */
  find(headers: IncomingHttpHeaders): Lookup {
    const id = this.idFrom(headers);
    if (id === undefined) return { refusal: 'sign in first: this server gives each person their own database login' };
    const key = hashOf(id);
    const person = this.people.get(key);
    if (!person) return { refusal: 'your session has ended (signed out, timed out or the server restarted): sign in again' };
    const now = Date.now();
    if (this.expired(person, now)) {
      this.people.delete(key);
      void person.session.close();
      return { refusal: 'your session has expired: sign in again' };
    }
    person.lastSeenAt = now;
    return { person };
  }

  /** Ends the session a cookie names (nothing when none). */
  async signOut(headers: IncomingHttpHeaders): Promise<void> {
    const id = this.idFrom(headers);
    if (id === undefined) return;
    const key = hashOf(id);
    const person = this.people.get(key);
    this.people.delete(key);
    await person?.session.close();
  }

  /** The Set-Cookie value that carries a new session id. */
  cookie(id: string): string {
    return `${this.cookieName}=${id}; Path=/; HttpOnly; SameSite=Strict${this.options.secure ? '; Secure' : ''}`;
  }

  /** The Set-Cookie value that makes the browser forget the session. */
  clearedCookie(): string {
    return `${this.cookieName}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${this.options.secure ? '; Secure' : ''}`;
  }

  /** The people signed in now (their count: for the tests and the start line). */
  get signedIn(): number {
    return this.people.size;
  }

  /** Signs everybody out and stops the sweeper (the server is stopping). */
  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const people = [...this.people.values()];
    this.people.clear();
    await Promise.all(people.map((p) => p.session.close()));
  }

  private expired(person: Person, now: number): boolean {
    return now - person.lastSeenAt >= this.idleMs || now - person.signedInAt >= this.absoluteMs;
  }

  private async sweep(): Promise<void> {
    const now = Date.now();
    for (const [key, person] of this.people) {
      if (!this.expired(person, now)) continue;
      this.people.delete(key);
      await person.session.close();
    }
  }

  private idFrom(headers: IncomingHttpHeaders): string | undefined {
    const header = headers.cookie;
    if (typeof header !== 'string') return undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq > 0 && part.slice(0, eq).trim() === this.cookieName) {
        const value = part.slice(eq + 1).trim();
        return /^[A-Za-z0-9_-]{43}$/.test(value) ? value : undefined;
      }
    }
    return undefined;
  }
}
