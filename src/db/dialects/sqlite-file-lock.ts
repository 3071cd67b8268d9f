/**
 * One lock per SQLite file per process, shared by every Kysely instance on that file.
 *
 * Why: better-sqlite3 is synchronous. When one handle holds a transaction open across awaits
 * (a bulk insert, a trigger's two rows) and another handle of the SAME process writes to the
 * same file in between, that write waits for SQLite's file lock inside a synchronous call: the
 * event loop stops, the transaction can never finish, and after the busy timeout the write
 * fails with "database is locked". Queuing in-process users of a file here, before they touch
 * SQLite, leaves SQLite's own locking to the case it handles well: other processes.
 */
import { resolve } from 'node:path';
import { CompiledQuery, SqliteDialect, type DatabaseConnection, type Driver, type QueryCompiler, type SqliteDialectConfig } from 'kysely';

/** A first-come, first-served async lock. */
export class FileLock {
  #tail: Promise<void> = Promise.resolve();

  /**
   * Waits for the lock and returns its release function. Gives up after `timeoutMs` with an
   * SQLITE_BUSY error, as SQLite itself would for a lock held by another process.
   */
  acquire(timeoutMs: number): Promise<() => void> {
    let release!: () => void;
    const mine = new Promise<void>((done) => (release = done));
    const previous = this.#tail;
    this.#tail = previous.then(() => mine);
    return new Promise((granted, refused) => {
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        const error = Object.assign(new Error('database is locked (by another connection of this process)'), { code: 'SQLITE_BUSY' });
        refused(error);
      }, timeoutMs);
      // An idle process must be able to exit while a caller waits.
      timer.unref();
      void previous.then(() => {
        clearTimeout(timer);
        // A caller that gave up passes its turn straight on.
        if (timedOut) release();
        else granted(release);
      });
    });
  }
}

const locks = new Map<string, FileLock>();

/** The lock of a file (one per resolved path); `:memory:` databases are private and need none. */
export function fileLock(filename: string): FileLock | undefined {
  if (filename === ':memory:' || filename === '') return undefined;
  const key = resolve(filename);
  let lock = locks.get(key);
  if (!lock) {
    lock = new FileLock();
    locks.set(key, lock);
  }
  return lock;
}

/** Kysely's SQLite driver, holding the file's lock from acquiring its connection to releasing it. */
class FileLockedDriver implements Driver {
  readonly #inner: Driver;
  readonly #lock: FileLock;
  readonly #timeoutMs: number;
  #release: (() => void) | undefined;

  constructor(inner: Driver, lock: FileLock, timeoutMs: number) {
    this.#inner = inner;
    this.#lock = lock;
    this.#timeoutMs = timeoutMs;
  }

  async init(): Promise<void> {
    // Opening sets the journal mode, which writes to the file.
    const release = await this.#lock.acquire(this.#timeoutMs);
    try {
      await this.#inner.init();
    } finally {
      release();
    }
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const release = await this.#lock.acquire(this.#timeoutMs);
    try {
      const connection = await this.#inner.acquireConnection();
      // Only the lock's holder gets here, so one slot per driver is enough.
      this.#release = release;
      return connection;
    } catch (error) {
      release();
      throw error;
    }
  }

  async releaseConnection(connection: DatabaseConnection): Promise<void> {
    const release = this.#release;
    this.#release = undefined;
    try {
      await this.#inner.releaseConnection(connection);
    } finally {
      release?.();
    }
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    // Every transaction of this program writes. IMMEDIATE takes the write lock at BEGIN, where the
    // busy timeout applies; a deferred one that read first would fail at once with SQLITE_BUSY
    // when another process wrote in between (the Orchestrator's changes read their "before" first).
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.commitTransaction(connection);
  }
  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.#inner.rollbackTransaction(connection);
  }
  async savepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#inner.savepoint?.(connection, name, compileQuery);
  }
  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#inner.rollbackToSavepoint?.(connection, name, compileQuery);
  }
  async releaseSavepoint(connection: DatabaseConnection, name: string, compileQuery: QueryCompiler['compileQuery']): Promise<void> {
    await this.#inner.releaseSavepoint?.(connection, name, compileQuery);
  }
  destroy(): Promise<void> {
    return this.#inner.destroy();
  }
}

/** Kysely's SqliteDialect whose driver takes the file's in-process lock (none for `:memory:`). */
export class FileLockedSqliteDialect extends SqliteDialect {
  readonly #lock: FileLock | undefined;
  readonly #timeoutMs: number;

  constructor(config: SqliteDialectConfig, filename: string, timeoutMs: number) {
    super(config);
    this.#lock = fileLock(filename);
    this.#timeoutMs = timeoutMs;
  }

  override createDriver(): Driver {
    const inner = super.createDriver();
    return this.#lock ? new FileLockedDriver(inner, this.#lock, this.#timeoutMs) : inner;
  }
}
