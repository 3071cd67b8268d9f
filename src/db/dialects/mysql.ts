import { createPool } from 'mysql2';
import { Kysely, MysqlDialect, sql } from 'kysely';
import type { ConnectionConfig } from '../../config/connection-string.js';
import { formatNaive } from '../../time/clock.js';
import { ENUM_VALUES } from '../schema/tables.js';
import type { Database } from '../types.js';
import type { ColumnType, Dialect } from './dialect.js';
import { dateFromDatabase, uuidFromDatabase, uuidToHex } from './encoding.js';

export const mysqlDialect: Dialect = {
  name: 'mysql',
  maxBindParams: 65_535,

  createKysely(config: ConnectionConfig): Kysely<Database> {
    const pool = createPool({
      host: config.host,
      port: config.port ?? 3306,
      database: config.database,
      user: config.user,
      password: config.password,
      connectionLimit: 10,
      // Naive DATETIME values stay text; the store parses them as local time.
      dateStrings: true,
      charset: 'utf8mb4',
    });
    return new Kysely<Database>({ dialect: new MysqlDialect({ pool }) });
  },

  quote: (identifier) => `\`${identifier.replace(/`/g, '``')}\``,

  columnType(type: ColumnType): string {
    switch (type.kind) {
      case 'uuid':
        return 'CHAR(32)';
      case 'string':
      case 'text':
        return `VARCHAR(${type.length})`;
      case 'integer':
        return 'INTEGER';
      case 'boolean':
        return 'BOOL';
      case 'datetime':
        // Plain DATETIME drops fractions of a second; new databases keep them (SCHEMA.md).
        return 'DATETIME(6)';
      case 'enum':
        return `ENUM(${ENUM_VALUES[type.name].map((v) => `'${v}'`).join(',')})`;
    }
  },

  encodeUuid: uuidToHex,
  decodeUuid: uuidFromDatabase,
  encodeBool: (value) => (value ? 1 : 0),
  encodeDate: formatNaive,
  decodeDate: dateFromDatabase,

  addColumnSql: (table, definition) => `ALTER TABLE \`${table}\` ADD COLUMN ${definition}`,
  createEnumTypeSql: () => [],
  extendEnumSql: (_name, table, column, nullable, values) => [
    `ALTER TABLE \`${table}\` MODIFY COLUMN \`${column}\` ENUM(${values.map((v) => `'${v}'`).join(',')}) ${nullable ? 'NULL' : 'NOT NULL'}`,
  ],

  async listTables(db) {
    const result = await sql<{ name: string }>`
      SELECT table_name AS name FROM information_schema.tables WHERE table_schema = DATABASE()`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listColumns(db, table) {
    const result = await sql<{ name: string }>`
      SELECT column_name AS name FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = ${table}`.execute(db);
    return result.rows.map((row) => row.name);
  },
  async listEnumValues(db, _name, table, column) {
    const result = await sql<{ type: string }>`
      SELECT column_type AS type FROM information_schema.columns
      WHERE table_schema = DATABASE() AND table_name = ${table} AND column_name = ${column}`.execute(db);
    const type = result.rows[0]?.type;
    if (type === undefined || !/^enum\(/i.test(type)) return undefined;
    return [...type.matchAll(/'((?:[^']|'')*)'/g)].map((m) => (m[1] ?? '').replace(/''/g, "'"));
  },

  async claimQueueElement(db, { queueName, reference, startDate }) {
    // MySQL has no UPDATE ... RETURNING: lock one row with SKIP LOCKED, change it, read it back,
    // all in one transaction so the lock is held until the change is committed.
    return db.transaction().execute(async (trx) => {
      const picked = await sql<{ id: string }>`
        SELECT id FROM \`Queues\`
        WHERE queue_name = ${queueName} AND status = 'NEW'
        ${reference === undefined ? sql`` : sql`AND reference = ${reference}`}
        ORDER BY created_date, id LIMIT 1
        FOR UPDATE SKIP LOCKED`.execute(trx);
      const id = picked.rows[0]?.id;
      if (id === undefined) return undefined;
      await sql`UPDATE \`Queues\` SET status = 'IN_PROGRESS', start_date = ${startDate} WHERE id = ${id}`.execute(trx);
      const row = await sql<Record<string, unknown>>`SELECT * FROM \`Queues\` WHERE id = ${id}`.execute(trx);
      return row.rows[0];
    });
  },
};
