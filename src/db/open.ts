/**
 * Opening a database from a connection string: the one place that joins the parser, the
 * dialect and the driver. Everything above works with a `Store`.
 */
import type { Kysely } from 'kysely';
import { assertDriverAvailable, checkSqlitePath, describeConnection, parseConnectionString, type ConnectionConfig } from '../config/connection-string.js';
import { connectionSecrets, scrubSecrets } from '../config/secrets.js';
import { AccessDeniedError, ClaimConflictError, DatabaseError, isUserFacingError } from '../errors.js';
import { claimGuardRefusal } from './dialects/dialect.js';
import { dialectFor, type Dialect } from './dialects/index.js';
import { isOdbcError, odbcFailure } from './dialects/odbc.js';
import type { Database } from './types.js';

/** An open database: the query builder, its dialect and what it was opened with. */
export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  config: ConnectionConfig;
}

/**
 * Opens (lazily: drivers connect on the first query) the database a connection string names.
 *
 * @example
 *   const store = openStore('sqlite+pysqlite:///orchestrator.db');
 *   try { ... } finally { await closeStore(store); }
 */
export function openStore(connectionString: string): Store {
  return openStoreWith(parseConnectionString(connectionString));
}

/**
 * Opens a database from a parsed config: a connection string's with a login of its own (the
 * Orchestrator's team mode), never written back into text.
 *
 * @example
 *   const store = openStoreWith({ ...parseConnectionString(url), user: 'alice', password, poolSize: 3 });
 */
export function openStoreWith(config: ConnectionConfig): Store {
  checkSqlitePath(config);
  assertDriverAvailable(config);
  const dialect = dialectFor(config.dialect);
  return { db: dialect.createKysely(config), dialect, config };
}

export async function closeStore(store: Store): Promise<void> {
  await store.db.destroy();
}

const DRIVER_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused; is the database server running and listening there?',
  ENOTFOUND: 'host not found; check the host name',
  ETIMEDOUT: 'connection timed out; check the host, port and firewall',
  ECONNRESET: 'the server closed the connection',
  EHOSTUNREACH: 'host unreachable; check the host name, the network and the firewall',
  ENETUNREACH: 'network unreachable; check the host name, the network and the firewall',
  EAI_AGAIN: 'the host name could not be resolved now; check DNS',
  // tedious's own code for its connect timeout
  ETIMEOUT: 'connection timed out; check the host, port and firewall (connect_timeout sets the wait)',
  '28P01': 'password authentication failed; check the user name and password',
  '28000': 'the server refused this login; check the user name and password',
  '3D000': 'the database does not exist; create it first',
  ER_ACCESS_DENIED_ERROR: 'access denied; check the user name and password',
  ER_BAD_DB_ERROR: 'the database does not exist; create it first',
  ER_DBACCESS_DENIED_ERROR: 'this login may not use that database',
  SQLITE_CANTOPEN: 'cannot open the SQLite file; check that its folder exists and is writable',
  SQLITE_BUSY: 'the SQLite file stayed locked by another process longer than the busy timeout',
  SQLITE_READONLY: 'the SQLite file is read-only for this user',
};

/**
 * Turns a driver error into a one-line DatabaseError that names the server but never the
 * password. User-facing errors of our own pass through unchanged.
 */
export function toDatabaseError(error: unknown, config: ConnectionConfig): Error {
  if (isUserFacingError(error)) return error;
  const err = error as { code?: string; message?: string };
  const where = describeConnection(config);
  // Before the ODBC and code lookups: every driver carries the guard's own line in its message.
  const refusal = claimGuardRefusal(error);
  if (refusal !== undefined) return new ClaimConflictError(`database error (${where}): ${scrubSecrets(refusal, connectionSecrets(config))}`);
  const code = rootCode(error);
  const known = code ? DRIVER_CODES[code] : undefined;
  const firstLine = String(err.message ?? error).split('\n')[0] ?? 'unknown error';
  if (isOdbcError(error)) {
    // SQLSTATEs mean the same in every driver, but the fixes are ODBC's (a DSN, a driver, odbc.ini).
    const denied = permissionDenied(error);
    const odbc = denied ?? missingFromSchema(error) ?? odbcFailure(error, config.odbc ?? {});
    const message = `database error (${where}): ${scrubSecrets(odbc, connectionSecrets(config))}`;
    return denied !== undefined ? new AccessDeniedError(message) : new DatabaseError(message);
  }
  const tls = tlsRefusal(code, error);
  const denied = known ?? tls ? undefined : permissionDenied(error);
  let detail = known ?? tls ?? denied ?? missingFromSchema(error) ?? firstLine;
  // PostgreSQL's reason (pg_hba.conf demands TLS, a client certificate, ...) is what to fix.
  if (code === '28000' && firstLine !== '') detail = `the server refused this login (${firstLine}); check the user name, the password and what the server's pg_hba.conf asks for`;
  detail = scrubSecrets(detail, connectionSecrets(config));
  const message = `database error (${where}): ${detail}`;
  return denied !== undefined ? new AccessDeniedError(message) : new DatabaseError(message);
}

const NETWORK_CODE = /\b(ECONNREFUSED|ENOTFOUND|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN)\b/;

/**
 * The most telling code of a driver error. tedious wraps the socket's error as an AggregateError
 * in `cause` (its own message says only "Could not connect (sequence)"), node-oracledb puts it
 * on the message's second line; a known code there beats the wrapper's generic one.
 */
function rootCode(error: unknown, depth = 0): string | undefined {
  const err = error as { code?: unknown; cause?: unknown; errors?: unknown; message?: unknown } | undefined;
  if (err === undefined || err === null || depth > 3) return undefined;
  const inner = [err.cause, ...(Array.isArray(err.errors) ? err.errors : [])].map((e) => rootCode(e, depth + 1)).find((c) => c !== undefined && c in DRIVER_CODES);
  if (inner !== undefined) return inner;
  const own = typeof err.code === 'string' ? err.code : undefined;
  if (own !== undefined && own in DRIVER_CODES) return own;
  return NETWORK_CODE.exec(String(err.message ?? ''))?.[1] ?? own;
}

const CERT_CODES = /^(?:SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(?:_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_SIGNATURE_FAILURE|CERT_UNTRUSTED)$/;

/** A refused server certificate as one line that says which check failed and what to change. */
function tlsRefusal(code: string | undefined, error: unknown): string | undefined {
  const message = String((error as { message?: unknown } | undefined)?.message ?? '').split('\n')[0] ?? '';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || (code === 'HANDSHAKE_SSL_ERROR' && /altnames/.test(message))) {
    return `the server's TLS certificate is not made out to this host name (${message}); connect by a name the certificate lists, or verify the chain only (sslmode=verify-ca, ssl_mode=VERIFY_CA)`;
  }
  if (code === 'HANDSHAKE_NO_SSL_SUPPORT' || message === 'The server does not support SSL connections') {
    return 'the server does not offer TLS, which the connection string asks for; enable TLS on the server, or drop the TLS options (sslmode, ssl_*) to connect in plain text';
  }
  // mysql2 reports every TLS failure as HANDSHAKE_SSL_ERROR with Node's message only.
  const certificate = (code !== undefined && CERT_CODES.test(code)) || (code === 'HANDSHAKE_SSL_ERROR' && /certificate/i.test(message));
  if (certificate) {
    return `the server's TLS certificate is not trusted (${code === 'HANDSHAKE_SSL_ERROR' ? message : `${code}: ${message}`}); name the CA that signed it (sslrootcert=, ssl_ca=) or check that it is still valid`;
  }
  return undefined;
}

/**
 * A statement that names a table or column the database lacks: a schema older than this program
 * (a robot on a database nobody upgraded), said as what to do. Undefined for other errors.
 */
export function missingFromSchema(error: unknown): string | undefined {
  const err = error as { code?: unknown; errno?: unknown; message?: unknown };
  const message = String(err?.message ?? '').split('\n')[0] ?? '';
  const missing =
    err?.code === '42P01' || err?.code === '42703' || err?.code === 'ER_NO_SUCH_TABLE' || err?.code === 'ER_BAD_FIELD_ERROR' || /^(no such (table|column): |table \S+ has no column named )/.test(message)
      ? message
      : undefined;
  if (!missing) return undefined;
  return `the database schema lacks what this program needs (${missing}): run \`openorchestrator upgrade\` on it once (the Python tools keep working after it)`;
}

/** Driver codes that say the login or the database named is wrong: waiting does not fix them. */
const LOGIN_CODES = new Set(['28P01', '28000', '3D000', 'ER_ACCESS_DENIED_ERROR', 'ER_DBACCESS_DENIED_ERROR', 'ER_BAD_DB_ERROR', 'ELOGIN']);

/**
 * True when the server refused the login itself (wrong user or password, no such database), as
 * opposed to an outage: a daemon that has never connected stops on it instead of retrying for ever.
 */
export function loginRefused(error: unknown): boolean {
  const code = rootCode(error);
  if (code !== undefined && LOGIN_CODES.has(code)) return true;
  const err = error as { errorNum?: unknown; message?: unknown } | undefined;
  return Number(err?.errorNum) === 1017 || /^ORA-01017\b/.test(String(err?.message ?? ''));
}

const GRANTS_HINT = 'give the login the rights of its role (`openorchestrator grants`, docs/access.md)';

/** A driver's "permission denied" as one line naming the missing right, or undefined for other errors. */
export function permissionDenied(error: unknown): string | undefined {
  const err = error as { code?: unknown; number?: unknown; errorNum?: unknown; message?: unknown };
  const message = String(err?.message ?? '').split('\n')[0] ?? '';
  const name = (text: string | undefined) => (text ?? '?').replace(/[`'"[\]]/g, '').split('.').at(-1);
  let m: RegExpExecArray | null;
  if (err?.code === '42501') {
    // PostgreSQL names the object, not the privilege; "must be owner" is ALTER/DROP/CREATE INDEX.
    if ((m = /^must be owner of (\w+) (.+)$/.exec(message))) return `this login lacks ownership of ${m[1]} ${name(m[2])}, which altering or dropping it needs (only the admin login changes the schema); ${GRANTS_HINT}`;
    if ((m = /^permission denied for schema (.+)$/.exec(message))) return `this login lacks CREATE on schema ${name(m[1])} (only the admin login changes the schema); ${GRANTS_HINT}`;
    if ((m = /^permission denied for (?:table|relation) (.+)$/.exec(message))) return `this login lacks the right this action needs on table ${name(m[1])} (PostgreSQL: ${message}); ${GRANTS_HINT}`;
    return `this login lacks a right (PostgreSQL: ${message}); ${GRANTS_HINT}`;
  }
  if (err?.code === 'ER_COLUMNACCESS_DENIED_ERROR' && (m = /^(\w+) command denied .* for column (\S+) in table (\S+)/.exec(message))) {
    return `this login lacks the ${m[1]} right on column ${name(m[3])}.${name(m[2])}; ${GRANTS_HINT}`;
  }
  if (err?.code === 'ER_TABLEACCESS_DENIED_ERROR' && (m = /^(\w+) command denied .* for table (\S+)/.exec(message))) {
    return `this login lacks the ${m[1]} right on table ${name(m[2])}; ${GRANTS_HINT}`;
  }
  if (err?.code === 'ER_SPECIFIC_ACCESS_DENIED_ERROR') {
    m = /the (.+?) privilege/.exec(message);
    return `this login lacks the ${m?.[1] ?? 'needed'} privilege; ${GRANTS_HINT}`;
  }
  const number = Number(err?.number);
  if (number === 229 && (m = /The (.+?) permission was denied on the object '([^']+)'/.exec(message))) return `this login lacks the ${m[1]} right on ${m[2]}; ${GRANTS_HINT}`;
  if (number === 230 && (m = /The (.+?) permission was denied on the column '([^']+)' of the object '([^']+)'/.exec(message))) {
    return `this login lacks the ${m[1]} right on column ${m[3]}.${m[2]}; ${GRANTS_HINT}`;
  }
  if (/^ORA-01031\b/.test(message) || Number(err?.errorNum) === 1031) return `this login lacks the privilege this action needs (ORA-01031: insufficient privileges); ${GRANTS_HINT}`;
  if (/^ORA-00942\b/.test(message) || Number(err?.errorNum) === 942) {
    return `the table does not exist or this login has no right on it (ORA-00942; Oracle hides tables a login may not read); ${GRANTS_HINT}`;
  }
  return undefined;
}
