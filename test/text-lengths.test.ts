/**
 * Text lengths count the way each database's column counts (characters; SQL Server's UTF-16 code
 * units; Oracle's characters within 4000 bytes): a value the checks let through always fits its
 * column, and one just over is refused with one line. Live on SQLite, PostgreSQL and MariaDB,
 * through the store, the robot API, the HTTP API and the CLI; on SQL Server and Oracle through
 * their generated DDL and the same validation function.
 */
import type { FastifyInstance } from 'fastify';
import { DummyDriver, Kysely, MssqlAdapter, MssqlIntrospector, MssqlQueryCompiler, sql, type CompiledQuery } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConnectionString } from '../src/config/connection-string.js';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { generateKey } from '../src/crypto/fernet.js';
import type { Dialect } from '../src/db/dialects/dialect.js';
import { mssqlDialect } from '../src/db/dialects/mssql.js';
import { oracleDialect } from '../src/db/dialects/oracle.js';
import type { Store } from '../src/db/open.js';
import { freshSchemaSql } from '../src/db/schema/upgrade.js';
import { recordAudit } from '../src/db/store/audit.js';
import { createConstant, getConstant } from '../src/db/store/constants.js';
import { createQueueElement, getQueueElements } from '../src/db/store/queues.js';
import { createTrigger, getTriggerByName } from '../src/db/store/triggers.js';
import { checkText, splitToFit } from '../src/db/store/validate.js';
import type { Database } from '../src/db/types.js';
import { InputError } from '../src/errors.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { runCli } from './helpers/cli.js';
import { LIVE_DIALECTS } from './helpers/databases.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const KEY = generateKey();
/** U+1F600, outside the Basic Multilingual Plane: one character, two UTF-16 units, four UTF-8 bytes. */
const EMOJI = '😀';
/** U+6F22: one character, one UTF-16 unit, three UTF-8 bytes. */
const HAN = '漢';
const emoji = (n: number) => EMOJI.repeat(n);

/** Every declared text column length in a dialect's fresh DDL, with its column names. */
function declaredTextColumns(statements: string[], pattern: RegExp): Map<number, string[]> {
  const lengths = new Map<number, string[]>();
  for (const statement of statements) {
    const table = /^CREATE TABLE (\S+)/.exec(statement)?.[1];
    if (!table) continue;
    for (const m of statement.matchAll(pattern)) {
      const n = Number(m[2]);
      lengths.set(n, [...(lengths.get(n) ?? []), `${table}.${m[1]}`]);
    }
  }
  return lengths;
}

/** Values of about n characters of every kind of character, just under, at and over n. */
function candidates(n: number): string[] {
  const out: string[] = [];
  for (const count of [n - 1, n, n + 1]) {
    if (count < 1) continue;
    out.push('a'.repeat(count), HAN.repeat(count), emoji(count), Array.from({ length: count }, (_, i) => (i % 2 ? EMOJI : 'a')).join(''));
  }
  // Exactly n UTF-16 units, half of them in emoji, and one over.
  out.push(emoji(Math.floor(n / 2)) + 'a'.repeat(n % 2), emoji(Math.floor(n / 2)) + 'a'.repeat((n % 2) + 1));
  return out;
}

const passes = (dialect: Pick<Dialect, 'textFit'>, value: string, n: number) => dialect.textFit(value, n) === undefined;

function expectOneLine(error: unknown, pattern: RegExp): void {
  expect(error).toBeInstanceOf(Error);
  const message = (error as Error).message;
  expect(message.trim().split('\n'), message).toHaveLength(1);
  expect(message).toMatch(pattern);
}

function refusal(call: () => unknown): unknown {
  try {
    call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  try {
    await call();
  } catch (error) {
    return error;
  }
  throw new Error('expected a refusal');
}

describe.each(LIVE_DIALECTS)('text lengths on %s', (dialect) => {
  let live: TestStore;
  let store: Store;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
  });
  afterAll(async () => {
    await live?.close();
  });

  it('counts characters: an emoji is one, as in the column', () => {
    expect(passes(store.dialect, emoji(100), 100)).toBe(true);
    expectOneLine(refusal(() => checkText(store.dialect, 'queue element reference', emoji(101), 100)), /^queue element reference is 101 characters long; the limit is 100$/);
  });

  it('every text column type the DDL declares holds every value its check lets through', async () => {
    const quoted = dialect === 'mysql' ? '`' : '"';
    const pattern = new RegExp(`${quoted}(\\w+)${quoted} VARCHAR\\((\\d+)\\)`, 'g');
    const lengths = declaredTextColumns(freshSchemaSql(store.dialect), pattern);
    expect(lengths.size, 'the DDL declares text columns').toBeGreaterThan(3);
    let written = 0;
    for (const n of [...lengths.keys()].sort((a, b) => a - b)) {
      // A table per length: MariaDB's row size limit would refuse them all in one.
      const table = `oo_len_probe_${n}`;
      await sql`CREATE TABLE ${sql.id(table)} (k INTEGER NOT NULL, v ${sql.raw(store.dialect.columnType({ kind: 'string', length: n }))} NULL)`.execute(store.db);
      let k = 0;
      for (const value of candidates(n)) {
        if (!passes(store.dialect, value, n)) continue;
        await sql`INSERT INTO ${sql.id(table)} (k, v) VALUES (${++k}, ${value})`.execute(store.db);
        const back = await sql<{ v: string }>`SELECT v FROM ${sql.id(table)} WHERE k = ${k}`.execute(store.db);
        expect(back.rows[0]?.v, `${lengths.get(n)!.join(', ')}: ${Array.from(value).length} characters`).toBe(value);
        written++;
      }
      // The longest in emoji passes: the check is no stricter than the column.
      expect(passes(store.dialect, emoji(n), n), `${n} emoji fit VARCHAR(${n})`).toBe(true);
      expect(passes(store.dialect, emoji(n + 1), n)).toBe(false);
    }
    expect(written).toBeGreaterThan(lengths.size * 4);
  });

  it('the store writes the longest emoji values and refuses one more with one line', async () => {
    const element = await createQueueElement(store, emoji(100), { reference: emoji(100), data: emoji(2000), createdBy: emoji(100) });
    const [back] = await getQueueElements(store, emoji(100), { reference: emoji(100) });
    expect(back).toMatchObject({ id: element.id, reference: emoji(100), data: emoji(2000), createdBy: emoji(100) });
    expectOneLine(await rejection(() => createQueueElement(store, 'q', { reference: emoji(101) })), /reference is 101 characters long; the limit is 100/);
    expectOneLine(await rejection(() => createQueueElement(store, 'q', { data: emoji(2001) })), /data is 2001 characters long; the limit is 2000/);

    await createConstant(store, emoji(100), emoji(1000));
    expect((await getConstant(store, emoji(100))).value).toBe(emoji(1000));
    expectOneLine(await rejection(() => createConstant(store, 'c', emoji(1001))), /constant value is 1001 characters long; the limit is 1000/);

    await createTrigger(store, { type: 'SINGLE', triggerName: emoji(100), processName: emoji(100), processPath: emoji(250), processArgs: emoji(1000), gitBranch: emoji(100), nextRun: new Date(2100, 0, 1) });
    expect(await getTriggerByName(store, emoji(100))).toMatchObject({ processPath: emoji(250), processArgs: emoji(1000), gitBranch: emoji(100) });
    expectOneLine(
      await rejection(() => createTrigger(store, { type: 'SINGLE', triggerName: 't', processName: 'p', processPath: emoji(251), nextRun: new Date(2100, 0, 1) })),
      /process path is 251 characters long; the limit is 250/,
    );
  });

  it('the robot API takes a 100-emoji process name and reference, and refuses 101 with one line', async () => {
    const oc = new OrchestratorConnection({ processName: emoji(100), connectionString: live.url, cryptoKey: KEY });
    try {
      await oc.logInfo(emoji(10));
      const element = await oc.createQueueElement('robot-q', { reference: emoji(100), data: emoji(2000) });
      expect(element.reference).toBe(emoji(100));
      expectOneLine(await rejection(() => oc.createQueueElement('robot-q', { reference: emoji(101) })), /reference is 101 characters long; the limit is 100/);
    } finally {
      await oc.close();
    }
    expectOneLine(refusal(() => new OrchestratorConnection({ processName: emoji(101), connectionString: live.url, cryptoKey: KEY })), /^process name is 101 characters long; the limit is 100$/);
  });

  describe('the HTTP API', () => {
    let app: FastifyInstance;
    beforeAll(async () => {
      ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
    });
    afterAll(async () => {
      await app?.close();
    });
    const post = (url: string, body: unknown) =>
      app.inject({ method: 'POST', url, headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1', 'content-type': 'application/json' }, payload: JSON.stringify(body) });

    it('adds an element with a 100-emoji reference and refuses 101 with one line', async () => {
      const ok = await post(`/api/queues/http-q/elements`, { reference: emoji(100), data: emoji(2000) });
      expect(ok.statusCode, ok.body).toBe(201);
      expect((JSON.parse(ok.body) as { reference: string }).reference).toBe(emoji(100));
      const over = await post(`/api/queues/http-q/elements`, { reference: emoji(101) });
      expect(over.statusCode).toBe(400);
      expectOneLine(new Error((JSON.parse(over.body) as { error: string }).error), /reference is too long: the limit is 100 characters/);
    });
  });

  it('the CLI refuses a Scheduler machine name of 101 emoji with one line', async () => {
    const over = await runCli(['scheduler', '--connection-string', live.url, '--machine-name', emoji(101), '--work-dir', '/nonexistent-oo-work'], { env: { OpenOrchestratorKey: KEY } });
    expect(over.status).not.toBe(0);
    expect(over.stderr.trim().split('\n'), over.stderr).toHaveLength(1);
    expect(over.stderr).toMatch(/machine name is 101 characters long; the limit is 100/);
  });
});

/** A Store over SQL Server's dialect and compiler with no server: the checks run before any query. */
function mssqlStoreWithoutServer(queries: CompiledQuery[] = []): Store {
  const db = new Kysely<Database>({
    log: (event) => void queries.push(event.query),
    dialect: {
      createAdapter: () => new MssqlAdapter(),
      createDriver: () => new DummyDriver(),
      createIntrospector: (k) => new MssqlIntrospector(k),
      createQueryCompiler: () => new MssqlQueryCompiler(),
    },
  });
  return { db, dialect: mssqlDialect, config: parseConnectionString('mssql+pyodbc://u:p@h/db') };
}

describe('text lengths on SQL Server (generated DDL and the validation function)', () => {
  const lengths = declaredTextColumns(freshSchemaSql(mssqlDialect), /\[(\w+)\] NVARCHAR\((\d+)\)/g);

  it('declares NVARCHAR(n) text columns', () => {
    expect(lengths.size).toBeGreaterThan(3);
    expect(lengths.get(100)).toContain('[Queues].reference');
  });

  it('lets through only what NVARCHAR(n) holds: n UTF-16 code units, an emoji counting 2', () => {
    let checked = 0;
    for (const n of lengths.keys()) {
      for (const value of candidates(n)) {
        // NVARCHAR(n) holds n UTF-16 code units: the column's own rule.
        const fits = value.length <= n;
        expect(passes(mssqlDialect, value, n), `${lengths.get(n)![0]}: ${value.length} units`).toBe(fits);
        checked++;
      }
      expect(passes(mssqlDialect, emoji(Math.floor(n / 2)), n)).toBe(true);
      expect(passes(mssqlDialect, emoji(Math.floor(n / 2) + 1), n)).toBe(false);
    }
    expect(checked).toBeGreaterThan(lengths.size * 10);
  });

  it('refuses 100 emoji as a queue element reference (the issue\'s case) with one line, and takes 50', async () => {
    const store = mssqlStoreWithoutServer();
    try {
      expectOneLine(
        await rejection(() => createQueueElement(store, 'q', { reference: emoji(100) })),
        /^queue element reference is 200 UTF-16 code units long \(SQL Server counts an emoji .* as 2\); the limit is 100$/,
      );
      expect(await rejection(() => createQueueElement(store, 'q', { reference: emoji(101) }))).toBeInstanceOf(InputError);
      await expect(createQueueElement(store, 'q', { reference: emoji(50), data: emoji(1000) })).resolves.toMatchObject({ reference: emoji(50) });
      expect(await rejection(() => createQueueElement(store, 'q', { reference: emoji(50) + 'a' }))).toBeInstanceOf(InputError);
      // Long log messages go to NVARCHAR(max): the contract's 8000 characters apply, not units.
      expect(passes(mssqlDialect, emoji(8000), 8000)).toBe(true);
    } finally {
      await store.db.destroy();
    }
  });

  it('cuts an audit snapshot of 4000 emoji to fit NVARCHAR(4000), not into a half emoji', async () => {
    const queries: CompiledQuery[] = [];
    const store = mssqlStoreWithoutServer(queries);
    try {
      await recordAudit(store, { login: 'alice', action: 'constant.update', target: 'c', clientAddress: null, before: emoji(4000), after: '{}' });
      const insert = queries.find((q) => /^insert into \W?oo_audit/i.test(q.sql))!;
      const before = insert.parameters.find((p) => typeof p === 'string' && p.startsWith(EMOJI)) as string;
      expect(before.length).toBeLessThanOrEqual(4000);
      expect(before).toBe(`${emoji(1999)}…`);
    } finally {
      await store.db.destroy();
    }
  });

  it('splits a robot output line of 1500 emoji into pieces that each fit NVARCHAR(1000)', () => {
    const pieces = splitToFit(mssqlDialect, emoji(1500), 1000);
    expect(pieces.join('')).toBe(emoji(1500));
    for (const piece of pieces) expect(piece.length).toBeLessThanOrEqual(1000);
    expect(pieces).toHaveLength(3);
  });
});

describe('text lengths on Oracle (generated DDL and the validation function)', () => {
  const lengths = declaredTextColumns(freshSchemaSql(oracleDialect), /"?(\w+)"? VARCHAR2\((\d+) CHAR\)/g);

  it('lets through only what VARCHAR2(n CHAR) holds: n characters, at most 4000 bytes', () => {
    expect(lengths.get(2000)).toBeDefined();
    for (const n of lengths.keys()) {
      for (const value of candidates(n)) {
        const fits = Array.from(value).length <= n && Buffer.byteLength(value, 'utf8') <= 4000;
        expect(passes(oracleDialect, value, n), `${lengths.get(n)![0]}: ${Array.from(value).length} characters`).toBe(fits);
      }
    }
    expect(passes(oracleDialect, emoji(1000), 2000)).toBe(true);
    expectOneLine(refusal(() => checkText(oracleDialect, 'queue element data', emoji(1001), 2000)), /^queue element data is 4004 bytes in UTF-8; Oracle's VARCHAR2 holds at most 4000 bytes$/);
  });
});
