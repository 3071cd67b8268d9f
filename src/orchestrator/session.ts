/**
 * The Orchestrator's one connection: the database it is connected to (if any) and the key that
 * encrypts credentials. The connection string and key stay in this process; responses only ever
 * carry the connection string with its password masked, and never the key.
 */
import { redactConnectionString } from '../config/connection-string.js';
import { connectionSecrets } from '../config/secrets.js';
import { validateKey } from '../crypto/fernet.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../db/open.js';
import { checkSchema, upgradeDatabase, type UpgradeResult } from '../db/schema/upgrade.js';
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

export class Session {
  private store: Store | undefined;
  private connectionString: string | undefined;
  private cryptoKey: string | undefined;
  private revision: string | undefined;
  private current = false;

  /** Opens the database and reads its schema revision; a failure leaves the session as it was. */
  async connect(connectionString: string, cryptoKey?: string): Promise<SessionStatus> {
    if (typeof connectionString !== 'string' || connectionString.trim() === '') throw new InputError('connection string must not be empty');
    if (cryptoKey !== undefined && cryptoKey !== '') {
      try {
        validateKey(cryptoKey.trim());
      } catch {
        throw new CryptoError('the encryption key is not a valid key: it must be 32 url-safe base64-encoded bytes (44 characters), as `openorchestrator key` prints');
      }
    }
    // The new database is tried first: a refused connect leaves the current one in place.
    const store = openStore(connectionString.trim());
    let revision: string;
    let current: boolean;
    try {
      ({ revision, current } = await checkSchema(store.db, store.dialect));
    } catch (error) {
      await closeStore(store).catch(() => undefined);
      throw toDatabaseError(error, store.config);
    }
    await this.disconnect();
    this.revision = revision;
    this.current = current;
    this.store = store;
    this.connectionString = connectionString.trim();
    this.cryptoKey = cryptoKey ? cryptoKey.trim() : undefined;
    return this.status();
  }

  async disconnect(): Promise<void> {
    const store = this.store;
    this.store = undefined;
    this.connectionString = undefined;
    this.cryptoKey = undefined;
    this.revision = undefined;
    this.current = false;
    if (store) await closeStore(store).catch(() => undefined);
  }

  status(): SessionStatus {
    return {
      connected: this.store !== undefined,
      connectionString: this.connectionString === undefined ? null : redactConnectionString(this.connectionString),
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
      const check = await checkSchema(store.db, store.dialect);
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
}
