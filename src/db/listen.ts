/**
 * Listening for the wake-ups the database's change tracking sends for every writer (oo-014,
 * dialects/change-tracking.ts): PostgreSQL's LISTEN on a
 * connection of its own, outside the pool, with the same options as the pool's. A lost
 * connection is reconnected with backoff; while it is down the caller's poll is the only way
 * changes are seen, so each (re)connection also reports a change (some may have been missed).
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import type { ConnectionConfig } from '../config/connection-string.js';
import { postgresPoolConfig } from './dialects/postgres.js';
import { toDatabaseError, type Store } from './open.js';
import { notifyRaw, WAKE_CHANNEL } from './store/wake.js';

export interface ListenerEvents {
  /** a writer notified, or the listener has just (re)connected and may have missed some */
  onChange(): void;
  /** listening (again, if `again`) */
  onListening(again: boolean): void;
  /** the connection failed or was lost; one call per outage, not per attempt */
  onLost(reason: string): void;
  /**
   * LISTEN was accepted but a notification sent to ourselves never came back (a connection
   * pooler in transaction mode answers LISTEN but cannot deliver): the listener gives up.
   */
  onUnsupported(): void;
}

export interface ListenerOptions {
  /** shown in pg_stat_activity.application_name (at most 63 bytes are kept) */
  applicationName: string;
  /** the longest wait between reconnection attempts */
  maxBackoffMs: number;
}

export interface ChangeListener {
  /** true while the connection is up and listening */
  readonly listening: boolean;
  close(): Promise<void>;
}

/** Whether the database can carry wake-ups to listeners. */
export function canListen(config: ConnectionConfig): boolean {
  return config.dialect === 'postgres';
}

/** How long the notification a new connection sends itself may take to come back. */
const ECHO_TIMEOUT_MS = 5000;
const ECHO_PREFIX = 'echo ';
/** The first reconnection attempt waits this long; each failure doubles it. */
const FIRST_RETRY_MS = 500;
/**
 * TCP keepalive probes start after this much silence, so a connection lost without a word (a
 * network partition) is noticed in minutes rather than the operating system's two hours.
 */
const KEEPALIVE_IDLE_MS = 10_000;

/**
 * Starts listening (connecting in the background) to the database of `store`, which also sends
 * the connection's proof notification. Only for databases where `canListen`.
 *
 * @example
 *   const listener = listenForChanges(store, { applicationName: 'oo-scheduler PC1', maxBackoffMs: 60_000 }, events);
 *   ...
 *   await listener.close();
 */
export function listenForChanges(store: Store, options: ListenerOptions, events: ListenerEvents): ChangeListener {
  return new PostgresListener(store, options, events);
}

class PostgresListener implements ChangeListener {
  readonly #store: Store;
  readonly #config: ConnectionConfig;
  readonly #options: ListenerOptions;
  readonly #events: ListenerEvents;
  #client: pg.Client | undefined;
  #listening = false;
  #failures = 0;
  #retry: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: Store, options: ListenerOptions, events: ListenerEvents) {
    this.#store = store;
    this.#config = store.config;
    this.#options = options;
    this.#events = events;
    void this.#connect();
  }

  get listening(): boolean {
    return this.#listening;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retry);
    const client = this.#client;
    this.#client = undefined;
    this.#listening = false;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const client = new pg.Client({
      ...postgresPoolConfig(this.#config),
      application_name: this.#options.applicationName,
      keepAliveInitialDelayMillis: KEEPALIVE_IDLE_MS,
    });
    this.#client = client;
    let lost = false;
    const fail = (error: unknown) => {
      if (lost) return;
      lost = true;
      this.#listening = false;
      if (this.#client === client) this.#client = undefined;
      client.end().catch(() => undefined);
      if (!this.#closed) this.#failed(error);
    };
    client.on('error', fail);
    client.on('end', () => fail(Object.assign(new Error('the server closed the connection'), { code: 'ECONNRESET' })));
    // LISTEN is answered even where notifications cannot arrive (a pooler hands the session's
    // server connection to others after each statement), so the connection proves it: a
    // notification sent from another connection (the store's pool; from this one a pooler
    // could deliver it by chance on the same server connection) must come back.
    const echo = `${ECHO_PREFIX}${randomUUID()}`;
    let echoed!: () => void;
    const cameBack = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), ECHO_TIMEOUT_MS);
      // Waiting for the proof must not keep a stopped Scheduler's process alive.
      timer.unref();
      echoed = () => {
        clearTimeout(timer);
        resolve(true);
      };
    });
    client.on('notification', (message) => {
      if (message.channel !== WAKE_CHANNEL) return;
      if (message.payload === echo) echoed();
      // Another Scheduler's proof is no change.
      else if (!message.payload?.startsWith(ECHO_PREFIX)) this.#events.onChange();
    });
    let delivered: boolean;
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKE_CHANNEL}`);
      await notifyRaw(this.#store, echo);
      delivered = await cameBack;
    } catch (error) {
      fail(error);
      return;
    }
    if (lost) return;
    if (!delivered) {
      this.#closed = true;
      await client.end().catch(() => undefined);
      this.#events.onUnsupported();
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => undefined);
      return;
    }
    // Failures are counted from the last success, so this is a recovery (from a lost
    // connection or a first attempt that failed).
    const again = this.#failures > 0;
    this.#listening = true;
    this.#failures = 0;
    this.#events.onListening(again);
    // Whatever changed before LISTEN took effect (since the caller's last look) was not
    // announced to us: one look now covers it, at the first connection too.
    this.#events.onChange();
  }

  #failed(error: unknown): void {
    this.#failures++;
    if (this.#failures === 1) this.#events.onLost(toDatabaseError(error, this.#config).message);
    const delay = Math.min(this.#options.maxBackoffMs, FIRST_RETRY_MS * 2 ** (this.#failures - 1));
    this.#retry = setTimeout(() => void this.#connect(), delay);
    this.#retry.unref();
  }
}
