import { useState } from 'react';
import { api, query, type Job, type LogEntry, type Navigate, type Page } from '../api';
import { BarChart } from '../charts';
import { DateTimeInput, Dialog, ErrorLine, Field, HeadedTable, Pager, Status, usePoll, type Column } from '../components';
import { showDate, showDuration } from '../format';

/**
 * A job's trigger as people should read it: its name; a deleted one; or none recorded, which is
 * how a Python 3.0 Scheduler writes its Jobs rows (it has no trigger_id column).
 */
function triggerText(job: Job, long: boolean): string {
  if (job.triggerName) return job.triggerName;
  if (job.triggerId) return long ? `${job.triggerId} (deleted)` : 'deleted trigger';
  return long ? 'not recorded (a Python Scheduler ran this job)' : 'not recorded';
}

function JobDialog({ job, onClose, navigate }: { job: Job; onClose: () => void; navigate: Navigate }) {
  const logs = usePoll(() => api<Page<LogEntry>>('GET', `/api/logs${query({ jobId: job.id, order: 'asc', limit: 200 })}`), [job.id], 0);
  return (
    <Dialog title={`Job of ${job.processName}`} onClose={onClose} wide>
      <dl className="facts">
        <dt>Trigger</dt>
        <dd>{triggerText(job, true)}</dd>
        <dt>Scheduler</dt>
        <dd>{job.schedulerName}</dd>
        <dt>Start / end</dt>
        <dd>
          {showDate(job.startTime)} / {showDate(job.endTime)} ({showDuration(job.durationSeconds)})
        </dd>
        <dt>Status</dt>
        <dd>
          <Status value={job.status} />
        </dd>
      </dl>
      <h3>Logs ({logs.data?.total ?? '…'})</h3>
      <pre className="message" data-testid="job-logs">
        {(logs.data?.items ?? []).map((l) => `${showDate(l.logTime)} ${l.level.padEnd(5)} ${l.message}`).join('\n') || 'No logs for this job.'}
      </pre>
      <button type="button" onClick={() => navigate('Logs', { jobId: job.id })}>
        Open in Logs
      </button>
    </Dialog>
  );
}

export function JobsTab({ tick, navigate, initial }: { tick: number; navigate: Navigate; initial: { jobId?: string; processName?: string } }) {
  const [processName, setProcessName] = useState(initial.processName ?? '');
  const [status, setStatus] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [offset, setOffset] = useState(0);
  const limit = 100;
  const [open, setOpen] = useState<Job | null>(null);
  const names = usePoll(() => api<string[]>('GET', '/api/jobs/process-names'), [], tick);
  const jobs = usePoll(() => api<Page<Job>>('GET', `/api/jobs${query({ processName, status, from, to, offset, limit })}`), [processName, status, from, to, offset], tick);
  const durations = usePoll(() => api<{ processName: string; count: number; avgSeconds: number; maxSeconds: number; minSeconds: number }[]>('GET', '/api/jobs/durations?days=7'), [], tick);
  const linked = usePoll(() => (initial.jobId ? api<Job>('GET', `/api/jobs/${initial.jobId}`) : Promise.resolve(null)), [initial.jobId], 0);
  const reset = <T,>(setter: (v: T) => void) => (v: T) => {
    setter(v);
    setOffset(0);
  };
  const columns: Column<Job>[] = [
    { key: 'trigger', title: 'Trigger', render: (j) => triggerText(j, false) },
    { key: 'process', title: 'Process', render: (j) => j.processName },
    { key: 'scheduler', title: 'Scheduler', render: (j) => j.schedulerName },
    { key: 'start', title: 'Start', render: (j) => showDate(j.startTime) },
    { key: 'end', title: 'End', render: (j) => showDate(j.endTime) },
    { key: 'duration', title: 'Duration', render: (j) => showDuration(j.durationSeconds) },
    { key: 'status', title: 'Status', render: (j) => <Status value={j.status} /> },
  ];
  const shown = open ?? (linked.data && !open ? linked.data : null);
  const [dismissedLink, setDismissedLink] = useState(false);
  return (
    <section className="panel">
      <div className="toolbar filters">
        <Field label="Process">
          <select name="processName" value={processName} onChange={(e) => reset(setProcessName)(e.target.value)}>
            <option value="">All processes</option>
            {(names.data ?? []).map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
        <Field label="Status">
          <select name="status" value={status} onChange={(e) => reset(setStatus)(e.target.value)}>
            <option value="">All</option>
            {['RUNNING', 'DONE', 'FAILED', 'KILLED'].map((s) => (
              <option key={s} value={s}>
                {s[0] + s.slice(1).toLowerCase()}
              </option>
            ))}
          </select>
        </Field>
        <DateTimeInput label="Started from" name="from" value={from} onChange={reset(setFrom)} />
        <DateTimeInput label="Started to" name="to" value={to} onChange={reset(setTo)} />
      </div>
      <ErrorLine error={jobs.error} />
      <HeadedTable rows={jobs.data?.items ?? []} columns={columns} rowKey={(j) => j.id} onRowClick={setOpen} testId="jobs-table" empty="No jobs match." />
      <Pager offset={offset} limit={limit} total={jobs.data?.total ?? null} onChange={setOffset} />
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
      {shown && !(shown === linked.data && dismissedLink && !open) && (
        <JobDialog
          job={shown}
          navigate={navigate}
          onClose={() => {
            setOpen(null);
            setDismissedLink(true);
          }}
        />
      )}
    </section>
  );
}
