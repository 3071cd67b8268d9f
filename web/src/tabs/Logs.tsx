import { Link } from 'wouter';
import { api, query, type LogEntry, type Page } from '../api';
import { ErrorLine, HeadedTable, Pager, Status, usePoll, type Column } from '../components';
import { DateTimeInput, SelectField } from '../forms';
import { showDate } from '../format';
import { jobPath, offsetOf, pageOf, useUrlState } from '../url';

export function LogsTab({ tick }: { tick: number }) {
  const [q, setQ] = useUrlState({ from: '', to: '', process: '', level: '', limit: '100', page: '1', order: 'desc', job: '' });
  const limit = [50, 100, 500, 1000].includes(Number(q.limit)) ? Number(q.limit) : 100;
  const offset = offsetOf(q.page, limit);
  const order = q.order === 'asc' ? 'asc' : 'desc';
  const names = usePoll(() => api<string[]>('GET', '/api/logs/process-names'), [], tick);
  const { data, error } = usePoll(
    () => api<Page<LogEntry>>('GET', `/api/logs${query({ from: q.from, to: q.to, processName: q.process, level: q.level, jobId: q.job, order, offset, limit })}`),
    [q.from, q.to, q.process, q.level, q.job, order, offset, limit],
    tick,
  );
  const columns: Column<LogEntry>[] = [
    { key: 'time', title: 'Time', render: (l) => showDate(l.logTime), sortValue: (l) => l.logTime },
    { key: 'level', title: 'Level', render: (l) => <Status value={l.level} /> },
    { key: 'process', title: 'Process', render: (l) => l.processName },
    { key: 'message', title: 'Message (click a row for all of it)', render: (l) => l.message, grow: true },
  ];
  return (
    <section className="panel">
      <div className="toolbar filters">
        <DateTimeInput label="From" name="from" value={q.from} onChange={(v) => setQ({ from: v, page: '1' }, { replace: true })} />
        <DateTimeInput label="To" name="to" value={q.to} onChange={(v) => setQ({ to: v, page: '1' }, { replace: true })} />
        <SelectField name="processName" label="Process" value={q.process} onChange={(v) => setQ({ process: v, page: '1' })} options={[['', 'All processes'], ...(names.data ?? []).map((n) => [n, n] as const)]} />
        <SelectField
          name="level"
          label="Level"
          value={q.level}
          onChange={(v) => setQ({ level: v, page: '1' })}
          options={[
            ['', 'All levels'],
            ['TRACE', 'Trace'],
            ['INFO', 'Info'],
            ['ERROR', 'Error'],
          ]}
        />
        <SelectField name="limit" label="Rows per page" value={String(limit)} onChange={(v) => setQ({ limit: v, page: '1' })} options={['50', '100', '500', '1000'].map((n) => [n, n] as const)} />
        {q.job && (
          <button type="button" onClick={() => setQ({ job: '', page: '1' })} aria-label={`Remove the filter on job ${q.job}`}>
            Job {q.job.slice(0, 8)} ×
          </button>
        )}
      </div>
      <ErrorLine error={error} />
      <HeadedTable
        rows={data?.items ?? []}
        columns={columns}
        rowKey={(l) => l.id}
        sortKey="time"
        sortDir={order}
        onSort={() => setQ({ order: order === 'desc' ? 'asc' : 'desc', page: '1' })}
        rowLabel={(l) => `${l.level} log of ${l.processName} at ${showDate(l.logTime)}: ${l.message.slice(0, 80)}`}
        expand={(l) => (
          <div className="log-detail">
            <pre className="message" data-testid="log-message">
              {l.message}
            </pre>
            {l.jobId && <Link href={jobPath(l.jobId)}>Show its job ›</Link>}
          </div>
        )}
        rowClass={(l) => (l.level === 'ERROR' ? 'row-error' : '')}
        testId="logs-table"
        empty="No logs match."
      />
      <Pager offset={offset} limit={limit} total={data?.total ?? null} onChange={(o) => setQ({ page: pageOf(o, limit) })} />
    </section>
  );
}
