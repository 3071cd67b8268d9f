/**
 * The audit trail of changes made through the Orchestrator (table oo_audit). Rows are written
 * in the transaction of the change they describe (src/orchestrator/unit-of-work.ts) and never
 * changed afterwards; this program only inserts and reads them.
 */
import { now } from '../../time/clock.js';
import { newId } from '../dialects/encoding.js';
import type { Store } from '../open.js';
import { paged } from './paging.js';
import { splitToFit, type TextColumns } from './validate.js';

/** Characters kept of a before/after snapshot (the column's width). */
export const AUDIT_SNAPSHOT_LIMIT = 4000;

export interface AuditEntry {
  id: string;
  changedAt: Date;
  /** the database login that made the change */
  login: string;
  /** what was done, e.g. `trigger.update` */
  action: string;
  /** on what: an id or a name */
  target: string | null;
  clientAddress: string | null;
  /** JSON of the row before and after, secrets masked; null where there was none */
  before: string | null;
  after: string | null;
}

export type NewAuditEntry = Omit<AuditEntry, 'id' | 'changedAt'>;

/** `text` cut to fit a column of `limit` as `columns`' database counts (never inside a character), marked when cut. */
function bounded(columns: TextColumns, text: string | null, limit: number): string | null {
  if (text === null || columns.textFit(text, limit) === undefined) return text;
  return `${splitToFit(columns, text, limit - 1)[0] ?? ''}…`;
}

/**
 * Records one change. Call it with the store of the change's own transaction.
 *
 * @example
 *   await recordAudit(trx, { login: 'alice', action: 'constant.update', target: 'mail-host', clientAddress: '10.0.0.5', before: '{"value":"a"}', after: '{"value":"b"}' });
 */
export async function recordAudit({ db, dialect }: Store, entry: NewAuditEntry): Promise<string> {
  const id = newId();
  await db
    .insertInto('oo_audit')
    .values({
      id: dialect.encodeUuid(id),
      changed_at: dialect.encodeDate(now()),
      login: bounded(dialect, entry.login, 128) ?? '',
      action: bounded(dialect, entry.action, 100) ?? '',
      target: bounded(dialect, entry.target, 250),
      client_address: bounded(dialect, entry.clientAddress, 100),
      before_json: bounded(dialect, entry.before, AUDIT_SNAPSHOT_LIMIT),
      after_json: bounded(dialect, entry.after, AUDIT_SNAPSHOT_LIMIT),
    })
    .execute();
  return id;
}

export interface AuditFilter {
  /** the login, exactly */
  login?: string;
  /** the action, exactly (`trigger.update`), or its kind (`trigger`: every `trigger.*`) */
  action?: string;
  from?: Date;
  to?: Date;
  offset?: number;
  limit?: number;
}

function filtered({ db, dialect }: Store, filter: AuditFilter) {
  let query = db.selectFrom('oo_audit');
  if (filter.login !== undefined) query = query.where('login', '=', filter.login);
  if (filter.action !== undefined) {
    const action = filter.action;
    query = action.includes('.') ? query.where('action', '=', action) : query.where('action', 'like', `${action.replace(/[\\%_]/g, '')}.%`);
  }
  if (filter.from) query = query.where('changed_at', '>=', dialect.encodeDate(filter.from));
  if (filter.to) query = query.where('changed_at', '<=', dialect.encodeDate(filter.to));
  return query;
}

/** One page of the trail, newest first. */
export async function listAudit(store: Store, filter: AuditFilter = {}): Promise<AuditEntry[]> {
  const { dialect } = store;
  const rows = await filtered(store, filter)
    .selectAll()
    .orderBy('changed_at', 'desc')
    .orderBy('id', 'desc')
    .$call(paged(dialect, filter.limit ?? 100, filter.offset ?? 0))
    .execute();
  return rows.map((row) => ({
    id: dialect.decodeUuid(row.id),
    changedAt: dialect.decodeDate(row.changed_at),
    login: row.login,
    action: row.action,
    target: row.target,
    clientAddress: row.client_address,
    before: row.before_json,
    after: row.after_json,
  }));
}

export async function countAudit(store: Store, filter: AuditFilter = {}): Promise<number> {
  const row = await filtered(store, filter)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** The logins and actions the trail holds, for the filters' choices. */
export async function auditChoices({ db }: Store): Promise<{ logins: string[]; actions: string[] }> {
  const logins = await db.selectFrom('oo_audit').select('login').distinct().orderBy('login').execute();
  const actions = await db.selectFrom('oo_audit').select('action').distinct().orderBy('action').execute();
  return { logins: logins.map((r) => r.login), actions: actions.map((r) => r.action) };
}
