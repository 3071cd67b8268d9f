/**
 * What robots print (oo_job_output): the Scheduler appends lines while a robot runs; the
 * Orchestrator reads a job's lines in order, from a line number on, to follow it live.
 */
import type { Store } from '../open.js';
import { paged } from './paging.js';
import { splitIntoStatements } from './queues.js';
import { checkId, checkInteger, checkText } from './validate.js';

export type OutputStream = 'stdout' | 'stderr';

/** One line (or one piece of a long line) a robot printed, already scrubbed of secrets. */
export interface OutputLine {
  /** its place in the job's output, from 1 */
  seq: number;
  stream: OutputStream;
  at: Date;
  text: string;
}

/** The longest text one row holds; longer lines are stored in pieces. */
export const OUTPUT_LINE_CHARS = 1000;
/** Rows per INSERT: five values each, well inside every dialect's bind limit. */
const ROWS_PER_STATEMENT = 200;

/**
 * Appends lines of one job in one statement per 200 lines. A seq that exists already is an
 * error (the writer counts them; nothing else writes them).
 *
 * @example
 *   await appendJobOutput(store, jobId, [{ seq: 1, stream: 'stdout', at: new Date(), text: 'hello' }]);
 */
export async function appendJobOutput(store: Store, jobId: string, lines: readonly OutputLine[]): Promise<void> {
  if (lines.length === 0) return;
  const { db, dialect } = store;
  const id = dialect.encodeUuid(checkId('job id', jobId));
  const rows = lines.map((line) => ({
    job_id: id,
    seq: checkInteger('output line number', line.seq, 1, 2_147_483_647),
    stream: line.stream,
    line_time: dialect.encodeDate(line.at),
    line_text: line.text === '' ? null : checkText(store.dialect, 'output line', line.text, OUTPUT_LINE_CHARS),
  }));
  const maxRows = Math.min(ROWS_PER_STATEMENT, dialect.maxRowsPerInsert, Math.floor(dialect.maxBindParams / 5));
  for (const batch of splitIntoStatements(rows, maxRows, Number.POSITIVE_INFINITY, () => 0)) await db.insertInto('oo_job_output').values(batch).execute();
}

/**
 * A job's lines after line `afterSeq` (0: from the start), oldest first, at most `limit`.
 *
 * @example
 *   const next = await listJobOutput(store, jobId, { afterSeq: last.seq });
 */
export async function listJobOutput(store: Store, jobId: string, options: { afterSeq?: number; limit?: number } = {}): Promise<OutputLine[]> {
  const { db, dialect } = store;
  const id = dialect.encodeUuid(checkId('job id', jobId));
  const after = checkInteger('afterSeq', options.afterSeq ?? 0, 0, 2_147_483_647);
  const limit = checkInteger('limit', options.limit ?? 1000, 1, 5000);
  const rows = await db
    .selectFrom('oo_job_output')
    .select(['seq', 'stream', 'line_time', 'line_text'])
    .where('job_id', '=', id)
    .where('seq', '>', after)
    .orderBy('seq')
    .$call(paged(dialect, limit))
    .execute();
  return rows.map((row) => ({ seq: Number(row.seq), stream: row.stream === 'stderr' ? 'stderr' : 'stdout', at: dialect.decodeDate(row.line_time), text: row.line_text ?? '' }));
}
