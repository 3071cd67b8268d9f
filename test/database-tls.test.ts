/**
 * Database TLS fails closed. The connection-string options of libpq, PyMySQL/mysqlclient, ODBC
 * and python-oracledb are checked as the options each Node driver receives; then live, against a
 * PostgreSQL and a MariaDB of this test's own that accept only TLS over TCP (the shared servers
 * run without TLS and are not touched): verification passes with the right root, fails with a
 * wrong root and, where asked, with a host name the certificate does not name.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../src/config/connection-string.js';
import { connectionSecrets } from '../src/config/secrets.js';
import { tediousConfig } from '../src/db/dialects/mssql.js';
import { mysqlPoolConfig } from '../src/db/dialects/mysql.js';
import { oracleConnectString, oraclePoolAttributes } from '../src/db/dialects/oracle.js';
import { postgresPoolConfig } from '../src/db/dialects/postgres.js';
import { closeStore, openStore, toDatabaseError } from '../src/db/open.js';
import { ConnectionStringError, DatabaseError } from '../src/errors.js';
import { freePort, isolateHome, makeCerts, startMariadbTls, startPostgresTls, type TestCerts, type TestServer } from './helpers/tls-servers.js';

const certs: TestCerts = makeCerts();
const restoreHome = isolateHome();
afterAll(() => {
  restoreHome();
  rmSync(certs.dir, { recursive: true, force: true });
});

/** The ConnectionStringError message `fn` throws. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConnectionStringError);
    const message = (error as Error).message;
    expect(message).not.toContain('\n');
    return message;
  }
  throw new Error('expected a ConnectionStringError');
}

const pgConfig = (query: string) => postgresPoolConfig(parseConnectionString(`postgresql://u:p@db.example/oo?${query}`));
const myConfig = (query: string) => mysqlPoolConfig(parseConnectionString(`mysql+pymysql://u:p@db.example/oo?${query}`));
const msOptions = (url: string) => tediousConfig(parseConnectionString(url)).options!;

describe('PostgreSQL: libpq sslmode as pg options', () => {
  it('disable, allow and prefer connect without TLS; require encrypts without checking', () => {
    for (const query of ['', 'sslmode=disable', 'sslmode=allow', 'sslmode=prefer']) expect(pgConfig(query).ssl).toBeUndefined();
    expect(pgConfig('sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
    expect(pgConfig('sslmode=REQUIRE').ssl).toEqual({ rejectUnauthorized: false });
  });

  it('verify-ca checks the chain but not the name; verify-full both; the root file is read', () => {
    const ca = pgConfig(`sslmode=verify-ca&sslrootcert=${certs.caCert}`).ssl as Record<string, unknown>;
    expect(ca.rejectUnauthorized).toBe(true);
    expect(String(ca.ca)).toContain('BEGIN CERTIFICATE');
    expect((ca.checkServerIdentity as () => unknown)()).toBeUndefined();
    const full = pgConfig(`sslmode=verify-full&sslrootcert=${certs.caCert}`).ssl as Record<string, unknown>;
    expect(full.rejectUnauthorized).toBe(true);
    expect(String(full.ca)).toContain('BEGIN CERTIFICATE');
    expect(full.checkServerIdentity).toBeUndefined(); // Node's own check of the host name
  });

  it('require with a root certificate verifies the chain, as libpq does; sslrootcert=system means verify-full on public roots', () => {
    expect(parseConnectionString(`postgresql://u@h/oo?sslmode=require&sslrootcert=${certs.caCert}`).tls?.mode).toBe('verify-ca');
    expect(parseConnectionString('postgresql://u@h/oo?sslrootcert=system').tls).toEqual({ mode: 'verify-full' });
    expect(pgConfig('sslmode=verify-full&sslrootcert=system').ssl).toEqual({ rejectUnauthorized: true });
    expect(refusal(() => parseConnectionString('postgresql://u@h/oo?sslmode=require&sslrootcert=system'))).toMatch(/sslrootcert=system.*needs sslmode=verify-full/);
  });

  it('client certificate, key and key passphrase; the passphrase counts as a secret', () => {
    const ssl = pgConfig(`sslmode=require&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}&sslpassword=k3y-pass`).ssl as Record<string, unknown>;
    expect(String(ssl.cert)).toContain('BEGIN CERTIFICATE');
    expect(String(ssl.key)).toContain('PRIVATE KEY');
    expect(ssl.passphrase).toBe('k3y-pass');
    expect(connectionSecrets(parseConnectionString('postgresql://u:pw@h/oo?sslmode=require&sslpassword=k3y-pass'))).toEqual(['pw', 'k3y-pass']);
  });

  it('a Unix socket ignores sslmode, as libpq does', () => {
    expect(postgresPoolConfig(parseConnectionString('postgresql://u@/oo?host=/var/run/postgresql&sslmode=require')).ssl).toBeUndefined();
  });

  it('refuses unknown values, miscased names and missing files in one line', () => {
    expect(refusal(() => parseConnectionString('postgresql://u@h/oo?sslmode=verify'))).toBe(
      'postgresql connection string has sslmode="verify", which libpq does not know: use disable, allow, prefer, require, verify-ca or verify-full',
    );
    expect(refusal(() => parseConnectionString('postgresql://u@h/oo?SSLMODE=verify-full'))).toMatch(/"SSLMODE" must be written in lower case: sslmode/);
    const missing = join(certs.dir, 'nope.crt');
    expect(refusal(() => openStore(`postgresql://u@h/oo?sslmode=verify-full&sslrootcert=${missing}`))).toBe(
      `connection string option sslrootcert names the file ${missing}, which does not exist: fix the path or the file's permissions`,
    );
    expect(refusal(() => openStore(`postgresql://u@h/oo?sslmode=require&sslcert=${missing}`))).toMatch(/option sslcert names the file .*nope\.crt, which does not exist/);
  });

  it('without sslrootcert, ~/.postgresql/root.crt: needed by verify-full, used by require when present', () => {
    const home = mkdtempSync(join(tmpdir(), 'oo-home-'));
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      expect(refusal(() => pgConfig('sslmode=verify-full'))).toMatch(/^sslmode=verify-full needs the server's root certificate, and .*root\.crt does not exist: add sslrootcert=/);
      mkdirSync(join(home, '.postgresql'));
      expect(pgConfig('sslmode=require').ssl).toEqual({ rejectUnauthorized: false });
      writeFileSync(join(home, '.postgresql', 'root.crt'), 'pem here');
      expect(String((pgConfig('sslmode=verify-ca').ssl as Record<string, unknown>).ca)).toBe('pem here');
      // libpq: require with a root certificate present verifies the chain.
      const require = pgConfig('sslmode=require').ssl as Record<string, unknown>;
      expect(require).toMatchObject({ rejectUnauthorized: true });
      expect(String(require.ca)).toBe('pem here');
      expect((require.checkServerIdentity as () => unknown)()).toBeUndefined();
    } finally {
      process.env.HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });
});

describe('MySQL/MariaDB: PyMySQL and mysqlclient options as mysql2 options', () => {
  const mode = (query: string) => parseConnectionString(`mysql+pymysql://u@h/oo?${query}`).tls?.mode;

  it('maps every option to a mode', () => {
    const cases: Array<[string, string]> = [
      ['', 'off'],
      ['ssl=true', 'encrypt'],
      ['ssl=false', 'off'],
      [`ssl_ca=${certs.caCert}`, 'verify-full'], // PyMySQL: a CA checks the chain and the host name
      [`ssl_ca=${certs.caCert}&ssl_check_hostname=false`, 'verify-ca'],
      [`ssl_ca=${certs.caCert}&ssl_verify_identity=false`, 'verify-ca'],
      [`ssl_ca=${certs.caCert}&ssl_verify_cert=false&ssl_verify_identity=false`, 'encrypt'],
      [`ssl_cert=${certs.clientCert}&ssl_key=${certs.clientKey}`, 'encrypt'],
      ['ssl_verify_cert=true', 'verify-ca'],
      ['ssl_verify_identity=true', 'verify-full'],
      ['ssl_disabled=true', 'off'],
      ['ssl_mode=DISABLED', 'off'],
      ['ssl_mode=PREFERRED', 'off'],
      ['ssl_mode=REQUIRED', 'encrypt'],
      [`ssl_mode=REQUIRED&ssl_ca=${certs.caCert}`, 'encrypt'], // mysqlclient: an explicit mode wins
      ['ssl_mode=verify_ca', 'verify-ca'],
      ['ssl_mode=VERIFY_IDENTITY', 'verify-full'],
    ];
    for (const [query, expected] of cases) expect([query, mode(query)]).toEqual([query, expected]);
  });

  it('builds mysql2 ssl options that fail closed', () => {
    expect(myConfig('').ssl).toBeUndefined();
    expect(myConfig('ssl=true').ssl).toEqual({ rejectUnauthorized: false, verifyIdentity: false });
    const full = myConfig(`ssl_ca=${certs.caCert}&ssl_cert=${certs.clientCert}&ssl_key=${certs.clientKey}&ssl_key_password=kp`).ssl as unknown as Record<string, unknown>;
    expect(full).toMatchObject({ rejectUnauthorized: true, verifyIdentity: true, passphrase: 'kp' });
    expect(String(full.ca)).toContain('BEGIN CERTIFICATE');
    expect(String(full.cert)).toContain('BEGIN CERTIFICATE');
    expect(String(full.key)).toContain('PRIVATE KEY');
    expect(myConfig(`ssl_mode=VERIFY_CA&ssl_ca=${certs.caCert}`).ssl).toMatchObject({ rejectUnauthorized: true, verifyIdentity: false });
  });

  it('refuses unknown values, contradictions, miscased names and missing files in one line', () => {
    expect(refusal(() => mode('ssl_mode=STRICT'))).toBe('mysql connection string has ssl_mode="STRICT", which is not known: use DISABLED, PREFERRED, REQUIRED, VERIFY_CA or VERIFY_IDENTITY');
    expect(refusal(() => mode('ssl=maybe'))).toBe('mysql connection string option ssl has the value "maybe", which is not a yes/no value: write ssl=true or ssl=false');
    expect(refusal(() => mode('ssl_verify_cert=false&ssl_verify_identity=true'))).toMatch(/check the host name but not the certificate/);
    expect(refusal(() => mode(`SSL_CA=${certs.caCert}`))).toMatch(/"SSL_CA" must be written in lower case: ssl_ca/);
    expect(refusal(() => openStore('mysql+pymysql://u@h/oo?ssl_ca=/no/such/ca.pem'))).toBe(
      'connection string option ssl_ca names the file /no/such/ca.pem, which does not exist: fix the path or the file\'s permissions',
    );
  });
});

describe('SQL Server: ODBC Encrypt and TrustServerCertificate as tedious options', () => {
  const base = 'mssql+pyodbc://sa:pw@db:1433/oo';

  it('verifies by default, as ODBC Driver 18 does; keys and values in any case', () => {
    expect(msOptions(base)).toMatchObject({ encrypt: true, trustServerCertificate: false });
    expect(msOptions('mssql+pymssql://sa:pw@db:1433/oo')).toMatchObject({ encrypt: true, trustServerCertificate: false });
    expect(msOptions(`${base}?TrustServerCertificate=yes`)).toMatchObject({ encrypt: true, trustServerCertificate: true });
    expect(msOptions(`${base}?trustservercertificate=YES`)).toMatchObject({ encrypt: true, trustServerCertificate: true });
    expect(msOptions(`${base}?TRUSTSERVERCERTIFICATE=No`)).toMatchObject({ encrypt: true, trustServerCertificate: false });
    expect(msOptions(`${base}?encrypt=Mandatory&TrustServerCertificate=true`)).toMatchObject({ encrypt: true, trustServerCertificate: true });
  });

  it('strict is TDS 8 and always checks; no and optional encrypt the login only', () => {
    expect(msOptions(`${base}?Encrypt=strict&TrustServerCertificate=yes`)).toMatchObject({ encrypt: 'strict', trustServerCertificate: false });
    for (const value of ['no', 'NO', 'optional', 'false']) expect(msOptions(`${base}?Encrypt=${value}`)).toMatchObject({ encrypt: false, trustServerCertificate: true });
  });

  it('ODBC Driver 17 and older default to Encrypt=no, as they do', () => {
    expect(msOptions(`${base}?driver=ODBC+Driver+17+for+SQL+Server`)).toMatchObject({ encrypt: false });
    expect(msOptions(`${base}?driver=ODBC+Driver+18+for+SQL+Server`)).toMatchObject({ encrypt: true, trustServerCertificate: false });
    expect(msOptions(`${base}?driver=ODBC+Driver+17+for+SQL+Server&Encrypt=yes`)).toMatchObject({ encrypt: true, trustServerCertificate: false });
  });

  it('refuses unknown values and the same option twice in two cases', () => {
    expect(refusal(() => parseConnectionString(`${base}?Encrypt=always`))).toBe('mssql connection string has Encrypt="always", which is not known: use yes, no, strict, mandatory or optional');
    expect(refusal(() => parseConnectionString(`${base}?TrustServerCertificate=maybe`))).toBe('mssql connection string has TrustServerCertificate="maybe", which is not known: use yes or no');
    expect(refusal(() => parseConnectionString(`${base}?Encrypt=yes&encrypt=no`))).toBe('mssql connection string gives the option Encrypt twice (Encrypt, encrypt): keep only one');
  });

  it('takes the connect timeout from timeout (pyodbc), login_timeout (pymssql) or connect_timeout', () => {
    expect(msOptions(base).connectTimeout).toBe(15_000);
    expect(msOptions(`${base}?timeout=5`).connectTimeout).toBe(5_000);
    expect(msOptions('mssql+pymssql://sa:pw@db:1433/oo?login_timeout=7').connectTimeout).toBe(7_000);
    expect(msOptions(`${base}?connect_timeout=2.5`).connectTimeout).toBe(2_500);
    expect(refusal(() => parseConnectionString(`${base}?timeout=soon`))).toBe('mssql connection string has timeout="soon": write a number of seconds above 0 and at most 3600, e.g. timeout=15');
  });
});

describe('Oracle thin mode: the connect descriptor and protocol=tcps', () => {
  it('builds a descriptor the thin driver accepts for the README example and for a SID', () => {
    expect(oracleConnectString(parseConnectionString('oracle+oracledb://user:pw@host:1521/?service_name=X'))).toBe(
      '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=host)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=X)))',
    );
    expect(oracleConnectString(parseConnectionString('oracle+cx_oracle://user:pw@db.example/ORCL'))).toBe(
      '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db.example)(PORT=1521))(CONNECT_DATA=(SID=ORCL)))',
    );
    expect(refusal(() => parseConnectionString('oracle+oracledb://u:p@h:1521/?service_name=X)(HOST=evil'))).toMatch(/service name with characters Oracle names cannot hold/);
  });

  it('maps tcps, the DN match, the wallet and its password', () => {
    const wallet = mkdtempSync(join(tmpdir(), 'oo-wallet-'));
    writeFileSync(join(wallet, 'ewallet.pem'), 'pem');
    try {
      const url = `oracle+oracledb://u:pw@db:2484/?service_name=S&protocol=tcps&wallet_location=${wallet}&wallet_password=w4llet&ssl_server_cert_dn=CN%3Ddb`;
      const attributes = oraclePoolAttributes(parseConnectionString(url));
      expect(attributes).toMatchObject({ sslServerDNMatch: true, sslServerCertDN: 'CN=db', walletLocation: wallet, walletPassword: 'w4llet', connectTimeout: 15 });
      expect(attributes.connectString).toBe('(DESCRIPTION=(ADDRESS=(PROTOCOL=TCPS)(HOST=db)(PORT=2484))(CONNECT_DATA=(SERVICE_NAME=S)))');
      expect(connectionSecrets(parseConnectionString(url))).toEqual(['pw', 'w4llet']);
      expect(oraclePoolAttributes(parseConnectionString('oracle+oracledb://u:p@db/?service_name=S&protocol=TCPS&ssl_server_dn_match=false')).sslServerDNMatch).toBe(false);
      expect(oraclePoolAttributes(parseConnectionString('oracle+oracledb://u:p@db/?service_name=S')).sslServerDNMatch).toBeUndefined();
    } finally {
      rmSync(wallet, { recursive: true, force: true });
    }
  });

  it('refuses what thin mode cannot do, TLS options without tcps and a wallet without ewallet.pem', () => {
    expect(refusal(() => parseConnectionString('oracle+oracledb://u:p@db/?service_name=S&protocol=ipc'))).toBe('oracle connection string has protocol="ipc", which thin mode cannot use: write protocol=tcp or protocol=tcps');
    expect(refusal(() => parseConnectionString('oracle+oracledb://u:p@db/?service_name=S&ssl_server_dn_match=true'))).toMatch(/has ssl_server_dn_match but no protocol=tcps/);
    expect(refusal(() => openStore(`oracle+oracledb://u:p@db/?service_name=S&protocol=tcps&wallet_location=${certs.dir}`))).toMatch(/wallet_location names .*, which holds no ewallet\.pem/);
  });
});

describe('connection errors name host, port and cause, soon', () => {
  /** Runs one query on `url` and returns the translated error's message and how long it took. */
  async function failure(url: string): Promise<{ message: string; ms: number }> {
    const store = openStore(url);
    const started = Date.now();
    try {
      await sql`SELECT 1 AS one FROM (SELECT 1 AS x) t`.execute(store.db);
    } catch (error) {
      const translated = toDatabaseError(error, store.config);
      expect(translated).toBeInstanceOf(DatabaseError);
      return { message: translated.message, ms: Date.now() - started };
    } finally {
      await closeStore(store);
    }
    throw new Error('expected the connection to fail');
  }

  it('SQL Server on a closed port: refused at once, not after 30 s of "Could not connect (sequence)"', async () => {
    const port = await freePort();
    const { message, ms } = await failure(`mssql+pymssql://sa:pw@127.0.0.1:${port}/db`);
    expect(message).toBe(`database error (mssql at 127.0.0.1:${port}/db (user sa)): connection refused; is the database server running and listening there?`);
    expect(ms).toBeLessThan(10_000);
  });

  it('SQL Server that never answers: the connect timeout of the connection string', async () => {
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as { port: number }).port;
    try {
      const { message, ms } = await failure(`mssql+pyodbc://sa:pw@127.0.0.1:${port}/db?timeout=1`);
      expect(message).toMatch(new RegExp(`^database error \\(mssql at 127\\.0\\.0\\.1:${port}/db \\(user sa\\)\\): connection timed out`));
      expect(ms).toBeLessThan(15_000);
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('Oracle on a closed port: the README form is accepted by the thin driver and refused by the port', async () => {
    const port = await freePort();
    const { message } = await failure(`oracle+oracledb://user:pw@127.0.0.1:${port}/?service_name=X`);
    expect(message).toBe(`database error (oracle at 127.0.0.1:${port} service X (user user)): connection refused; is the database server running and listening there?`);
  });
});

describe('live: the shared servers, which have no TLS', () => {
  it('asking for TLS is refused, not answered in plain text', async () => {
    const message = 'the server does not offer TLS, which the connection string asks for; enable TLS on the server, or drop the TLS options (sslmode, ssl_*) to connect in plain text';
    const pg = await attempt('postgresql://postgres@127.0.0.1:5432/postgres?sslmode=require', 'SELECT 1');
    expect(pg.error).toBe(`database error (postgres at 127.0.0.1:5432/postgres (user postgres)): ${message}`);
    const maria = await attempt('mysql+pymysql://root@127.0.0.1:3306/mysql?ssl=true', 'SELECT 1');
    expect(maria.error).toBe(`database error (mysql at 127.0.0.1:3306/mysql (user root)): ${message}`);
  });
});

/** Opens `url`, runs `query`, closes; returns the rows or the translated one-line error. */
async function attempt<T>(url: string, query: string): Promise<{ rows?: T[]; error?: string }> {
  const store = openStore(url);
  try {
    const result = await sql.raw<T>(query).execute(store.db);
    return { rows: result.rows };
  } catch (error) {
    return { error: toDatabaseError(error, store.config).message };
  } finally {
    await closeStore(store);
  }
}

describe('live: a PostgreSQL of its own that accepts only TLS over TCP', () => {
  let server: TestServer;
  const url = (host: string, query: string, login = 'postgres') => `postgresql://${login}@${host}:${server.port}/postgres?${query}`;
  const TLS_IN_USE = 'SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()';

  beforeAll(async () => {
    // The server's certificate is self-signed for DNS:localhost, like Debian's snakeoil.
    server = await startPostgresTls(certs.selfCert, certs.selfKey, certs.caCert);
    const admin = await attempt(url('localhost', 'sslmode=require'), 'CREATE ROLE oo_client LOGIN');
    expect(admin.error).toBeUndefined();
  }, 120_000);
  afterAll(() => server?.stop());

  it('sslmode=require encrypts (and the server refuses plain text, so prefer cannot get in)', async () => {
    expect(await attempt(url('127.0.0.1', 'sslmode=require'), TLS_IN_USE)).toEqual({ rows: [{ ssl: true }] });
    for (const query of ['sslmode=disable', 'sslmode=prefer']) {
      expect((await attempt(url('127.0.0.1', query), TLS_IN_USE)).error).toMatch(/the server refused this login \(pg_hba\.conf rejects connection .* no encryption\); check/);
    }
  });

  it('verify-ca with the server\'s own certificate as root connects, also by IP address', async () => {
    expect(await attempt(url('127.0.0.1', `sslmode=verify-ca&sslrootcert=${certs.selfCert}`), TLS_IN_USE)).toEqual({ rows: [{ ssl: true }] });
  });

  it('verify-full connects by the name in the certificate and fails by another name', async () => {
    expect(await attempt(url('localhost', `sslmode=verify-full&sslrootcert=${certs.selfCert}`), TLS_IN_USE)).toEqual({ rows: [{ ssl: true }] });
    const wrongName = await attempt(url('127.0.0.1', `sslmode=verify-full&sslrootcert=${certs.selfCert}`), TLS_IN_USE);
    expect(wrongName.error).toMatch(/^database error \(postgres at 127\.0\.0\.1:\d+\/postgres \(user postgres\)\): the server's TLS certificate is not made out to this host name \(.*127\.0\.0\.1.*\); connect by a name/);
  });

  it('a wrong root fails closed, for verify-full, verify-ca and require with a root', async () => {
    for (const mode of ['verify-full', 'verify-ca', 'require']) {
      const wrongCa = await attempt(url('localhost', `sslmode=${mode}&sslrootcert=${certs.wrongCa}`), TLS_IN_USE);
      expect(wrongCa.error).toMatch(/the server's TLS certificate is not trusted \((?:DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN): .*\); name the CA/);
    }
  });

  it('a client certificate logs in where pg_hba asks for one', async () => {
    const withCert = url('localhost', `sslmode=verify-full&sslrootcert=${certs.selfCert}&sslcert=${certs.clientCert}&sslkey=${certs.clientKey}`, 'oo_client');
    expect(await attempt<{ user: string }>(withCert, 'SELECT current_user AS "user"')).toEqual({ rows: [{ user: 'oo_client' }] });
    const without = await attempt(url('localhost', `sslmode=verify-full&sslrootcert=${certs.selfCert}`, 'oo_client'), 'SELECT 1');
    expect(without.error).toMatch(/certificate/);
  });
});

describe('live: a MariaDB of its own with require_secure_transport=ON', () => {
  let server: TestServer;
  const url = (host: string, query: string, login = 'oo_tls:Tls-pw-1') => `mysql+pymysql://${login}@${host}:${server.port}/oo?${query}`;
  const CIPHER = "SHOW STATUS LIKE 'Ssl_cipher'";

  beforeAll(async () => {
    // The server's certificate is signed by the test CA and made out to DNS:localhost only.
    server = await startMariadbTls(certs.serverCert, certs.serverKey, certs.caCert);
    const admin = await mysql.createConnection({ socketPath: server.socket, user: 'root' });
    try {
      for (const statement of [
        'CREATE DATABASE oo',
        "CREATE USER 'oo_tls'@'%' IDENTIFIED BY 'Tls-pw-1' REQUIRE SSL",
        "GRANT ALL ON oo.* TO 'oo_tls'@'%'",
        "CREATE USER 'oo_x509'@'%' IDENTIFIED BY 'X509-pw-1' REQUIRE X509",
        "GRANT ALL ON oo.* TO 'oo_x509'@'%'",
      ]) {
        await admin.query(statement);
      }
    } finally {
      await admin.end();
    }
  }, 120_000);
  afterAll(() => server?.stop());

  const cipherOf = (rows: unknown[] | undefined) => (rows?.[0] as { Value?: string } | undefined)?.Value ?? '';

  it('ssl_ca verifies the chain and the host name and the login that requires TLS gets in', async () => {
    const result = await attempt<{ Value: string }>(url('localhost', `ssl_ca=${certs.caCert}`), CIPHER);
    expect(result.error).toBeUndefined();
    expect(cipherOf(result.rows)).not.toBe('');
  });

  it('a wrong CA fails closed', async () => {
    const result = await attempt(url('localhost', `ssl_ca=${certs.wrongCa}`), CIPHER);
    expect(result.error).toMatch(/^database error \(mysql at localhost:\d+\/oo \(user oo_tls\)\): the server's TLS certificate is not trusted \(.*certificate.*\); name the CA/);
  });

  it('VERIFY_CA checks the chain by IP address; a name check by IP address is refused before connecting', async () => {
    const chainOnly = await attempt(url('127.0.0.1', `ssl_mode=VERIFY_CA&ssl_ca=${certs.caCert}`), CIPHER);
    expect(chainOnly.error).toBeUndefined();
    expect(cipherOf(chainOnly.rows)).not.toBe('');
    expect((await attempt(url('127.0.0.1', `ssl_mode=VERIFY_CA&ssl_ca=${certs.wrongCa}`), CIPHER)).error).toMatch(/not trusted/);
    // mysql2 would check an address against the name "localhost": refused rather than unchecked.
    for (const query of [`ssl_mode=VERIFY_IDENTITY&ssl_ca=${certs.caCert}`, `ssl_ca=${certs.caCert}`]) {
      expect(refusal(() => openStore(url('127.0.0.1', query)))).toMatch(/names the server by its address 127\.0\.0\.1, which the Node driver cannot check/);
    }
  });

  it('ssl=true encrypts without checking; without TLS the server turns the login away', async () => {
    const encrypted = await attempt(url('127.0.0.1', 'ssl=true'), CIPHER);
    expect(encrypted.error).toBeUndefined();
    expect(cipherOf(encrypted.rows)).not.toBe('');
    const plain = await attempt(url('127.0.0.1', ''), CIPHER);
    expect(plain.error).toMatch(/^database error \(mysql at 127\.0\.0\.1:\d+\/oo \(user oo_tls\)\): /);
    expect(plain.error).toMatch(/secure transport|insecure transport|access denied/i);
    expect(plain.error).not.toContain('Tls-pw-1');
  });

  it('a login that requires a client certificate gets in with ssl_cert and ssl_key, and not without', async () => {
    const files = `ssl_ca=${certs.caCert}&ssl_cert=${certs.clientCert}&ssl_key=${certs.clientKey}`;
    const withCert = await attempt<{ user: string }>(url('localhost', files, 'oo_x509:X509-pw-1'), 'SELECT CURRENT_USER() AS user');
    expect(withCert).toEqual({ rows: [{ user: 'oo_x509@%' }] });
    expect((await attempt(url('localhost', `ssl_ca=${certs.caCert}`, 'oo_x509:X509-pw-1'), 'SELECT 1')).error).toMatch(/access denied/i);
  });

  it('a certificate made out to another name fails the name check and passes VERIFY_CA', async () => {
    // The server re-reads its certificate files on FLUSH SSL; this one names oo-other.test only.
    copyFileSync(certs.otherCert, server.certFile);
    copyFileSync(certs.otherKey, server.keyFile);
    const admin = await mysql.createConnection({ socketPath: server.socket, user: 'root' });
    try {
      await admin.query('FLUSH SSL');
    } finally {
      await admin.end();
    }
    for (const query of [`ssl_ca=${certs.caCert}`, `ssl_mode=VERIFY_IDENTITY&ssl_ca=${certs.caCert}`, 'ssl_verify_identity=true']) {
      const wrongName = await attempt(url('localhost', query), CIPHER);
      expect([query, wrongName.error]).toEqual([query, expect.stringMatching(/the server's TLS certificate is (?:not made out to this host name|not trusted)/)]);
    }
    expect((await attempt(url('localhost', `ssl_ca=${certs.caCert}`), CIPHER)).error).toMatch(/not made out to this host name \(.*oo-other\.test.*\)/);
    const chainOnly = await attempt(url('localhost', `ssl_mode=VERIFY_CA&ssl_ca=${certs.caCert}`), CIPHER);
    expect(chainOnly.error).toBeUndefined();
  });
});
