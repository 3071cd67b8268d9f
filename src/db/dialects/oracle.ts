import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type OracleDb from 'oracledb';
import type * as KyselyOracle from 'kysely-oracledb';
import { IdentifierNode, Kysely, OperationNodeTransformer, sql } from 'kysely';
import type { KyselyPlugin, PluginTransformQueryArgs, PluginTransformResultArgs, QueryResult, RootOperationNode, UnknownRow } from 'kysely';
import type { ConnectionConfig } from '../../config/connection-string.js';
import type { Database } from '../types.js';
import { CLAIM_GUARD_MARK, type ColumnType, type Dialect } from './dialect.js';
import { ConnectionStringError } from '../../errors.js';
import { dateFromDatabase, uuidFromDatabase, uuidToHex } from './encoding.js';
import { connectTimeoutMs } from './tls.js';
import { newElementsOfQueue } from './queue-probe.js';
import { fitsInOracleVarchar2 } from './text-length.js';

// Loaded when an Oracle database is opened, not when the program starts: every robot imports
// the dialects, and most never talk to Oracle.
const load = createRequire(import.meta.url);
const kyselyOracle = (): typeof KyselyOracle => load('kysely-oracledb') as typeof KyselyOracle;

const ENUM_WIDTH = { loglevel: 5, queuestatus: 11, triggerstatus: 7, triggertype: 9, jobstatus: 7 } as const;

/**
 * SQLAlchemy writes lowercase names unquoted on Oracle, so Oracle stores them in upper case
 * (`id` is `ID`), while mixed-case table names (`"Triggers"`) are quoted and kept. This maps a
 * name as the program writes it to the name Oracle holds.
 */
export function oracleIdentifier(name: string): string {
  return /^[a-z][a-z0-9_$#]*$/.test(name) ? name.toUpperCase() : name;
}

/** The reverse of `oracleIdentifier`, for names read from the catalog and result rows. */
export function oracleName(name: string): string {
  return /^[A-Z][A-Z0-9_$#]*$/.test(name) ? name.toLowerCase() : name;
}

class OracleIdentifierTransformer extends OperationNodeTransformer {
  protected override transformIdentifier(node: IdentifierNode): IdentifierNode {
    return IdentifierNode.create(oracleIdentifier(node.name));
  }
}

/** Applies SQLAlchemy's Oracle naming to every query built with Kysely, and back on results. */
export class OracleNamingPlugin implements KyselyPlugin {
  readonly #transformer = new OracleIdentifierTransformer();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const rows = args.result.rows.map((row) => Object.fromEntries(Object.entries(row).map(([k, v]) => [oracleName(k), v])));
    return { ...args.result, rows };
  }
}

/**
 * A full connect descriptor. Easy Connect (`host:port/service`) would be shorter, but the thin
 * driver refuses it without the `//` prefix (NJS-515) and has no SID form; a descriptor takes
 * both. The parser allows only name characters in host, service and SID, so nothing here can
 * close a parenthesis early.
 *
 * @example
 *   oracleConnectString(parseConnectionString('oracle+oracledb://u:p@db:1521/?service_name=ORCL'));
 *   // '(DESCRIPTION=(ADDRESS=(PROTOCOL=TCP)(HOST=db)(PORT=1521))(CONNECT_DATA=(SERVICE_NAME=ORCL)))'
 */
export function oracleConnectString(config: ConnectionConfig): string {
  const host = config.host ?? 'localhost';
  const port = config.port ?? 1521;
  const protocol = config.tls !== undefined && config.tls.mode !== 'off' ? 'TCPS' : 'TCP';
  const data = config.oracle?.serviceName ? `SERVICE_NAME=${config.oracle.serviceName}` : `SID=${config.oracle?.sid ?? config.database ?? ''}`;
  return `(DESCRIPTION=(ADDRESS=(PROTOCOL=${protocol})(HOST=${host})(PORT=${port}))(CONNECT_DATA=(${data})))`;
}

/**
 * node-oracledb's pool attributes for `config`: the descriptor, the connect timeout and, with
 * protocol=tcps, the certificate checks. Checks that a named wallet exists (call it when opening).
 */
export function oraclePoolAttributes(config: ConnectionConfig): OracleDb.PoolAttributes {
  const seconds = connectTimeoutMs(config) / 1000;
  const tls = config.tls;
  const attributes: OracleDb.PoolAttributes = {
    user: config.user,
    password: config.password,
    connectString: oracleConnectString(config),
    connectTimeout: seconds,
    transportConnectTimeout: seconds,
    ...(config.poolSize !== undefined ? { poolMax: config.poolSize } : {}),
  };
  if (tls === undefined || tls.mode === 'off') return attributes;
  if (tls.walletLocation !== undefined && !existsSync(join(tls.walletLocation, 'ewallet.pem'))) {
    throw new ConnectionStringError(
      `connection string option wallet_location names ${tls.walletLocation}, which holds no ewallet.pem (thin mode reads only the PEM wallet): fix the folder, or export the wallet as PEM`,
    );
  }
  return {
    ...attributes,
    sslServerDNMatch: tls.mode === 'verify-full',
    ...(tls.serverCertDn !== undefined ? { sslServerCertDN: tls.serverCertDn } : {}),
    ...(tls.walletLocation !== undefined ? { walletLocation: tls.walletLocation } : {}),
    ...(tls.keyPassword !== undefined ? { walletPassword: tls.keyPassword } : {}),
  };
}

export const oracleDialect: Dialect = {
  name: 'oracle',
  maxBindParams: 65_535,
  // Multi-row VALUES needs Oracle 23ai; one row per INSERT works everywhere (slow, but correct).
  maxRowsPerInsert: 1,
  paging: 'offset-fetch',
  textFit: fitsInOracleVarchar2,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    // The pool is made on first use so that building queries never needs a server.
    const oracledb = load('oracledb') as typeof OracleDb;
    const attributes = oraclePoolAttributes(config);
    let pool: Promise<OracleDb.Pool> | undefined;
    const getPool = () =>
      (pool ??= oracledb.createPool(attributes));
    const lazyPool = {
      getConnection: async () => (await getPool()).getConnection(),
      close: async () => (pool ? (await pool).close(0) : undefined),
    } as unknown as OracleDb.Pool;
    return new Kysely<Database>({ dialect: new (kyselyOracle().OracleDialect)({ pool: lazyPool }), plugins: [new OracleNamingPlugin()] });
  },

  quote: (identifier) => `"${oracleIdentifier(identifier).replace(/"/g, '""')}"`,

  columnType(type: ColumnType): string {
    switch (type.kind) {
      case 'uuid':
        return 'CHAR(32)';
      case 'string':
        return `VARCHAR2(${type.length} CHAR)`;
      case 'text':
        // VARCHAR2 over 4000 needs MAX_STRING_SIZE=EXTENDED, which a standard Oracle lacks.
        return type.length > 4000 ? 'CLOB' : `VARCHAR2(${type.length} CHAR)`;
      case 'integer':
        return 'INTEGER';
      case 'boolean':
        return 'SMALLINT';
      case 'datetime':
        return 'DATE';
      case 'enum':
        return `VARCHAR2(${ENUM_WIDTH[type.name]} CHAR)`;
    }
  },

  encodeUuid: uuidToHex,
  decodeUuid: uuidFromDatabase,
  encodeBool: (value) => (value ? 1 : 0),
  encodeDate: (value) => value,
  roundDate: (value) => value,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE "${oracleIdentifier(table)}" ADD (${definition})`,
  dropIndexSql: (_table, index) => `DROP INDEX "${oracleIdentifier(index)}"`,
  dropNotNull: (table, column) => [`ALTER TABLE "${oracleIdentifier(table)}" MODIFY ("${oracleIdentifier(column)}" NULL)`],
  createEnumTypeSql: () => [],
  extendEnumSql: () => [],

  async listTables(db) {
    const result = await sql<{ name: string }>`SELECT table_name AS "name" FROM user_tables`.execute(db);
    return result.rows.map((row) => oracleName(row.name));
  },
  // The catalog holds names as Oracle stores them (alembic_version is ALEMBIC_VERSION).
  async listColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT column_name AS "name" FROM user_tab_columns WHERE table_name = ${oracleIdentifier(table)}`.execute(db);
    return result.rows.map((row) => oracleName(row.name));
  },
  async listNotNullColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT column_name AS "name" FROM user_tab_columns WHERE table_name = ${oracleIdentifier(table)} AND nullable = 'N'`.execute(db);
    return result.rows.map((row) => oracleName(row.name));
  },
  async listIndexes(db, table) {
    const result = await sql<{ name: string }>`
      SELECT index_name AS "name" FROM user_indexes WHERE table_name = ${oracleIdentifier(table)}`.execute(db);
    return result.rows.map((row) => oracleName(row.name));
  },
  async listTriggers(db) {
    const result = await sql<{ name: string }>`SELECT trigger_name AS "name" FROM user_triggers`.execute(db);
    return result.rows.map((row) => oracleName(row.name));
  },
  // Columns are stored upper case (oracleIdentifier); -20001 is the first user error number.
  claimGuardSql: ({ name, table, column, to, from, stamp, others, noun, key, detail, holder }) => {
    const [c, s, k] = [column, stamp, key].map(oracleIdentifier);
    const named =
      detail === undefined
        ? `'${CLAIM_GUARD_MARK}${noun} "' || :OLD.${k} || '"'`
        : `'${CLAIM_GUARD_MARK}${noun} ' || :OLD.${k} || ' (' || NVL(:OLD.${oracleIdentifier(detail)}, 'no ${detail}') || ')'`;
    return [
      `CREATE OR REPLACE TRIGGER "${oracleIdentifier(name)}" BEFORE UPDATE OF ${c}, ${s} ON "${table}" FOR EACH ROW\n` +
        `WHEN (NEW.${c} = '${to}' AND OLD.${c} <> '${from}' AND NOT (OLD.${c} = '${to}' AND DECODE(NEW.${s}, OLD.${s}, 0, 1) = 0 AND (${others.map((o) => `DECODE(NEW.${oracleIdentifier(o)}, OLD.${oracleIdentifier(o)}, 0, 1)`).join(' + ')}) > 0))\n` +
        `BEGIN\n` +
        `  RAISE_APPLICATION_ERROR(-20001, ${named} || ' is ' || :OLD.${c} || ': another ${holder} has it');\n` +
        `END;`,
    ];
  },
  async estimateRows(db, table) {
    // NUM_ROWS is null until statistics are gathered (Oracle's nightly job does).
    const result = await sql<{ n: number | string | null }>`
      SELECT num_rows AS "n" FROM user_tables WHERE table_name = ${oracleIdentifier(table)}`.execute(db);
    const n = result.rows[0]?.n;
    return n === null || n === undefined ? undefined : Number(n);
  },
  listEnumValues: async () => undefined,

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // Oracle refuses FETCH FIRST with FOR UPDATE; SKIP LOCKED locks rows as they are fetched,
    // so fetching a single row locks exactly the one we take.
    return db.transaction().execute(async (trx) => {
      const picked = await trx
        .withPlugin(kyselyOracle().withExecuteOptions({ maxRows: 1, prefetchRows: 1 }))
        .executeQuery<{ id: string }>(
          sql`SELECT ID AS "id" FROM "Queues"
              WHERE QUEUE_NAME = ${queueName} AND STATUS = 'NEW'
              ${reference === undefined ? sql`` : sql`AND REFERENCE = ${reference}`}
              ORDER BY CREATED_DATE, ID
              FOR UPDATE SKIP LOCKED`.compile(trx),
        );
      const id = picked.rows[0]?.id;
      if (id === undefined) return undefined;
      await sql`UPDATE "Queues" SET STATUS = 'IN_PROGRESS', START_DATE = ${startDate} WHERE ID = ${id}`.execute(trx);
      const row = await sql<Record<string, unknown>>`SELECT * FROM "Queues" WHERE ID = ${id}`.execute(trx);
      return row.rows[0];
    });
  },

  // Not used: Oracle has no LISTEN/NOTIFY of this kind.
  newElementsSql: (queueName, limit) => newElementsOfQueue(queueName, limit, { newStatus: 'equality', paging: 'offset-fetch' }),
  notifyExpression: () => undefined,
  changeProbeSql: () => undefined,
  // No change tracking: the Scheduler probes every queue trigger on each poll.
  trackingTriggers: [],
  trackingSql: () => [],
  carryHeartbeat: () => undefined,
};
