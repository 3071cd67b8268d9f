import { useEffect, useState } from 'react';
import { api, query, type Navigate, type Trigger } from '../api';
import { DateTimeInput, Dialog, ErrorLine, Field, SortableTable, Status, useAction, usePoll, type Column } from '../components';
import { label, localInputValue, showDate } from '../format';
import { Needs } from '../access';

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

/** Which field an API message is about, so it shows inline next to that field. */
function fieldOf(message: string): keyof FormState | null {
  const keys: (keyof FormState)[] = ['triggerName', 'processName', 'processPath', 'processArgs', 'gitBranch', 'schedulerWhitelist', 'priority', 'nextRun', 'cronExpr', 'queueName', 'minBatchSize'];
  const words: Record<string, keyof FormState> = {
    'trigger name': 'triggerName',
    'a trigger named': 'triggerName',
    'process name': 'processName',
    'process path': 'processPath',
    'process arguments': 'processArgs',
    'git branch': 'gitBranch',
    'scheduler whitelist': 'schedulerWhitelist',
    'cron expression': 'cronExpr',
    'queue name': 'queueName',
    'minimum batch size': 'minBatchSize',
    'next run': 'nextRun',
  };
  for (const key of keys) if (message.startsWith(key) || message.includes(` ${key} `)) return key;
  for (const [phrase, key] of Object.entries(words)) if (message.toLowerCase().includes(phrase)) return key;
  return null;
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

const RUNNING = ['RUNNING', 'PAUSING', 'KILLING'];

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
  const enable = status === 'PAUSED' || status === 'PAUSING' || ended;
  return (
    <Needs table="Triggers" privilege="UPDATE">
      <button type="button" onClick={post('run-now')} disabled={busy || RUNNING.includes(status) || status === 'PAUSED'} title="Make it due now: the next Scheduler tick starts it">
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

function TriggerForm({ type, trigger, onDone, onClose }: { type: TriggerType; trigger?: Trigger; onDone: () => void; onClose: () => void }) {
  const [form, setForm] = useState<FormState>(trigger ? formOf(trigger) : emptyForm());
  const { error, busy, act } = useAction(onDone);
  const [confirmDelete, setConfirmDelete] = useState(false);
  const set = <K extends keyof FormState>(key: K, value: FormState[K]) => setForm((f) => ({ ...f, [key]: value }));
  const errorField = error ? fieldOf(error) : null;
  const inline = (key: keyof FormState) => (errorField === key ? error : null);

  const save = () => act(() => (trigger ? api('PUT', `/api/triggers/${trigger.id}`, bodyOf(type, form, true)) : api('POST', '/api/triggers', bodyOf(type, form, false))));

  return (
    <Dialog title={trigger ? `Trigger: ${trigger.triggerName}` : `New ${label(type).toLowerCase()} trigger`} onClose={onClose} wide>
      <form
        className="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <Field label="Trigger name" error={inline('triggerName')}>
          <input name="triggerName" value={form.triggerName} onChange={(e) => set('triggerName', e.target.value)} maxLength={100} required />
        </Field>
        <Field label="Process name" error={inline('processName')}>
          <input name="processName" value={form.processName} onChange={(e) => set('processName', e.target.value)} maxLength={100} required />
        </Field>
        {type === 'SINGLE' && (
          <DateTimeInput
            label="Time"
            name="nextRun"
            value={form.nextRun}
            onChange={(v) => set('nextRun', v)}
            required
            error={inline('nextRun')}
            hint={trigger ? 'when a Scheduler starts it' : 'when a Scheduler starts it; "Create and run now" starts it at once'}
          />
        )}
        {type === 'SCHEDULED' && trigger && (
          <DateTimeInput label="Next run" name="nextRun" value={form.nextRun} onChange={(v) => set('nextRun', v)} error={inline('nextRun')} hint="then the cron expression's times" />
        )}
        {type === 'SCHEDULED' && (
          <Field label="Cron expression" error={inline('cronExpr')} hint={<CronPreview expr={form.cronExpr} />}>
            <input name="cronExpr" value={form.cronExpr} onChange={(e) => set('cronExpr', e.target.value)} placeholder="0 7 * * 1-5" maxLength={200} required />
          </Field>
        )}
        {type === 'QUEUE' && (
          <>
            <Field label="Queue name" error={inline('queueName')}>
              <input name="queueName" value={form.queueName} onChange={(e) => set('queueName', e.target.value)} maxLength={200} required />
            </Field>
            <Field label="Min batch size" error={inline('minBatchSize')}>
              <input name="minBatchSize" type="number" min={1} value={form.minBatchSize} onChange={(e) => set('minBatchSize', e.target.value)} />
            </Field>
          </>
        )}
        <Field label="Process path" hint="A local file (.py, .exe, ...) or, with the git switch, a repository URL" error={inline('processPath')}>
          <input name="processPath" value={form.processPath} onChange={(e) => set('processPath', e.target.value)} maxLength={250} required />
        </Field>
        <Field label="Arguments" error={inline('processArgs')}>
          <input name="processArgs" value={form.processArgs} onChange={(e) => set('processArgs', e.target.value)} maxLength={1000} />
        </Field>
        <label className="check">
          <input name="isGitRepo" type="checkbox" checked={form.isGitRepo} onChange={(e) => set('isGitRepo', e.target.checked)} /> Git repository
        </label>
        {form.isGitRepo && (
          <Field label="Git branch" hint="empty: the default branch" error={inline('gitBranch')}>
            <input name="gitBranch" value={form.gitBranch} onChange={(e) => set('gitBranch', e.target.value)} maxLength={100} />
          </Field>
        )}
        <label className="check">
          <input name="isBlocking" type="checkbox" checked={form.isBlocking} onChange={(e) => set('isBlocking', e.target.checked)} /> Blocking (no other blocking process runs beside it)
        </label>
        <Field label="Priority" hint="higher runs first" error={inline('priority')}>
          <input name="priority" type="number" value={form.priority} onChange={(e) => set('priority', e.target.value)} />
        </Field>
        <Field label="Scheduler whitelist" hint="machine names, comma separated; empty: any Scheduler" error={inline('schedulerWhitelist')}>
          <input name="schedulerWhitelist" value={form.schedulerWhitelist} onChange={(e) => set('schedulerWhitelist', e.target.value)} />
        </Field>
        {error && !errorField && <ErrorLine error={error} />}
        {error && errorField && <p className="error" role="alert">{error}</p>}
        <div className="buttons">
          <Needs table="Triggers" privilege={trigger ? 'UPDATE' : 'INSERT'}>
          <button type="submit" className="primary" disabled={busy}>
            {trigger ? 'Save' : 'Create'}
          </button>
          {!trigger && (
            <button
              type="button"
              className="primary"
              disabled={busy}
              onClick={() =>
                void act(async () => {
                  const created = await api<Trigger>('POST', '/api/triggers', { ...bodyOf(type, form, false), ...(type === 'SINGLE' ? { nextRun: localInputValue(new Date()) } : {}) });
                  await api('POST', `/api/triggers/${created.id}/run-now`);
                })
              }
            >
              Create and run now
            </button>
          )}
          </Needs>
          {trigger && (
            <>
              <TriggerActions trigger={trigger} busy={busy} act={act} full />
              <Needs table="Triggers" privilege="DELETE">
              {!confirmDelete ? (
                <button type="button" className="danger" onClick={() => setConfirmDelete(true)} disabled={busy}>
                  Delete
                </button>
              ) : (
                <button type="button" className="danger" onClick={() => void act(() => api('DELETE', `/api/triggers/${trigger.id}`))} disabled={busy}>
                  Really delete "{trigger.triggerName}"?
                </button>
              )}
              </Needs>
            </>
          )}
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

/** Why a Failed trigger failed, under its row, with a link to its job's logs. */
function FailureLine({ trigger, navigate }: { trigger: Trigger; navigate: Navigate }) {
  const failure = trigger.failure!;
  return (
    <div className="failure" data-testid="trigger-failure">
      <span className="failure-label">Failed{failure.logTime ? ` ${showDate(failure.logTime)}` : ''}:</span>
      <span className="failure-message" title={failure.message}>
        {failure.message}
      </span>
      <button
        type="button"
        className="link"
        onClick={(e) => {
          e.stopPropagation();
          navigate('Logs', failure.jobId ? { jobId: failure.jobId } : { processName: trigger.processName });
        }}
      >
        {failure.jobId ? 'Logs of its job ›' : 'Logs of its process ›'}
      </button>
    </div>
  );
}

export function TriggersTab({ tick, navigate }: { tick: number; navigate: Navigate }) {
  const [search, setSearch] = useState('');
  const { data, error, reload } = usePoll(() => api<{ items: Trigger[] }>('GET', `/api/triggers${query({ search })}`), [search], tick);
  const [editing, setEditing] = useState<{ type: TriggerType; trigger?: Trigger } | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const { error: actionError, busy, act } = useAction(reload);
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
        <input type="search" placeholder="Search name or process" value={search} onChange={(e) => setSearch(e.target.value)} aria-label="Search triggers" />
        <Needs table="Triggers" privilege="INSERT">
        <button type="button" className="primary" onClick={() => setEditing({ type: 'SINGLE' })}>
          New single trigger
        </button>
        <button type="button" className="primary" onClick={() => setEditing({ type: 'SCHEDULED' })}>
          New scheduled trigger
        </button>
        <button type="button" className="primary" onClick={() => setEditing({ type: 'QUEUE' })}>
          New queue trigger
        </button>
        </Needs>
      </div>
      <ErrorLine error={error ?? actionError} />
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
        onRowClick={(t) => setEditing({ type: t.type, trigger: t })}
        rowClass={(t) => (t.status === 'FAILED' ? 'row-failed' : '')}
        detail={(t) => (t.failure ? <FailureLine trigger={t} navigate={navigate} /> : null)}
        empty="No triggers yet."
      />
      {editing && (
        <TriggerForm
          key={editing.trigger?.id ?? editing.type}
          type={editing.type}
          trigger={editing.trigger}
          onClose={() => setEditing(null)}
          onDone={() => {
            setEditing(null);
            reload();
          }}
        />
      )}
    </section>
  );
}
