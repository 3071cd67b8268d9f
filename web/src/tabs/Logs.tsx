import { useState } from 'react';
import { api, query, type LogEntry, type Navigate, type Page } from '../api';
import { DateTimeInput, ErrorLine, Field, HeadedTable, Pager, Status, usePoll, type Column } from '../components';
import { showDate } from '../format';

export function LogsTab({ tick, navigate, initial }: { tick: number; navigate: Navigate; initial: { jobId?: string; processName?: string } }) {
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [processName, setProcessName] = useState(initial.processName ?? '');
  const [level, setLevel] = useState('');
  const [limit, setLimit] = useState(100);
  const [offset, setOffset] = useState(0);
  const [order, setOrder] = useState<'asc' | 'desc'>('desc');
  const [jobId, setJobId] = useState(initial.jobId ?? '');
  const names = usePoll(() => api<string[]>('GET', '/api/logs/process-names'), [], tick);
  const { data, error } = usePoll(
    () => api<Page<LogEntry>>('GET', `/api/logs${query({ from, to, processName, level, jobId, order, offset, limit })}`),
    [from, to, processName, level, jobId, order, offset, limit],
    tick,
  );
  const reset = <T,>(setter: (v: T) => void) => (v: T) => {
    setter(v);
    setOffset(0);
  };
  const columns: Column<LogEntry>[] = [
    { key: 'time', title: 'Time', render: (l) => showDate(l.logTime), sortValue: (l) => l.logTime },
    { key: 'level', title: 'Level', render: (l) => <Status value={l.level} /> },
    { key: 'process', title: 'Process', render: (l) => l.processName },
    { key: 'message', title: 'Message (click a row for all of it)', render: (l) => l.message, grow: true },
  ];
  return (
    <section className="panel">
      <div className="toolbar filters">
        <DateTimeInput label="From" name="from" value={from} onChange={reset(setFrom)} />
        <DateTimeInput label="To" name="to" value={to} onChange={reset(setTo)} />
        <Field label="Process">
          <select name="processName" value={processName} onChange={(e) => reset(setProcessName)(e.target.value)}>
            <option value="">All processes</option>
            {(names.data ?? []).map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
        <Field label="Level">
          <select name="level" value={level} onChange={(e) => reset(setLevel)(e.target.value)}>
            <option value="">All levels</option>
            <option value="TRACE">Trace</option>
            <option value="INFO">Info</option>
            <option value="ERROR">Error</option>
          </select>
        </Field>
        <Field label="Rows per page">
          <select name="limit" value={limit} onChange={(e) => reset(setLimit)(Number(e.target.value))}>
            {[50, 100, 500, 1000].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
        {jobId && (
          <button type="button" onClick={() => reset(setJobId)('')}>
            Job {jobId.slice(0, 8)} ×
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
        onSort={() => reset(setOrder)(order === 'desc' ? 'asc' : 'desc')}
        expand={(l) => (
          <div className="log-detail">
            <pre className="message" data-testid="log-message">
              {l.message}
            </pre>
            {l.jobId && (
              <button type="button" onClick={() => navigate('Jobs', { jobId: l.jobId! })}>
                Show its job
              </button>
            )}
          </div>
        )}
        rowClass={(l) => (l.level === 'ERROR' ? 'row-error' : '')}
        testId="logs-table"
        empty="No logs match."
      />
      <Pager offset={offset} limit={limit} total={data?.total ?? null} onChange={setOffset} />
    </section>
  );
}
