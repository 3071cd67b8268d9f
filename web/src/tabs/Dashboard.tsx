import { useState } from 'react';
import { Link, useLocation } from 'wouter';
import { api, query, type Monitoring } from '../api';
import { SeriesChart } from '../charts';
import { ErrorLine, SortableTable, usePoll, type Column } from '../components';
import { showDate } from '../format';
import { jobPath, TAB_PATHS } from '../url';
import type { RowData } from '@tanstack/react-table';
import { RetentionSection, type TableSize } from './Retention';

interface FailedJob {
  id: string;
  processName: string;
  schedulerName: string;
  startTime: string;
  endTime: string;
  triggerId: string | null;
  triggerName: string | null;
  error: string | null;
}

interface Attention {
  at: string;
  failedJobs: FailedJob[];
  lateTriggers: { id: string; triggerName: string; processName: string; type: string; nextRun: string; minutesLate: number }[];
  offlineSchedulers: { machineName: string; lastUpdate: string; minutesSilent: number }[];
  queues: { queueName: string; newCount: number; oldestNew: string; oldestMinutes: number; backlog: boolean; old: boolean }[];
  staleElements: { id: string; queueName: string; reference: string | null; startDate: string | null }[];
  openIncidents: { id: string; ruleId: string; subject: string; detail: string | null; openedAt: string }[];
  monitoring: Monitoring;
  tables: TableSize[];
}

interface RunBucket {
  start: string;
  done: number;
  failed: number;
  killed: number;
}
interface QueueBucket {
  start: string;
  created: number;
  finished: number;
  backlog: number;
}

/** The late-trigger threshold the dashboard asks for (a Scheduler polls every few seconds). */
const LATE_MINUTES = 5;

const hourLabel = (start: string, days: number) => (days === 1 ? `${start.slice(11, 13)}:00` : `${start.slice(5, 10)} ${start.slice(11, 13)}h`);
const age = (minutes: number) => (minutes < 120 ? `${minutes} min` : minutes < 2880 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 1440)} days`);

/** One panel of the "needs attention" grid: a count in its heading, its rows, or a calm line. */
function Card<T extends RowData>({
  title,
  rows,
  columns,
  rowKey,
  calm,
  testId,
  alert = rows.length > 0,
  onRowClick,
  rowLabel,
  initialSort,
  initialDesc,
}: {
  title: string;
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  calm: string;
  testId: string;
  alert?: boolean;
  onRowClick?: (row: T) => void;
  rowLabel?: (row: T) => string;
  initialSort?: string;
  initialDesc?: boolean;
}) {
  return (
    <div className={`card ${alert ? 'attention' : 'calm'}`} data-testid={testId}>
      <h3>
        {title} <span className="count">{rows.length}</span>
      </h3>
      {rows.length === 0 ? (
        <p className="muted">{calm}</p>
      ) : (
        <SortableTable rows={rows} columns={columns} rowKey={rowKey} testId={`${testId}-table`} empty={calm} onRowClick={onRowClick} rowLabel={rowLabel} initialSort={initialSort} initialDesc={initialDesc} />
      )}
    </div>
  );
}

/** Rerun of a failed job from its row: its trigger, now (the same as the job page's Rerun). */
function RerunButton({ job, onDone }: { job: FailedJob; onDone: (text: string, ok: boolean) => void }) {
  const [busy, setBusy] = useState(false);
  if (!job.triggerId) return <span className="muted" title="a Python Scheduler ran it, or its trigger was deleted">no trigger</span>;
  return (
    <button
      type="button"
      disabled={busy}
      aria-label={`Rerun ${job.triggerName ?? job.processName}`}
      onClick={() => {
        setBusy(true);
        api('POST', `/api/triggers/${job.triggerId}/run-now`)
          .then(() => onDone(`"${job.triggerName ?? job.processName}" runs again at the next Scheduler tick.`, true))
          .catch((e: Error) => onDone(e.message, false))
          .finally(() => setBusy(false));
      }}
    >
      Rerun
    </button>
  );
}

export function DashboardTab({ tick }: { tick: number }) {
  const [, navigate] = useLocation();
  const [rerun, setRerun] = useState<{ text: string; ok: boolean } | null>(null);
  const [days, setDays] = useState(1);
  const attention = usePoll(() => api<Attention>('GET', `/api/dashboard${query({ lateMinutes: LATE_MINUTES })}`), [], tick);
  const runs = usePoll(() => api<{ buckets: RunBucket[] }>('GET', `/api/dashboard/runs${query({ days })}`), [days], tick);
  const queues = usePoll(() => api<{ buckets: QueueBucket[] }>('GET', `/api/dashboard/queues${query({ days })}`), [days], tick);
  const a = attention.data;
  const runBuckets = runs.data?.buckets ?? [];
  const queueBuckets = queues.data?.buckets ?? [];
  const period = days === 1 ? 'last 24 hours' : 'last 7 days';
  return (
    <section className="panel dashboard">
      <ErrorLine error={attention.error ?? runs.error ?? queues.error} />
      {a?.monitoring.warning && (
        <p className="warning" role="status" data-testid="monitor-warning">
          {a.monitoring.warning} <Link href={TAB_PATHS.Alerts}>Alerts ›</Link>
        </p>
      )}
      {rerun && (
        <p className={rerun.ok ? 'notice' : 'error'} role="status">
          {rerun.text}
        </p>
      )}
      <h2>Needs attention</h2>
      <div className="cards">
        <Card
          title="Jobs failed in the last 24 hours"
          testId="failed-jobs"
          rows={a?.failedJobs ?? []}
          rowKey={(j) => j.id}
          calm="No job failed in the last 24 hours."
          initialSort="end"
          initialDesc
          onRowClick={(j) => navigate(jobPath(j.id))}
          rowLabel={(j) => `Failed job of ${j.processName}, ended ${showDate(j.endTime)}: ${j.error ?? 'no error logged'}`}
          columns={[
            {
              key: 'end',
              title: 'Ended',
              render: (j) => (
                <Link href={jobPath(j.id)} tabIndex={-1}>
                  {showDate(j.endTime)}
                </Link>
              ),
              sortValue: (j) => j.endTime,
            },
            { key: 'process', title: 'Process', render: (j) => j.processName, sortValue: (j) => j.processName },
            { key: 'error', title: 'Error', render: (j) => <span title={j.error ?? undefined}>{j.error ?? <span className="muted">no Error log</span>}</span>, grow: true },
            { key: 'rerun', title: 'Rerun', interactive: true, render: (j) => <RerunButton job={j} onDone={(text, ok) => setRerun({ text, ok })} /> },
          ]}
        />
        <Card
          title={`Triggers late by more than ${LATE_MINUTES} minutes`}
          testId="late-triggers"
          rows={a?.lateTriggers ?? []}
          rowKey={(t) => t.id}
          calm="Every due trigger has started."
          columns={[
            { key: 'name', title: 'Trigger', render: (t) => t.triggerName, sortValue: (t) => t.triggerName },
            { key: 'process', title: 'Process', render: (t) => t.processName },
            { key: 'due', title: 'Due', render: (t) => showDate(t.nextRun), sortValue: (t) => t.nextRun },
            { key: 'late', title: 'Late', render: (t) => age(t.minutesLate), sortValue: (t) => t.minutesLate },
          ]}
        />
        <Card
          title="Schedulers offline"
          testId="offline-schedulers"
          rows={a?.offlineSchedulers ?? []}
          rowKey={(s) => s.machineName}
          calm="Every Scheduler reported within the last minute."
          columns={[
            { key: 'machine', title: 'Machine', render: (s) => s.machineName, sortValue: (s) => s.machineName },
            { key: 'last', title: 'Last heartbeat', render: (s) => showDate(s.lastUpdate), sortValue: (s) => s.lastUpdate },
            { key: 'silent', title: 'Silent for', render: (s) => age(s.minutesSilent), sortValue: (s) => s.minutesSilent },
          ]}
        />
        <Card
          title="Queues with New elements"
          testId="queue-backlogs"
          rows={a?.queues ?? []}
          // New elements alone are normal work; a backlog or an old one needs a look.
          alert={(a?.queues ?? []).some((q) => q.backlog || q.old)}
          rowKey={(q) => q.queueName}
          calm="No queue has New elements waiting."
          columns={[
            { key: 'queue', title: 'Queue', render: (q) => q.queueName, sortValue: (q) => q.queueName },
            { key: 'new', title: 'New', render: (q) => <span className={q.backlog ? 'warn' : ''}>{q.newCount.toLocaleString()}{q.backlog ? ' (backlog)' : ''}</span>, sortValue: (q) => q.newCount },
            { key: 'oldest', title: 'Oldest New', render: (q) => <span className={q.old ? 'warn' : ''}>{age(q.oldestMinutes)}{q.old ? ' (old)' : ''}</span>, sortValue: (q) => q.oldestMinutes },
          ]}
        />
        <Card
          title="Stale In Progress elements"
          testId="stale-elements"
          rows={a?.staleElements ?? []}
          rowKey={(e) => e.id}
          calm="No element is In Progress after its job ended."
          columns={[
            { key: 'queue', title: 'Queue', render: (e) => e.queueName, sortValue: (e) => e.queueName },
            { key: 'reference', title: 'Reference', render: (e) => e.reference ?? e.id.slice(0, 8) },
            { key: 'started', title: 'Started', render: (e) => showDate(e.startDate) },
          ]}
        />
        <Card
          title="Open incidents"
          testId="open-incidents"
          rows={a?.openIncidents ?? []}
          rowKey={(i) => i.id}
          calm="No alert rule is firing."
          columns={[
            { key: 'subject', title: 'Incident', render: (i) => <span title={i.detail ?? undefined}>{i.subject}</span>, sortValue: (i) => i.subject },
            { key: 'opened', title: 'Opened', render: (i) => showDate(i.openedAt), sortValue: (i) => i.openedAt },
          ]}
        />
      </div>
      <div className="toolbar">
        <h2>Activity</h2>
        <div role="group" aria-label="period" className="segmented">
          {[1, 7].map((d) => (
            <button key={d} type="button" aria-pressed={days === d} className={days === d ? 'active' : ''} onClick={() => setDays(d)}>
              {d === 1 ? 'Last day' : 'Last week'}
            </button>
          ))}
        </div>
      </div>
      <SeriesChart
        testId="runs-chart"
        title={`Runs per hour by outcome (${period})`}
        valueTitle="runs ended"
        categoryTitle="hour"
        stacked
        empty={`No run ended in the ${period}.`}
        labels={runBuckets.map((b) => hourLabel(b.start, days))}
        series={[
          { label: 'Done', colorVar: '--done', values: runBuckets.map((b) => b.done) },
          { label: 'Failed', colorVar: '--failed', values: runBuckets.map((b) => b.failed) },
          { label: 'Killed', colorVar: '--killed', values: runBuckets.map((b) => b.killed) },
        ]}
      />
      <SeriesChart
        testId="throughput-chart"
        title={`Queue elements created and finished per hour, all queues (${period})`}
        valueTitle="elements"
        categoryTitle="hour"
        empty={`No queue element was created or finished in the ${period}.`}
        labels={queueBuckets.map((b) => hourLabel(b.start, days))}
        series={[
          { label: 'Created', colorVar: '--running', values: queueBuckets.map((b) => b.created) },
          { label: 'Finished', colorVar: '--idle', values: queueBuckets.map((b) => b.finished) },
        ]}
      />
      <SeriesChart
        testId="backlog-chart"
        title={`Queue backlog (New or In Progress) at the end of each hour (${period})`}
        valueTitle="open elements"
        categoryTitle="hour"
        empty={`No queue had open elements in the ${period}.`}
        labels={queueBuckets.map((b) => hourLabel(b.start, days))}
        series={[{ label: 'Backlog', colorVar: '--paused', values: queueBuckets.map((b) => b.backlog) }]}
      />
      <RetentionSection tables={a?.tables ?? []} tick={tick} />
    </section>
  );
}
