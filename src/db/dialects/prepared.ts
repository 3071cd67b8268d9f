/**
 * Statements prepared once per connection. The Scheduler's idle tick and the robots' queue claim
 * run the same few statements thousands of times; parsing and planning each time is most of
 * what they cost the server (on PostgreSQL planning the tick's join took as long as running it).
 *
 * A store marks such a statement with `prepared(query)`; each driver's connections then keep it
 * prepared: PostgreSQL as a named statement (Parse once, then Bind/Execute), MySQL/MariaDB through
 * mysql2's `execute` (server-side, cached per connection), SQLite as a cached better-sqlite3
 * statement. Everything else runs as before. Only fixed-shape statements may be marked (never a
 * variable-length IN list): each distinct text costs every connection one server-side statement.
 */
import { createHash } from 'node:crypto';
import type { Compilable, CompiledQuery } from 'kysely';

/** More distinct texts than this means a caller marks statements of varying shape: stop marking. */
const MAX_TEXTS = 200;
const texts = new Set<string>();

/**
 * Compiles `query` and marks its text to be prepared by every connection that runs it.
 *
 * @example
 *   await store.db.executeQuery(prepared(store.db.selectFrom('Triggers').select('id').where('id', '=', id)));
 */
export function prepared<R>(query: Compilable<R>): CompiledQuery<R> {
  return markPrepared(query.compile());
}

/**
 * Marks an already compiled statement (raw `sql` compiles with its Kysely instance).
 *
 * @example
 *   await db.executeQuery(markPrepared(sql`UPDATE ...`.compile(db)));
 */
export function markPrepared<R>(compiled: CompiledQuery<R>): CompiledQuery<R> {
  if (texts.size < MAX_TEXTS) texts.add(compiled.sql);
  return compiled;
}

/** Whether `text` was marked by `prepared`. */
export function isPrepared(text: unknown): text is string {
  return typeof text === 'string' && texts.has(text);
}

/** A stable server-side name for a text: the same in every process, so a name never means two texts. */
export function statementName(text: string): string {
  return `oo_${createHash('sha1').update(text).digest('hex').slice(0, 24)}`;
}
