import { Link } from 'wouter';
import { api, type SchedulerRow } from '../api';
import { ErrorLine, SortableTable, usePoll, type Column } from '../components';
import { showDate } from '../format';
import { jobPath } from '../url';

export function SchedulersTab({ tick }: { tick: number }) {
  const { data, error } = usePoll(() => api<SchedulerRow[]>('GET', '/api/schedulers'), [], tick);
  const columns: Column<SchedulerRow>[] = [
    { key: 'machine', title: 'Machine', render: (s) => s.machineName, sortValue: (s) => s.machineName.toLowerCase() },
    {
      key: 'state',
      title: 'State',
      render: (s) => <span className={`status ${s.online ? 'status-idle' : 'status-failed'}`}>{s.online ? 'Online' : 'Offline'}</span>,
      sortValue: (s) => (s.online ? 0 : 1),
    },
    { key: 'heartbeat', title: 'Last heartbeat', render: (s) => `${showDate(s.lastUpdate)} (${s.secondsSinceUpdate} s ago)`, sortValue: (s) => s.lastUpdate },
    { key: 'latest', title: 'Latest trigger', render: (s) => s.latestTrigger ?? 'N/A', sortValue: (s) => s.latestTrigger ?? '' },
    { key: 'latestTime', title: 'Latest trigger time', render: (s) => showDate(s.latestTriggerTime), sortValue: (s) => s.latestTriggerTime ?? '' },
    {
      key: 'running',
      title: 'Running now',
      render: (s) =>
        s.running.length
          ? s.running.map((r, i) => (
              <span key={r.jobId}>
                {i > 0 && ', '}
                <Link href={jobPath(r.jobId)}>{r.processName}</Link> (since {showDate(r.startTime).slice(11)})
              </span>
            ))
          : '—',
      sortValue: (s) => s.running.length,
      grow: true,
    },
  ];
  return (
    <section className="panel">
      <p className="hint">A Scheduler is shown offline (red) when its last heartbeat is more than a minute old.</p>
      <ErrorLine error={error} />
      <SortableTable rows={data ?? []} columns={columns} rowKey={(s) => s.machineName} rowClass={(s) => (s.online ? '' : 'row-error')} testId="schedulers-table" empty="No Scheduler has reported yet." />
    </section>
  );
}
