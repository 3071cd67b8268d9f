/**
 * The physical shape of a live database, read straight from its catalog (information_schema,
 * pg_catalog, pragma_*). Independent of the dialects' own catalog functions, so tests can
 * compare a database with SCHEMA.md and check that a second `upgrade` changes nothing.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Database } from '../../src/db/types.js';
import type { LiveDialect } from './databases.js';

export interface ColumnInfo {
  name: string;
  /** as the catalog shows it: `varchar(100)` on PostgreSQL, `enum('A','B')` on MySQL, `VARCHAR(5)` on SQLite */
  type: string;
  nullable: boolean;
  /** the server default as text, or null */
  default: string | null;
}

export interface TableInfo {
  columns: ColumnInfo[];
  primaryKey: string[];
  /** `column -> Table.column` */
  foreignKeys: string[];
  /** secondary indexes (not the primary key's), name -> columns in order */
  indexes: Record<string, string[]>;
}

export interface CatalogSnapshot {
  tables: Record<string, TableInfo>;
  /** PostgreSQL enum types and their labels in order; empty elsewhere */
  enums: Record<string, string[]>;
}

type Db = Kysely<Database>;

async function rows<T>(db: Db, query: RawBuilder<T>): Promise<T[]> {
  return (await query.execute(db)).rows;
}

function groupIndexes(list: { index_name: string; column_name: string }[]): Record<string, string[]> {
  const indexes: Record<string, string[]> = {};
  for (const { index_name, column_name } of list) (indexes[index_name] ??= []).push(column_name);
  return indexes;
}

async function postgresTable(db: Db, table: string): Promise<TableInfo> {
  const columns = await rows<{ column_name: string; data_type: string; udt_name: string; len: number | null; is_nullable: string; column_default: string | null }>(
    db,
    sql`SELECT column_name, data_type, udt_name, character_maximum_length AS len, is_nullable, column_default
        FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ${table}
        ORDER BY ordinal_position`,
  );
  const type = (c: (typeof columns)[number]) => {
    if (c.data_type === 'character varying') return `varchar(${c.len})`;
    if (c.data_type === 'character') return `char(${c.len})`;
    if (c.data_type === 'USER-DEFINED') return `USER-DEFINED ${c.udt_name}`;
    return c.data_type;
  };
  const indexRows = await rows<{ index_name: string; column_name: string; primary: boolean }>(
    db,
    sql`SELECT i.relname AS index_name, a.attname AS column_name, ix.indisprimary AS primary
        FROM pg_index ix
        JOIN pg_class t ON t.oid = ix.indrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_class i ON i.oid = ix.indexrelid
        CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
        WHERE n.nspname = current_schema() AND t.relname = ${table}
        ORDER BY i.relname, k.ord`,
  );
  const foreignKeys = await rows<{ fk: string }>(
    db,
    sql`SELECT a.attname || ' -> ' || rt.relname || '.' || ra.attname AS fk
        FROM pg_constraint c
        JOIN pg_class t ON t.oid = c.conrelid
        JOIN pg_namespace n ON n.oid = t.relnamespace
        JOIN pg_class rt ON rt.oid = c.confrelid
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
        JOIN pg_attribute ra ON ra.attrelid = c.confrelid AND ra.attnum = c.confkey[1]
        WHERE c.contype = 'f' AND n.nspname = current_schema() AND t.relname = ${table}
        ORDER BY 1`,
  );
  return {
    columns: columns.map((c) => ({ name: c.column_name, type: type(c), nullable: c.is_nullable === 'YES', default: c.column_default })),
    primaryKey: indexRows.filter((r) => r.primary).map((r) => r.column_name),
    foreignKeys: foreignKeys.map((r) => r.fk),
    indexes: groupIndexes(indexRows.filter((r) => !r.primary)),
  };
}

async function mysqlTable(db: Db, table: string): Promise<TableInfo> {
  const columns = await rows<{ name: string; type: string; nullable: string; dflt: string | null }>(
    db,
    sql`SELECT column_name AS name, column_type AS type, is_nullable AS nullable, column_default AS dflt
        FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ${table}
        ORDER BY ordinal_position`,
  );
  const keys = await rows<{ constraint_name: string; column_name: string; ref_table: string | null; ref_column: string | null }>(
    db,
    sql`SELECT constraint_name AS constraint_name, column_name AS column_name,
               referenced_table_name AS ref_table, referenced_column_name AS ref_column
        FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = ${table}
        ORDER BY constraint_name, ordinal_position`,
  );
  const indexRows = await rows<{ index_name: string; column_name: string }>(
    db,
    sql`SELECT index_name AS index_name, column_name AS column_name FROM information_schema.statistics
        WHERE table_schema = DATABASE() AND table_name = ${table} AND index_name <> 'PRIMARY'
        ORDER BY index_name, seq_in_index`,
  );
  return {
    columns: columns.map((c) => ({
      name: c.name,
      // MySQL 8 shows `int`, MariaDB `int(11)`: the display width means nothing for INTEGER.
      type: c.type.toLowerCase().startsWith('enum(') ? c.type : c.type.toLowerCase().replace(/^int\(11\)$/, 'int'),
      nullable: c.nullable === 'YES',
      // MariaDB shows "no default" on a nullable column as the text NULL.
      default: c.dflt === 'NULL' ? null : c.dflt,
    })),
    primaryKey: keys.filter((k) => k.constraint_name === 'PRIMARY').map((k) => k.column_name),
    foreignKeys: keys.filter((k) => k.ref_table !== null).map((k) => `${k.column_name} -> ${k.ref_table}.${k.ref_column}`),
    indexes: groupIndexes(indexRows),
  };
}

async function sqliteTable(db: Db, table: string): Promise<TableInfo> {
  const columns = await rows<{ name: string; type: string; notnull: number; dflt_value: string | null; pk: number }>(
    db,
    sql`SELECT name, type, "notnull", dflt_value, pk FROM pragma_table_info(${table}) ORDER BY cid`,
  );
  const foreignKeys = await rows<{ from: string; table: string; to: string }>(db, sql`SELECT "from", "table", "to" FROM pragma_foreign_key_list(${table})`);
  // origin 'c': made by CREATE INDEX (not the automatic index of a primary key or UNIQUE).
  const indexRows = await rows<{ index_name: string; column_name: string }>(
    db,
    sql`SELECT l.name AS index_name, i.name AS column_name
        FROM pragma_index_list(${table}) l, pragma_index_info(l.name) i
        WHERE l.origin = 'c' ORDER BY l.name, i.seqno`,
  );
  return {
    columns: columns.map((c) => ({ name: c.name, type: c.type, nullable: c.notnull === 0, default: c.dflt_value })),
    primaryKey: columns.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk).map((c) => c.name),
    foreignKeys: foreignKeys.map((k) => `${k.from} -> ${k.table}.${k.to}`).sort(),
    indexes: groupIndexes(indexRows),
  };
}

async function tableNames(db: Db, dialect: LiveDialect): Promise<string[]> {
  const query =
    dialect === 'postgres'
      ? sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`
      : dialect === 'mysql'
        ? sql<{ name: string }>`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'`
        : sql<{ name: string }>`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'`;
  return (await rows(db, query)).map((r) => r.name).sort();
}

async function postgresEnums(db: Db): Promise<Record<string, string[]>> {
  const labels = await rows<{ typname: string; enumlabel: string }>(
    db,
    sql`SELECT t.typname, e.enumlabel FROM pg_enum e
        JOIN pg_type t ON t.oid = e.enumtypid JOIN pg_namespace n ON n.oid = t.typnamespace
        WHERE n.nspname = current_schema() ORDER BY t.typname, e.enumsortorder`,
  );
  const enums: Record<string, string[]> = {};
  for (const { typname, enumlabel } of labels) (enums[typname] ??= []).push(enumlabel);
  return enums;
}

/** Every table with its columns, keys and indexes, plus PostgreSQL's enum types. */
export async function readCatalogSnapshot(db: Db, dialect: LiveDialect): Promise<CatalogSnapshot> {
  const read = dialect === 'postgres' ? postgresTable : dialect === 'mysql' ? mysqlTable : sqliteTable;
  const tables: Record<string, TableInfo> = {};
  for (const name of await tableNames(db, dialect)) tables[name] = await read(db, name);
  return { tables, enums: dialect === 'postgres' ? await postgresEnums(db) : {} };
}

/** All rows of every table, ordered by their first column, as the driver returns them. */
export async function readAllRows(db: Db, dialect: LiveDialect, tables: string[]): Promise<Record<string, Record<string, unknown>[]>> {
  const quote = (name: string) => (dialect === 'mysql' ? `\`${name}\`` : `"${name}"`);
  const result: Record<string, Record<string, unknown>[]> = {};
  for (const table of tables) {
    result[table] = (await sql.raw<Record<string, unknown>>(`SELECT * FROM ${quote(table)} ORDER BY 1`).execute(db)).rows;
  }
  return result;
}
