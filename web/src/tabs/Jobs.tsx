import { useLocation } from 'wouter';
import { api, query, type Job, type Page } from '../api';
import { BarChart } from '../charts';
import { ErrorLine, HeadedTable, Pager, Status, usePoll, type Column } from '../components';
import { DateTimeInput, SelectField } from '../forms';
import { showDate, showDuration } from '../format';
import { jobPath, offsetOf, pageOf, useUrlState } from '../url';

/**
 * A job's trigger as people should read it: its name; a deleted one; or none recorded, which is
 * how a Python 3.0 Scheduler writes its Jobs rows (it has no trigger_id column).
 */
function triggerText(job: Job): string {
  if (job.triggerName) return job.triggerName;
  return job.triggerId ? 'deleted trigger' : 'not recorded';
}

const LIMIT = 100;

export function JobsTab({ tick }: { tick: number }) {
  const [, navigate] = useLocation();
  const [q, setQ] = useUrlState({ process: '', status: '', from: '', to: '', page: '1' });
  const offset = offsetOf(q.page, LIMIT);
  const names = usePoll(() => api<string[]>('GET', '/api/jobs/process-names'), [], tick);
  const jobs = usePoll(
    () => api<Page<Job>>('GET', `/api/jobs${query({ processName: q.process, status: q.status, from: q.from, to: q.to, offset, limit: LIMIT })}`),
    [q.process, q.status, q.from, q.to, offset],
    tick,
  );
  const durations = usePoll(() => api<{ processName: string; count: number; avgSeconds: number; maxSeconds: number; minSeconds: number }[]>('GET', '/api/jobs/durations?days=7'), [], tick);
  const columns: Column<Job>[] = [
    { key: 'trigger', title: 'Trigger', render: (j) => triggerText(j) },
    { key: 'process', title: 'Process', render: (j) => j.processName },
    { key: 'scheduler', title: 'Scheduler', render: (j) => j.schedulerName },
    { key: 'start', title: 'Start', render: (j) => showDate(j.startTime) },
    { key: 'end', title: 'End', render: (j) => showDate(j.endTime) },
    { key: 'duration', title: 'Duration', render: (j) => showDuration(j.durationSeconds) },
    { key: 'status', title: 'Status', render: (j) => <Status value={j.status} /> },
  ];
  return (
    <section className="panel">
      <div className="toolbar filters">
        <SelectField
          name="processName"
          label="Process"
          value={q.process}
          onChange={(v) => setQ({ process: v, page: '1' })}
          options={[['', 'All processes'], ...(names.data ?? []).map((n) => [n, n] as const)]}
        />
        <SelectField
          name="status"
          label="Status"
          value={q.status}
          onChange={(v) => setQ({ status: v, page: '1' })}
          options={[
            ['', 'All'],
            ['RUNNING', 'Running'],
            ['DONE', 'Done'],
            ['FAILED', 'Failed'],
            ['KILLED', 'Killed'],
          ]}
        />
        <DateTimeInput label="Started from" name="from" value={q.from} onChange={(v) => setQ({ from: v, page: '1' }, { replace: true })} />
        <DateTimeInput label="Started to" name="to" value={q.to} onChange={(v) => setQ({ to: v, page: '1' }, { replace: true })} />
      </div>
      <ErrorLine error={jobs.error} />
      <HeadedTable
        rows={jobs.data?.items ?? []}
        columns={columns}
        rowKey={(j) => j.id}
        onRowClick={(j) => navigate(jobPath(j.id))}
        rowLabel={(j) => `Job of ${j.processName}, ${j.status.toLowerCase()}, started ${showDate(j.startTime)}`}
        testId="jobs-table"
        empty="No jobs match."
      />
      <Pager offset={offset} limit={LIMIT} total={jobs.data?.total ?? null} onChange={(o) => setQ({ page: pageOf(o, LIMIT) })} />
      <BarChart
        testId="durations-chart"
        title="Average duration of finished jobs per process (last 7 days)"
        valueTitle="average duration, seconds"
        categoryTitle="process"
        unit=" s"
        horizontal
        showZero
        empty="No finished jobs in the last 7 days."
        data={(durations.data ?? []).map((d) => ({
          label: d.processName,
          value: Math.round(d.avgSeconds * 10) / 10,
          tooltip: [`${d.count} run${d.count === 1 ? '' : 's'}`, `average ${showDuration(d.avgSeconds)}`, `min ${showDuration(d.minSeconds)}, max ${showDuration(d.maxSeconds)}`],
        }))}
      />
    </section>
  );
}
