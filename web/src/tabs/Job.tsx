/**
 * A job's own page (/jobs/<id>): what ran, where, when and with what arguments, why it failed in
 * one line, its logs and what its robot printed (both following live while it runs), Rerun (its
 * trigger, now) and Kill, and links to its trigger and to the queue elements it worked on.
 */
import { useEffect, useRef, useState } from 'react';
import { Link } from 'wouter';
import { api, query, RUN_NOW_FROM, type JobDetail, type LogEntry, type OutputLine, type Page } from '../api';
import { CopyLinkButton, ErrorLine, Status, usePoll } from '../components';
import { label, showDate, showDuration } from '../format';
import { jobPath, logsPath, queuePath, TAB_PATHS, triggerPath } from '../url';

/** How often a running job's page asks again. */
const FOLLOW_MS = 1000;

/** A job's trigger as people should read it (a Python 3.0 Scheduler records none). */
function TriggerFact({ job }: { job: JobDetail }) {
  if (job.trigger) return <Link href={triggerPath(job.trigger.id)}>{job.trigger.triggerName}</Link>;
  if (job.triggerId) return <>{`${job.triggerId} (deleted)`}</>;
  return <>not recorded (a Python Scheduler ran this job)</>;
}

/**
 * What the robot printed: the lines so far, then only the new ones (by line number) every second
 * while the job runs, and once more after it ended.
 */
function useOutput(id: string, running: boolean | undefined): { lines: OutputLine[]; error: string | null } {
  const [lines, setLines] = useState<OutputLine[]>([]);
  const [error, setError] = useState<string | null>(null);
  const last = useRef(0);
  useEffect(() => {
    // "stopped" and "busy" belong to this run of the effect: a fetch still in flight from the run
    // before (the job's status not known yet) must neither apply its reply nor keep this run from
    // fetching (it did, and a finished job's output stayed empty).
    let stopped = false;
    let busy = false;
    const fetchMore = async () => {
      if (busy) return;
      busy = true;
      try {
        for (;;) {
          const reply = await api<{ lines: OutputLine[]; running: boolean }>('GET', `/api/jobs/${id}/output${query({ afterSeq: last.current, limit: 1000 })}`);
          if (stopped) return;
          if (reply.lines.length > 0) {
            last.current = reply.lines.at(-1)!.seq;
            setLines((old) => [...old, ...reply.lines]);
          }
          setError(null);
          if (reply.lines.length < 1000) return;
        }
      } catch (e) {
        if (!stopped) setError((e as Error).message);
      } finally {
        busy = false;
      }
    };
    void fetchMore();
    if (!running) return () => void (stopped = true);
    const timer = setInterval(() => void fetchMore(), FOLLOW_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [id, running]);
  return { lines, error };
}

export function JobPage({ id, tick }: { id: string; tick: number }) {
  const [followFast, setFollowFast] = useState(true);
  const detail = usePoll(() => api<JobDetail>('GET', `/api/jobs/${id}`), [id], tick, followFast ? FOLLOW_MS : undefined);
  const job = detail.data;
  const running = job ? job.status === 'RUNNING' : undefined;
  const [rerunAt, setRerunAt] = useState<number | null>(null);
  // Fast while the job runs, or while a rerun has not started yet.
  useEffect(() => setFollowFast(running !== false || rerunAt !== null), [running, rerunAt]);
  const logs = usePoll(() => api<Page<LogEntry>>('GET', `/api/logs${query({ jobId: id, order: 'asc', limit: 1000 })}`), [id], tick, running ? FOLLOW_MS : undefined);
  const output = useOutput(id, running);
  const [action, setAction] = useState<{ text: string; ok: boolean } | null>(null);
  const newRun = job?.trigger?.latestJobId && job.trigger.latestJobId !== id ? job.trigger.latestJobId : null;
  useEffect(() => {
    if (newRun) setRerunAt(null);
  }, [newRun]);

  const post = (path: string, done: string, after?: () => void) => {
    setAction(null);
    api('POST', path)
      .then(() => {
        setAction({ text: done, ok: true });
        after?.();
        detail.reload();
      })
      .catch((e: Error) => setAction({ text: e.message, ok: false }));
  };

  if (!job) {
    return (
      <section className="panel job-page">
        <p>
          <Link href={TAB_PATHS.Jobs}>‹ All jobs</Link>
        </p>
        {detail.error ? <ErrorLine error={detail.error} /> : <p className="muted">Loading the job…</p>}
      </section>
    );
  }
  const trigger = job.trigger;
  const canRerun = trigger !== null && RUN_NOW_FROM.includes(trigger.status);
  const canKill = job.status === 'RUNNING' && trigger?.status === 'RUNNING';
  return (
    <section className="panel job-page" aria-labelledby="job-title">
      <div className="toolbar">
        <Link href={TAB_PATHS.Jobs}>‹ All jobs</Link>
      </div>
      <div className="job-head">
        <h2 id="job-title">
          Job of {job.processName} <Status value={job.status} />
        </h2>
        <div className="buttons">
          <button
            type="button"
            className="primary"
            disabled={!canRerun}
            title={trigger ? (canRerun ? 'Run its trigger again now' : `its trigger is ${label(trigger.status)}`) : 'no trigger to run again'}
            onClick={() => post(`/api/triggers/${trigger!.id}/run-now`, `"${trigger!.triggerName}" runs again at the next Scheduler tick.`, () => setRerunAt(Date.now()))}
          >
            Rerun
          </button>
          {job.status === 'RUNNING' && (
            <button type="button" className="danger" disabled={!canKill} onClick={() => post(`/api/triggers/${trigger!.id}/kill`, 'Kill requested: its Scheduler ends the process tree.')}>
              Kill
            </button>
          )}
          <CopyLinkButton />
        </div>
      </div>
      {action && (
        <p className={action.ok ? 'notice' : 'error'} role="status" data-testid="job-action">
          {action.text}
          {newRun && (
            <>
              {' '}
              <Link href={jobPath(newRun)}>Its new run ›</Link>
            </>
          )}
        </p>
      )}
      {!action && newRun && (
        <p className="notice">
          Its trigger has run again since: <Link href={jobPath(newRun)}>the newest run ›</Link>
        </p>
      )}
      {job.error && (
        <p className="failure-summary" data-testid="job-error">
          <strong>Why it failed:</strong> {job.error.summary}
        </p>
      )}
      <dl className="facts" data-testid="job-facts">
        <dt>Status</dt>
        <dd>
          <Status value={job.status} />
        </dd>
        <dt>Trigger</dt>
        <dd>
          <TriggerFact job={job} />
          {trigger && <span className="muted"> ({label(trigger.type).toLowerCase()}, now {label(trigger.status)})</span>}
        </dd>
        <dt>Process</dt>
        <dd>{job.processName}</dd>
        {trigger && (
          <>
            <dt>Process path</dt>
            <dd className="wrap">{trigger.processPath}</dd>
            <dt>Arguments</dt>
            <dd className="wrap" data-testid="job-arguments">
              {trigger.processArgs ?? <span className="muted">none</span>}
            </dd>
          </>
        )}
        <dt>Machine</dt>
        <dd>{job.schedulerName}</dd>
        <dt>Started</dt>
        <dd>{showDate(job.startTime)}</dd>
        <dt>Ended</dt>
        <dd>{job.endTime ? showDate(job.endTime) : 'still running'}</dd>
        <dt>Duration</dt>
        <dd>{showDuration(job.durationSeconds)}</dd>
        <dt>Id</dt>
        <dd className="wrap">{job.id}</dd>
      </dl>
      {job.elements && (
        <>
          <h3>
            Queue elements of <Link href={queuePath(job.elements.queueName)}>{job.elements.queueName}</Link> claimed while it ran ({job.elements.items.length})
          </h3>
          {job.elements.items.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul className="element-links" data-testid="job-elements">
              {job.elements.items.map((e) => (
                <li key={e.id}>
                  <Link href={queuePath(job.elements!.queueName, { element: e.id })}>{e.reference ?? e.id.slice(0, 8)}</Link> <Status value={e.status} />
                </li>
              ))}
            </ul>
          )}
        </>
      )}
      <div className="section-head">
        <h3>Logs ({logs.data?.total ?? '…'})</h3>
        <Link href={logsPath({ job: id })}>Open in Logs ›</Link>
      </div>
      <ErrorLine error={logs.error} />
      <pre className="message log-lines" data-testid="job-logs" tabIndex={0} aria-label="Logs of this job">
        {(logs.data?.items ?? []).map((l) => `${showDate(l.logTime)} ${l.level.padEnd(5)} ${l.message}`).join('\n') || 'No logs for this job.'}
      </pre>
      <div className="section-head">
        <h3>
          Output ({output.lines.length} line{output.lines.length === 1 ? '' : 's'}
          {running ? ', following' : ''})
        </h3>
      </div>
      <ErrorLine error={output.error} />
      <pre className="message output-lines" data-testid="job-output" tabIndex={0} aria-label="What the robot printed">
        {output.lines.length === 0
          ? running
            ? 'Nothing printed yet.'
            : 'The robot printed nothing (or ran under a Scheduler that does not keep output).'
          : output.lines.map((l) => (
              <span key={l.seq} className={l.stream === 'stderr' ? 'stderr' : undefined}>
                {l.text}
                {'\n'}
              </span>
            ))}
      </pre>
    </section>
  );
}
