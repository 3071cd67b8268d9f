import type { DialectName } from '../../config/connection-string.js';
import type { Dialect } from './dialect.js';
import { mssqlDialect } from './mssql.js';
import { mysqlDialect } from './mysql.js';
import { oracleDialect } from './oracle.js';
import { postgresDialect } from './postgres.js';
import { sqliteDialect } from './sqlite.js';

const DIALECTS: Record<DialectName, Dialect> = {
  sqlite: sqliteDialect,
  postgres: postgresDialect,
  mysql: mysqlDialect,
  mssql: mssqlDialect,
  oracle: oracleDialect,
};

/** The dialect for a parsed connection string's `dialect` field. */
export function dialectFor(name: DialectName): Dialect {
  return DIALECTS[name];
}

export type { Dialect } from './dialect.js';
