import { useEffect, useState } from 'react';
import { Link, useLocation, useSearch } from 'wouter';
import { api, query, RUN_NOW_FROM, type Trigger } from '../api';
import { ErrorLine, SortableTable, Status, useAction, usePoll, type Column } from '../components';
import { CheckField, DateTimeInput, FormDialog, TextField, useFormAction } from '../forms';
import { Needs } from '../access';
import { label, localInputValue, showDate } from '../format';
import { jobPath, logsPath, TAB_PATHS, triggerPath, useUrlState } from '../url';

type TriggerType = Trigger['type'];

interface FormState {
  triggerName: string;
  processName: string;
  processPath: string;
  processArgs: string;
  isGitRepo: boolean;
  gitBranch: string;
  isBlocking: boolean;
  schedulerWhitelist: string;
  priority: string;
  nextRun: string;
  cronExpr: string;
  queueName: string;
  minBatchSize: string;
}

function emptyForm(): FormState {
  return {
    triggerName: '',
    processName: '',
    processPath: '',
    processArgs: '',
    isGitRepo: false,
    gitBranch: '',
    isBlocking: true,
    schedulerWhitelist: '',
    priority: '0',
    nextRun: localInputValue(new Date(Date.now() + 5 * 60_000)),
    cronExpr: '',
    queueName: '',
    minBatchSize: '1',
  };
}

function formOf(t: Trigger): FormState {
  return {
    triggerName: t.triggerName,
    processName: t.processName,
    processPath: t.processPath,
    processArgs: t.processArgs ?? '',
    isGitRepo: t.isGitRepo,
    gitBranch: t.gitBranch ?? '',
    isBlocking: t.isBlocking,
    schedulerWhitelist: t.schedulerWhitelist.join(', '),
    priority: String(t.priority),
    nextRun: t.nextRun ? t.nextRun.slice(0, 16) : '',
    cronExpr: t.cronExpr ?? '',
    queueName: t.queueName ?? '',
    minBatchSize: String(t.minBatchSize ?? 1),
  };
}

/** The body the API expects: only the fields the type uses; numbers as numbers. */
function bodyOf(type: TriggerType, f: FormState, editing: boolean): Record<string, unknown> {
  const body: Record<string, unknown> = {
    type,
    triggerName: f.triggerName,
    processName: f.processName,
    processPath: f.processPath,
    processArgs: f.processArgs === '' ? null : f.processArgs,
    isGitRepo: f.isGitRepo,
    gitBranch: f.isGitRepo && f.gitBranch !== '' ? f.gitBranch : null,
    isBlocking: f.isBlocking,
    schedulerWhitelist: f.schedulerWhitelist
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    priority: Number.isInteger(Number(f.priority)) && f.priority.trim() !== '' ? Number(f.priority) : f.priority,
  };
  if (type === 'SINGLE') body.nextRun = f.nextRun;
  if (type === 'SCHEDULED') {
    body.cronExpr = f.cronExpr;
    if (editing && f.nextRun) body.nextRun = f.nextRun;
  }
  if (type === 'QUEUE') {
    body.queueName = f.queueName;
    body.minBatchSize = Number.isInteger(Number(f.minBatchSize)) && f.minBatchSize.trim() !== '' ? Number(f.minBatchSize) : f.minBatchSize;
  }
  return body;
}

function CronPreview({ expr }: { expr: string }) {
  const [preview, setPreview] = useState<{ description: string; nextRuns: string[] } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (expr.trim() === '') {
      setPreview(null);
      setError(null);
      return;
    }
    const timer = setTimeout(() => {
      api<{ description: string; nextRuns: string[] }>('GET', `/api/cron${query({ expr })}`)
        .then((p) => {
          setPreview(p);
          setError(null);
        })
        .catch((e: Error) => {
          setPreview(null);
          setError(e.message);
        });
    }, 250);
    return () => clearTimeout(timer);
  }, [expr]);
  if (error) return <span className="field-error">{error}</span>;
  if (!preview) return null;
  return (
    <span className="hint" data-testid="cron-preview">
      {preview.description}. Next runs: {preview.nextRuns.map((d) => showDate(d)).join(' · ')}
    </span>
  );
}

/**
 * Run now, Enable or Disable, and Kill, as far as the trigger's status allows them (the server
 * checks again). `full` (the dialog) also offers Disable for a Done, Failed or Killed trigger.
 */
function TriggerActions({ trigger, busy, act, onRanNow, full = false }: { trigger: Trigger; busy: boolean; act: (work: () => Promise<unknown>) => Promise<void>; onRanNow?: (t: Trigger) => void; full?: boolean }) {
  const post = (action: string) => () =>
    void act(async () => {
      await api('POST', `/api/triggers/${trigger.id}/${action}`);
      if (action === 'run-now') onRanNow?.(trigger);
    });
  const { status } = trigger;
  const ended = ['FAILED', 'DONE', 'KILLED'].includes(status);
  // A single trigger that ran and whose time has passed would run at once: it gets a new time or Run now instead.
  const spent = trigger.type === 'SINGLE' && ended && trigger.nextRun !== null && trigger.nextRun <= localInputValue(new Date()).concat(':59');
  const enable = status === 'PAUSED' || status === 'PAUSING' || (ended && !spent);
  return (
    <Needs table="Triggers" privilege="UPDATE">
      <button type="button" onClick={post('run-now')} disabled={busy || !RUN_NOW_FROM.includes(status)} title="Make it due now: the next Scheduler tick starts it">
        Run now
      </button>
      {enable && (
        <button type="button" onClick={post('enable')} disabled={busy || status === 'PAUSING'} title={ended ? 'Back to Idle: it runs again when it is due' : undefined}>
          Enable
        </button>
      )}
      {(!enable || (full && ended)) && (
        <button type="button" onClick={post('disable')} disabled={busy || status === 'KILLING'}>
          Disable
        </button>
      )}
      <button type="button" className="danger" onClick={post('kill')} disabled={busy || status !== 'RUNNING'}>
        Kill
      </button>
    </Needs>
  );
}

/** Run now, Enable/Disable and Kill inside the trigger's dialog, through the dialog's own request runner. */
function DialogActions({ trigger }: { trigger: Trigger }) {
  const { act, busy } = useFormAction();
  return <TriggerActions trigger={trigger} busy={busy} act={act} full />;
}

function TriggerForm({ type, trigger, onDone, onClose }: { type: TriggerType; trigger?: Trigger; onDone: () => void; onClose: () => void }) {
  const [form, setForm] = useState<FormState>(trigger ? formOf(trigger) : emptyForm());
  const set = <K extends keyof FormState>(key: K) => (value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));
  const save = () => (trigger ? api('PUT', `/api/triggers/${trigger.id}`, bodyOf(type, form, true)) : api('POST', '/api/triggers', bodyOf(type, form, false)));
  return (
    <FormDialog
      title={trigger ? `Trigger: ${trigger.triggerName}` : `New ${label(type).toLowerCase()} trigger`}
      wide
      onClose={onClose}
      onDone={onDone}
      onSubmit={save}
      submitLabel={trigger ? 'Save' : 'Create'}
      onDelete={trigger ? () => api('DELETE', `/api/triggers/${trigger.id}`) : undefined}
      deleteWhat={trigger?.triggerName}
      needs={{ table: 'Triggers', submit: trigger ? 'UPDATE' : 'INSERT' }}
      extra={
        trigger ? (
          <DialogActions trigger={trigger} />
        ) : (
          <CreateAndRunNow
            // One request: the server creates the trigger already due, so no Scheduler can take it in between.
            send={() => {
              const { nextRun: _unused, ...body } = bodyOf(type, form, false);
              return api<Trigger>('POST', '/api/triggers', { ...body, runNow: true });
            }}
          />
        )
      }
    >
      <TextField name="triggerName" label="Trigger name" errorWords={['a trigger named']} value={form.triggerName} onChange={set('triggerName')} maxLength={100} required />
      <TextField name="processName" label="Process name" value={form.processName} onChange={set('processName')} maxLength={100} required />
      {type === 'SINGLE' && (
        <DateTimeInput
          label="Time"
          name="nextRun"
          value={form.nextRun}
          onChange={set('nextRun')}
          required
          hint={trigger ? 'when a Scheduler starts it' : 'when a Scheduler starts it; "Create and run now" starts it at once'}
        />
      )}
      {type === 'SCHEDULED' && trigger && <DateTimeInput label="Next run" name="nextRun" value={form.nextRun} onChange={set('nextRun')} hint="then the cron expression's times" />}
      {type === 'SCHEDULED' && (
        <TextField name="cronExpr" label="Cron expression" hint={<CronPreview expr={form.cronExpr} />} value={form.cronExpr} onChange={set('cronExpr')} placeholder="0 7 * * 1-5" maxLength={200} required />
      )}
      {type === 'QUEUE' && (
        <>
          <TextField name="queueName" label="Queue name" value={form.queueName} onChange={set('queueName')} maxLength={200} required />
          <TextField name="minBatchSize" label="Min batch size" errorWords={['minimum batch size']} type="number" min={1} value={form.minBatchSize} onChange={set('minBatchSize')} />
        </>
      )}
      <TextField
        name="processPath"
        label="Process path"
        hint="A file (.py, .js, .ts, .exe, .bat, ...) or a folder with a main.py, main.ts or main.js; with the git switch, a repository URL"
        value={form.processPath}
        onChange={set('processPath')}
        maxLength={250}
        required
      />
      <TextField name="processArgs" label="Arguments" errorWords={['process arguments']} value={form.processArgs} onChange={set('processArgs')} maxLength={1000} />
      <CheckField name="isGitRepo" label="Git repository" checked={form.isGitRepo} onChange={set('isGitRepo')} />
      {form.isGitRepo && <TextField name="gitBranch" label="Git branch" hint="empty: the default branch" value={form.gitBranch} onChange={set('gitBranch')} maxLength={100} />}
      <CheckField name="isBlocking" label="Blocking (no other blocking process runs beside it)" checked={form.isBlocking} onChange={set('isBlocking')} />
      <TextField name="priority" label="Priority" hint="higher runs first" type="number" value={form.priority} onChange={set('priority')} />
      <TextField name="schedulerWhitelist" label="Scheduler whitelist" errorWords={['scheduler whitelist']} hint="machine names, comma separated; empty: any Scheduler" value={form.schedulerWhitelist} onChange={set('schedulerWhitelist')} />
    </FormDialog>
  );
}

function CreateAndRunNow({ send }: { send: () => Promise<unknown> }) {
  const { act, busy } = useFormAction();
  return (
    <button type="button" className="primary" disabled={busy} onClick={() => void act(send)}>
      Create and run now
    </button>
  );
}

/** Why a Failed trigger failed, under its row: the error's one line, with a link to its job's page. */
function FailureLine({ trigger }: { trigger: Trigger }) {
  const failure = trigger.failure!;
  return (
    <div className="failure" data-testid="trigger-failure">
      <span className="failure-label">Failed{failure.logTime ? ` ${showDate(failure.logTime)}` : ''}:</span>
      <span className="failure-message" title={failure.message}>
        {failure.summary}
      </span>
      <Link href={failure.jobId ? jobPath(failure.jobId) : logsPath({ process: trigger.processName })} onClick={(e) => e.stopPropagation()}>
        {failure.jobId ? 'Its job ›' : 'Logs of its process ›'}
      </Link>
    </div>
  );
}

const NEW_TYPES: Record<string, TriggerType> = { single: 'SINGLE', scheduled: 'SCHEDULED', queue: 'QUEUE' };

/**
 * The triggers, searchable and sortable (both in the address); /triggers/<id> opens one in its
 * dialog and ?new=single|scheduled|queue a new one, so each can be linked and reloaded.
 */
export function TriggersTab({ tick, openId }: { tick: number; openId?: string }) {
  const [, navigate] = useLocation();
  const currentSearch = useSearch();
  const [q, setQ] = useUrlState({ search: '', sort: 'name', order: 'asc', new: '' });
  const { data, error, reload } = usePoll(() => api<{ items: Trigger[] }>('GET', `/api/triggers${query({ search: q.search })}`), [q.search], tick);
  // A trigger opened by its address that the list has not (yet) got: asked for on its own.
  const listed = openId ? data?.items.find((t) => t.id === openId) : undefined;
  const single = usePoll(() => (openId && !listed ? api<Trigger>('GET', `/api/triggers/${openId}`) : Promise.resolve(undefined)), [openId, Boolean(listed)], 0);
  const open = listed ?? (single.data?.id === openId ? single.data : undefined);
  const newType = NEW_TYPES[q.new];
  const [notice, setNotice] = useState<string | null>(null);
  const { error: actionError, busy, act } = useAction(reload);
  const withQuery = (path: string, drop?: string) => {
    const params = new URLSearchParams(currentSearch);
    if (drop) params.delete(drop);
    const text = params.toString();
    return `${path}${text ? `?${text}` : ''}`;
  };
  // Closing goes back to the list with its search and sort (a new entry: back reopens the dialog).
  const closeDialog = () => navigate(withQuery(TAB_PATHS.Triggers, 'new'));
  const rowAct = (work: () => Promise<unknown>) => {
    setNotice(null);
    return act(work);
  };
  const ranNow = (t: Trigger) =>
    setNotice(
      t.type === 'QUEUE'
        ? `"${t.triggerName}" runs once at the next Scheduler tick, even below its batch size of ${t.minBatchSize}.`
        : `"${t.triggerName}" is due now: the next Scheduler tick starts it.`,
    );
  const columns: Column<Trigger>[] = [
    { key: 'name', title: 'Trigger', render: (t) => t.triggerName, sortValue: (t) => t.triggerName.toLowerCase(), grow: true },
    { key: 'type', title: 'Type', render: (t) => label(t.type), sortValue: (t) => t.type },
    { key: 'status', title: 'Status', render: (t) => <Status value={t.status} />, sortValue: (t) => t.status },
    { key: 'process', title: 'Process', render: (t) => t.processName, sortValue: (t) => t.processName.toLowerCase() },
    { key: 'lastRun', title: 'Last run', render: (t) => showDate(t.lastRun, 'Never'), sortValue: (t) => t.lastRun ?? '' },
    {
      key: 'nextRun',
      title: 'Next run',
      render: (t) =>
        t.type === 'QUEUE' ? (
          <span className="muted">
            {t.runRequested ? <span className="badge requested">run requested</span> : null} queue {t.queueName} ≥ {t.minBatchSize}
          </span>
        ) : (
          <>
            {showDate(t.nextRun)} {t.overdue && <span className="badge overdue">overdue</span>}
          </>
        ),
      sortValue: (t) => t.nextRun ?? '',
    },
    { key: 'priority', title: 'Priority', render: (t) => t.priority, sortValue: (t) => t.priority },
    {
      key: 'actions',
      title: 'Actions',
      interactive: true,
      render: (t) => (
        <div className="row-actions">
          <TriggerActions trigger={t} busy={busy} act={rowAct} onRanNow={ranNow} />
        </div>
      ),
    },
  ];
  return (
    <section className="panel">
      <div className="toolbar">
        <input type="search" placeholder="Search name or process" value={q.search} onChange={(e) => setQ({ search: e.target.value }, { replace: true })} aria-label="Search triggers" />
        <Needs table="Triggers" privilege="INSERT">
          {(['single', 'scheduled', 'queue'] as const).map((kind) => (
            <button key={kind} type="button" className="primary" onClick={() => setQ({ new: kind })}>
              New {kind} trigger
            </button>
          ))}
        </Needs>
      </div>
      <ErrorLine error={error ?? actionError ?? (openId && single.error ? single.error : null)} />
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <SortableTable
        rows={data?.items ?? []}
        columns={columns}
        rowKey={(t) => t.id}
        testId="triggers-table"
        sort={{ key: q.sort, desc: q.order === 'desc' }}
        onSortChange={(next) => setQ({ sort: next.key, order: next.desc ? 'desc' : 'asc' })}
        onRowClick={(t) => navigate(withQuery(triggerPath(t.id), 'new'))}
        rowLabel={(t) => `Trigger ${t.triggerName}, ${label(t.status)}: open to edit`}
        rowClass={(t) => (t.status === 'FAILED' ? 'row-failed' : '')}
        detail={(t) => (t.failure ? <FailureLine trigger={t} /> : null)}
        empty="No triggers yet."
      />
      {open && (
        <TriggerForm
          key={open.id}
          type={open.type}
          trigger={open}
          onClose={closeDialog}
          onDone={() => {
            closeDialog();
            reload();
          }}
        />
      )}
      {!openId && newType && (
        <TriggerForm
          key={newType}
          type={newType}
          onClose={closeDialog}
          onDone={() => {
            closeDialog();
            reload();
          }}
        />
      )}
    </section>
  );
}
