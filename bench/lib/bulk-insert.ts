/**
 * Bulk insert: `bulkCreateQueueElements` against the bare driver's fastest plain multi-row
 * INSERT into the same table (prepared and reused on SQLite, numbered parameters on
 * PostgreSQL, mysql2's `VALUES ?` expansion on MariaDB), both in one transaction, both
 * generating their ids and dates. Best of `reps` each, alternating, on an emptied table.
 */
import { randomUUID } from 'node:crypto';
import { bulkCreateQueueElements } from '../../src/db/store/queues.js';
import { benchDatabase, DIALECT_LABEL, fmt, progress, rawDb, timed, type LiveDialect, type RawDb, type Row } from './common.js';

const BASELINE_ROWS_PER_STATEMENT: Record<LiveDialect, number> = { sqlite: 1000, postgres: 5000, mysql: 5000 };

async function bareInsert(raw: RawDb, dialect: LiveDialect, encodeUuid: (id: string) => unknown, created: unknown, elements: { reference: string; data: string }[]) {
  const per = BASELINE_ROWS_PER_STATEMENT[dialect];
  const head = `INSERT INTO ${raw.q('Queues')} (id, queue_name, status, data, reference, created_date, created_by) VALUES `;
  await raw.transaction(async () => {
    for (let start = 0; start < elements.length; start += per) {
      const batch = elements.slice(start, start + per);
      if (dialect === 'mysql') {
        const rows = batch.map((e) => [encodeUuid(randomUUID()), 'bench', 'NEW', e.data, e.reference, created, 'bench']);
        await raw.query(`${head}?`, [rows]);
      } else {
        const params: unknown[] = [];
        for (const e of batch) params.push(encodeUuid(randomUUID()), 'bench', 'NEW', e.data, e.reference, created, 'bench');
        await raw.query(head + batch.map(() => '(?, ?, ?, ?, ?, ?, ?)').join(', '), params);
      }
    }
  });
}

export async function benchBulkInsert(dialect: LiveDialect, count: number, reps: number): Promise<Row> {
  const bench = await benchDatabase(dialect);
  const raw = await rawDb(dialect, bench.store);
  try {
    const { store } = bench;
    const elements = Array.from({ length: count }, (_, i) => ({ reference: `ref-${i}`, data: JSON.stringify({ invoice: i, amount: (i * 37) % 1000, customer: `customer-${i % 977}` }) }));
    const empty = () => raw.query(`DELETE FROM ${raw.q('Queues')}`);
    const created = store.dialect.encodeDate(new Date());
    let ours = Infinity;
    let base = Infinity;
    for (let rep = 0; rep < reps; rep++) {
      await empty();
      const [b] = await timed(() => bareInsert(raw, dialect, (id) => store.dialect.encodeUuid(id), created, elements));
      base = Math.min(base, b);
      await empty();
      const [o, n] = await timed(() => bulkCreateQueueElements(store, 'bench', elements));
      if (n !== count) throw new Error(`bulkCreateQueueElements inserted ${n} of ${count}`);
      ours = Math.min(ours, o);
      progress(`bulk insert ${DIALECT_LABEL[dialect]} ${fmt(count)}: ours ${fmt(o)} ms, bare driver ${fmt(b)} ms`);
    }
    const ratio = ours / base;
    return {
      bench: 'bulk insert',
      dialect: DIALECT_LABEL[dialect],
      size: `${fmt(count)} elements`,
      metric: 'time',
      unit: 'ms',
      ours,
      baselineName: 'bare driver multi-row INSERT',
      baseline: base,
      ratio,
      target: '<= 1.5x',
      met: ratio <= 1.5,
      note: `${fmt((count / ours) * 1000)} rows/s`,
    };
  } finally {
    await raw.close();
    await bench.close();
  }
}
