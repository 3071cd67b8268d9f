/**
 * The rights table and the statements generated from it, checked as text (SQL Server and Oracle
 * have no server here), the permission messages of every driver, and the `grants` command.
 */
import { describe, expect, it } from 'vitest';
import { classify } from '../src/access/probe.js';
import { mergeRoles, parseRoles, ROLE_RIGHTS, ROLES, roleRights } from '../src/access/rights.js';
import { grantStatements } from '../src/access/statements.js';
import { permissionDenied } from '../src/db/open.js';
import { ALL_TABLE_NAMES, AUDIT, DAILY_TABLES, JOBS, LOGS_JOB_ID, MIGRATIONS_TABLE, OPERATIONS_TABLES, QUEUE_CHANGES, RETENTION, RUN_REQUESTS, UPSTREAM_TABLES } from '../src/db/schema/tables.js';
import { InputError } from '../src/errors.js';
import { runGrants } from '../src/cli/grants.js';
import { runCli } from './helpers/cli.js';

const COLUMNS = new Map<string, Set<string>>([
  ...[...UPSTREAM_TABLES, JOBS, RUN_REQUESTS, ...OPERATIONS_TABLES, ...DAILY_TABLES, RETENTION, AUDIT, QUEUE_CHANGES].map((t) => [t.name, new Set(t.columns.map((c) => c.name))] as const),
  ['alembic_version', new Set(['version_num'])],
  [MIGRATIONS_TABLE, new Set(['name', 'applied_at'])],
]);
COLUMNS.get('Logs')!.add(LOGS_JOB_ID.name);

describe('the rights table', () => {
  it('names only tables and columns of the schema', () => {
    for (const role of ROLES) {
      for (const right of roleRights(role)) {
        expect(COLUMNS.has(right.table), `${role}: ${right.table}`).toBe(true);
        if (right.column) expect(COLUMNS.get(right.table)!.has(right.column), `${role}: ${right.table}.${right.column}`).toBe(true);
      }
    }
  });

  it('keeps constants, credentials and the schema away from the scheduler, and trigger creation from the robot', () => {
    const tables = (role: 'scheduler' | 'robot') => ROLE_RIGHTS[role].map((e) => e.table);
    expect(tables('scheduler')).not.toContain('Constants');
    expect(tables('scheduler')).not.toContain('Credentials');
    const robotTriggers = ROLE_RIGHTS.robot.find((e) => e.table === 'Triggers')!;
    expect(robotTriggers).toEqual({ table: 'Triggers', select: true, update: ['process_status'] });
    for (const role of ['scheduler', 'robot'] as const) {
      for (const e of ROLE_RIGHTS[role]) if (e.table.endsWith('Triggers')) expect(e.insert ?? e.delete).toBeUndefined();
    }
  });

  it('gives the viewer SELECT on every table and nothing else; the robot may add to the audit trail but not read it', () => {
    expect(roleRights('viewer')).toEqual(ALL_TABLE_NAMES.map((table) => ({ table, privilege: 'SELECT' })));
    expect(ROLE_RIGHTS.robot.find((e) => e.table === 'oo_audit')).toEqual({ table: 'oo_audit', insert: true });
    expect(ROLE_RIGHTS.scheduler.find((e) => e.table === 'oo_audit')).toBeUndefined();
    expect(parseRoles('viewer')).toEqual(['viewer']);
  });

  it('merges roles per table and parses role lists', () => {
    const merged = mergeRoles(['scheduler', 'robot']);
    expect(merged.find((e) => e.table === 'Queues')).toEqual({ table: 'Queues', select: true, insert: true, update: ['status', 'start_date', 'end_date', 'message', 'reference', 'data', 'created_by', 'created_date'], delete: true });
    expect(merged.find((e) => e.table === 'Triggers')?.update).toEqual(['process_status', 'last_run']);
    expect(parseRoles('scheduler,robot')).toEqual(['scheduler', 'robot']);
    expect(() => parseRoles('root')).toThrow(InputError);
  });

  it('classifies held rights as the apparent role', () => {
    const holding = (rights: ReturnType<typeof roleRights>, schemaAdmin = false) => ({
      login: 'x',
      schemaAdmin,
      has: (r: (typeof rights)[number]) => rights.some((h) => h.table === r.table && h.privilege === r.privilege && (h.column === undefined || h.column === r.column)),
    });
    expect(classify(holding(roleRights('admin'), true)).roles).toEqual(['admin']);
    // Every data right but no schema rights: each lesser role, the viewer included.
    expect(classify(holding(roleRights('admin'), false)).roles).toEqual(['scheduler', 'robot', 'viewer']);
    expect(classify(holding(roleRights('robot'))).roles).toEqual(['robot']);
    expect(classify(holding(roleRights('viewer'))).roles).toEqual(['viewer']);
    expect(classify(holding(roleRights('viewer'))).summary).toMatch(/^viewer: reads everything .* changes nothing$/);
    // A viewer that cannot read one table (here the audit trail) is not a viewer.
    expect(classify(holding(roleRights('viewer').filter((r) => r.table !== 'oo_audit'))).missing.viewer).toEqual(['SELECT on oo_audit']);
    const none = classify(holding([]));
    expect(none.roles).toEqual([]);
    expect(none.summary).toMatch(/^none/);
    expect(none.missing.robot?.[0]).toBe('SELECT on alembic_version');
  });
});

describe('generated statements', () => {
  it('SQL Server: a database user for the login, then grants per table and column', () => {
    expect(grantStatements({ dialect: 'mssql', roles: ['scheduler'], user: 'oo_sched' })).toEqual([
      "IF DATABASE_PRINCIPAL_ID(N'oo_sched') IS NULL CREATE USER [oo_sched] FOR LOGIN [oo_sched]",
      'GRANT SELECT ON [dbo].[alembic_version] TO [oo_sched]',
      'GRANT SELECT ON [dbo].[oo_migrations] TO [oo_sched]',
      'GRANT SELECT, INSERT, UPDATE ([last_update], [latest_trigger], [latest_trigger_time]) ON [dbo].[Schedulers] TO [oo_sched]',
      'GRANT SELECT, UPDATE ([process_status], [last_run]) ON [dbo].[Triggers] TO [oo_sched]',
      'GRANT SELECT ON [dbo].[Single_Triggers] TO [oo_sched]',
      'GRANT SELECT, UPDATE ([next_run]) ON [dbo].[Scheduled_Triggers] TO [oo_sched]',
      'GRANT SELECT ON [dbo].[Queue_Triggers] TO [oo_sched]',
      'GRANT SELECT ([queue_name], [status]) ON [dbo].[Queues] TO [oo_sched]',
      'GRANT SELECT, INSERT, UPDATE ([status], [end_time]) ON [dbo].[Jobs] TO [oo_sched]',
      'GRANT INSERT ON [dbo].[Logs] TO [oo_sched]',
      'GRANT SELECT, DELETE ON [dbo].[oo_run_requests] TO [oo_sched]',
      'GRANT INSERT ON [dbo].[oo_job_output] TO [oo_sched]',
      'GRANT SELECT ON [dbo].[oo_queue_changes] TO [oo_sched]',
    ]);
    expect(grantStatements({ dialect: 'mssql', roles: ['admin'], user: 'oo_admin', schema: 'oo' })).toEqual([
      "IF DATABASE_PRINCIPAL_ID(N'oo_admin') IS NULL CREATE USER [oo_admin] FOR LOGIN [oo_admin]",
      'GRANT CREATE TABLE TO [oo_admin]',
      'GRANT ALTER, REFERENCES, SELECT, INSERT, UPDATE, DELETE ON SCHEMA::[oo] TO [oo_admin]',
    ]);
    const robot = grantStatements({ dialect: 'mssql', roles: ['robot'], user: 'oo_robot' });
    expect(robot).toContain('GRANT SELECT, INSERT, UPDATE ([status], [start_date], [end_date], [message], [reference], [data], [created_by], [created_date]), DELETE ON [dbo].[Queues] TO [oo_robot]');
    expect(robot).toContain('GRANT SELECT, UPDATE ([process_status]) ON [dbo].[Triggers] TO [oo_robot]');
  });

  it("Oracle: grants on the owner's tables (SELECT per table), Oracle's names, and synonyms", () => {
    const robot = grantStatements({ dialect: 'oracle', roles: ['robot'], user: 'oo_robot', schema: 'oo_owner' });
    expect(robot[0]).toBe('GRANT CREATE SESSION TO OO_ROBOT');
    expect(robot).toContain('GRANT SELECT ON OO_OWNER."ALEMBIC_VERSION" TO OO_ROBOT');
    expect(robot).toContain('GRANT INSERT ON OO_OWNER."Logs" TO OO_ROBOT');
    expect(robot).toContain('GRANT SELECT, UPDATE ("VALUE", "CHANGED_AT") ON OO_OWNER."Constants" TO OO_ROBOT');
    expect(robot).toContain('GRANT SELECT, INSERT, UPDATE ("STATUS", "START_DATE", "END_DATE", "MESSAGE", "REFERENCE", "DATA", "CREATED_BY", "CREATED_DATE"), DELETE ON OO_OWNER."Queues" TO OO_ROBOT');
    expect(robot).toContain('CREATE OR REPLACE SYNONYM OO_ROBOT."Queues" FOR OO_OWNER."Queues"');
    expect(robot).toContain('CREATE OR REPLACE SYNONYM OO_ROBOT."OO_MIGRATIONS" FOR OO_OWNER."OO_MIGRATIONS"');
    const scheduler = grantStatements({ dialect: 'oracle', roles: ['scheduler'], user: 'oo_sched', schema: 'oo_owner' });
    expect(scheduler).toContain('GRANT SELECT ON OO_OWNER."Queues" TO OO_SCHED');
    expect(scheduler.some((s) => s.includes('"Credentials"') || s.includes('"Constants"'))).toBe(false);
    expect(grantStatements({ dialect: 'oracle', roles: ['admin'], user: 'oo_owner', schema: 'OO_OWNER' })).toEqual([
      'GRANT CREATE SESSION, CREATE TABLE, CREATE TRIGGER TO OO_OWNER',
      'ALTER USER OO_OWNER QUOTA UNLIMITED ON USERS',
    ]);
    expect(() => grantStatements({ dialect: 'oracle', roles: ['admin'], user: 'someone', schema: 'oo_owner' })).toThrow(/owner of the tables/);
    expect(() => grantStatements({ dialect: 'oracle', roles: ['robot'], user: 'oo_robot' })).toThrow(InputError);
  });

  it('PostgreSQL and MySQL: admin owns (PostgreSQL) or may create and alter but not drop (MySQL)', () => {
    const pg = grantStatements({ dialect: 'postgres', roles: ['admin'], user: 'oo_admin', database: 'orch', existingTables: new Set(['Logs']), existingEnumTypes: new Set(['loglevel']) });
    expect(pg).toEqual([
      'GRANT CONNECT, TEMPORARY ON DATABASE "orch" TO "oo_admin"',
      'GRANT USAGE, CREATE ON SCHEMA "public" TO "oo_admin"',
      'ALTER TABLE "public"."Logs" OWNER TO "oo_admin"',
      'ALTER TYPE "public"."loglevel" OWNER TO "oo_admin"',
    ]);
    expect(grantStatements({ dialect: 'mysql', roles: ['admin'], user: 'oo_admin@10.0.0.%', database: 'orch' })).toEqual([
      "GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, REFERENCES, TRIGGER ON `orch`.* TO 'oo_admin'@'10.0.0.%'",
    ]);
    expect(grantStatements({ dialect: 'mysql', roles: ['robot'], user: 'oo_robot', database: 'orch' })).toContain(
      "GRANT SELECT, UPDATE (`process_status`) ON `orch`.`Triggers` TO 'oo_robot'@'%'",
    );
  });

  it('the viewer on every dialect: SELECT on each table, nothing else', () => {
    const count = ALL_TABLE_NAMES.length;
    const pg = grantStatements({ dialect: 'postgres', roles: ['viewer'], user: 'oo_viewer', database: 'orch' });
    expect(pg.slice(0, 2)).toEqual(['GRANT CONNECT ON DATABASE "orch" TO "oo_viewer"', 'GRANT USAGE ON SCHEMA "public" TO "oo_viewer"']);
    expect(pg.slice(2)).toEqual(ALL_TABLE_NAMES.map((t) => `GRANT SELECT ON TABLE "public"."${t}" TO "oo_viewer"`));
    const my = grantStatements({ dialect: 'mysql', roles: ['viewer'], user: 'oo_viewer', database: 'orch' });
    expect(my).toEqual(ALL_TABLE_NAMES.map((t) => `GRANT SELECT ON \`orch\`.\`${t}\` TO 'oo_viewer'@'%'`));
    const ms = grantStatements({ dialect: 'mssql', roles: ['viewer'], user: 'oo_viewer' });
    expect(ms).toHaveLength(count + 1);
    expect(ms).toContain('GRANT SELECT ON [dbo].[oo_audit] TO [oo_viewer]');
    expect(ms.slice(1).every((s) => /^GRANT SELECT ON \[dbo\]\.\[\w+\] TO \[oo_viewer\]$/.test(s))).toBe(true);
    const ora = grantStatements({ dialect: 'oracle', roles: ['viewer'], user: 'oo_viewer', schema: 'oo_owner' });
    expect(ora[0]).toBe('GRANT CREATE SESSION TO OO_VIEWER');
    expect(ora.filter((s) => s.startsWith('GRANT SELECT ON OO_OWNER.'))).toHaveLength(count);
    expect(ora.filter((s) => s.startsWith('CREATE OR REPLACE SYNONYM OO_VIEWER.'))).toHaveLength(count);
    expect(ora).toContain('GRANT SELECT ON OO_OWNER."OO_AUDIT" TO OO_VIEWER');
    for (const statement of [...pg, ...my, ...ms, ...ora]) expect(statement).not.toMatch(/\b(INSERT|UPDATE|DELETE|ALTER|CREATE TABLE|OWNER)\b/);
  });

  it('refuses names that are not plain identifiers', () => {
    for (const user of ['x; DROP TABLE "Logs"', "a'b", '', 'a b']) {
      expect(() => grantStatements({ dialect: 'postgres', roles: ['robot'], user })).toThrow(InputError);
    }
    expect(() => grantStatements({ dialect: 'mysql', roles: ['robot'], user: "x@h'ost", database: 'd' })).toThrow(InputError);
    expect(() => grantStatements({ dialect: 'mysql', roles: ['robot'], user: 'x' })).toThrow(/database/);
  });
});

describe('permission errors name the missing right', () => {
  const cases: Array<[object, RegExp]> = [
    [{ code: '42501', message: 'permission denied for table Triggers' }, /lacks the right this action needs on table Triggers/],
    [{ code: '42501', message: 'must be owner of table Logs' }, /lacks ownership of table Logs/],
    [{ code: '42501', message: 'permission denied for schema public' }, /lacks CREATE on schema public/],
    [{ code: 'ER_TABLEACCESS_DENIED_ERROR', message: "DROP command denied to user 'r'@'localhost' for table `db`.`Logs`" }, /lacks the DROP right on table Logs/],
    [{ code: 'ER_TABLEACCESS_DENIED_ERROR', message: "INSERT command denied to user 'r'@'localhost' for table 'Triggers'" }, /lacks the INSERT right on table Triggers/],
    [{ code: 'ER_COLUMNACCESS_DENIED_ERROR', message: "UPDATE command denied to user 'r'@'%' for column 'trigger_name' in table 'Triggers'" }, /lacks the UPDATE right on column Triggers.trigger_name/],
    [{ code: 'ER_SPECIFIC_ACCESS_DENIED_ERROR', message: 'Access denied; you need (at least one of) the SUPER privilege(s) for this operation' }, /lacks the SUPER privilege/],
    [{ number: 229, message: "The INSERT permission was denied on the object 'Triggers', database 'oo', schema 'dbo'." }, /lacks the INSERT right on Triggers/],
    [{ number: 230, message: "The UPDATE permission was denied on the column 'trigger_name' of the object 'Triggers', database 'oo', schema 'dbo'." }, /lacks the UPDATE right on column Triggers.trigger_name/],
    [{ errorNum: 1031, message: 'ORA-01031: insufficient privileges' }, /ORA-01031/],
    [{ errorNum: 942, message: 'ORA-00942: table or view does not exist' }, /no right on it \(ORA-00942/],
  ];
  it.each(cases)('%o', (error, expected) => {
    const message = permissionDenied(error);
    expect(message).toMatch(expected);
    expect(message).toMatch(/openorchestrator grants/);
  });
  it('leaves other errors alone', () => {
    expect(permissionDenied({ code: '23505', message: 'duplicate key' })).toBeUndefined();
  });
});

describe('openorchestrator grants', () => {
  it('SQLite: explains that there are no logins, without failing', async () => {
    const lines: string[] = [];
    await runGrants('sqlite+pysqlite:///nowhere.db', { role: 'robot' }, (line) => lines.push(line));
    expect(lines).toEqual([expect.stringMatching(/^SQLite has no logins/)]);
  });

  it('a live database without the tables: one line, exit 1, and never the password', async () => {
    const secret = `pw${Math.random().toString(36).slice(2)}x`;
    const base = process.env.OO_TEST_POSTGRES ?? 'postgresql://postgres@127.0.0.1:5432/postgres';
    const url = base.replace(/\/\/([^@/:]*)(?::[^@/]*)?@/, `//$1:${secret}@`);
    // From the environment, as the warning on a password on the command line says to.
    const result = await runCli(['grants', '--role', 'scheduler,robot', '--user', 'oo_nobody'], { env: { OpenOrchestratorConnString: url } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: the database lacks .*run `openorchestrator upgrade`/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stdout + result.stderr).not.toContain(secret);
  });
});
