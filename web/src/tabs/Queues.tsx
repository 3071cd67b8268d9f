import { useState } from 'react';
import { api, query, type Page, type QueueElement, type QueueSummary } from '../api';
import { BarChart } from '../charts';
import { DateTimeInput, DeleteButton, Dialog, ErrorLine, Field, HeadedTable, Pager, SortableTable, Status, useAction, usePoll, type Column } from '../components';
import { label, showDate } from '../format';
import { Needs } from '../access';

const STATUSES = ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED', 'ABANDONED'];

interface Attempts {
  attempt: number;
  state: string;
  retryAt: string | null;
  lastError: string | null;
  history: { id: string; attempt: number; event: string; message: string | null; actor: string; at: string | null }[];
}

/** What each attempt state means to the person reading the dialog. */
const ATTEMPT_STATE: Record<string, string> = {
  FIRST: 'first attempt (never failed)',
  QUEUED: 'back in New for another attempt',
  WAITING: 'Failed, waiting for its retry delay',
  EXHAUSTED: 'Failed, no attempts left',
  BUSINESS: 'business error (never retried)',
  ABANDONED: 'abandoned by the visibility timeout',
};

/** An element's attempt counter and history (kept by the retry settings of its queue). */
function Attempts({ elementId }: { elementId: string }) {
  const attempts = usePoll(() => api<Attempts>('GET', `/api/operations/elements/${elementId}/attempts`), [elementId], 0);
  const a = attempts.data;
  if (!a) return <ErrorLine error={attempts.error} />;
  return (
    <div data-testid="element-attempts">
      <dl className="facts">
        <dt>Attempt</dt>
        <dd>
          {a.attempt} — {ATTEMPT_STATE[a.state] ?? a.state}
          {a.retryAt ? `, retried at ${showDate(a.retryAt)}` : ''}
        </dd>
        {a.lastError && (
          <>
            <dt>Last error</dt>
            <dd>{a.lastError}</dd>
          </>
        )}
      </dl>
      <h3>History</h3>
      {a.history.length === 0 ? (
        <p className="muted">No history: the element has not been claimed or changed since its queue got retry settings.</p>
      ) : (
        <table className="history" data-testid="element-history">
          <thead>
            <tr>
              <th>When</th>
              <th>Attempt</th>
              <th>Event</th>
              <th>By</th>
              <th>Message</th>
            </tr>
          </thead>
          <tbody>
            {a.history.map((e) => (
              <tr key={e.id}>
                <td>{showDate(e.at)}</td>
                <td>{e.attempt}</td>
                <td>{label(e.event)}</td>
                <td>{e.actor}</td>
                <td>{e.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}

interface QueueSettings {
  queueName: string;
  maxAttempts: number;
  delayMode: 'FIXED' | 'EXPONENTIAL';
  delaySeconds: number;
  maxDelaySeconds: number | null;
  visibilityMinutes: number | null;
  visibilityAction: string;
}

/** A queue's retry settings: shown as one line, edited in a dialog. */
function QueueSettingsPanel({ queueName }: { queueName: string }) {
  const [editing, setEditing] = useState(false);
  const settings = usePoll(
    () => api<QueueSettings>('GET', `/api/operations/queue-settings/${encodeURIComponent(queueName)}`).catch((e: Error & { status?: number }) => (e.status === 404 ? null : Promise.reject(e))),
    [queueName],
    0,
  );
  const s = settings.data;
  const describe = (q: QueueSettings) =>
    `${q.maxAttempts} attempt${q.maxAttempts === 1 ? '' : 's'} in all, ${q.delayMode === 'FIXED' ? `${q.delaySeconds} s between them` : `${q.delaySeconds} s doubled after each failure${q.maxDelaySeconds !== null ? ` (at most ${q.maxDelaySeconds} s)` : ''}`}; ` +
    (q.visibilityMinutes === null ? 'no visibility timeout' : `In Progress elements taken back after ${q.visibilityMinutes} min or when their job ended, to ${label(q.visibilityAction)}`);
  return (
    <div className="toolbar" data-testid="queue-settings">
      <span>
        <strong>Retries:</strong> {s === undefined ? '…' : s === null ? 'none (a failed element stays Failed)' : describe(s)}
      </span>
      <Needs table="oo_queue_settings" privilege="INSERT">
        <button type="button" onClick={() => setEditing(true)}>
          Retry settings
        </button>
      </Needs>
      <ErrorLine error={settings.error} />
      {editing && s !== undefined && (
        <QueueSettingsDialog
          queueName={queueName}
          settings={s}
          onClose={() => setEditing(false)}
          onDone={() => {
            setEditing(false);
            settings.reload();
          }}
        />
      )}
    </div>
  );
}

function QueueSettingsDialog({ queueName, settings, onDone, onClose }: { queueName: string; settings: QueueSettings | null; onDone: () => void; onClose: () => void }) {
  const [maxAttempts, setMaxAttempts] = useState(String(settings?.maxAttempts ?? 3));
  const [delayMode, setDelayMode] = useState(settings?.delayMode ?? 'FIXED');
  const [delaySeconds, setDelaySeconds] = useState(String(settings?.delaySeconds ?? 60));
  const [maxDelaySeconds, setMaxDelaySeconds] = useState(settings?.maxDelaySeconds === null || settings?.maxDelaySeconds === undefined ? '' : String(settings.maxDelaySeconds));
  const [visibilityMinutes, setVisibilityMinutes] = useState(settings?.visibilityMinutes === null || settings?.visibilityMinutes === undefined ? '' : String(settings.visibilityMinutes));
  const [visibilityAction, setVisibilityAction] = useState(settings?.visibilityAction ?? 'NEW');
  const { error, act } = useAction(onDone);
  const path = `/api/operations/queue-settings/${encodeURIComponent(queueName)}`;
  return (
    <Dialog title={`Retry settings of ${queueName}`} onClose={onClose}>
      <form
        className="grid-form"
        onSubmit={(e) => {
          e.preventDefault();
          void act(() =>
            api('PUT', path, {
              maxAttempts: Number(maxAttempts),
              delayMode,
              delaySeconds: Number(delaySeconds),
              maxDelaySeconds: delayMode === 'EXPONENTIAL' && maxDelaySeconds !== '' ? Number(maxDelaySeconds) : null,
              visibilityMinutes: visibilityMinutes === '' ? null : Number(visibilityMinutes),
              visibilityAction,
            }),
          );
        }}
      >
        <Field label="Max attempts" hint="tries in all, the first included (1: never retried); business errors are never retried">
          <input name="maxAttempts" type="number" min={1} max={1000} value={maxAttempts} onChange={(e) => setMaxAttempts(e.target.value)} required />
        </Field>
        <Field label="Delay">
          <select name="delayMode" value={delayMode} onChange={(e) => setDelayMode(e.target.value as 'FIXED' | 'EXPONENTIAL')}>
            <option value="FIXED">Fixed</option>
            <option value="EXPONENTIAL">Exponential</option>
          </select>
        </Field>
        <Field label="Delay, seconds" hint="a failed element waits in Failed this long before it is New again">
          <input name="delaySeconds" type="number" min={0} max={2592000} value={delaySeconds} onChange={(e) => setDelaySeconds(e.target.value)} required />
        </Field>
        {delayMode === 'EXPONENTIAL' && (
          <Field label="Max delay, seconds" hint="empty: no limit">
            <input name="maxDelaySeconds" type="number" min={0} max={2592000} value={maxDelaySeconds} onChange={(e) => setMaxDelaySeconds(e.target.value)} />
          </Field>
        )}
        <Field label="Visibility timeout, minutes" hint="opt-in: take back In Progress elements after this long or once their job has ended; empty: off">
          <input name="visibilityMinutes" type="number" min={1} max={525600} value={visibilityMinutes} onChange={(e) => setVisibilityMinutes(e.target.value)} />
        </Field>
        <Field label="Timed-out elements go to">
          <select name="visibilityAction" value={visibilityAction} onChange={(e) => setVisibilityAction(e.target.value)}>
            <option value="NEW">New (counted as a failed attempt)</option>
            <option value="ABANDONED">Abandoned</option>
          </select>
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="oo_queue_settings" privilege="UPDATE">
            <button type="submit" className="primary">
              Save
            </button>
            {settings && <DeleteButton what="the retry settings" onDelete={() => void act(() => api('DELETE', path))} />}
          </Needs>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function ElementDialog({ element, onDone, onClose }: { element: QueueElement; onDone: () => void; onClose: () => void }) {
  const [status, setStatus] = useState(element.status);
  const [message, setMessage] = useState(element.message ?? '');
  const { error, act } = useAction(onDone);
  return (
    <Dialog title={`Queue element ${element.reference ?? element.id.slice(0, 8)}`} onClose={onClose} wide>
      <dl className="facts">
        <dt>Id</dt>
        <dd>{element.id}</dd>
        <dt>Reference</dt>
        <dd>{element.reference ?? 'N/A'}</dd>
        <dt>Created</dt>
        <dd>
          {showDate(element.createdDate)} by {element.createdBy ?? 'N/A'}
        </dd>
        <dt>Started / ended</dt>
        <dd>
          {showDate(element.startDate)} / {showDate(element.endDate)}
        </dd>
      </dl>
      <Attempts elementId={element.id} />
      <Field label="Data">
        <pre className="message" data-testid="element-data">
          {element.data ?? ''}
        </pre>
      </Field>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void act(() => api('PATCH', `/api/queue-elements/${element.id}`, { status, message: message === '' ? null : message }));
        }}
      >
        <Field label="Status">
          <select name="status" value={status} onChange={(e) => setStatus(e.target.value)}>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {label(s)}
              </option>
            ))}
          </select>
        </Field>
        <Field label="Message">
          <textarea name="message" value={message} onChange={(e) => setMessage(e.target.value)} maxLength={1000} rows={3} />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="Queues" privilege="UPDATE">
            <button type="submit" className="primary">
              Save
            </button>
            {element.status === 'FAILED' && (
              <button type="button" onClick={() => void act(() => api('POST', '/api/queue-elements/retry', { ids: [element.id] }))}>
                Retry
              </button>
            )}
          </Needs>
          <Needs table="Queues" privilege="DELETE">
            <DeleteButton onDelete={() => void act(() => api('DELETE', `/api/queue-elements/${element.id}`))} />
          </Needs>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function NewElementDialog({ queueName, onDone, onClose }: { queueName: string; onDone: () => void; onClose: () => void }) {
  const [reference, setReference] = useState('');
  const [data, setData] = useState('');
  const [error, setError] = useState<string | null>(null);
  return (
    <Dialog title={`New element in ${queueName}`} onClose={onClose}>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          api('POST', `/api/queues/${encodeURIComponent(queueName)}/elements`, { reference: reference || null, data: data || null })
            .then(onDone)
            .catch((err: Error) => setError(err.message));
        }}
      >
        <Field label="Reference">
          <input name="reference" value={reference} onChange={(e) => setReference(e.target.value)} maxLength={100} />
        </Field>
        <Field label="Data" hint="often JSON">
          <textarea name="data" value={data} onChange={(e) => setData(e.target.value)} maxLength={2000} rows={5} />
        </Field>
        <ErrorLine error={error} />
        <div className="buttons">
          <Needs table="Queues" privilege="INSERT">
            <button type="submit" className="primary">
              Create
            </button>
          </Needs>
          <button type="button" onClick={onClose}>
            Cancel
          </button>
        </div>
      </form>
    </Dialog>
  );
}

function QueueView({ queueName, tick, onBack }: { queueName: string; tick: number; onBack: () => void }) {
  const [status, setStatus] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [search, setSearch] = useState('');
  const [sort, setSort] = useState<{ key: string; dir: 'asc' | 'desc' }>({ key: 'created_date', dir: 'desc' });
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(100);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [open, setOpen] = useState<QueueElement | null>(null);
  const [creating, setCreating] = useState(false);
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const elements = usePoll(
    () => api<Page<QueueElement>>('GET', `/api/queues/${encodeURIComponent(queueName)}/elements${query({ status, from, to, search, sort: sort.key, order: sort.dir, offset, limit })}`),
    [queueName, status, from, to, search, sort.key, sort.dir, offset, limit],
    tick,
  );
  const throughput = usePoll(() => api<{ hour: string; count: number }[]>('GET', `/api/queues/throughput${query({ queueName, hours: 24 })}`), [queueName], tick);
  const reset = <T,>(setter: (v: T) => void) => (v: T) => {
    setter(v);
    setOffset(0);
  };
  const toggle = (id: string) =>
    setSelected((s) => {
      const next = new Set(s);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  const retry = () => {
    setActionError(null);
    api<{ retried: number }>('POST', '/api/queue-elements/retry', { ids: [...selected] })
      .then((r) => {
        setNotice(`${r.retried} element${r.retried === 1 ? '' : 's'} put back to New (only Failed ones are retried).`);
        setSelected(new Set());
        elements.reload();
      })
      .catch((e: Error) => setActionError(e.message));
  };
  const rows = elements.data?.items ?? [];
  const columns: Column<QueueElement>[] = [
    {
      key: 'select',
      title: '',
      render: (e) => <input type="checkbox" aria-label={`select ${e.reference ?? e.id}`} checked={selected.has(e.id)} onChange={() => toggle(e.id)} />,
      interactive: true,
    },
    { key: 'reference', title: 'Reference', render: (e) => e.reference ?? '', sortValue: () => 0 },
    { key: 'status', title: 'Status', render: (e) => <Status value={e.status} />, sortValue: () => 0 },
    { key: 'created_date', title: 'Created', render: (e) => showDate(e.createdDate), sortValue: () => 0 },
    { key: 'start_date', title: 'Started', render: (e) => showDate(e.startDate), sortValue: () => 0 },
    { key: 'end_date', title: 'Ended', render: (e) => showDate(e.endDate), sortValue: () => 0 },
    { key: 'message', title: 'Message', render: (e) => <span title={e.message ?? undefined}>{e.message ?? ''}</span>, grow: true },
    { key: 'data', title: 'Data', render: (e) => <span className="ellipsis" title={e.data ?? undefined}>{e.data ?? ''}</span> },
  ];
  return (
    <section className="panel">
      <div className="toolbar">
        <button type="button" onClick={onBack}>
          ‹ All queues
        </button>
        <h2>{queueName}</h2>
        <Needs table="Queues" privilege="INSERT">
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New element
          </button>
        </Needs>
        <Needs table="Queues" privilege="UPDATE">
          <button type="button" disabled={selected.size === 0} onClick={retry}>
            Retry selected ({selected.size})
          </button>
        </Needs>
      </div>
      <QueueSettingsPanel queueName={queueName} />
      <div className="toolbar filters">
        <Field label="Search">
          <input type="search" name="search" placeholder="reference, data or message" value={search} onChange={(e) => reset(setSearch)(e.target.value)} />
        </Field>
        <Field label="Status">
          <select name="status" value={status} onChange={(e) => reset(setStatus)(e.target.value)}>
            <option value="">All</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {label(s)}
              </option>
            ))}
          </select>
        </Field>
        <DateTimeInput label="Created from" name="from" value={from} onChange={reset(setFrom)} />
        <DateTimeInput label="Created to" name="to" value={to} onChange={reset(setTo)} />
        <Field label="Rows per page">
          <select name="limit" value={limit} onChange={(e) => reset(setLimit)(Number(e.target.value))}>
            {[25, 100, 500].map((n) => (
              <option key={n}>{n}</option>
            ))}
          </select>
        </Field>
      </div>
      {notice && <p className="notice">{notice}</p>}
      <ErrorLine error={elements.error ?? actionError} />
      <HeadedTable
        rows={rows}
        columns={columns}
        rowKey={(e) => e.id}
        sortKey={sort.key}
        sortDir={sort.dir}
        onSort={(key) => reset(setSort)({ key, dir: sort.key === key && sort.dir === 'desc' ? 'asc' : 'desc' })}
        onRowClick={setOpen}
        testId="elements-table"
        empty="No elements match."
      />
      <Pager offset={offset} limit={limit} total={elements.data?.total ?? null} onChange={setOffset} />
      <BarChart
        testId="throughput-chart"
        title="Elements finished per hour (last 24 hours)"
        valueTitle="elements finished"
        categoryTitle="hour"
        empty="No elements of this queue finished in the last 24 hours."
        emptyWhenZero
        data={(throughput.data ?? []).map((b) => ({ label: `${b.hour.slice(11, 13)}:00`, value: b.count, tooltip: [`${showDate(b.hour).slice(0, 16)}: ${b.count} finished`] }))}
      />
      {open && (
        <ElementDialog
          element={open}
          onClose={() => setOpen(null)}
          onDone={() => {
            setOpen(null);
            elements.reload();
          }}
        />
      )}
      {creating && (
        <NewElementDialog
          queueName={queueName}
          onClose={() => setCreating(false)}
          onDone={() => {
            setCreating(false);
            elements.reload();
          }}
        />
      )}
    </section>
  );
}

export function QueuesTab({ tick }: { tick: number }) {
  const [queue, setQueue] = useState<string | null>(null);
  const { data, error } = usePoll(() => api<QueueSummary[]>('GET', '/api/queues'), [], tick);
  if (queue) return <QueueView queueName={queue} tick={tick} onBack={() => setQueue(null)} />;
  const columns: Column<QueueSummary>[] = [
    { key: 'name', title: 'Queue', render: (q) => q.queueName, sortValue: (q) => q.queueName.toLowerCase() },
    ...STATUSES.map((s) => ({ key: s, title: label(s), render: (q: QueueSummary) => (q.counts[s] ?? 0).toLocaleString(), sortValue: (q: QueueSummary) => q.counts[s] ?? 0 })),
    { key: 'total', title: 'Total', render: (q) => q.total.toLocaleString(), sortValue: (q) => q.total },
  ];
  return (
    <section className="panel">
      <ErrorLine error={error} />
      <SortableTable rows={data ?? []} columns={columns} rowKey={(q) => q.queueName} onRowClick={(q) => setQueue(q.queueName)} testId="queues-table" empty="No queues yet: a queue appears when its first element is added." />
    </section>
  );
}
