/**
 * A connection of the Orchestrator: the database it is connected to (if any) and the key that
 * encrypts credentials. The connection string and key stay in this process; responses only ever
 * carry the connection string with its password masked, and never the key.
 *
 * Routes see a `Session`. In token mode it is the server's one `DatabaseSession`; in team mode
 * each signed-in person has a `DatabaseSession` of their own login (team.ts). Which one a
 * request acts in is decided once per request (request-scope.ts).
 */
import { userInfo } from 'node:os';
import { redactConnectionString } from '../config/connection-string.js';
import { connectionSecrets } from '../config/secrets.js';
import { validateKey } from '../crypto/fernet.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../db/open.js';
import { checkSchema, upgradeDatabase, type SchemaCheck, type UpgradeResult } from '../db/schema/upgrade.js';
import { CryptoError, InputError } from '../errors.js';
import { HttpError } from './http-error.js';

export interface SessionStatus {
  connected: boolean;
  /** the connection string with its password masked */
  connectionString: string | null;
  dialect: string | null;
  revision: string | null;
  /** true when the schema is older than this program needs: press Upgrade */
  needsUpgrade: boolean;
  hasKey: boolean;
}

/** What the routes use of a connection. */
export interface Session {
  connect(connectionString: string, cryptoKey?: string): Promise<SessionStatus>;
  disconnect(): Promise<void>;
  status(): SessionStatus;
  /** the open store with an up-to-date schema, or a 409 that says what to do */
  requireStore(): Store;
  /** the store even when its schema is old (for the upgrade itself) */
  requireConnection(): Store;
  requireKey(): string;
  /** the key, when one is set (for flagging credentials encrypted with another key) */
  optionalKey(): string | undefined;
  upgrade(onStep: (line: string) => void): Promise<UpgradeResult>;
  /** rewrites a driver error of the open connection without its password */
  translate(error: unknown): Error;
  /** secrets that must never appear in a response */
  secrets(): string[];
  /** who the database sees: the login's name (SQLite, which has none: the user running the server) */
  login(): string | null;
}

/** How a session decides whether its schema is current (upgrade.ts). */
export type SchemaCheckOf = (store: Store) => Promise<SchemaCheck>;

/** The whole check: plans the upgrade, so it needs a login that sees every table (admin). */
export const fullSchemaCheck: SchemaCheckOf = (store) => checkSchema(store.db, store.dialect);

function checkedKey(cryptoKey: string | undefined): string | undefined {
  if (cryptoKey === undefined || cryptoKey === '') return undefined;
  try {
    validateKey(cryptoKey.trim());
  } catch {
    throw new CryptoError('the encryption key is not a valid key: it must be 32 url-safe base64-encoded bytes (44 characters), as `openorchestrator key` prints');
  }
  return cryptoKey.trim();
}

export class DatabaseSession implements Session {
  private store: Store | undefined;
  /** the connection string as shown: password masked */
  private shown: string | undefined;
  private cryptoKey: string | undefined;
  private revision: string | undefined;
  private current = false;
  private check: SchemaCheckOf = fullSchemaCheck;
  /** team mode: the database is the server's, a person cannot switch or leave it (only sign out) */
  private locked = false;

  /** Opens the database and reads its schema revision; a failure leaves the session as it was. */
  async connect(connectionString: string, cryptoKey?: string): Promise<SessionStatus> {
    this.refuseWhenLocked();
    if (typeof connectionString !== 'string' || connectionString.trim() === '') throw new InputError('connection string must not be empty');
    const key = checkedKey(cryptoKey);
    // The new database is tried first: a refused connect leaves the current one in place.
    return this.adopt(openStore(connectionString.trim()), { shown: redactConnectionString(connectionString.trim()), cryptoKey: key, check: fullSchemaCheck });
  }

  /**
   * Takes an opened store (team mode: a person's own login) once its schema check passes; a
   * failure closes it and leaves the session as it was.
   */
  async adopt(store: Store, options: { shown: string; cryptoKey?: string; check: SchemaCheckOf; locked?: boolean }): Promise<SessionStatus> {
    const key = checkedKey(options.cryptoKey);
    let checked: SchemaCheck;
    try {
      checked = await options.check(store);
    } catch (error) {
      await closeStore(store).catch(() => undefined);
      throw toDatabaseError(error, store.config);
    }
    await this.close();
    this.revision = checked.revision;
    this.current = checked.current;
    this.store = store;
    this.shown = options.shown;
    this.cryptoKey = key;
    this.check = options.check;
    this.locked = options.locked ?? false;
    return this.status();
  }

  async disconnect(): Promise<void> {
    this.refuseWhenLocked();
    await this.close();
  }

  private refuseWhenLocked(): void {
    if (this.locked) throw new HttpError(409, 'this server serves one database to a team: it is set when the server starts; sign out to leave it');
  }

  /** Closes the connection (sign-out and idle sessions in team mode, stopping the server). */
  async close(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    this.shown = undefined;
    this.cryptoKey = undefined;
    this.revision = undefined;
    this.current = false;
    if (store) await closeStore(store).catch(() => undefined);
  }

  status(): SessionStatus {
    return {
      connected: this.store !== undefined,
      connectionString: this.shown ?? null,
      dialect: this.store?.config.dialect ?? null,
      revision: this.revision ?? null,
      needsUpgrade: this.store !== undefined && !this.current,
      hasKey: this.cryptoKey !== undefined,
    };
  }

  /** The open store with an up-to-date schema, or a 409 that says what to do. */
  requireStore(): Store {
    if (!this.store) throw new HttpError(409, 'not connected to a database: enter a connection string in the Settings tab and press Connect');
    if (!this.current) throw new HttpError(409, `the database is at schema revision ${this.revision}; press "Upgrade database" in the Settings tab first`);
    return this.store;
  }

  /** The store even when its schema is old (for the upgrade itself). */
  requireConnection(): Store {
    if (!this.store) throw new HttpError(409, 'not connected to a database: enter a connection string in the Settings tab and press Connect');
    return this.store;
  }

  requireKey(): string {
    if (!this.cryptoKey) throw new HttpError(409, 'no encryption key is set: enter the key in the Settings tab and press Connect');
    return this.cryptoKey;
  }

  /** The key, when one is set (for flagging credentials encrypted with another key). */
  optionalKey(): string | undefined {
    return this.cryptoKey;
  }

  async upgrade(onStep: (line: string) => void): Promise<UpgradeResult> {
    const store = this.requireConnection();
    try {
      const result = await upgradeDatabase(store.db, store.dialect, onStep);
      const check = await this.check(store);
      this.revision = check.revision;
      this.current = check.current;
      return result;
    } catch (error) {
      throw toDatabaseError(error, store.config);
    }
  }

  /** Rewrites a driver error of the open connection without its password. */
  translate(error: unknown): Error {
    return this.store ? toDatabaseError(error, this.store.config) : (error as Error);
  }

  /** Secrets that must never appear in a response. */
  secrets(): string[] {
    return [...(this.cryptoKey ? [this.cryptoKey] : []), ...connectionSecrets(this.store?.config)];
  }

  login(): string | null {
    if (!this.store) return null;
    return this.store.config.user ?? userInfo().username;
  }
}
