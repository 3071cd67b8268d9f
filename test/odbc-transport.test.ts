/**
 * The ODBC transport end to end: real driver managers (unixODBC) and drivers (psqlODBC, MariaDB
 * Connector/ODBC, SQLite's, FreeTDS) reached through data sources this test defines in its own
 * odbc.ini. The same assertions on PostgreSQL and MariaDB: DSN lookup, the schema, parameter binding
 * (unicode, NULL, dates), the queue claim, transactions, pooling. Then the SQL Server forms of the
 * seed through the same transport: each failure one line naming the DSN or driver and the fix, the
 * Windows login's refusal where it cannot be Kerberos, the refusal of a system database.
 */
import { createServer, type Server } from 'node:net';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../src/config/connection-string.js';
import { generateKey } from '../src/crypto/fernet.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../src/db/open.js';
import { inlineTsqlParameters, integratedLoginUnavailable, systemDatabaseRefusal } from '../src/db/dialects/mssql.js';
import { OdbcError, odbcFailure } from '../src/db/dialects/odbc.js';
import { checkSchema, upgradeDatabase } from '../src/db/schema/upgrade.js';
import { createConstant, getConstant, updateConstant } from '../src/db/store/constants.js';
import { createCredential, getCredential } from '../src/db/store/credentials.js';
import { createLog, listLogs } from '../src/db/store/logs.js';
import { createQueueElement, getNextQueueElement, getQueueElement, getQueueElements, setQueueElementStatus } from '../src/db/store/queues.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { ConnectionStringError } from '../src/errors.js';
import { setClock } from '../src/time/clock.js';
import { runCli } from './helpers/cli.js';
import { createTestDatabase, type LiveDialect, type TestDatabase } from './helpers/databases.js';
import { dataSourceFor, defineDataSources, openOdbcStore, type OdbcIni } from './helpers/odbc.js';

const KEY = generateKey();
/**
 * The client/server databases, as SQL Server is. SQLite's ODBC driver cuts a statement at a `;`
 * inside a `--` comment ("only one SQL statement allowed"), which the dialects' claims carry.
 */
const ODBC_DIALECTS: LiveDialect[] = ['postgres', 'mysql'];
const SECRET = 'Odbc-s3cret;{x}';

let ini: OdbcIni;
let closedPort: Server;
const databases = new Map<LiveDialect, TestDatabase>();

beforeAll(async () => {
  for (const dialect of ODBC_DIALECTS) databases.set(dialect, await createTestDatabase(dialect));
  // A port nothing answers on: the FreeTDS data source points there.
  closedPort = createServer();
  await new Promise<void>((resolve) => closedPort.listen(0, '127.0.0.1', resolve));
  const port = (closedPort.address() as { port: number }).port;
  await new Promise<void>((resolve) => closedPort.close(() => resolve()));
  ini = defineDataSources({
    ...Object.fromEntries(ODBC_DIALECTS.map((dialect) => [`oo_${dialect}`, dataSourceFor(databases.get(dialect)!)])),
    // The seed's form on Linux: a DSN over FreeTDS's ODBC driver, here to a server that is not there.
    oo_tds_down: { Driver: 'FreeTDS', Server: '127.0.0.1', Port: String(port), TDS_Version: '7.4' },
    // A DSN written for Microsoft's driver on a machine without it.
    oo_no_driver: { Driver: 'ODBC Driver 17 for SQL Server', Server: '127.0.0.1', Database: 'oo' },
    // The same login as oo_mysql but to MariaDB's own system database.
    oo_mysql_system: { ...dataSourceFor(databases.get('mysql')!), Database: 'mysql' },
  });
});

afterAll(async () => {
  ini?.remove();
  for (const database of databases.values()) await database.drop();
});

describe.each(ODBC_DIALECTS)('the store over ODBC on %s', (dialect) => {
  let store: Store;
  let connects = 0;

  beforeAll(async () => {
    store = openOdbcStore(databases.get(dialect)!, `oo_${dialect}`, { user: parseConnectionString(databases.get(dialect)!.url).user }, {
      maxConnections: 3,
      onConnect: async () => {
        connects += 1;
      },
    });
  });
  afterAll(async () => {
    await closeStore(store);
  });

  it('finds the database through the DSN and creates the schema there', async () => {
    const result = await upgradeDatabase(store.db, store.dialect);
    expect(result.steps.length).toBeGreaterThan(10);
    expect((await checkSchema(store.db, store.dialect)).current).toBe(true);
    // The schema is in the database the DSN names, seen through the dialect's own driver too.
    const direct = openStore(databases.get(dialect)!.url);
    try {
      expect((await checkSchema(direct.db, direct.dialect)).current).toBe(true);
    } finally {
      await closeStore(direct);
    }
  });

  it('binds unicode text both ways and reports the rows an UPDATE matched', async () => {
    const text = 'Æblegrød ✓ 😀 ñ 中文 — "quoted" \'single\' ? ;';
    await createConstant(store, 'unicode', text);
    expect((await getConstant(store, 'unicode')).value).toBe(text);
    // The same value again: a matched row counts (an unknown name would throw NotFoundError).
    await updateConstant(store, 'unicode', text);
    await expect(updateConstant(store, 'no-such-constant', 'x')).rejects.toThrow(/no constant named/);
  });

  it('binds NULL and dates to the millisecond, and filters by a date range', async () => {
    const at = new Date(2031, 4, 6, 7, 8, 9, 123);
    const restore = setClock(() => new Date(at));
    let id: string;
    try {
      id = (await createQueueElement(store, 'odbc-q', { reference: null, data: null })).id;
    } finally {
      restore();
    }
    const read = await getQueueElement(store, id);
    expect(read).toMatchObject({ reference: null, data: null, message: null, startDate: null, endDate: null, status: 'NEW' });
    expect(read.createdDate.getTime()).toBe(at.getTime());
    const inRange = await getQueueElements(store, 'odbc-q', { fromDate: new Date(2031, 4, 6, 7, 8, 9, 123), toDate: new Date(2031, 4, 6, 7, 8, 9, 124) });
    expect(inRange.map((element) => element.id)).toEqual([id]);
    expect(await getQueueElements(store, 'odbc-q', { fromDate: new Date(2031, 4, 6, 7, 8, 9, 124) })).toEqual([]);
  });

  it('claims queue elements oldest first with the dialect\'s own claim, each once', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const restore = setClock(() => new Date(2030, 0, 1, 0, 0, i));
      try {
        ids.push((await createQueueElement(store, 'odbc-claim', { reference: `r${i}`, data: `{"n": ${i}}` })).id);
      } finally {
        restore();
      }
    }
    const claimed = await Promise.all([0, 1, 2, 3, 4].map(() => getNextQueueElement(store, 'odbc-claim')));
    const got = claimed.filter((element) => element !== undefined).map((element) => element.id);
    expect(got.sort()).toEqual([...ids].sort());
    expect(claimed.filter((element) => element === undefined)).toHaveLength(1);
    await setQueueElementStatus(store, ids[0]!, 'DONE', 'finished ✓');
    expect(await getQueueElement(store, ids[0]!)).toMatchObject({ status: 'DONE', message: 'finished ✓' });
  });

  it('round-trips booleans, credentials and logs', async () => {
    const id = await createTrigger(store, {
      type: 'SINGLE',
      triggerName: 'odbc-trigger',
      processName: 'Invoices',
      processPath: 'https://git.example/robots/invoices.git',
      isGitRepo: true,
      isBlocking: false,
      nextRun: new Date(2031, 1, 2, 3, 4, 5),
    });
    expect(await getTrigger(store, id)).toMatchObject({ isGitRepo: true, isBlocking: false, nextRun: new Date(2031, 1, 2, 3, 4, 5) });
    await createCredential(store, KEY, 'erp', 'robot', 'pässwörd ✓');
    expect(await getCredential(store, KEY, 'erp')).toMatchObject({ username: 'robot', password: 'pässwörd ✓' });
    await createLog(store, { level: 'INFO', processName: 'odbc-robot', message: 'hej ✓' });
    expect((await listLogs(store, { processName: 'odbc-robot' })).map((log) => log.message)).toEqual(['hej ✓']);
  });

  it('rolls a failed transaction back and commits a good one', async () => {
    await expect(
      store.db.transaction().execute(async (trx) => {
        await trx.insertInto('Constants').values({ name: 'in-tx', value: 'x', changed_at: store.dialect.encodeDate(new Date()) }).execute();
        throw new Error('stop');
      }),
    ).rejects.toThrow('stop');
    await expect(getConstant(store, 'in-tx')).rejects.toThrow(/no constant named/);
    await store.db.transaction().execute(async (trx) => {
      await trx.insertInto('Constants').values({ name: 'in-tx', value: 'y', changed_at: store.dialect.encodeDate(new Date()) }).execute();
    });
    expect((await getConstant(store, 'in-tx')).value).toBe('y');
  });

  it('pools connections: 30 concurrent queries on exactly 3 sessions, reused afterwards', async () => {
    const session = dialect === 'postgres' ? sql<{ s: number }>`SELECT pg_backend_pid() AS s` : sql<{ s: number }>`SELECT CONNECTION_ID() AS s`;
    const first = await Promise.all(Array.from({ length: 30 }, () => session.execute(store.db)));
    const sessions = new Set(first.map((result) => Number(result.rows[0]?.s)));
    expect(sessions.size).toBe(3);
    const opened = connects;
    expect(opened).toBeLessThanOrEqual(3);
    const again = await Promise.all(Array.from({ length: 30 }, () => session.execute(store.db)));
    expect(new Set(again.map((result) => Number(result.rows[0]?.s)))).toEqual(sessions);
    expect(connects).toBe(opened);
  });

  it('reports a statement the server refuses in one line naming the data source', async () => {
    const error = await sql`SELECT * FROM no_such_table_here`.execute(store.db).then(
      () => undefined,
      (caught: unknown) => toDatabaseError(caught, store.config),
    );
    expect(error?.message).toMatch(new RegExp(`^database error \\(${dialect} via ODBC DSN "oo_${dialect}" \\(user \\w+\\)\\): .*no_such_table_here`));
    expect(error?.message).not.toContain('\n');
  });
});

describe('ODBC failures, one line each', () => {
  async function failure(url: string): Promise<string> {
    const store = openStore(url);
    try {
      await sql`SELECT 1 AS one`.execute(store.db);
      return 'connected';
    } catch (error) {
      return toDatabaseError(error, store.config).message;
    } finally {
      await closeStore(store);
    }
  }

  it('names a DSN that does not exist, and where DSNs are defined', async () => {
    const message = await failure(`mssql+pyodbc://oo:${encodeURIComponent(SECRET)}@oo_no_such_dsn`);
    expect(message).toMatch(/^database error \(mssql via ODBC DSN "oo_no_such_dsn" \(user oo\)\): the ODBC data source "oo_no_such_dsn" does not exist \(\[unixODBC\]\[Driver Manager\]Data source name not found.*\); define it in odbc\.ini/);
    expect(message).not.toContain('s3cret');
  });

  it('names a driver that is not installed, from a DSN and from odbc_connect', async () => {
    expect(await failure('mssql+pyodbc://oo:pw@oo_no_driver')).toMatch(
      /: the ODBC data source "oo_no_driver" names the driver "ODBC Driver 17 for SQL Server", which is not installed \(.*\); install it \(Debian\/Ubuntu: msodbcsql18 .*tdsodbc/,
    );
    const connect = encodeURIComponent(`DRIVER={ODBC Driver 18 for SQL Server};Server=127.0.0.1;UID=oo;PWD=${SECRET}`);
    const message = await failure(`mssql+pyodbc:///?odbc_connect=${connect}`);
    expect(message).toMatch(/^database error \(mssql via an ODBC connection string \(odbc_connect, driver "ODBC Driver 18 for SQL Server"\) \(user oo\)\): the ODBC driver "ODBC Driver 18 for SQL Server" is not installed/);
    expect(message).not.toContain('s3cret');
  });

  it('says the server of a FreeTDS DSN cannot be reached', async () => {
    const message = await failure('mssql+pyodbc://oo:pw@oo_tds_down?timeout=3');
    expect(message).toMatch(/^database error \(mssql via ODBC DSN "oo_tds_down" \(user oo\)\): could not reach the server the data source "oo_tds_down" names \(\[FreeTDS\]/);
  });

  it('says a login was refused, through the DSN, without the password', async () => {
    const store = openOdbcStore(databases.get('mysql')!, 'oo_mysql', { user: 'root', password: SECRET });
    try {
      const error = await sql`SELECT 1 AS one`.execute(store.db).then(
        () => undefined,
        (caught: unknown) => toDatabaseError(caught, store.config),
      );
      expect(error?.message).toMatch(/^database error \(mysql via ODBC DSN "oo_mysql" \(user root\)\): the server refused this login \(.*Access denied for user 'root'.*\); check the user name and password in the connection string and those the data source "oo_mysql" gives$/);
      expect(error?.message).not.toContain('s3cret');
    } finally {
      await closeStore(store);
    }
  });

  it('refuses a connection its connect check rejects, and keeps refusing without leaking it', async () => {
    // The mechanism SQL Server's system-database refusal runs on: here MariaDB's system database.
    const refused: string[] = [];
    const store = openOdbcStore(databases.get('mysql')!, 'oo_mysql_system', { user: 'root' }, {
      onConnect: async (query) => {
        const rows = await query('SELECT DATABASE() AS name');
        refused.push(String(rows[0]?.name));
        throw new ConnectionStringError(`landed in ${String(rows[0]?.name)}`);
      },
    });
    try {
      for (let i = 0; i < 2; i++) await expect(sql`SELECT 1 AS one`.execute(store.db)).rejects.toThrow('landed in mysql');
      expect(refused).toEqual(['mysql', 'mysql']);
    } finally {
      await closeStore(store);
    }
  });

  it('the CLI prints the DSN failure as one line and exits 1', async () => {
    // From the environment, as the README shows (on the command line it would draw the ps warning first).
    const result = await runCli(['upgrade'], { env: { ODBCINI: ini.file, OpenOrchestratorConnString: `mssql+pyodbc://oo:${encodeURIComponent(SECRET)}@oo_no_such_dsn` } });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/^error: database error \(mssql via ODBC DSN "oo_no_such_dsn" \(user oo\)\): the ODBC data source "oo_no_such_dsn" does not exist/);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr + result.stdout).not.toContain('s3cret');
  });
});

describe('SQL Server system databases', () => {
  it.each([
    ['mssql+pyodbc://oo:pw@oo_dsn', 'master', /^database error \(mssql via ODBC DSN "oo_dsn" \(user oo\)\): this connection landed in SQL Server's system database master, where OpenOrchestrator creates and changes no tables: add Database=<name> to the data source "oo_dsn"/],
    ['mssql+pyodbc:///?odbc_connect=DSN%3Doo_dsn%3BUID%3Doo', 'MSDB', /system database MSDB, .*: add Database=<name> to the data source "oo_dsn"/],
    ['mssql+pyodbc:///?odbc_connect=Driver%3D%7BFreeTDS%7D%3BServer%3Ddb%3BUID%3Doo', 'tempdb', /system database tempdb, .*: add Database=<name> to odbc_connect/],
    ['mssql+pyodbc://oo:pw@db:1433', 'model', /^database error \(mssql at db:1433 \(user oo\)\): .*system database model, .*: write the database after the host/],
  ])('%s landing in %s is refused, naming the fix', (url, name, pattern) => {
    expect(systemDatabaseRefusal(name, parseConnectionString(url))).toMatch(pattern);
  });

  it('lets any other database through', () => {
    const config = parseConnectionString('mssql+pyodbc://oo:pw@oo_dsn');
    for (const name of ['oo', 'masterdata', 'OpenOrchestrator', null, undefined]) expect(systemDatabaseRefusal(name, config)).toBeUndefined();
  });
});

describe('T-SQL literals for ODBC drivers that cannot describe parameters (FreeTDS)', () => {
  it('writes each value as T-SQL reads it back, quotes doubled', () => {
    expect(inlineTsqlParameters('INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)', ["it's ✓ 😀", 42, -1.5, null, 1, Buffer.from('ab')])).toBe(
      "INSERT INTO t VALUES (N'it''s ✓ 😀', 42, (-1.5), NULL, 1, 0x6162)",
    );
  });

  it('keeps an injection attempt inside its literal', () => {
    expect(inlineTsqlParameters('SELECT * FROM t WHERE name = ?', ["x'; DROP TABLE t; --"])).toBe("SELECT * FROM t WHERE name = N'x''; DROP TABLE t; --'");
  });

  it("keeps a backslash before a line break, which SQL Server would read as a line continuation, and text past 4,000 characters", () => {
    const long = 'x'.repeat(4_500);
    expect(inlineTsqlParameters('SELECT ?', [`C:\\robots\\\n${long}\\\r\nend`])).toBe(
      `SELECT (CAST(N'C:\\robots\\' AS NVARCHAR(MAX)) + N'\n${long}\\' + N'\r\nend')`,
    );
  });

  it('finds placeholders only outside literals, quoted names and comments', () => {
    const text = "SELECT '?', N'it''s ?', [a?]]b], \"c?\" -- ?\n /* ? /* ? */ ? */ FROM t WHERE x = ? AND y-?=0";
    expect(inlineTsqlParameters(text, [1, 2])).toBe("SELECT '?', N'it''s ?', [a?]]b], \"c?\" -- ?\n /* ? /* ? */ ? */ FROM t WHERE x = 1 AND y-2=0");
  });

  it('refuses a placeholder count that differs from the parameters, and values it cannot write', () => {
    expect(() => inlineTsqlParameters('SELECT ?', [])).toThrow(/more \? placeholders than its 0 parameters/);
    expect(() => inlineTsqlParameters('SELECT ?', [1, 2])).toThrow(/1 \? placeholders for 2 parameters/);
    expect(() => inlineTsqlParameters('SELECT ?', ['a\0b'])).toThrow(/NUL/);
    expect(() => inlineTsqlParameters('SELECT ?', [Number.NaN])).toThrow(/NaN/);
  });

  it("says FreeTDS's \"Login failed\" is a refused login", () => {
    const error = new OdbcError('[FreeTDS][SQL Server]Login failed for user "oo"', '42000', 18456, true);
    expect(odbcFailure(error, { dsn: 'oo_dsn' })).toBe(
      'the server refused this login ([FreeTDS][SQL Server]Login failed for user "oo"); check the user name and password in the connection string and those the data source "oo_dsn" gives',
    );
  });
});

describe('Windows integrated login', () => {
  it('is tried on Windows, and elsewhere with a Kerberos ticket', () => {
    expect(integratedLoginUnavailable('win32', () => false)).toBeUndefined();
    expect(integratedLoginUnavailable('linux', () => true)).toBeUndefined();
  });

  it('is refused in one line without a ticket, saying why and what to write instead', () => {
    const before = process.env.KRB5CCNAME;
    process.env.KRB5CCNAME = 'FILE:/nonexistent/oo-no-ticket';
    try {
      const url = 'mssql+pyodbc://dbserver/OpenOrchestrator?driver=ODBC+Driver+17+for+SQL+Server';
      let message = '';
      try {
        openStore(url);
      } catch (error) {
        expect(error).toBeInstanceOf(ConnectionStringError);
        message = (error as Error).message;
      }
      if (process.platform === 'win32') return;
      expect(message).toBe(
        `this connection string asks for a Windows integrated login (it has no user name), which on ${process.platform} is Kerberos, and this user has no Kerberos ticket ` +
          "(klist -s finds none): run kinit user@YOUR.DOMAIN first and use Microsoft's ODBC Driver 18 for SQL Server (msodbcsql18), " +
          'or log in with a SQL login: mssql+pyodbc://user:password@dsnname, or mssql+pyodbc://user:password@server:1433/database?driver=ODBC+Driver+18+for+SQL+Server',
      );
    } finally {
      if (before === undefined) delete process.env.KRB5CCNAME;
      else process.env.KRB5CCNAME = before;
    }
  });
});
