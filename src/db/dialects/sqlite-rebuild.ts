/**
 * SQLite's ALTER TABLE cannot change a column's constraints: the table is rebuilt (SQLite's
 * documented 12-step procedure) keeping every row, every index and every trigger on it, in one
 * transaction, with foreign keys off for the swap and checked before the commit.
 */
import { sql, type Kysely } from 'kysely';
import { SchemaError } from '../../errors.js';
import type { Database } from '../types.js';

/** Splits the inside of `( ... )` at its top-level commas, keeping quoted text and nested parentheses whole. */
function splitTopLevel(body: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quote: string | undefined;
  let start = 0;
  for (let i = 0; i < body.length; i++) {
    const ch = body[i]!;
    if (quote) {
      if (ch === quote) quote = undefined;
      continue;
    }
    if (ch === "'" || ch === '"' || ch === '`') quote = ch;
    else if (ch === '[') quote = ']';
    else if (ch === '(') depth++;
    else if (ch === ')') depth--;
    else if (ch === ',' && depth === 0) {
      parts.push(body.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(body.slice(start));
  return parts;
}

const unquote = (name: string) => name.replace(/^["`[]|["`\]]$/g, '');

/**
 * The CREATE TABLE text with `column`'s NOT NULL removed (its type and DEFAULT kept), or the
 * text unchanged when that column has none.
 */
export function dropNotNullInCreate(createSql: string, column: string): string {
  const open = createSql.indexOf('(');
  const close = createSql.lastIndexOf(')');
  if (open < 0 || close < open) throw new SchemaError(`cannot read the table definition to change column ${column}: ${createSql.slice(0, 80)}`);
  const parts = splitTopLevel(createSql.slice(open + 1, close)).map((part) => {
    const name = /^\s*("[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)/.exec(part)?.[1];
    return name !== undefined && unquote(name) === column ? part.replace(/\s+NOT\s+NULL\b/i, '') : part;
  });
  return `${createSql.slice(0, open + 1)}${parts.join(',')}${createSql.slice(close)}`;
}

/**
 * Rebuilds `table` from its CREATE TABLE text as `edit` changes it: copies every row into the
 * new table, drops the old one, renames the new one into place and recreates every index and
 * trigger the old one had (read from sqlite_master, so triggers added by later migrations are
 * kept too). One transaction: an error leaves the table as it was.
 */
export async function rebuildSqliteTable(db: Kysely<Database>, table: string, edit: (createSql: string) => string): Promise<void> {
  // PRAGMA foreign_keys is per connection and a no-op inside a transaction: one connection, set before BEGIN.
  await db.connection().execute(async (conn) => {
    const pragma = async (name: string) => Number(Object.values((await sql.raw<Record<string, unknown>>(`PRAGMA ${name}`).execute(conn)).rows[0] ?? {})[0] ?? 0);
    const foreignKeys = await pragma('foreign_keys');
    const legacyAlter = await pragma('legacy_alter_table');
    await sql.raw('PRAGMA foreign_keys = OFF').execute(conn);
    // The rename must not re-parse the rest of the schema while the table is briefly missing
    // (a trigger elsewhere that names it would fail the rename).
    await sql.raw('PRAGMA legacy_alter_table = ON').execute(conn);
    try {
      await conn.transaction().execute(async (trx) => {
        const objects = await sql<{ type: string; name: string; sql: string | null }>`
          SELECT type, name, sql FROM sqlite_master WHERE tbl_name = ${table} ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid`.execute(trx);
        const create = objects.rows.find((o) => o.type === 'table' && o.name === table)?.sql;
        if (!create) throw new SchemaError(`table ${table} is missing; run \`openorchestrator upgrade\` on a database this program or the Python tools made`);
        // Indexes SQLite made for PRIMARY KEY / UNIQUE have no sql: the new CREATE TABLE makes them.
        const dependents = objects.rows.filter((o) => o.type !== 'table' && o.sql !== null).map((o) => o.sql!);
        const columns = (await sql<{ name: string }>`SELECT name FROM pragma_table_info(${table})`.execute(trx)).rows.map((r) => r.name);
        const list = sql.join(columns.map((c) => sql.id(c)));
        const temporary = `oo_rebuild_${table}`;
        const newCreate = edit(create).replace(/^(\s*CREATE\s+TABLE\s+)("[^"]+"|`[^`]+`|\[[^\]]+\]|\w+)/i, `$1"${temporary}"`);
        const count = async (name: string) => Number((await sql<{ n: number }>`SELECT count(*) AS n FROM ${sql.id(name)}`.execute(trx)).rows[0]!.n);
        const before = await count(table);

        await sql.raw(newCreate).execute(trx);
        await sql`INSERT INTO ${sql.id(temporary)} (${list}) SELECT ${list} FROM ${sql.id(table)}`.execute(trx);
        await sql`DROP TABLE ${sql.id(table)}`.execute(trx);
        await sql`ALTER TABLE ${sql.id(temporary)} RENAME TO ${sql.id(table)}`.execute(trx);
        for (const statement of dependents) await sql.raw(statement).execute(trx);

        const after = await count(table);
        if (after !== before) throw new SchemaError(`rebuilding table ${table} kept ${after} of its ${before} rows; nothing was changed`);
        const broken = await sql<Record<string, unknown>>`SELECT * FROM pragma_foreign_key_check`.execute(trx);
        if (broken.rows.length > 0) throw new SchemaError(`rebuilding table ${table} would break ${broken.rows.length} foreign key reference(s) (first: ${JSON.stringify(broken.rows[0])}); nothing was changed`);
      });
    } finally {
      await sql.raw(`PRAGMA legacy_alter_table = ${legacyAlter ? 'ON' : 'OFF'}`).execute(conn);
      await sql.raw(`PRAGMA foreign_keys = ${foreignKeys ? 'ON' : 'OFF'}`).execute(conn);
    }
  });
}
