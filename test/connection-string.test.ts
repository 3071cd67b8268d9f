import { describe, expect, it } from 'vitest';
import {
  assertDriverAvailable,
  describeConnection,
  odbcAttribute,
  parseConnectionString,
  pyodbcTarget,
  redactConnectionString,
  type ConnectionConfig,
} from '../src/config/connection-string.js';
import { ENV_CONN_STRING, ENV_CRYPTO_KEY, readEnvironment } from '../src/config/environment.js';
import { ConnectionStringError } from '../src/errors.js';

const SECRET = 'S3cr3tPw';

/** Runs `fn`, expects a ConnectionStringError, and returns its message. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectionStringError);
    return (error as Error).message;
  }
  throw new Error('expected a ConnectionStringError, nothing was thrown');
}

describe('parseConnectionString: accepted forms', () => {
  const cases: Array<[string, Partial<ConnectionConfig>]> = [
    ['sqlite://', { dialect: 'sqlite', nodeDriver: 'better-sqlite3', filename: ':memory:', pythonDriver: undefined }],
    ['sqlite:///relative.db', { dialect: 'sqlite', filename: 'relative.db' }],
    ['sqlite:////abs/path.db', { dialect: 'sqlite', filename: '/abs/path.db' }],
    [
      'sqlite+pysqlite:///C:\\Users\\abc\\Desktop\\temp\\db.db',
      { dialect: 'sqlite', pythonDriver: 'pysqlite', filename: 'C:\\Users\\abc\\Desktop\\temp\\db.db' },
    ],
    ['sqlite:///:memory:', { dialect: 'sqlite', filename: ':memory:' }],
    ['sqlite:///', { dialect: 'sqlite', filename: ':memory:' }],
    ['sqlite:////home/me/@proj/oo%20x.db?mode=ro', { filename: '/home/me/@proj/oo%20x.db', query: { mode: 'ro' } }],
    [
      'postgresql://postgres:pw@127.0.0.1:5432/oo',
      { dialect: 'postgres', nodeDriver: 'pg', host: '127.0.0.1', port: 5432, database: 'oo', user: 'postgres', password: 'pw' },
    ],
    ['postgresql+psycopg2://u:p@db/oo', { dialect: 'postgres', pythonDriver: 'psycopg2', nodeDriver: 'pg', host: 'db', port: undefined }],
    ['postgresql+psycopg://u:p@db:6543/oo', { dialect: 'postgres', pythonDriver: 'psycopg', port: 6543 }],
    ['postgresql+pg8000://u:p@db/oo', { dialect: 'postgres', pythonDriver: 'pg8000' }],
    ['postgres://u:p@db/oo', { dialect: 'postgres', pythonDriver: undefined, nodeDriver: 'pg', database: 'oo' }],
    ['POSTGRESQL+Psycopg2://u:p@db/oo', { dialect: 'postgres', pythonDriver: 'psycopg2' }],
    ['postgresql://u:p@/oo?host=/var/run/postgresql', { host: '/var/run/postgresql', database: 'oo' }],
    ['postgresql://u:p@[::1]:5432/oo', { host: '::1', port: 5432 }],
    ['postgresql://u:p@[2001:db8::7]/oo', { host: '2001:db8::7', port: undefined }],
    ['mysql://u:p@db:3306/oo', { dialect: 'mysql', nodeDriver: 'mysql2', host: 'db', port: 3306, database: 'oo' }],
    ['mysql+pymysql://u:p@db/oo', { dialect: 'mysql', pythonDriver: 'pymysql', nodeDriver: 'mysql2' }],
    ['mysql+mysqldb://u:p@db/oo', { dialect: 'mysql', pythonDriver: 'mysqldb' }],
    ['mysql+mysqlconnector://u:p@db/oo', { dialect: 'mysql', pythonDriver: 'mysqlconnector' }],
    ['mariadb://u:p@db/oo', { dialect: 'mysql', pythonDriver: undefined, nodeDriver: 'mysql2' }],
    ['mariadb+mariadbconnector://u:p@db/oo', { dialect: 'mysql', pythonDriver: 'mariadbconnector' }],
    ['mariadb+pymysql://u:p@db/oo', { dialect: 'mysql', pythonDriver: 'pymysql' }],
    ['mysql://u:p@/oo?unix_socket=/run/mysqld/mysqld.sock', { host: undefined, query: { unix_socket: '/run/mysqld/mysqld.sock' } }],
    [
      'mssql+pyodbc://user:pw@host:1433/db?driver=ODBC+Driver+17+for+SQL+Server',
      {
        dialect: 'mssql',
        pythonDriver: 'pyodbc',
        nodeDriver: 'tedious',
        host: 'host',
        port: 1433,
        database: 'db',
        user: 'user',
        password: 'pw',
        query: { driver: 'ODBC Driver 17 for SQL Server' },
        mssql: { integratedSecurity: false, odbcDriver: 'ODBC Driver 17 for SQL Server' },
      },
    ],
    // The seed's two SQL Server strings go through ODBC, with the string pyodbc would send.
    [
      'mssql+pyodbc://user:pw@dsnname',
      {
        dialect: 'mssql',
        nodeDriver: 'odbc',
        host: 'dsnname',
        user: 'user',
        password: 'pw',
        mssql: { integratedSecurity: false, odbcDriver: undefined },
        odbc: { connectionString: 'dsn=dsnname;UID=user;PWD=pw', dsn: 'dsnname', driver: undefined, trustedConnection: false },
      },
    ],
    [
      'mssql+pyodbc://server/db?driver=ODBC+Driver+18+for+SQL+Server',
      {
        nodeDriver: 'odbc',
        host: 'server',
        database: 'db',
        user: undefined,
        password: undefined,
        mssql: { integratedSecurity: true, odbcDriver: 'ODBC Driver 18 for SQL Server' },
        odbc: { connectionString: 'DRIVER={ODBC Driver 18 for SQL Server};Server=server;Database=db;Trusted_Connection=Yes', dsn: undefined, driver: 'ODBC Driver 18 for SQL Server', trustedConnection: true },
      },
    ],
    [
      'mssql+pyodbc://localhost\\SQLEXPRESS/OpenOrchestrator?driver=ODBC+Driver+17+for+SQL+Server',
      {
        nodeDriver: 'odbc',
        host: 'localhost',
        database: 'OpenOrchestrator',
        mssql: { integratedSecurity: true, odbcDriver: 'ODBC Driver 17 for SQL Server', instanceName: 'SQLEXPRESS' },
        odbc: { connectionString: 'DRIVER={ODBC Driver 17 for SQL Server};Server=localhost\\SQLEXPRESS;Database=OpenOrchestrator;Trusted_Connection=Yes', trustedConnection: true },
      },
    ],
    [
      'mssql+pymssql://user:pw@host:1433/db',
      { dialect: 'mssql', pythonDriver: 'pymssql', nodeDriver: 'tedious', host: 'host', port: 1433, database: 'db', mssql: { integratedSecurity: false } },
    ],
    // pymssql has no DSNs: a bare host is a host.
    ['mssql+pymssql://user:pw@host', { nodeDriver: 'tedious', host: 'host', mssql: { integratedSecurity: false } }],
    ['mssql://sa:pw@db:1433/oo', { dialect: 'mssql', pythonDriver: undefined, nodeDriver: 'tedious', host: 'db' }],
    ['mssql://sa:pw@db:1433', { nodeDriver: 'tedious', host: 'db', port: 1433, database: undefined }],
    [
      'mssql+pyodbc:///?odbc_connect=DSN%3Dmydsn%3BUID%3Dsa%3BPWD%3Dpw%3BEncrypt%3Dno',
      {
        nodeDriver: 'odbc',
        host: undefined,
        mssql: { integratedSecurity: false, odbcDriver: undefined },
        odbc: { connectionString: 'DSN=mydsn;UID=sa;PWD=pw;Encrypt=no', dsn: 'mydsn', driver: undefined, trustedConnection: false },
      },
    ],
    [
      'oracle://u:p@db:1521/ORCL',
      { dialect: 'oracle', nodeDriver: 'oracledb', host: 'db', port: 1521, database: 'ORCL', oracle: { sid: 'ORCL', serviceName: undefined } },
    ],
    ['oracle+cx_oracle://user:pw@host:1521/SID', { pythonDriver: 'cx_oracle', database: 'SID', oracle: { sid: 'SID', serviceName: undefined } }],
    [
      'oracle+oracledb://user:pw@host:1521/?service_name=X',
      { pythonDriver: 'oracledb', nodeDriver: 'oracledb', database: undefined, oracle: { serviceName: 'X', sid: undefined }, query: { service_name: 'X' } },
    ],
  ];

  it.each(cases)('%s', (url, expected) => {
    const config = parseConnectionString(url);
    expect(config).toMatchObject(expected);
    for (const [key, value] of Object.entries(expected)) {
      if (value === undefined) expect(config[key as keyof ConnectionConfig], key).toBeUndefined();
    }
  });

  it('has an empty query object when there is no query', () => {
    expect(parseConnectionString('postgresql://u:p@db/oo').query).toEqual({});
    expect(parseConnectionString('sqlite://').query).toEqual({});
  });
});

describe('parseConnectionString: encoding', () => {
  it('percent-decodes user and password', () => {
    const config = parseConnectionString('postgresql://us%20er:p%40ss%3Aw%2Fd@db:5432/oo');
    expect(config.user).toBe('us er');
    expect(config.password).toBe('p@ss:w/d');
  });

  it('keeps "+" in a password and leaves malformed escapes as written, like Python unquote', () => {
    expect(parseConnectionString('postgresql://u:a+b%zz%4@db/oo').password).toBe('a+b%zz%4');
  });

  it('takes the last "@" before the host, so an unencoded "@" in a password works', () => {
    const config = parseConnectionString('postgresql://user:p@ss@w@db:5432/oo');
    expect(config).toMatchObject({ user: 'user', password: 'p@ss@w', host: 'db', port: 5432, database: 'oo' });
  });

  it('accepts a user name with "@" (Azure style)', () => {
    const config = parseConnectionString('mssql+pyodbc://oo@myserver:pw@myserver.database.windows.net:1433/oo');
    expect(config).toMatchObject({ user: 'oo@myserver', password: 'pw', host: 'myserver.database.windows.net', nodeDriver: 'tedious' });
  });

  it('accepts unencoded "/" and "?" in a password, as SQLAlchemy does', () => {
    expect(parseConnectionString('postgresql://user:ab/c?d@db:5432/oo')).toMatchObject({
      user: 'user',
      password: 'ab/c?d',
      host: 'db',
      port: 5432,
      database: 'oo',
    });
  });

  it('does not mistake an "@" in the query for the user separator', () => {
    expect(parseConnectionString('postgresql://db:5432/oo?application_name=me@host')).toMatchObject({
      user: undefined,
      host: 'db',
      port: 5432,
      database: 'oo',
      query: { application_name: 'me@host' },
    });
  });

  it('form-decodes query options ("+" is a space) and keeps every option', () => {
    const config = parseConnectionString('mssql+pyodbc://u:p@h:1433/db?driver=ODBC+Driver+17+for+SQL+Server&TrustServerCertificate=yes&x=a%2Bb%26c&flag');
    expect(config.query).toEqual({ driver: 'ODBC Driver 17 for SQL Server', TrustServerCertificate: 'yes', x: 'a+b&c', flag: '' });
  });

  it('stores an option named __proto__ as plain data', () => {
    const config = parseConnectionString('postgresql://u:p@db/oo?__proto__=x');
    expect(Object.getPrototypeOf(config.query)).toBe(Object.prototype);
    expect(Object.hasOwn(config.query, '__proto__')).toBe(true);
  });

  it('takes a Windows path literally, backslashes, spaces and percent signs included', () => {
    expect(parseConnectionString('sqlite:///C:\\Users\\a b\\100%25\\oo.db').filename).toBe('C:\\Users\\a b\\100%25\\oo.db');
    expect(parseConnectionString('sqlite:///C:/Users/abc/oo.db').filename).toBe('C:/Users/abc/oo.db');
  });
});

describe('parseConnectionString: errors', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['empty', '', /empty/],
    ['blank', '   ', /empty/],
    ['no ://', `postgresql:user:${SECRET}@host/db`, /no ":\/\/"/],
    ['no scheme at all', `user:${SECRET}@host/db`, /no ":\/\/"/],
    ['ODBC connection string', `Driver={ODBC Driver 17 for SQL Server};Server=h;UID=sa;PWD=${SECRET}`, /ODBC connection string/],
    ['bad scheme', `post gres://u:${SECRET}@h/db`, /dialect name/],
    ['scheme with userinfo in it', `u:${SECRET}@h://x`, /dialect name/],
    ['unknown dialect', `redis://u:${SECRET}@host:6379/0`, /"redis".*sqlite, postgresql.*mysql, mariadb, mssql, oracle/],
    ['prototype name as dialect', `constructor://u:${SECRET}@h/db`, /unsupported database "constructor"/],
    ['unknown python driver', `postgresql+foo://u:${SECRET}@h/db`, /unknown Python driver "foo".*psycopg2, psycopg, pg8000/],
    ['unknown mssql driver', `mssql+bar://u:${SECRET}@h/db`, /pyodbc, pymssql/],
    ['port too large', `postgresql://u:${SECRET}@host:99999/db`, /port.*1 to 65535/],
    ['port zero', `postgresql://u:${SECRET}@host:0/db`, /port/],
    ['port not a number', `postgresql://u:${SECRET}@host:abc/db`, /port/],
    ['port empty', `postgresql://u:${SECRET}@host:/db`, /port/],
    ['password where the port would be (no @host)', `postgresql://user:${SECRET}/db`, /port/],
    ['missing host postgres', `postgresql://u:${SECRET}@/db`, /no host/],
    ['missing host mysql', `mysql://u:${SECRET}@:3306/db`, /no host/],
    ['missing host mssql', `mssql+pyodbc://u:${SECRET}@/db`, /no host.*DSN/],
    ['Windows login without an ODBC driver', 'mssql+pyodbc://server/db', /without a user name is a Windows login through ODBC and must name the ODBC driver: add \?driver=ODBC\+Driver\+18\+for\+SQL\+Server/],
    ['pymssql without a user', 'mssql+pymssql://server:1433/db', /pymssql's Windows login is not served: write mssql\+pyodbc:\/\/server\/database\?driver=/],
    ['missing host oracle', `oracle://u:${SECRET}@:1521/SID`, /no host/],
    ['missing database postgres', `postgresql://u:${SECRET}@host:5432`, /no database name/],
    ['missing database postgres (slash only)', `postgresql://u:${SECRET}@host:5432/`, /no database name/],
    ['missing database mysql', `mysql+pymysql://u:${SECRET}@host/`, /no database name/],
    ['password without user', `postgresql://:${SECRET}@host/db`, /password but no user/],
    ['trailing newline', `postgresql://u:${SECRET}@host/db\n`, /control character/],
    ['tab inside', `postgresql://u:${SECRET}\t@host/db`, /control character/],
    ['leading space', ` postgresql://u:${SECRET}@host/db`, /whitespace/],
    ['trailing space', `postgresql://u:${SECRET}@host/db `, /whitespace/],
    ['space in host', `postgresql://u:${SECRET}@my host/db`, /whitespace in the host/],
    ['unclosed IPv6', `postgresql://u:${SECRET}@[::1/db`, /IPv6/],
    ['IPv6 without brackets', `postgresql://u:${SECRET}@::1:5432/db`, /IPv6/],
    ['text after IPv6', `postgresql://u:${SECRET}@[::1]x/db`, /IPv6/],
    ['sqlite with host', `sqlite://u:${SECRET}@host/x.db`, /sqlite:\/\/\//],
    ['sqlite with two slashes before a Windows path', 'sqlite://C:\\x\\oo.db', /three|sqlite:\/\/\//],
    ['oracle sid and service name', `oracle://u:${SECRET}@h:1521/SID?service_name=S`, /both a SID/],
    ['duplicate query option', `postgresql://u:${SECRET}@h/db?sslmode=a&sslmode=b`, /"sslmode" twice/],
    ['option without name', `postgresql://u:${SECRET}@h/db?=x`, /without a name/],
    ['malformed mssql instance', `mssql://u:${SECRET}@h\\/db`, /named instance/],
  ];

  it.each(cases)('%s', (_name, url, pattern) => {
    const message = errorOf(() => parseConnectionString(url));
    expect(message).toMatch(pattern);
    expect(message).not.toMatch(/[\r\n]/);
    expect(message).not.toContain(SECRET);
    expect(message.length).toBeGreaterThan(20);
  });

  it('rejects non-string input', () => {
    expect(errorOf(() => parseConnectionString(undefined as unknown as string))).toMatch(/must be text/);
  });
});

describe('redactConnectionString', () => {
  const cases: Array<[string, string]> = [
    ['postgresql://oo:s3cret@db:5432/oo', 'postgresql://oo:***@db:5432/oo'],
    ['postgresql://oo:p%40ss%3Aw%2Fd@db/oo', 'postgresql://oo:***@db/oo'],
    ['postgresql://oo:p@ss@db/oo', 'postgresql://oo:***@db/oo'],
    ['postgresql://oo:ab/c?d@db/oo', 'postgresql://oo:***@db/oo'],
    ['postgresql://oo@db/oo', 'postgresql://oo@db/oo'],
    ['postgresql://oo:@db/oo', 'postgresql://oo:***@db/oo'],
    ['mssql+pyodbc://sa:pw@h:1433/db?driver=ODBC+Driver+17+for+SQL+Server', 'mssql+pyodbc://sa:***@h:1433/db?driver=ODBC+Driver+17+for+SQL+Server'],
    ['postgresql://db/oo?user=oo&password=s3cret', 'postgresql://db/oo?user=oo&password=***'],
    ['mssql+pyodbc:///?odbc_connect=DSN%3Dx%3BUID%3Dsa%3BPWD%3Ds3cret', 'mssql+pyodbc:///?odbc_connect=***'],
    ['sqlite:///C:\\Users\\abc\\oo.db', 'sqlite:///C:\\Users\\abc\\oo.db'],
    ['sqlite:////home/me/@proj/oo.db', 'sqlite:////home/me/@proj/oo.db'],
    ['sqlite://', 'sqlite://'],
    ['postgresql://[::1]:5432/oo', 'postgresql://[::1]:5432/oo'],
    ['', '<empty connection string>'],
  ];

  it.each(cases)('%s', (url, expected) => {
    expect(redactConnectionString(url)).toBe(expected);
  });

  const malformed = [
    `user:${SECRET}@host/db`,
    `postgresql:user:${SECRET}@host/db`,
    `u:${SECRET}@h://x`,
    `postgresql://user:${SECRET}/db`,
    `postgresql://user:${SECRET}@host:99999/db`,
    `postgresql://user:${SECRET}@[::1/db`,
    `postgresql://user:${SECRET}\n@host/db`,
    ` postgresql://user:${SECRET}@host/db `,
    `postgresql://user:p@ss/${SECRET}@host/db`,
    `postgresql://user:${SECRET.slice(0, 4)}@${SECRET.slice(4)}/x@host/db`,
    `postgresql://host:5432/db?x=${SECRET}@y`,
    `Driver={x};Server=h;UID=sa;PWD=${SECRET}`,
    `redis://u:${SECRET}@host:6379/0`,
    `postgresql://db/oo?PWD=${SECRET}`,
  ];

  it.each(malformed)('never shows the password: %s', (url) => {
    const redacted = redactConnectionString(url);
    expect(redacted).not.toContain(SECRET);
    expect(redacted).not.toContain(SECRET.slice(4));
    expect(redacted).not.toMatch(/[\r\n]/);
  });

  it('never throws, even for non-strings', () => {
    expect(redactConnectionString(undefined as unknown as string)).toBe('<empty connection string>');
    expect(redactConnectionString(42 as unknown as string)).toBe('<empty connection string>');
    expect(redactConnectionString('no scheme here')).toBe('<unparseable connection string>');
  });
});

describe('pyodbcTarget: the ODBC connection string SQLAlchemy\'s pyodbc connector makes', () => {
  it.each<[string, Parameters<typeof pyodbcTarget>[0], string]>([
    ['a DSN, whose own driver wins over driver=', { host: 'oo_dsn', user: 'sa', password: 'pw', query: { driver: 'FreeTDS', Encrypt: 'no' } }, 'dsn=oo_dsn;UID=sa;PWD=pw;Encrypt=no'],
    ['a DSN with Windows login', { host: 'oo_dsn', query: {} }, 'dsn=oo_dsn;Trusted_Connection=Yes'],
    ['braces for ; and } and a leading {', { host: 'oo_dsn', user: 'sa', password: '{p;w}x', query: {} }, 'dsn=oo_dsn;UID=sa;PWD={{p;w}}x}'],
    ['no PWD for an empty password', { host: 'oo_dsn', user: 'sa', query: {} }, 'dsn=oo_dsn;UID=sa'],
    [
      'a server, port and database',
      { host: 'db', port: 1433, database: 'oo', user: 'sa', password: 'pw', query: { driver: 'ODBC Driver 18 for SQL Server', TrustServerCertificate: 'yes' } },
      'DRIVER={ODBC Driver 18 for SQL Server};Server=db,1433;Database=oo;UID=sa;PWD=pw;TrustServerCertificate=yes',
    ],
    [
      'Authentication= instead of Trusted_Connection without a user',
      { host: 'db', database: 'oo', query: { driver: 'ODBC Driver 18 for SQL Server', authentication: 'ActiveDirectoryIntegrated' } },
      'DRIVER={ODBC Driver 18 for SQL Server};Server=db;Database=oo;Authentication=ActiveDirectoryIntegrated',
    ],
    [
      "pyodbc's own keywords left out, odbc_autotranslate renamed",
      { host: 'db', database: 'oo', user: 'sa', password: 'pw', query: { driver: 'FreeTDS', autocommit: 'true', ansi: 'false', odbc_autotranslate: 'no', TDS_Version: '7.4' } },
      'DRIVER={FreeTDS};Server=db;Database=oo;UID=sa;PWD=pw;AutoTranslate=no;TDS_Version=7.4',
    ],
    ['odbc_connect verbatim', { query: { odbc_connect: 'DSN=oo;Encrypt=no;PWD={a;b}' } }, 'DSN=oo;Encrypt=no;PWD={a;b}'],
  ])('%s', (_, url, expected) => {
    expect(pyodbcTarget(url).connectionString).toBe(expected);
  });

  it('reads attributes of an ODBC connection string in any case, braces undone', () => {
    const text = 'Driver={ODBC Driver 18 for SQL Server};SERVER=db; uid = sa ;PWD={p;w}}x}';
    expect([odbcAttribute(text, 'DRIVER'), odbcAttribute(text, 'server'), odbcAttribute(text, 'UID'), odbcAttribute(text, 'pwd'), odbcAttribute(text, 'dsn')]).toEqual([
      'ODBC Driver 18 for SQL Server',
      'db',
      'sa',
      'p;w}x',
      undefined,
    ]);
  });
});

describe('describeConnection', () => {
  const cases: Array<[string, string]> = [
    ['postgresql://postgres:pw@127.0.0.1:5432/oo', 'postgres at 127.0.0.1:5432/oo (user postgres)'],
    ['postgresql://postgres:pw@[::1]:5432/oo', 'postgres at [::1]:5432/oo (user postgres)'],
    ['mysql://oo:pw@db/oo', 'mysql at db/oo (user oo)'],
    ['mysql://oo:pw@/oo?unix_socket=/run/mysqld.sock', 'mysql at socket /run/mysqld.sock/oo (user oo)'],
    ['sqlite://', 'sqlite in memory'],
    ['sqlite:///oo.db', 'sqlite file oo.db'],
    ['mssql+pyodbc://sa:pw@dsnname', 'mssql via ODBC DSN "dsnname" (user sa)'],
    ['mssql+pyodbc://dsnname', 'mssql via ODBC DSN "dsnname" (Windows integrated login)'],
    ['mssql+pyodbc://server/db?driver=ODBC+Driver+17+for+SQL+Server', 'mssql at server/db via ODBC driver "ODBC Driver 17 for SQL Server" (Windows integrated login)'],
    ['mssql+pyodbc://localhost\\SQLEXPRESS/oo?driver=FreeTDS', 'mssql at localhost\\SQLEXPRESS/oo via ODBC driver "FreeTDS" (Windows integrated login)'],
    ['mssql+pyodbc:///?odbc_connect=DSN%3Dx%3BUID%3Dsa%3BPWD%3Dpw', 'mssql via ODBC DSN "x" (odbc_connect) (user sa)'],
    ['mssql+pyodbc:///?odbc_connect=Driver%3D%7BFreeTDS%7D%3BServer%3Dh%3BTrusted_Connection%3Dyes', 'mssql via an ODBC connection string (odbc_connect, driver "FreeTDS") (Windows integrated login)'],
    ['mssql+pyodbc://sa:pw@db:1433/oo', 'mssql at db:1433/oo (user sa)'],
    ['oracle+oracledb://u:pw@h:1521/?service_name=XEPDB1', 'oracle at h:1521 service XEPDB1 (user u)'],
    ['oracle://u:pw@h:1521/ORCL', 'oracle at h:1521 SID ORCL (user u)'],
  ];

  it.each(cases)('%s', (url, expected) => {
    const description = describeConnection(parseConnectionString(url));
    expect(description).toBe(expected);
    expect(description).not.toContain('pw');
  });
});

describe('assertDriverAvailable', () => {
  it.each([
    'postgresql://u:p@db/oo',
    'mysql://u:p@db/oo',
    'sqlite://',
    'mssql+pyodbc://u:p@db:1433/oo',
    'oracle+oracledb://u:p@db:1521/?service_name=X',
  ])('accepts an installed driver: %s', (url) => {
    expect(() => assertDriverAvailable(parseConnectionString(url))).not.toThrow();
  });

  it.each([
    [`mssql+pyodbc://user:${SECRET}@dsnname`, 'this mssql connection string (via ODBC DSN "dsnname" (user user))'],
    ['mssql+pyodbc://server/db?driver=ODBC+Driver+17+for+SQL+Server', 'this mssql connection string (at server/db via ODBC driver "ODBC Driver 17 for SQL Server" (Windows integrated login))'],
    [`mssql+pyodbc:///?odbc_connect=Server%3Dh%3BUID%3Dsa%3BPWD%3D${SECRET}`, 'this mssql connection string (via an ODBC connection string (odbc_connect) (user sa))'],
  ])('names the odbc package for an ODBC form, and the form: %s', (url, what) => {
    const missing = (id: string): string => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    const message = errorOf(() => assertDriverAvailable(parseConnectionString(url), (id) => (id === 'odbc' ? missing(id) : id)));
    expect(message).toBe(
      `${what} needs the Node package odbc, which is not installed: run "npm install odbc" (next to openorchestrator: in the same project, or with -g beside a global install; on Linux it compiles against unixODBC: apt install unixodbc-dev first)`,
    );
    expect(message).not.toContain(SECRET);
  });

  it('names the missing package for other dialects', () => {
    const missing = (id: string): string => {
      throw Object.assign(new Error(`Cannot find module '${id}'`), { code: 'MODULE_NOT_FOUND' });
    };
    const message = errorOf(() => assertDriverAvailable(parseConnectionString('mssql://sa:pw@db:1433/oo'), missing));
    expect(message).toBe(
      'this mssql connection string needs the Node packages tedious and tarn, which are not installed: run "npm install tedious tarn" (next to openorchestrator: in the same project, or with -g beside a global install)',
    );
    const noCompanion = errorOf(() => assertDriverAvailable(parseConnectionString('oracle+oracledb://u:p@db:1521/?service_name=X'), (id) => (id === 'kysely-oracledb' ? missing(id) : id)));
    expect(noCompanion).toBe(
      'this oracle connection string needs the Node package kysely-oracledb, which is not installed: run "npm install kysely-oracledb" (next to openorchestrator: in the same project, or with -g beside a global install)',
    );
  });

  it('treats a package that exists but has no CommonJS entry as installed', () => {
    const esmOnly = (): string => {
      throw Object.assign(new Error('not exported'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' });
    };
    expect(() => assertDriverAvailable(parseConnectionString('postgresql://u:p@db/oo'), esmOnly)).not.toThrow();
  });
});

describe('parseConnectionString: tls and connect timeout', () => {
  const tlsOf = (url: string) => parseConnectionString(url).tls;

  it('reads each dialect\'s own TLS options into one typed field', () => {
    const cases: Array<[string, ConnectionConfig['tls']]> = [
      ['postgresql://u:p@db/oo', { mode: 'off' }],
      ['postgresql://u:p@db/oo?sslmode=require', { mode: 'encrypt', defaultRoot: 'if-present' }],
      ['postgresql://u:p@db/oo?sslmode=verify-ca&sslrootcert=%2Fetc%2Fca.pem', { mode: 'verify-ca', caFile: '/etc/ca.pem', caOption: 'sslrootcert' }],
      ['postgresql://u:p@db/oo?sslmode=verify-full', { mode: 'verify-full', defaultRoot: 'required' }],
      [
        'postgresql://u:p@db/oo?sslmode=require&sslcert=c.pem&sslkey=k.pem&sslpassword=kp',
        { mode: 'encrypt', defaultRoot: 'if-present', certFile: 'c.pem', keyFile: 'k.pem', keyPassword: 'kp' },
      ],
      ['mysql+pymysql://u:p@db/oo?ssl_ca=ca.pem', { mode: 'verify-full', caFile: 'ca.pem', caOption: 'ssl_ca' }],
      ['mysql+mysqldb://u:p@db/oo?ssl_mode=REQUIRED', { mode: 'encrypt' }],
      ['mariadb+mariadbconnector://u:p@db/oo?ssl=true', { mode: 'encrypt' }],
      ['mssql+pyodbc://u:p@db:1433/oo', { mode: 'verify-full' }],
      ['mssql+pyodbc://u:p@db:1433/oo?TrustServerCertificate=yes', { mode: 'encrypt' }],
      ['mssql+pyodbc://u:p@db:1433/oo?Encrypt=Strict', { mode: 'verify-full', strict: true }],
      ['mssql+pymssql://u:p@db:1433/oo?encrypt=no', { mode: 'off' }],
      ['oracle+oracledb://u:p@db:1521/?service_name=S', { mode: 'off' }],
      ['oracle+oracledb://u:p@db:2484/?service_name=S&protocol=tcps', { mode: 'verify-full' }],
      ['sqlite:///oo.db', undefined],
    ];
    for (const [url, tls] of cases) expect([url, tlsOf(url)]).toEqual([url, tls]);
  });

  it('refuses an unknown value in one line that never echoes something odd', () => {
    expect(errorOf(() => tlsOf('postgresql://u:p@db/oo?sslmode=on'))).toMatch(/^postgresql connection string has sslmode="on", which libpq does not know/);
    expect(errorOf(() => tlsOf(`postgresql://u:p@db/oo?sslmode=${SECRET}%20x`))).toBe(
      'postgresql connection string has sslmode=that value, which libpq does not know: use disable, allow, prefer, require, verify-ca or verify-full',
    );
    expect(errorOf(() => tlsOf('mysql://u:p@db/oo?ssl_mode=yes'))).toMatch(/ssl_mode="yes", which is not known/);
    expect(errorOf(() => tlsOf('mssql+pyodbc://u:p@db:1433/oo?Encrypt=sometimes'))).toMatch(/Encrypt="sometimes", which is not known/);
  });

  it('reads the connect timeout each Python driver names, 15 s by default', () => {
    expect(parseConnectionString('postgresql://u:p@db/oo').connectTimeoutSeconds).toBe(15);
    expect(parseConnectionString('postgresql://u:p@db/oo?connect_timeout=3').connectTimeoutSeconds).toBe(3);
    expect(parseConnectionString('mysql+pymysql://u:p@db/oo?connect_timeout=4').connectTimeoutSeconds).toBe(4);
    expect(parseConnectionString('mssql+pyodbc://u:p@db:1433/oo?timeout=5').connectTimeoutSeconds).toBe(5);
    expect(parseConnectionString('mssql+pymssql://u:p@db:1433/oo?login_timeout=6').connectTimeoutSeconds).toBe(6);
    expect(parseConnectionString('oracle+oracledb://u:p@db/?service_name=S&tcp_connect_timeout=7').connectTimeoutSeconds).toBe(7);
    expect(parseConnectionString('sqlite:///oo.db').connectTimeoutSeconds).toBeUndefined();
    expect(errorOf(() => parseConnectionString('postgresql://u:p@db/oo?connect_timeout=0'))).toMatch(/connect_timeout="0": write a number of seconds above 0/);
    expect(errorOf(() => parseConnectionString('mssql+pyodbc://u:p@db:1433/oo?timeout=5&connect_timeout=5'))).toBe('mssql connection string gives both connect_timeout and timeout: keep one');
  });
});

describe('readEnvironment', () => {
  it('reads and trims both variables; blank means undefined', () => {
    expect(ENV_CONN_STRING).toBe('OpenOrchestratorConnString');
    expect(ENV_CRYPTO_KEY).toBe('OpenOrchestratorKey');
    expect(readEnvironment({ [ENV_CONN_STRING]: '  sqlite:///oo.db\n', [ENV_CRYPTO_KEY]: ' key= ' })).toEqual({
      connectionString: 'sqlite:///oo.db',
      cryptoKey: 'key=',
    });
    expect(readEnvironment({ [ENV_CONN_STRING]: '   ', [ENV_CRYPTO_KEY]: '' })).toEqual({ connectionString: undefined, cryptoKey: undefined });
    expect(readEnvironment({})).toEqual({ connectionString: undefined, cryptoKey: undefined });
  });
});
