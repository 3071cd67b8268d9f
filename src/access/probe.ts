/**
 * Which role the connected login appears to have: its privileges, read from the database's
 * catalog, compared with the rights table (rights.ts). Nothing is written to find out.
 */
import { sql } from 'kysely';
import type { Store } from '../db/open.js';
import { ALL_TABLE_NAMES } from '../db/schema/tables.js';
import { ROLE_SUMMARY, roleRights, type Right, type Role } from './rights.js';

export interface AccessReport {
  /** false where the catalog is not read (SQLite has no logins; SQL Server and Oracle are not checked) */
  checked: boolean;
  /** the login as the database names it */
  login: string | null;
  /** roles whose every right the login holds; admin alone when it holds admin */
  roles: Role[];
  /** one line for people: `admin`, `scheduler + robot`, `none`, ... with what that means */
  summary: string;
  /** per non-admin role that is not held: the first few rights it lacks, e.g. `INSERT on Logs` */
  missing: Partial<Record<Role, string[]>>;
  /**
   * per table, the data rights the login holds on it (on the whole table or on a column a role
   * uses); absent where the catalog is not read. The UI shows what a login cannot do as unavailable.
   */
  privileges?: Record<string, Right['privilege'][]>;
}

/** What a login holds, as the classifier needs it. */
export interface HeldRights {
  login: string;
  has(right: Right): boolean;
  /** may create and alter the schema's tables (what `upgrade` needs) */
  schemaAdmin: boolean;
}

export function describeRight(right: Right): string {
  return `${right.privilege} on ${right.table}${right.column ? `.${right.column}` : ''}`;
}

/** Pure: the report for a set of held rights. */
export function classify(held: HeldRights): AccessReport {
  const missing: Partial<Record<Role, string[]>> = {};
  const holds = (role: Role) => {
    const lacking = roleRights(role).filter((right) => !held.has(right));
    if (role === 'admin' && !held.schemaAdmin) lacking.unshift({ table: 'schema', privilege: 'INSERT' });
    if (lacking.length > 0) missing[role] = lacking.slice(0, 5).map((r) => (r.table === 'schema' ? 'creating and altering tables' : describeRight(r)));
    return lacking.length === 0;
  };
  const admin = holds('admin');
  const roles: Role[] = admin ? ['admin'] : (['scheduler', 'robot', 'viewer'] as const).filter((role) => holds(role));
  if (admin) {
    delete missing.scheduler;
    delete missing.robot;
    delete missing.viewer;
  }
  const name = roles.length === 0 ? 'none' : roles.join(' + ');
  const means = roles.length === 0 ? 'this login lacks rights every role needs; see docs/access.md' : roles.map((r) => ROLE_SUMMARY[r]).join('; ');
  return { checked: true, login: held.login, roles, summary: `${name}: ${means}`, missing, privileges: privilegesPerTable(held) };
}

const PRIVILEGES: Right['privilege'][] = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'];

/** What the login holds per table: the whole table, or any column the roles' rights name. */
function privilegesPerTable(held: HeldRights): Record<string, Right['privilege'][]> {
  const columnRights = [...roleRights('scheduler'), ...roleRights('robot')].filter((r) => r.column !== undefined);
  const out: Record<string, Right['privilege'][]> = {};
  for (const table of ALL_TABLE_NAMES) {
    out[table] = PRIVILEGES.filter((privilege) => held.has({ table, privilege }) || columnRights.some((r) => r.table === table && r.privilege === privilege && held.has(r)));
  }
  return out;
}

const unchecked = (summary: string): AccessReport => ({ checked: false, login: null, roles: [], summary, missing: {} });

/** Reads the login's privileges and classifies them. */
export async function probeAccess(store: Store): Promise<AccessReport> {
  switch (store.dialect.name) {
    case 'sqlite':
      return { ...unchecked('admin: SQLite has no logins; whoever can write the file can do everything'), roles: ['admin'] };
    case 'postgres':
      return classify(await postgresRights(store));
    case 'mysql':
      return classify(await mysqlRights(store));
    default:
      return unchecked('not checked on this database (see docs/access.md for the rights of each role)');
  }
}

const key = (table: string, privilege: string, column?: string) => `${table}\u0000${privilege}\u0000${column ?? ''}`;

async function postgresRights({ db }: Store): Promise<HeldRights> {
  const wanted = [...new Map([...ALL_TABLE_NAMES.flatMap((table) => (['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const).map((privilege) => ({ table, privilege }) as Right)), ...roleRights('scheduler'), ...roleRights('robot')].map((r) => [key(r.table, r.privilege, r.column), r])).values()];
  const tables = wanted.map((r) => r.table);
  const privileges = wanted.map((r) => r.privilege);
  const columns = wanted.map((r) => r.column ?? '');
  const result = await sql<{ t: string; p: string; c: string; ok: boolean | null }>`
    SELECT x.t, x.p, x.c,
      CASE WHEN to_regclass(format('%I.%I', current_schema(), x.t)) IS NULL THEN false
           WHEN x.c = '' THEN has_table_privilege(format('%I.%I', current_schema(), x.t), x.p)
           ELSE has_column_privilege(format('%I.%I', current_schema(), x.t), x.c, x.p) END AS ok
    FROM unnest(${tables}::text[], ${privileges}::text[], ${columns}::text[]) AS x(t, p, c)`.execute(db);
  const held = new Set(result.rows.filter((row) => row.ok).map((row) => key(row.t, row.p, row.c || undefined)));
  const schema = await sql<{ login: string; creates: boolean; owns_all: boolean }>`
    SELECT current_user AS login,
      has_schema_privilege(current_schema(), 'CREATE') AS creates,
      NOT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = current_schema()
                  AND tablename = ANY(${[...ALL_TABLE_NAMES]}::text[]) AND NOT pg_has_role(current_user, tableowner, 'USAGE')) AS owns_all`.execute(db);
  const row = schema.rows[0];
  return {
    login: row?.login ?? '',
    has: (r) => held.has(key(r.table, r.privilege, r.column)),
    schemaAdmin: Boolean(row?.creates && row?.owns_all),
  };
}

async function mysqlRights({ db }: Store): Promise<HeldRights> {
  const who = await sql<{ u: string }>`SELECT CURRENT_USER() AS u`.execute(db);
  const login = who.rows[0]?.u ?? '';
  const at = login.lastIndexOf('@');
  const grantee = `'${login.slice(0, at)}'@'${login.slice(at + 1)}'`;
  const global = await sql<{ p: string }>`SELECT PRIVILEGE_TYPE AS p FROM information_schema.USER_PRIVILEGES WHERE GRANTEE = ${grantee}`.execute(db);
  const schema = await sql<{ p: string }>`
    SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES
    WHERE GRANTEE = ${grantee} AND DATABASE() LIKE TABLE_SCHEMA`.execute(db);
  const tables = await sql<{ t: string; p: string }>`
    SELECT TABLE_NAME AS t, PRIVILEGE_TYPE AS p FROM information_schema.TABLE_PRIVILEGES
    WHERE GRANTEE = ${grantee} AND TABLE_SCHEMA = DATABASE()`.execute(db);
  const columns = await sql<{ t: string; c: string; p: string }>`
    SELECT TABLE_NAME AS t, COLUMN_NAME AS c, PRIVILEGE_TYPE AS p FROM information_schema.COLUMN_PRIVILEGES
    WHERE GRANTEE = ${grantee} AND TABLE_SCHEMA = DATABASE()`.execute(db);
  const wide = new Set([...global.rows, ...schema.rows].map((row) => row.p.toUpperCase()));
  const onTable = new Set(tables.rows.map((row) => key(row.t.toLowerCase(), row.p.toUpperCase())));
  const onColumn = new Set(columns.rows.map((row) => key(row.t.toLowerCase(), row.p.toUpperCase(), row.c.toLowerCase())));
  return {
    login,
    has: (r) =>
      wide.has(r.privilege) ||
      onTable.has(key(r.table.toLowerCase(), r.privilege)) ||
      (r.column !== undefined && onColumn.has(key(r.table.toLowerCase(), r.privilege, r.column.toLowerCase()))),
    schemaAdmin: ['CREATE', 'ALTER', 'INDEX', 'TRIGGER'].every((p) => wide.has(p)),
  };
}

/** The tables and (PostgreSQL) enum types the connected database has, for grants that must name existing objects. */
export async function existingObjects(store: Store): Promise<{ tables: Set<string>; enumTypes: Set<string> }> {
  const tables = new Set(await store.dialect.listTables(store.db));
  const enumTypes = new Set<string>();
  if (store.dialect.name === 'postgres') {
    const rows = await sql<{ typname: string }>`
      SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
      WHERE n.nspname = current_schema() AND t.typtype = 'e'`.execute(store.db);
    for (const row of rows.rows) enumTypes.add(row.typname);
  }
  return { tables, enumTypes };
}

/** The schema (PostgreSQL) or database (MySQL) the connection works in. */
export async function currentNamespace(store: Store): Promise<{ database?: string; schema?: string }> {
  if (store.dialect.name === 'postgres') {
    const r = await sql<{ d: string; s: string }>`SELECT current_database() AS d, current_schema() AS s`.execute(store.db);
    return { database: r.rows[0]?.d, schema: r.rows[0]?.s };
  }
  if (store.dialect.name === 'mysql') {
    const r = await sql<{ d: string }>`SELECT DATABASE() AS d`.execute(store.db);
    return { database: r.rows[0]?.d };
  }
  return { database: store.config.database, schema: store.dialect.name === 'oracle' ? store.config.user : undefined };
}
