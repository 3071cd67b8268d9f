/**
 * Parses the SQLAlchemy-style connection string that the Python OpenOrchestrator uses, so both
 * programs can share one environment variable, into a dialect plus options for a Node driver.
 *
 * The parser is hand-written rather than WHATWG `new URL`, which would mangle Windows paths
 * (`sqlite:///C:\dir\oo.db`) and percent-encoding. It follows SQLAlchemy's `make_url`: user and
 * password are percent-decoded, query values are form-decoded (`+` is a space), host and database
 * are taken literally.
 *
 * @example
 *   const config = parseConnectionString('postgresql+psycopg2://oo:secret@127.0.0.1:5432/oo');
 *   assertDriverAvailable(config);
 *   console.log(describeConnection(config)); // postgres at 127.0.0.1:5432/oo (user oo)
 */
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { ConnectionStringError } from '../errors.js';
import { ENV_CONN_STRING } from './environment.js';

/**
 * The database families OpenOrchestrator supports.
 *
 * @example
 *   const dialect: DialectName = parseConnectionString('mariadb://u:p@h/oo').dialect; // 'mysql'
 */
export type DialectName = 'sqlite' | 'postgres' | 'mysql' | 'mssql' | 'oracle';

/**
 * A parsed connection string. Never log it whole: it holds the password; use `describeConnection`.
 *
 * @example
 *   parseConnectionString('mysql+pymysql://oo:pw@db:3306/oo');
 *   // { dialect: 'mysql', pythonDriver: 'pymysql', nodeDriver: 'mysql2', host: 'db', port: 3306,
 *   //   database: 'oo', user: 'oo', password: 'pw', query: {}, tls: { mode: 'off' }, connectTimeoutSeconds: 15 }
 */
export interface ConnectionConfig {
  dialect: DialectName;
  /** the Python driver named after '+', e.g. 'psycopg2', or undefined */
  pythonDriver?: string;
  /** Node driver package that serves it: 'better-sqlite3' | 'pg' | 'mysql2' | 'tedious' | 'odbc' | 'oracledb' */
  nodeDriver: string;
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** sqlite only: file path as given (taken literally, e.g. Windows path), or ':memory:' */
  filename?: string;
  /** decoded query options, e.g. { driver: 'ODBC Driver 17 for SQL Server' } */
  query: Record<string, string>;
  /**
   * mssql only. `integratedSecurity`: Windows login (no user in the string); `odbcDriver`: the
   * `driver=` option (or odbc_connect's DRIVER); `instanceName`: the named instance of
   * `host\INSTANCE` (then `host` is the part before `\`).
   */
  mssql?: { integratedSecurity: boolean; odbcDriver?: string; instanceName?: string };
  /** the forms served through ODBC (`nodeDriver` 'odbc'): what the ODBC driver manager is given */
  odbc?: OdbcTarget;
  /** oracle only: `?service_name=X`, or the database part of the string as a SID. */
  oracle?: { serviceName?: string; sid?: string };
  /** every dialect but sqlite: how the connection is encrypted and what is verified (see `TlsConfig`) */
  tls?: TlsConfig;
  /** every dialect but sqlite: seconds to wait for a server to answer a connection attempt */
  connectTimeoutSeconds?: number;
  /**
   * every dialect but sqlite: the most connections the pool opens (DEFAULT_POOL_SIZE); never
   * read from a connection string: the Orchestrator's team mode gives each person a small one
   */
  poolSize?: number;
}

/** Connections one pool opens at most, unless `poolSize` says otherwise. */
export const DEFAULT_POOL_SIZE = 10;

/**
 * An ODBC connection as pyodbc would open it. `connectionString` holds the password: never log it.
 *
 * @example
 *   parseConnectionString('mssql+pyodbc://sa:pw@oo_dsn').odbc;
 *   // { connectionString: 'dsn=oo_dsn;UID=sa;PWD=pw', dsn: 'oo_dsn', driver: undefined, trustedConnection: false }
 */
export interface OdbcTarget {
  connectionString: string;
  /** the data source it names, looked up by the driver manager (odbc.ini, or the Windows registry) */
  dsn?: string;
  /** the ODBC driver it names (`DRIVER={...}`); a DSN names its own */
  driver?: string;
  /** Windows integrated login (`Trusted_Connection=Yes`): SSPI on Windows, Kerberos elsewhere */
  trustedConnection: boolean;
}

/**
 * What the connection checks, decided by the connection string's own options (libpq `sslmode`,
 * PyMySQL/mysqlclient `ssl_*`, ODBC `Encrypt`/`TrustServerCertificate`, Oracle `protocol=tcps`):
 * `off`: plain TCP (SQL Server still encrypts the login, as its drivers do); `encrypt`: TLS,
 * any certificate accepted; `verify-ca`: the certificate must chain to a trusted root, any host
 * name; `verify-full`: the chain and the host name. Files are paths, read when the database is
 * opened; without `caFile` the verifying modes trust Node's list of public roots.
 *
 * @example
 *   parseConnectionString('postgresql://u:p@db/oo?sslmode=verify-full&sslrootcert=/etc/oo/ca.pem').tls;
 *   // { mode: 'verify-full', caFile: '/etc/oo/ca.pem', caOption: 'sslrootcert' }
 */
export interface TlsConfig {
  mode: 'off' | 'encrypt' | 'verify-ca' | 'verify-full';
  /** PEM file of the trusted root (or the server's own self-signed certificate) */
  caFile?: string;
  /** the query option `caFile` came from, named in errors */
  caOption?: string;
  /**
   * PostgreSQL without sslrootcert, as libpq: the verifying modes need ~/.postgresql/root.crt
   * (`required`); `require` verifies the chain when that file exists (`if-present`).
   */
  defaultRoot?: 'required' | 'if-present';
  /** client certificate and key files, for servers that ask for one */
  certFile?: string;
  keyFile?: string;
  /** passphrase of an encrypted `keyFile` or Oracle wallet: a secret, scrubbed like the password */
  keyPassword?: string;
  /** SQL Server `Encrypt=strict`: TDS 8, TLS before any byte of the protocol */
  strict?: boolean;
  /** Oracle: the distinguished name the server certificate must carry (`ssl_server_cert_dn`) */
  serverCertDn?: string;
  /** Oracle: the folder holding ewallet.pem (`wallet_location`) */
  walletLocation?: string;
}

/** Seconds a connection attempt may take when the connection string does not say. */
export const DEFAULT_CONNECT_TIMEOUT_SECONDS = 15;

interface SchemeSpec {
  dialect: DialectName;
  pythonDrivers: readonly string[];
  example: string;
}

const POSTGRES: SchemeSpec = {
  dialect: 'postgres',
  pythonDrivers: ['psycopg2', 'psycopg', 'pg8000', 'asyncpg', 'psycopg2cffi'],
  example: 'postgresql://user:password@host:5432/database',
};
const MYSQL_DRIVERS = ['mysqldb', 'pymysql', 'mysqlconnector', 'mariadbconnector', 'asyncmy', 'aiomysql', 'cymysql'];

/** Scheme (the part before '+') -> dialect. A Map, so that names like "constructor" are not found. */
const SCHEMES: ReadonlyMap<string, SchemeSpec> = new Map<string, SchemeSpec>([
  ['sqlite', { dialect: 'sqlite', pythonDrivers: ['pysqlite', 'aiosqlite'], example: 'sqlite:///relative/path.db' }],
  ['postgresql', POSTGRES],
  ['postgres', POSTGRES],
  ['mysql', { dialect: 'mysql', pythonDrivers: MYSQL_DRIVERS, example: 'mysql://user:password@host:3306/database' }],
  ['mariadb', { dialect: 'mysql', pythonDrivers: MYSQL_DRIVERS, example: 'mariadb://user:password@host:3306/database' }],
  ['mssql', { dialect: 'mssql', pythonDrivers: ['pyodbc', 'pymssql', 'aioodbc'], example: 'mssql+pyodbc://user:password@host:1433/database' }],
  ['oracle', { dialect: 'oracle', pythonDrivers: ['cx_oracle', 'oracledb'], example: 'oracle+oracledb://user:password@host:1521/?service_name=SERVICE' }],
]);

const SUPPORTED = 'sqlite, postgresql (or postgres), mysql, mariadb, mssql, oracle';
const GENERIC_EXAMPLE = 'postgresql://user:password@host:5432/database or sqlite:///path/to/file.db';
const UNPARSEABLE = '<unparseable connection string>';

/** SQLAlchemy's scheme: a dialect name, optionally '+' and a Python driver name. */
const SCHEME_PATTERN = /^([A-Za-z][A-Za-z0-9_]*)(?:\+([A-Za-z][A-Za-z0-9_]*))?$/;

function fail(message: string): never {
  throw new ConnectionStringError(message);
}

/** The pieces of `scheme://[userinfo@]hostport[/path][?query]`, all still as written. */
interface RawParts {
  scheme: string;
  userinfo?: string;
  hostport: string;
  path?: string;
  query?: string;
}

/**
 * Finds the '@' that ends user:password. Normally it is the last '@' before the first '/' or '?'
 * (so an unencoded '@' in a password works). If that stretch has no '@' but looks like
 * `user:notaport`, the password itself holds '/' or '?', as SQLAlchemy allows: then the separator
 * is the first later '@', moved on to any further '@' not separated from it by '/' or '?'.
 */
function splitUserinfo(rest: string): { userinfo?: string; remainder: string } {
  const authorityEnd = firstOf(rest, '/?', 0);
  const authority = rest.slice(0, authorityEnd);
  const lastAt = authority.lastIndexOf('@');
  if (lastAt >= 0) return { userinfo: authority.slice(0, lastAt), remainder: rest.slice(lastAt + 1) };

  const colon = authority.indexOf(':');
  if (colon >= 0 && !authority.startsWith('[') && !/^\d*$/.test(authority.slice(colon + 1))) {
    let at = rest.indexOf('@', authorityEnd);
    if (at >= 0) {
      for (let next = rest.indexOf('@', at + 1); next >= 0 && !/[/?]/.test(rest.slice(at + 1, next)); next = rest.indexOf('@', at + 1)) {
        at = next;
      }
      return { userinfo: rest.slice(0, at), remainder: rest.slice(at + 1) };
    }
  }
  return { remainder: rest };
}

/** Index of the first character of `chars` in `text` from `start`, or `text.length`. */
function firstOf(text: string, chars: string, start: number): number {
  for (let i = start; i < text.length; i++) if (chars.includes(text.charAt(i))) return i;
  return text.length;
}

function splitParts(url: string): RawParts {
  const separator = url.indexOf('://');
  if (separator < 0) {
    if (url.includes(';') && url.includes('=')) {
      fail(
        'connection string looks like an ODBC connection string, which is not accepted as is: write ' +
          'mssql+pyodbc://user:password@host:1433/database?driver=ODBC+Driver+17+for+SQL+Server, ' +
          'or pass it percent-encoded as mssql+pyodbc:///?odbc_connect=...',
      );
    }
    fail(`connection string has no "://": write it as dialect://user:password@host:port/database, e.g. ${GENERIC_EXAMPLE}`);
  }
  const scheme = url.slice(0, separator);
  const rest = url.slice(separator + 3);
  const { userinfo, remainder } = splitUserinfo(rest);
  const hostEnd = firstOf(remainder, '/?', 0);
  const hostport = remainder.slice(0, hostEnd);
  let path: string | undefined;
  let query: string | undefined;
  const after = remainder.slice(hostEnd);
  const questionMark = after.indexOf('?');
  if (after.startsWith('/')) path = questionMark < 0 ? after.slice(1) : after.slice(1, questionMark);
  if (questionMark >= 0) query = after.slice(questionMark + 1);
  return { scheme, userinfo, hostport, path, query };
}

/** Percent-decodes like Python's `unquote`: malformed escapes stay as written instead of throwing. */
function percentDecode(text: string): string {
  return text.replace(/(?:%[0-9A-Fa-f]{2})+/g, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function parseQuery(query: string | undefined): Record<string, string> {
  const options = new Map<string, string>();
  for (const part of (query ?? '').split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const key = percentDecode((equals < 0 ? part : part.slice(0, equals)).replace(/\+/g, ' '));
    const value = equals < 0 ? '' : percentDecode(part.slice(equals + 1).replace(/\+/g, ' '));
    if (key === '') fail('connection string has a query option without a name ("?=value"): remove it or add the name');
    if (options.has(key)) {
      // Only a plain option name is echoed; anything odd might be a misplaced password.
      const shown = /^[A-Za-z_][A-Za-z0-9_.-]{0,40}$/.test(key) ? `"${key}"` : 'an option';
      fail(`connection string gives the query option ${shown} twice: keep only one`);
    }
    options.set(key, value);
  }
  return Object.fromEntries(options);
}

function parseHostPort(hostport: string, example: string): { host?: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (hostport.startsWith('[')) {
    const close = hostport.indexOf(']');
    if (close < 0) fail('connection string has an IPv6 address without a closing "]": write it as [::1]:5432');
    host = hostport.slice(1, close);
    const after = hostport.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) fail('connection string has text after an IPv6 address "]": write [address]:port');
    if (after !== '') portText = after.slice(1);
    if (host === '') fail('connection string has empty brackets "[]" where the host belongs: write the IPv6 address inside, e.g. [::1]');
  } else {
    const colon = hostport.indexOf(':');
    if (colon >= 0 && hostport.indexOf(':', colon + 1) >= 0) {
      fail('connection string has a host with several ":": write an IPv6 address in brackets, e.g. [::1]:5432, and percent-encode ":" in a password as %3A');
    }
    host = colon < 0 ? hostport : hostport.slice(0, colon);
    if (colon >= 0) portText = hostport.slice(colon + 1);
  }
  if (/\s/.test(host)) fail('connection string has whitespace in the host name: remove it');
  let port: number | undefined;
  if (portText !== undefined) {
    // The text is never echoed: when '@' is missing, a password ends up where the port belongs.
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 1 && port <= 65535)) {
      fail(`connection string has an invalid port after the host: it must be a whole number from 1 to 65535, e.g. ${example}`);
    }
  }
  return { host: host === '' ? undefined : host, port };
}

function checkCharacters(url: string): void {
  if (url.trim() === '') {
    fail(`connection string is empty: set ${ENV_CONN_STRING} to e.g. ${GENERIC_EXAMPLE}`);
  }
  for (let i = 0; i < url.length; i++) {
    const code = url.charCodeAt(i);
    if (code < 0x20 || (code >= 0x7f && code <= 0x9f)) {
      fail('connection string contains a control character (such as a line break or tab): remove it, or percent-encode it in a password (e.g. %09 for a tab)');
    }
  }
  if (url.trim() !== url) fail('connection string starts or ends with whitespace: remove the spaces around it');
}

/**
 * Refuses a SQLite file named by a Windows path (`C:\\...`, `C:/...`, `\\\\server\\share`) on
 * another system, where SQLite would quietly create a file literally named so in the current
 * folder. Parsing itself stays the same everywhere (a connection string is passed between
 * machines); this runs where the file is opened.
 *
 * @example
 *   checkSqlitePath(parseConnectionString('sqlite+pysqlite:///C:\\temp\\db.db'), 'linux'); // throws: a Windows path
 */
export function checkSqlitePath(config: ConnectionConfig, platform: NodeJS.Platform = process.platform): void {
  const file = config.dialect === 'sqlite' ? config.filename : undefined;
  if (platform === 'win32' || file === undefined || !/^(?:[A-Za-z]:[\\/]|\\\\)/.test(file)) return;
  fail(`the SQLite path ${file} is a Windows path, and this is ${platform}: give a path on this machine, e.g. sqlite:////home/me/orchestrator.db or sqlite:///orchestrator.db (relative to the current folder)`);
}

/**
 * Parses a SQLAlchemy-style connection string. Throws `ConnectionStringError` with a one-line
 * message that says what to fix and never contains the password.
 *
 * @example
 *   parseConnectionString('sqlite:///C:\\Users\\abc\\oo.db').filename; // 'C:\Users\abc\oo.db'
 *   parseConnectionString('mssql+pyodbc://sa:pw@db:1433/oo?driver=ODBC+Driver+17+for+SQL+Server').mssql;
 *   // { integratedSecurity: false, odbcDriver: 'ODBC Driver 17 for SQL Server' }
 */
export function parseConnectionString(url: string): ConnectionConfig {
  if (typeof url !== 'string') fail(`connection string must be text, e.g. ${GENERIC_EXAMPLE}`);
  checkCharacters(url);
  const parts = splitParts(url);

  const scheme = SCHEME_PATTERN.exec(parts.scheme);
  if (!scheme) {
    fail(`connection string must start with a dialect name such as postgresql, mysql, mssql, oracle or sqlite before "://", e.g. ${GENERIC_EXAMPLE}`);
  }
  const base = (scheme[1] ?? '').toLowerCase();
  const pythonDriver = scheme[2]?.toLowerCase();
  const spec = SCHEMES.get(base);
  if (!spec) fail(`connection string names an unsupported database "${base}": use one of ${SUPPORTED}`);
  if (pythonDriver !== undefined && !spec.pythonDrivers.includes(pythonDriver)) {
    fail(`connection string names an unknown Python driver "${pythonDriver}" for ${base}: use one of ${spec.pythonDrivers.join(', ')}, or none (${base}://...)`);
  }

  const query = parseQuery(parts.query);

  if (spec.dialect === 'sqlite') {
    if (parts.userinfo !== undefined || parts.hostport !== '') {
      fail('sqlite connection string must not have a user, password or host (the path follows three slashes): write sqlite:///relative/path.db, sqlite:////absolute/path.db or sqlite:///C:\\path\\file.db');
    }
    const path = parts.path ?? '';
    return {
      dialect: 'sqlite',
      pythonDriver,
      nodeDriver: 'better-sqlite3',
      filename: path === '' ? ':memory:' : path,
      query,
    };
  }

  let user: string | undefined;
  let password: string | undefined;
  if (parts.userinfo !== undefined) {
    const colon = parts.userinfo.indexOf(':');
    user = percentDecode(colon < 0 ? parts.userinfo : parts.userinfo.slice(0, colon)) || undefined;
    password = colon < 0 ? undefined : percentDecode(parts.userinfo.slice(colon + 1)) || undefined;
    if (user === undefined && password !== undefined) {
      fail(`connection string has a password but no user name: write ${spec.example}`);
    }
  }
  const { host, port } = parseHostPort(parts.hostport, spec.example);
  const database = parts.path === undefined || parts.path === '' ? undefined : parts.path;
  const connectTimeoutSeconds = parseConnectTimeout(query, spec.dialect, pythonDriver);
  const common = { pythonDriver, host, port, database, user, password, query, connectTimeoutSeconds };
  const noHost = (hint = ''): never => fail(`${base} connection string has no host: write e.g. ${spec.example}${hint}`);
  const noDatabase = (): never =>
    fail(`${base} connection string has no database name: add it after the host, e.g. ${spec.example} (create the database first if needed)`);

  switch (spec.dialect) {
    case 'postgres': {
      // libpq style: postgresql://user:pw@/db?host=/var/run/postgresql for a Unix socket.
      const socketHost = host ?? (query.host || undefined);
      if (socketHost === undefined) noHost(', or ?host=/path/to/socket/dir for a Unix socket');
      if (database === undefined) noDatabase();
      return { ...common, dialect: 'postgres', nodeDriver: 'pg', host: socketHost, tls: postgresTls(query) };
    }
    case 'mysql':
      if (host === undefined && !query.unix_socket) noHost(', or ?unix_socket=/path/to/mysqld.sock');
      if (database === undefined) noDatabase();
      return { ...common, dialect: 'mysql', nodeDriver: 'mysql2', tls: mysqlTls(query, host) };
    case 'oracle': {
      if (host === undefined) noHost();
      const serviceName = query.service_name || undefined;
      if (serviceName !== undefined && database !== undefined) {
        fail('oracle connection string gives both a SID (the part after the port) and ?service_name=: keep one, e.g. oracle+oracledb://user:password@host:1521/?service_name=SERVICE');
      }
      // These become part of a connect descriptor, where '(', ')' and '=' would change its meaning.
      for (const [what, value] of [['host', host], ['service name', serviceName], ['SID', database]] as const) {
        if (value !== undefined && !/^[\w.:$#-]+$/.test(value)) {
          fail(`oracle connection string has a ${what} with characters Oracle names cannot hold: use letters, digits and . _ - $ # only`);
        }
      }
      return { ...common, dialect: 'oracle', nodeDriver: 'oracledb', oracle: { serviceName, sid: database }, tls: oracleTls(query) };
    }
    case 'mssql': {
      // Checked for every form (a wrong Encrypt is one clear line), used by tedious: ODBC drivers read their own.
      const tls = mssqlTls(query, common.pythonDriver);
      const config = parseMssql(common, base);
      return config.nodeDriver === 'tedious' ? { ...config, tls } : config;
    }
  }
}

/** A query option's value as a plain name, or a neutral phrase when it might be something private. */
function shown(value: string): string {
  return /^[\w.+-]{1,40}$/.test(value) ? `"${value}"` : 'that value';
}

/**
 * Python drivers take these options as keyword arguments, so their names are case-sensitive
 * there; one written in another case would be ignored, and a TLS option ignored fails open.
 */
function rejectMiscased(query: Record<string, string>, names: readonly string[], dialect: string): void {
  for (const key of Object.keys(query)) {
    const known = names.find((name) => name.toLowerCase() === key.toLowerCase());
    if (known !== undefined && known !== key) fail(`${dialect} connection string option "${key}" must be written in lower case: ${known}`);
  }
}

/** A yes/no option; `undefined` when absent. */
function flag(query: Record<string, string>, key: string, dialect: string): boolean | undefined {
  const value = query[key];
  if (value === undefined) return undefined;
  const lower = value.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(lower)) return true;
  if (['0', 'false', 'no', 'off'].includes(lower)) return false;
  return fail(`${dialect} connection string option ${key} has the value ${shown(value)}, which is not a yes/no value: write ${key}=true or ${key}=false`);
}

/** A file option: absent and empty both mean "not given". */
function file(query: Record<string, string>, key: string): string | undefined {
  return query[key] || undefined;
}

const POSTGRES_TLS_KEYS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'sslpassword'] as const;

/**
 * libpq's sslmode. node-postgres cannot fall back from TLS to plain text, so `allow` and
 * `prefer` (libpq's default) connect without TLS; both accept a forged server anyway.
 * As in libpq, `require` with a root certificate (sslrootcert, or ~/.postgresql/root.crt when
 * present) verifies the chain (verify-ca), and
 * `sslrootcert=system` means Node's public roots and verify-full.
 */
function postgresTls(query: Record<string, string>): TlsConfig {
  rejectMiscased(query, POSTGRES_TLS_KEYS, 'postgresql');
  const given = query.sslmode?.trim().toLowerCase();
  const root = file(query, 'sslrootcert');
  const system = root?.toLowerCase() === 'system';
  let mode: TlsConfig['mode'];
  switch (given) {
    case undefined:
    case '':
      mode = system ? 'verify-full' : 'off';
      break;
    case 'disable':
    case 'allow':
    case 'prefer':
      mode = 'off';
      break;
    case 'require':
      mode = root !== undefined ? 'verify-ca' : 'encrypt';
      break;
    case 'verify-ca':
    case 'verify-full':
      mode = given;
      break;
    default:
      return fail(`postgresql connection string has sslmode=${shown(query.sslmode ?? '')}, which libpq does not know: use disable, allow, prefer, require, verify-ca or verify-full`);
  }
  if (system && mode !== 'verify-full' && mode !== 'off') {
    fail('postgresql connection string has sslrootcert=system, which (as in libpq) needs sslmode=verify-full: change sslmode, or name a root certificate file');
  }
  if (mode === 'off') return { mode };
  const ca = system
    ? {}
    : root !== undefined
      ? { caFile: root, caOption: 'sslrootcert' }
      : { defaultRoot: mode === 'encrypt' ? ('if-present' as const) : ('required' as const) };
  return {
    mode,
    ...ca,
    ...(file(query, 'sslcert') ? { certFile: file(query, 'sslcert') } : {}),
    ...(file(query, 'sslkey') ? { keyFile: file(query, 'sslkey') } : {}),
    ...(query.sslpassword ? { keyPassword: query.sslpassword } : {}),
  };
}

const MYSQL_TLS_KEYS = [
  'ssl', 'ssl_mode', 'ssl_disabled', 'ssl_ca', 'ssl_cert', 'ssl_key', 'ssl_key_password',
  'ssl_verify_cert', 'ssl_verify_identity', 'ssl_check_hostname',
] as const;

/**
 * mysqlclient's `ssl_mode` decides when given. Otherwise PyMySQL's rules: any `ssl_*` file or
 * `ssl=true` turns TLS on; a CA verifies the chain and the host name (`ssl_check_hostname` or
 * `ssl_verify_identity=false` drops the name check); `ssl_verify_cert`/`ssl_verify_identity`
 * say so explicitly.
 */
function mysqlTls(query: Record<string, string>, host: string | undefined): TlsConfig {
  const tls = mysqlTlsMode(query);
  // mysql2 checks the name only for a host name; for an address Node would check "localhost".
  if (tls.mode === 'verify-full' && host !== undefined && isIP(host) !== 0) {
    fail(
      `mysql connection string asks to check the server's host name (ssl_ca verifies it unless told otherwise) but names the server by its address ${host}, which the Node driver cannot check: write the host name the certificate is made out to, or add ssl_check_hostname=false to check the chain only`,
    );
  }
  return tls;
}

function mysqlTlsMode(query: Record<string, string>): TlsConfig {
  rejectMiscased(query, MYSQL_TLS_KEYS, 'mysql');
  const files = {
    ...(file(query, 'ssl_ca') ? { caFile: file(query, 'ssl_ca'), caOption: 'ssl_ca' } : {}),
    ...(file(query, 'ssl_cert') ? { certFile: file(query, 'ssl_cert') } : {}),
    ...(file(query, 'ssl_key') ? { keyFile: file(query, 'ssl_key') } : {}),
    ...(query.ssl_key_password ? { keyPassword: query.ssl_key_password } : {}),
  };
  const sslMode = query.ssl_mode?.trim().toUpperCase();
  if (sslMode !== undefined) {
    const modes: Record<string, TlsConfig['mode']> = { DISABLED: 'off', PREFERRED: 'off', REQUIRED: 'encrypt', VERIFY_CA: 'verify-ca', VERIFY_IDENTITY: 'verify-full' };
    const mode = Object.hasOwn(modes, sslMode) ? modes[sslMode] : undefined;
    if (mode === undefined) {
      fail(`mysql connection string has ssl_mode=${shown(query.ssl_mode ?? '')}, which is not known: use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY`);
    }
    return mode === 'off' ? { mode } : { mode, ...files };
  }
  if (flag(query, 'ssl_disabled', 'mysql') === true) return { mode: 'off' };
  const verifyCert = flag(query, 'ssl_verify_cert', 'mysql');
  const verifyIdentity = flag(query, 'ssl_verify_identity', 'mysql') ?? flag(query, 'ssl_check_hostname', 'mysql');
  const on = flag(query, 'ssl', 'mysql');
  const wanted = on === true || Object.keys(files).length > 0 || verifyCert === true || verifyIdentity === true;
  if (!wanted) return { mode: 'off' };
  const chain = verifyCert ?? (verifyIdentity === true || files.caFile !== undefined);
  const name = verifyIdentity ?? (chain && files.caFile !== undefined);
  if (name && verifyCert === false) fail('mysql connection string asks to check the host name but not the certificate (ssl_verify_cert=false): drop one of them');
  return { mode: name ? 'verify-full' : chain ? 'verify-ca' : 'encrypt', ...files };
}

/**
 * ODBC's Encrypt and TrustServerCertificate, keys and values in any case, as ODBC reads them.
 * The default follows the named ODBC driver: version 18 (and pymssql here) encrypts and
 * verifies; 17 and older encrypt only the login.
 */
function mssqlTls(query: Record<string, string>, pythonDriver: string | undefined): TlsConfig {
  const odbc = (name: string): string | undefined => {
    const keys = Object.keys(query).filter((key) => key.toLowerCase() === name.toLowerCase());
    if (keys.length > 1) fail(`mssql connection string gives the option ${name} twice (${keys.join(', ')}): keep only one`);
    const key = keys[0];
    return key === undefined ? undefined : (query[key] ?? '').trim();
  };
  const encryptText = odbc('Encrypt');
  const trustText = odbc('TrustServerCertificate');
  let encrypt: 'yes' | 'no' | 'strict';
  switch (encryptText?.toLowerCase()) {
    case undefined: {
      const version = /ODBC Driver (\d+)/i.exec(odbc('driver') ?? '')?.[1];
      const oldDriver = (version !== undefined && Number(version) < 18) || /^(?:SQL Server|SQL Native Client|SQL Server Native Client.*)$/i.test(odbc('driver') ?? '');
      encrypt = oldDriver && pythonDriver !== 'pymssql' ? 'no' : 'yes';
      break;
    }
    case 'yes':
    case 'true':
    case 'mandatory':
      encrypt = 'yes';
      break;
    case 'no':
    case 'false':
    case 'optional':
      encrypt = 'no';
      break;
    case 'strict':
      encrypt = 'strict';
      break;
    default:
      return fail(`mssql connection string has Encrypt=${shown(encryptText ?? '')}, which is not known: use yes, no, strict, mandatory or optional`);
  }
  let trust: boolean;
  switch (trustText?.toLowerCase()) {
    case undefined:
    case 'no':
    case 'false':
      trust = false;
      break;
    case 'yes':
    case 'true':
      trust = true;
      break;
    default:
      return fail(`mssql connection string has TrustServerCertificate=${shown(trustText ?? '')}, which is not known: use yes or no`);
  }
  // ODBC ignores TrustServerCertificate under strict: the certificate is always checked.
  if (encrypt === 'strict') return { mode: 'verify-full', strict: true };
  if (encrypt === 'no') return { mode: 'off' };
  return { mode: trust ? 'encrypt' : 'verify-full' };
}

const ORACLE_TLS_KEYS = ['protocol', 'ssl_server_dn_match', 'ssl_server_cert_dn', 'wallet_location', 'wallet_password'] as const;

/**
 * python-oracledb's thin-mode options. `protocol=tcps` turns TLS on; the server certificate
 * is checked against the wallet (or Node's public roots) and, unless ssl_server_dn_match=false,
 * its name against the host (or ssl_server_cert_dn).
 */
function oracleTls(query: Record<string, string>): TlsConfig {
  rejectMiscased(query, ORACLE_TLS_KEYS, 'oracle');
  const protocol = query.protocol?.trim().toLowerCase();
  if (protocol !== undefined && protocol !== 'tcp' && protocol !== 'tcps') {
    fail(`oracle connection string has protocol=${shown(query.protocol ?? '')}, which thin mode cannot use: write protocol=tcp or protocol=tcps`);
  }
  const tlsOnly = ORACLE_TLS_KEYS.filter((key) => key !== 'protocol' && query[key] !== undefined);
  if (protocol !== 'tcps') {
    if (tlsOnly.length > 0) fail(`oracle connection string has ${tlsOnly.join(', ')} but no protocol=tcps: add protocol=tcps to encrypt, or remove them`);
    return { mode: 'off' };
  }
  const dnMatch = flag(query, 'ssl_server_dn_match', 'oracle') ?? true;
  return {
    mode: dnMatch ? 'verify-full' : 'verify-ca',
    ...(query.ssl_server_cert_dn ? { serverCertDn: query.ssl_server_cert_dn } : {}),
    ...(query.wallet_location ? { walletLocation: query.wallet_location } : {}),
    ...(query.wallet_password ? { keyPassword: query.wallet_password } : {}),
  };
}

/**
 * The connect timeout options each Python driver reads: libpq and PyMySQL `connect_timeout`,
 * pyodbc `timeout`, pymssql `login_timeout`, python-oracledb `tcp_connect_timeout`; all seconds.
 */
function parseConnectTimeout(query: Record<string, string>, dialect: DialectName, pythonDriver: string | undefined): number | undefined {
  if (dialect === 'sqlite') return undefined;
  const keys = ['connect_timeout'];
  if (dialect === 'mssql') keys.push(pythonDriver === 'pymssql' ? 'login_timeout' : 'timeout');
  if (dialect === 'oracle') keys.push('tcp_connect_timeout');
  const given = keys.filter((key) => query[key] !== undefined);
  if (given.length > 1) fail(`${dialect} connection string gives both ${given.join(' and ')}: keep one`);
  const key = given[0];
  if (key === undefined) return DEFAULT_CONNECT_TIMEOUT_SECONDS;
  const text = (query[key] ?? '').trim();
  const seconds = /^\d+(?:\.\d+)?$/.test(text) ? Number(text) : NaN;
  if (!(seconds > 0 && seconds <= 3600)) {
    fail(`${dialect} connection string has ${key}=${shown(query[key] ?? '')}: write a number of seconds above 0 and at most 3600, e.g. ${key}=15`);
  }
  return seconds;
}

type Common = Omit<ConnectionConfig, 'dialect' | 'nodeDriver'>;

/**
 * Which transport serves an `mssql` string. pyodbc (also SQLAlchemy's default for mssql://)
 * reads a host without port or database as an ODBC DSN and no user as Windows integrated login;
 * those and `odbc_connect` go through ODBC, as Python sends them. A SQL login at a host goes over
 * TCP with tedious, which speaks TDS itself (`driver=` then only sets the Encrypt default).
 * pyodbc would read `user:pw@host:1433` (no database) as a DSN named "host" too; here a port
 * means a host.
 */
function parseMssql(common: Common, base: string): ConnectionConfig {
  const { query, user, port, database } = common;
  const scheme = `${base}${common.pythonDriver ? `+${common.pythonDriver}` : ''}`;
  const odbc = common.pythonDriver === undefined || common.pythonDriver === 'pyodbc' || common.pythonDriver === 'aioodbc';
  const odbcDriver = query.driver || undefined;

  if (odbc && query.odbc_connect) {
    const target = pyodbcTarget(common);
    return { ...common, host: undefined, dialect: 'mssql', nodeDriver: 'odbc', mssql: { integratedSecurity: target.trustedConnection, odbcDriver: target.driver }, odbc: target };
  }

  let host = common.host;
  if (host === undefined) {
    const dsnHint = odbc ? `, or ${scheme}://user:password@dsnname for an ODBC DSN` : '';
    fail(`${base} connection string has no host: write e.g. ${scheme}://user:password@host:1433/database${dsnHint}`);
  }
  let instanceName: string | undefined;
  const backslash = host.indexOf('\\');
  if (backslash >= 0) {
    instanceName = host.slice(backslash + 1);
    host = host.slice(0, backslash);
    if (host === '' || instanceName === '' || instanceName.includes('\\')) {
      fail(`${base} connection string has a malformed named instance: write host\\INSTANCE, e.g. localhost\\SQLEXPRESS`);
    }
  }
  const integratedSecurity = user === undefined && !query.authentication;
  const mssql = { integratedSecurity, odbcDriver, ...(instanceName === undefined ? {} : { instanceName }) };
  const dsn = instanceName === undefined && port === undefined && database === undefined;
  if (odbc && (dsn || user === undefined)) {
    if (!dsn && odbcDriver === undefined) {
      fail(`${scheme} connection string without a user name is a Windows login through ODBC and must name the ODBC driver: add ?driver=ODBC+Driver+18+for+SQL+Server (a name "odbcinst -q -d" lists), or write ${scheme}://user:password@dsnname for an ODBC DSN`);
    }
    return { ...common, host, dialect: 'mssql', nodeDriver: 'odbc', mssql, odbc: pyodbcTarget(common) };
  }
  if (user === undefined) {
    fail(`${scheme} connection string has no user name, and pymssql's Windows login is not served: write mssql+pyodbc://server/database?driver=ODBC+Driver+18+for+SQL+Server for a Windows login through ODBC, or add user:password@ before the host`);
  }
  return { ...common, host, dialect: 'mssql', nodeDriver: 'tedious', mssql };
}

/**
 * The ODBC connection string SQLAlchemy's pyodbc connector makes from a URL (2.x): `odbc_connect`
 * verbatim; otherwise `dsn=HOST` when there is no database, else `DRIVER={driver};Server=HOST[,PORT];Database=DB`;
 * then `UID=`/`PWD=`, or `Authentication=`, or `Trusted_Connection=Yes` without a user; then every
 * other query option as `key=value`. A value holding `;` or `}`, or starting with `{`, is braced.
 *
 * @example
 *   pyodbcTarget({ host: 'oo_dsn', user: 'sa', password: 'pw', query: {} }).connectionString; // 'dsn=oo_dsn;UID=sa;PWD=pw'
 */
export function pyodbcTarget(url: Pick<ConnectionConfig, 'host' | 'port' | 'database' | 'user' | 'password' | 'query'>): OdbcTarget {
  // pyodbc.connect's own keyword arguments, not part of the string.
  const { ansi: _ansi, unicode_results: _unicode, autocommit: _autocommit, ...query } = url.query;
  if (query.odbc_connect) {
    const connectionString = query.odbc_connect;
    const trusted = /^(?:yes|true)$/i.test(odbcAttribute(connectionString, 'Trusted_Connection') ?? '');
    return { connectionString, dsn: odbcAttribute(connectionString, 'DSN'), driver: odbcAttribute(connectionString, 'DRIVER'), trustedConnection: trusted };
  }
  const { driver, odbc_autotranslate: autotranslate, ...rest } = query;
  // Only a login without a user name is an `Authentication=` login; with one it is just another option.
  const authentication = url.user === undefined ? rest.authentication : undefined;
  if (authentication !== undefined) delete rest.authentication;
  const parts: string[] = [];
  const dsn = url.host !== undefined && url.database === undefined ? url.host : undefined;
  if (dsn !== undefined) parts.push(`dsn=${odbcValue(dsn)}`);
  else {
    if (driver !== undefined) parts.push(`DRIVER={${driver.replace(/\}/g, '}}')}}`);
    parts.push(`Server=${odbcValue(url.host ?? '')}${url.port === undefined ? '' : `,${url.port}`}`, `Database=${odbcValue(url.database ?? '')}`);
  }
  if (url.user !== undefined) {
    parts.push(`UID=${odbcValue(url.user)}`);
    if (url.password !== undefined) parts.push(`PWD=${odbcValue(url.password)}`);
  } else if (authentication !== undefined) parts.push(`Authentication=${odbcValue(authentication)}`);
  else parts.push('Trusted_Connection=Yes');
  if (autotranslate !== undefined) parts.push(`AutoTranslate=${odbcValue(autotranslate)}`);
  if (dsn !== undefined && url.port !== undefined) parts.push(`port=${url.port}`);
  for (const [key, value] of Object.entries(rest)) parts.push(`${odbcValue(key)}=${odbcValue(value)}`);
  return { connectionString: parts.join(';'), dsn, driver: dsn === undefined ? driver : undefined, trustedConnection: url.user === undefined && authentication === undefined };
}

/** ODBC's quoting of an attribute value: braces when it holds `;` or `}` or starts with `{`. */
function odbcValue(value: string): string {
  return /[;}]/.test(value) || value.startsWith('{') ? `{${value.replace(/\}/g, '}}')}}` : value;
}

/**
 * One attribute of an ODBC connection string (`KEY=value;...`, keys in any case, values maybe
 * in braces), or undefined.
 *
 * @example
 *   odbcAttribute('Driver={ODBC Driver 18 for SQL Server};Server=db', 'driver'); // 'ODBC Driver 18 for SQL Server'
 */
export function odbcAttribute(connectionString: string, name: string): string | undefined {
  const pattern = /\s*([^=;]+?)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)\s*(?:;|$)/gy;
  let found: string | undefined;
  for (let m = pattern.exec(connectionString); m !== null && m[0] !== ''; m = pattern.exec(connectionString)) {
    if ((m[1] ?? '').toLowerCase() !== name.toLowerCase()) continue;
    const value = (m[2] ?? '').trim();
    found = value.startsWith('{') ? value.slice(1, -1).replace(/\}\}/g, '}') : value;
  }
  return found === '' ? undefined : found;
}

/**
 * `url` (a connection string without a login) with `user` and `password` as its login,
 * percent-encoded: what the Orchestrator's team mode opens for a person who signed in, so their
 * login goes through the one parser (and becomes, say, an ODBC DSN's UID and PWD).
 *
 * @example
 *   withLogin('postgresql://db:5432/oo', 'alice', 'p@ss'); // 'postgresql://alice:p%40ss@db:5432/oo'
 */
export function withLogin(url: string, user: string, password: string): string {
  const trimmed = url.trim();
  const separator = trimmed.indexOf('://');
  if (separator < 0) fail(`connection string must start with a dialect name such as postgresql, mysql, mssql, oracle or sqlite before "://", e.g. ${GENERIC_EXAMPLE}`);
  return `${trimmed.slice(0, separator + 3)}${encodeURIComponent(user)}:${encodeURIComponent(password)}@${trimmed.slice(separator + 3)}`;
}

/**
 * The connection string with its password replaced by `***`, for logs and error messages. Never
 * throws; when it cannot tell where a password would end, it returns a placeholder instead.
 *
 * @example
 *   redactConnectionString('postgresql://oo:s3cret@db:5432/oo'); // 'postgresql://oo:***@db:5432/oo'
 *   redactConnectionString('oo:s3cret@db/oo');                   // '<unparseable connection string>'
 */
export function redactConnectionString(url: string): string {
  try {
    return redact(url);
  } catch {
    return UNPARSEABLE;
  }
}

function redact(url: string): string {
  if (typeof url !== 'string' || url.trim() === '') return '<empty connection string>';
  const trimmed = url.trim();
  const separator = trimmed.indexOf('://');
  if (separator < 0) return UNPARSEABLE;
  const scheme = trimmed.slice(0, separator);
  if (!SCHEME_PATTERN.test(scheme)) return UNPARSEABLE;
  const rest = trimmed.slice(separator + 3);
  const isSqlitePath = /^sqlite(\+|$)/i.test(scheme) && (rest === '' || rest.startsWith('/') || rest.startsWith('?'));
  const { userinfo, remainder } = isSqlitePath ? { userinfo: undefined, remainder: rest } : splitUserinfo(rest);
  // Another '@' means the split may be wrong and part of a password may sit in what follows.
  if (!isSqlitePath && remainder.includes('@')) return `${scheme}://${UNPARSEABLE}`;

  let out = `${scheme}://`;
  if (userinfo !== undefined) {
    const colon = userinfo.indexOf(':');
    out += `${colon < 0 ? userinfo : `${userinfo.slice(0, colon)}:***`}@`;
  }
  const hostEnd = firstOf(remainder, '/?', 0);
  let hostport = remainder.slice(0, hostEnd);
  const portColon = hostport.startsWith('[') ? hostport.indexOf(':', hostport.indexOf(']')) : hostport.indexOf(':');
  // Text after ':' that is no port number may be a password written without its '@host'.
  if (portColon >= 0 && !/^\d*$/.test(hostport.slice(portColon + 1))) hostport = `${hostport.slice(0, portColon)}:***`;
  out += hostport;

  const after = remainder.slice(hostEnd);
  const questionMark = after.indexOf('?');
  if (questionMark < 0) return sanitize(out + after);
  out += after.slice(0, questionMark + 1);
  out += after
    .slice(questionMark + 1)
    .split('&')
    .map((part) => {
      const equals = part.indexOf('=');
      if (equals < 0) return part;
      const key = percentDecode(part.slice(0, equals).replace(/\+/g, ' ')).toLowerCase();
      const value = percentDecode(part.slice(equals + 1).replace(/\+/g, ' '));
      const secret = /^(?:password|passwd|pwd)$/.test(key) || (key === 'odbc_connect' && /(?:pwd|password)\s*=/i.test(value));
      return secret ? `${part.slice(0, equals)}=***` : part;
    })
    .join('&');
  return sanitize(out);
}

/** Control characters would break a log line; they are shown as '?'. */
function sanitize(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || (code >= 0x7f && code <= 0x9f) ? '?' : char;
  }
  return out;
}

/**
 * A one-line description for logs and the CLI; never includes the password.
 *
 * @example
 *   describeConnection(parseConnectionString('postgresql://postgres:pw@127.0.0.1:5432/oo'));
 *   // 'postgres at 127.0.0.1:5432/oo (user postgres)'
 */
export function describeConnection(config: ConnectionConfig): string {
  if (config.dialect === 'sqlite') {
    return config.filename === undefined || config.filename === ':memory:' ? 'sqlite in memory' : `sqlite file ${config.filename}`;
  }
  const user = config.user ?? (config.odbc === undefined ? undefined : odbcAttribute(config.odbc.connectionString, 'UID'));
  const login = user !== undefined ? ` (user ${user})` : config.mssql?.integratedSecurity ? ' (Windows integrated login)' : '';
  const odbc = config.odbc;
  if (odbc?.dsn !== undefined) return `${config.dialect} via ODBC DSN "${odbc.dsn}"${config.host === undefined ? ' (odbc_connect)' : ''}${login}`;
  if (odbc !== undefined && config.host === undefined) {
    return `${config.dialect} via an ODBC connection string (odbc_connect${odbc.driver === undefined ? '' : `, driver "${odbc.driver}"`})${login}`;
  }

  let where = config.host === undefined ? '' : config.host.includes(':') ? `[${config.host}]` : config.host;
  if (config.mssql?.instanceName !== undefined) where += `\\${config.mssql.instanceName}`;
  if (config.host === undefined && config.query.unix_socket) where = `socket ${config.query.unix_socket}`;
  if (config.port !== undefined) where += `:${config.port}`;
  if (config.oracle?.serviceName !== undefined) where += ` service ${config.oracle.serviceName}`;
  else if (config.oracle?.sid !== undefined) where += ` SID ${config.oracle.sid}`;
  else if (config.database !== undefined) where += `/${config.database}`;
  if (odbc?.driver !== undefined) where += ` via ODBC driver "${odbc.driver}"`;
  return `${config.dialect} at ${where}${login}`;
}

/**
 * Throws `ConnectionStringError` when the Node driver package for `config` is not installed,
 * naming the package to install. `resolve` is for tests; it defaults to Node's `require.resolve`.
 *
 * @example
 *   assertDriverAvailable(parseConnectionString('mssql+pyodbc://sa:pw@dsnname'));
 *   // without odbc: throws 'this mssql connection string (ODBC DSN "dsnname") needs the Node package odbc, ...: run "npm install odbc" ...'
 */
export function assertDriverAvailable(config: ConnectionConfig, resolve: (id: string) => string = defaultResolve): void {
  if (installed(config.nodeDriver, resolve) && (COMPANIONS[config.nodeDriver] ?? []).every((id) => installed(id, resolve))) return;
  // The SQL Server, ODBC and Oracle drivers are optional peers of this package, each with a companion.
  const needed = [config.nodeDriver, ...(COMPANIONS[config.nodeDriver] ?? [])];
  const missing = needed.filter((id) => !installed(id, resolve));
  const names = missing.join(' and ');
  const where = 'next to openorchestrator: in the same project, or with -g beside a global install';
  // describeConnection says which ODBC form it is (a DSN, odbc_connect, a Windows login).
  const what = config.nodeDriver === 'odbc' ? `this ${config.dialect} connection string (${describeConnection(config).replace(/^\w+ /, '')})` : `this ${config.dialect} connection string`;
  const build = missing.includes('odbc') ? '; on Linux it compiles against unixODBC: apt install unixodbc-dev first' : '';
  fail(
    missing.length === 1
      ? `${what} needs the Node package ${names}, which is not installed: run "npm install ${missing.join(' ')}" (${where}${build})`
      : `${what} needs the Node packages ${names}, which are not installed: run "npm install ${missing.join(' ')}" (${where}${build})`,
  );
}

/** Packages a driver needs beside itself (the pool of tedious and odbc, the Kysely dialect of oracledb). */
const COMPANIONS: Record<string, string[]> = { tedious: ['tarn'], odbc: ['tarn'], oracledb: ['kysely-oracledb'] };

function installed(id: string, resolve: (id: string) => string): boolean {
  try {
    resolve(id);
    return true;
  } catch (error) {
    // Installed but without a CommonJS entry point (ESM-only exports) still counts as installed.
    return (error as NodeJS.ErrnoException | undefined)?.code !== 'MODULE_NOT_FOUND';
  }
}

function defaultResolve(id: string): string {
  return createRequire(import.meta.url).resolve(id);
}
