/**
 * The one secret scrub: every spelling a password or key can take in text is masked, and only
 * where it stands as a value, so a short password does not garble ordinary words. Then real
 * driver errors: a wrong password containing "!" and a space against a PostgreSQL of the test's
 * own that checks passwords (the shared one trusts every login), and driver messages that quote
 * the secret back.
 */
import { rmSync } from 'node:fs';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../src/config/connection-string.js';
import { connectionSecrets, LONG_SECRET, scrubSecrets } from '../src/config/secrets.js';
import { closeStore, openStore, toDatabaseError } from '../src/db/open.js';
import { createConsoleLog, scrub, withSecrets } from '../src/scheduler/console-log.js';
import { createTestDatabase, type TestDatabase } from './helpers/databases.js';
import { freePort, isolateHome, makeCerts, startPostgresTls, type TestServer } from './helpers/tls-servers.js';

/** Python's quote_plus: everything but letters, digits and _.-~ encoded, space as '+'. */
function quotePlus(text: string, hex: 'upper' | 'lower' = 'upper'): string {
  return [...Buffer.from(text, 'utf8')]
    .map((byte) => {
      const char = String.fromCharCode(byte);
      if (/[A-Za-z0-9_.~-]/.test(char)) return char;
      if (char === ' ') return '+';
      const code = byte.toString(16).padStart(2, '0');
      return `%${hex === 'upper' ? code.toUpperCase() : code}`;
    })
    .join('');
}

/** Python's quote with its default safe='/': like quote_plus, but '%20' for space and '/' kept. */
function quote(text: string): string {
  return quotePlus(text).replace(/\+/g, '%20').replace(/%2F/g, '/');
}

const PASSWORD = 'p@ss w/rd!(x)*"\\é%';
const MASKED = '***';

describe('scrubSecrets: every spelling', () => {
  const spellings: Array<[string, string]> = [
    ['raw', PASSWORD],
    ['encodeURIComponent', encodeURIComponent(PASSWORD)],
    ['encodeURIComponent, lower-case hex', encodeURIComponent(PASSWORD).replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase())],
    ['encodeURIComponent, + for space', encodeURIComponent(PASSWORD).replace(/%20/g, '+')],
    ['quote_plus', quotePlus(PASSWORD)],
    ['quote_plus, lower-case hex', quotePlus(PASSWORD, 'lower')],
    ['quote', quote(PASSWORD)],
    ['JSON string', JSON.stringify(PASSWORD).slice(1, -1)],
    ['half encoded by hand', PASSWORD.replace('!', '%21').replace('@', '%40')],
  ];

  it.each(spellings)('%s', (_name, spelling) => {
    expect(spelling.length).toBeGreaterThan(0);
    const text = `could not connect to postgresql://oo:${spelling}@db/oo (password ${spelling}).`;
    expect(scrubSecrets(text, [PASSWORD])).toBe(`could not connect to postgresql://oo:${MASKED}@db/oo (password ${MASKED}).`);
  });

  it('the password written %21 in a URL is found decoded, as the driver repeats it, and as written', () => {
    const config = parseConnectionString('postgresql://oo:Secret%21pw@db/oo');
    expect(config.password).toBe('Secret!pw');
    const stderr = 'Traceback: OperationalError: FATAL for postgresql://oo:Secret%21pw@db/oo; retried with Secret!pw and Secret%21pw';
    expect(scrubSecrets(stderr, connectionSecrets(config))).toBe(`Traceback: OperationalError: FATAL for postgresql://oo:${MASKED}@db/oo; retried with ${MASKED} and ${MASKED}`);
  });

  it('the scheduler\'s scrub and withSecrets are the same scrub, also in --json lines', () => {
    expect(scrub(`pw=${quotePlus(PASSWORD)}`, [PASSWORD])).toBe(`pw=${MASKED}`);
    const lines: string[] = [];
    const log = withSecrets(createConsoleLog({ json: true, secrets: [PASSWORD], write: (line) => lines.push(line) }), ['Key-Secret-0123456789']);
    log.error('x', `failed with ${PASSWORD}`, { detail: `key Key-Secret-0123456789, url ${encodeURIComponent(PASSWORD)}` });
    expect(lines[0]).not.toContain('Key-Secret');
    expect(JSON.parse(lines[0]!)).toMatchObject({ message: `failed with ${MASKED}`, detail: `key ${MASKED}, url ${MASKED}` });
  });
});

describe('scrubSecrets: values, not letters', () => {
  it('a short password is masked only where it stands alone', () => {
    expect(scrubSecrets('access denied for user "oo"', ['e'])).toBe('access denied for user "oo"');
    expect(scrubSecrets('password=e; user e; "e"; e', ['e'])).toBe(`password=${MASKED}; user ${MASKED}; "${MASKED}"; ${MASKED}`);
    expect(scrubSecrets('postgresql://oo:pw@db/oo: the password pw was refused; pwd and spw stay', ['pw'])).toBe(
      `postgresql://oo:${MASKED}@db/oo: the password ${MASKED} was refused; pwd and spw stay`,
    );
    expect(scrubSecrets('key=%21x!', ['!x'])).toBe(`key=${MASKED}!`);
  });

  it(`a secret of ${LONG_SECRET} characters or more is masked everywhere, inside words too`, () => {
    expect(scrubSecrets('tokenS3cretPw1token', ['S3cretPw1'])).toBe(`token${MASKED}token`);
    expect(scrubSecrets('xS3cretPwx', ['S3cretPw'])).toBe(`x${MASKED}x`);
  });

  it('masks the longer of overlapping secrets whole and ignores empty ones', () => {
    expect(scrubSecrets('Passw0rd-Long and Passw0rd', ['Passw0rd', 'Passw0rd-Long', '', undefined])).toBe(`${MASKED} and ${MASKED}`);
    expect(scrubSecrets('nothing to hide', [])).toBe('nothing to hide');
  });

  it('knows every secret a connection string carries', () => {
    expect(connectionSecrets(parseConnectionString('mysql+pymysql://u:pw@db/oo?ssl_key_password=kp'))).toEqual(['pw', 'kp']);
    expect(connectionSecrets(parseConnectionString('mssql+pyodbc:///?odbc_connect=DRIVER%3Dx%3BUID%3Du%3BPWD%3D%7Bp%3B%7D%7Dw%7D'))).toEqual(['{p;}}w}', 'p;}w']);
    expect(connectionSecrets(undefined)).toEqual([]);
  });
});

describe('toDatabaseError with real drivers', () => {
  const WRONG = 'Wr0ng! pass';
  const spelled = [WRONG, encodeURIComponent(WRONG), quotePlus(WRONG), 'Wr0ng%21%20pass'];
  let server: TestServer;
  let database: TestDatabase;
  const certs = makeCerts();
  const restoreHome = isolateHome();

  beforeAll(async () => {
    server = await startPostgresTls(certs.selfCert, certs.selfKey, certs.caCert);
    const admin = openStore(`postgresql://postgres@127.0.0.1:${server.port}/postgres?sslmode=require`);
    try {
      await sql.raw("CREATE ROLE oo_scram LOGIN PASSWORD 'Right-pass-1'").execute(admin.db);
    } finally {
      await closeStore(admin);
    }
    database = await createTestDatabase('postgres');
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    await database?.drop();
    rmSync(certs.dir, { recursive: true, force: true });
    restoreHome();
  });

  /** The translated error of one query on `url`. */
  async function failure(url: string, query = 'SELECT 1'): Promise<string> {
    const store = openStore(url);
    try {
      await sql.raw(query).execute(store.db);
    } catch (error) {
      return toDatabaseError(error, store.config).message;
    } finally {
      await closeStore(store);
    }
    throw new Error('expected the query to fail');
  }

  it('a wrong password with "!" and a space: one line, the password in no spelling', async () => {
    const message = await failure(`postgresql://oo_scram:Wr0ng%21%20pass@127.0.0.1:${server.port}/postgres?sslmode=require`);
    expect(message).toBe(`database error (postgres at 127.0.0.1:${server.port}/postgres (user oo_scram)): password authentication failed; check the user name and password`);
    for (const spelling of spelled) expect(message).not.toContain(spelling);
  });

  it('a driver message that quotes the password back, raw and encoded', async () => {
    const url = database.url.replace('://postgres@', `://postgres:${encodeURIComponent(WRONG)}@`);
    const raw = await failure(url, `SELECT '${WRONG}'::int`);
    expect(raw).toMatch(/^database error \(postgres at .*\): invalid input syntax for type integer: "\*\*\*"$/);
    const encoded = await failure(url, `SELECT '${quotePlus(WRONG)} or ${quotePlus(WRONG, 'lower').replace('+', '%20')}'::int`);
    expect(encoded).toMatch(/: invalid input syntax for type integer: "\*\*\* or \*\*\*"$/);
  });

  it('a closed port: names host and port, not the password', async () => {
    const port = await freePort();
    const message = await failure(`postgresql://postgres:Wr0ng%21+pass@127.0.0.1:${port}/oo`);
    expect(message).toBe(`database error (postgres at 127.0.0.1:${port}/oo (user postgres)): connection refused; is the database server running and listening there?`);
  });
});
