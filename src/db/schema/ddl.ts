/**
 * DDL text from the table model. Every dialect difference comes from the Dialect
 * (quoting, types, ADD COLUMN form); this file only assembles statements.
 */
import type { Dialect } from '../dialects/dialect.js';
import type { ColumnDef, IndexDef, TableDef } from './tables.js';

/** `name TYPE [DEFAULT x] NULL|NOT NULL`, as it appears in CREATE TABLE and ADD COLUMN. */
export function columnDefinitionSql(dialect: Dialect, column: ColumnDef): string {
  const parts = [dialect.quote(column.name), dialect.columnType(column.type)];
  if (column.defaultSql !== undefined) parts.push(`DEFAULT ${column.defaultSql}`);
  parts.push(column.nullable ? 'NULL' : 'NOT NULL');
  return parts.join(' ');
}

export function createTableSql(dialect: Dialect, table: TableDef): string {
  const q = dialect.quote;
  const lines = table.columns.map((column) => `  ${columnDefinitionSql(dialect, column)}`);
  const keys = table.columns.filter((column) => column.primaryKey).map((column) => q(column.name));
  lines.push(`  PRIMARY KEY (${keys.join(', ')})`);
  for (const column of table.columns) {
    if (column.references) {
      lines.push(`  FOREIGN KEY (${q(column.name)}) REFERENCES ${q(column.references.table)} (${q(column.references.column)})`);
    }
  }
  return `CREATE TABLE ${q(table.name)} (\n${lines.join(',\n')}\n)`;
}

export function createIndexSql(dialect: Dialect, table: string, index: IndexDef): string {
  const q = dialect.quote;
  return `CREATE ${index.unique ? 'UNIQUE ' : ''}INDEX ${q(index.name)} ON ${q(table)} (${index.columns.map(q).join(', ')})`;
}

export function addColumnSql(dialect: Dialect, table: string, column: ColumnDef): string {
  return dialect.addColumnSql(table, columnDefinitionSql(dialect, column));
}
