import { useState } from 'react';
import { useLocation, useSearch } from 'wouter';
import { api, apiUpload, query, type Page, type QueueElement, type QueueSummary } from '../api';
import { BarChart } from '../charts';
import { Dialog, ErrorLine, HeadedTable, Pager, SortableTable, Status, usePoll, type Column } from '../components';
import { DateTimeInput, Field, FormDialog, SelectField, TextArea, TextField, useFormAction } from '../forms';
import { Needs } from '../access';
import { label, showDate } from '../format';
import { parseUpload, toCsv, type UploadParse } from '../upload';
import { offsetOf, pageOf, queuePath, TAB_PATHS, useUrlState } from '../url';

const STATUSES = ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED', 'ABANDONED'];
const STATUS_OPTIONS = [['', 'All'], ...STATUSES.map((s) => [s, label(s)] as const)] as const;

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
        <div className="table-wrap">
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
        </div>
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

/** A queue's retry settings: shown as one line, edited in a dialog. Read from the list of all, so a queue without any is no 404. */
function QueueSettingsPanel({ queueName }: { queueName: string }) {
  const [editing, setEditing] = useState(false);
  const settings = usePoll(
    () => api<{ items: QueueSettings[] }>('GET', '/api/operations/queue-settings').then((r) => r.items.find((q) => q.queueName === queueName) ?? null),
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
      <Needs table="oo_queue_settings" privilege={s ? 'UPDATE' : 'INSERT'}>
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
  const [delayMode, setDelayMode] = useState<'FIXED' | 'EXPONENTIAL'>(settings?.delayMode ?? 'FIXED');
  const [delaySeconds, setDelaySeconds] = useState(String(settings?.delaySeconds ?? 60));
  const [maxDelaySeconds, setMaxDelaySeconds] = useState(settings?.maxDelaySeconds === null || settings?.maxDelaySeconds === undefined ? '' : String(settings.maxDelaySeconds));
  const [visibilityMinutes, setVisibilityMinutes] = useState(settings?.visibilityMinutes === null || settings?.visibilityMinutes === undefined ? '' : String(settings.visibilityMinutes));
  const [visibilityAction, setVisibilityAction] = useState(settings?.visibilityAction ?? 'NEW');
  const path = `/api/operations/queue-settings/${encodeURIComponent(queueName)}`;
  return (
    <FormDialog
      title={`Retry settings of ${queueName}`}
      onClose={onClose}
      onDone={onDone}
      onSubmit={() =>
        api('PUT', path, {
          maxAttempts: Number(maxAttempts),
          delayMode,
          delaySeconds: Number(delaySeconds),
          maxDelaySeconds: delayMode === 'EXPONENTIAL' && maxDelaySeconds !== '' ? Number(maxDelaySeconds) : null,
          visibilityMinutes: visibilityMinutes === '' ? null : Number(visibilityMinutes),
          visibilityAction,
        })
      }
      onDelete={settings ? () => api('DELETE', path) : undefined}
      deleteWhat="the retry settings"
      needs={{ table: 'oo_queue_settings', submit: settings ? 'UPDATE' : 'INSERT' }}
    >
      <TextField name="maxAttempts" label="Max attempts" hint="tries in all, the first included (1: never retried); business errors are never retried" type="number" min={1} max={1000} value={maxAttempts} onChange={setMaxAttempts} required />
      <SelectField
        name="delayMode"
        label="Delay"
        value={delayMode}
        onChange={setDelayMode}
        options={[
          ['FIXED', 'Fixed'],
          ['EXPONENTIAL', 'Exponential'],
        ]}
      />
      <TextField name="delaySeconds" label="Delay, seconds" hint="a failed element waits in Failed this long before it is New again" type="number" min={0} max={2592000} value={delaySeconds} onChange={setDelaySeconds} required />
      {delayMode === 'EXPONENTIAL' && <TextField name="maxDelaySeconds" label="Max delay, seconds" hint="empty: no limit" type="number" min={0} max={2592000} value={maxDelaySeconds} onChange={setMaxDelaySeconds} />}
      <TextField
        name="visibilityMinutes"
        label="Visibility timeout, minutes"
        hint="opt-in: take back In Progress elements after this long or once their job has ended; empty: off"
        type="number"
        min={1}
        max={525600}
        value={visibilityMinutes}
        onChange={setVisibilityMinutes}
      />
      <SelectField
        name="visibilityAction"
        label="Timed-out elements go to"
        value={visibilityAction}
        onChange={setVisibilityAction}
        options={[
          ['NEW', 'New (counted as a failed attempt)'],
          ['ABANDONED', 'Abandoned'],
        ]}
      />
    </FormDialog>
  );
}

function RetryButton({ element }: { element: QueueElement }) {
  const { act, busy } = useFormAction();
  return (
    <button type="button" disabled={busy} onClick={() => void act(() => api('POST', '/api/queue-elements/retry', { ids: [element.id] }))}>
      Retry
    </button>
  );
}

function ElementDialog({ element, onDone, onClose }: { element: QueueElement; onDone: () => void; onClose: () => void }) {
  const [status, setStatus] = useState(element.status);
  const [message, setMessage] = useState(element.message ?? '');
  return (
    <FormDialog
      title={`Queue element ${element.reference ?? element.id.slice(0, 8)}`}
      wide
      grid={false}
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => api('PATCH', `/api/queue-elements/${element.id}`, { status, message: message === '' ? null : message })}
      extra={element.status === 'FAILED' && <RetryButton element={element} />}
      onDelete={() => api('DELETE', `/api/queue-elements/${element.id}`)}
      needs={{ table: 'Queues', submit: 'UPDATE' }}
      before={
        <>
          <dl className="facts">
            <dt>Id</dt>
            <dd className="wrap">{element.id}</dd>
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
          <h3>Data</h3>
          <pre className="message" data-testid="element-data" tabIndex={0} aria-label="Data">
            {element.data ?? ''}
          </pre>
        </>
      }
    >
      <SelectField name="status" label="Status" value={status} onChange={setStatus} options={STATUSES.map((s) => [s, label(s)] as const)} />
      <TextArea name="message" label="Message" value={message} onChange={setMessage} maxLength={1000} rows={3} />
    </FormDialog>
  );
}

/** A new element, in this queue or (from the list of queues) in any queue, a new one included. */
function NewElementDialog({ queueName, onDone, onClose }: { queueName?: string; onDone: (queueName: string) => void; onClose: () => void }) {
  const [queue, setQueue] = useState(queueName ?? '');
  const [reference, setReference] = useState('');
  const [data, setData] = useState('');
  return (
    <FormDialog
      title={queueName ? `New element in ${queueName}` : 'New element'}
      grid={false}
      onClose={onClose}
      onDone={() => onDone(queue.trim())}
      onSubmit={() => api('POST', `/api/queues/${encodeURIComponent(queue.trim())}/elements`, { reference: reference || null, data: data || null })}
      submitLabel="Create"
      needs={{ table: 'Queues', submit: 'INSERT' }}
    >
      {!queueName && <TextField name="queueName" label="Queue" hint="an existing queue or a new one: a queue exists once it has an element" value={queue} onChange={setQueue} maxLength={100} required />}
      <TextField name="reference" label="Reference" value={reference} onChange={setReference} maxLength={100} />
      <TextArea name="data" label="Data" hint="often JSON" value={data} onChange={setData} maxLength={2000} rows={5} />
    </FormDialog>
  );
}

/** How much of the file to show before uploading. */
const PREVIEW_ROWS = 10;

/**
 * Many elements from a CSV or JSON file: read in the browser, each row checked with its line
 * number, a preview, then one request that the server writes in one transaction (all or none),
 * with the upload's progress.
 */
function UploadDialog({ queueName, onDone, onClose }: { queueName?: string; onDone: (queueName: string, created: number) => void; onClose: () => void }) {
  const [queue, setQueue] = useState(queueName ?? '');
  const [file, setFile] = useState<{ name: string; parsed: UploadParse } | null>(null);
  const [progress, setProgress] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const read = (chosen: File | undefined) => {
    setError(null);
    setFile(null);
    if (!chosen) return;
    setProgress(`reading ${chosen.name}…`);
    chosen.text().then(
      (text) => {
        setFile({ name: chosen.name, parsed: parseUpload(chosen.name, text) });
        setProgress(null);
      },
      (e: Error) => setError(e.message),
    );
  };
  const rows = file?.parsed.rows ?? [];
  const problems = file?.parsed.errors ?? [];
  const upload = () => {
    setBusy(true);
    setError(null);
    apiUpload<{ created: number }>('POST', `/api/queues/${encodeURIComponent(queue.trim())}/elements/bulk`, { elements: rows.map((r) => ({ reference: r.reference, data: r.data })) }, (sent, total) =>
      setProgress(sent < total ? `sending: ${Math.round((sent / total) * 100)} %` : `sent; the server writes ${rows.length.toLocaleString()} elements in one transaction…`),
    )
      .then((r) => onDone(queue.trim(), r.created))
      .catch((e: Error) => {
        // "element 41: ..." counts from 0: say the file's line instead.
        const index = /^element (\d+): (.*)$/.exec(e.message);
        setError(index ? `line ${rows[Number(index[1])]?.line ?? '?'}: ${index[2]}` : e.message);
        setProgress(null);
      })
      .finally(() => setBusy(false));
  };
  return (
    <Dialog title={queueName ? `Upload elements to ${queueName}` : 'Upload elements'} onClose={onClose} wide>
      <p className="hint">
        CSV with a header line: a <code>reference</code> column, and a <code>data</code> column or other columns (they become the data as JSON). Or JSON: an array (or one item per line) of{' '}
        <code>{'{"reference": …, "data": …}'}</code>, of other objects (the data), or of strings. Nothing is written unless every row is right.
      </p>
      {!queueName && <TextField name="queueName" label="Queue" hint="an existing queue or a new one" value={queue} onChange={setQueue} maxLength={100} required />}
      <Field label="File (.csv, .json, .jsonl)" name="file">
        <input type="file" name="file" accept=".csv,.json,.jsonl,.ndjson,text/csv,application/json" onChange={(e) => read(e.target.files?.[0])} />
      </Field>
      {file && (
        <div data-testid="upload-preview">
          <p>
            <strong>{file.name}:</strong> {rows.length.toLocaleString()} element{rows.length === 1 ? '' : 's'} ready
            {problems.length > 0 ? `, ${problems.length} line${problems.length === 1 ? '' : 's'} to fix first` : ''}.
          </p>
          {problems.length > 0 && (
            <ul className="upload-errors error" data-testid="upload-errors">
              {problems.slice(0, 50).map((p, i) => (
                <li key={i}>
                  line {p.line}: {p.message}
                </li>
              ))}
              {problems.length > 50 && <li>… and {problems.length - 50} more</li>}
            </ul>
          )}
          {rows.length > 0 && (
            <div className="table-wrap">
              <table className="preview">
                <caption className="muted">The first {Math.min(PREVIEW_ROWS, rows.length)}</caption>
                <thead>
                  <tr>
                    <th>Line</th>
                    <th>Reference</th>
                    <th>Data</th>
                  </tr>
                </thead>
                <tbody>
                  {rows.slice(0, PREVIEW_ROWS).map((r) => (
                    <tr key={r.line}>
                      <td>{r.line}</td>
                      <td>{r.reference ?? ''}</td>
                      <td className="ellipsis-cell">{r.data ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </div>
      )}
      {progress && (
        <p role="status" className="notice" data-testid="upload-progress">
          {progress}
        </p>
      )}
      <ErrorLine error={error} />
      <div className="buttons">
        <button type="button" className="primary" disabled={busy || !file || rows.length === 0 || problems.length > 0 || queue.trim() === ''} onClick={upload}>
          Upload {rows.length > 0 ? `${rows.length.toLocaleString()} element${rows.length === 1 ? '' : 's'}` : ''}
        </button>
        <button type="button" onClick={onClose}>
          Cancel
        </button>
      </div>
    </Dialog>
  );
}

/** Columns of the CSV export, as the database names them. */
const EXPORT_COLUMNS = ['id', 'reference', 'status', 'created_date', 'start_date', 'end_date', 'message', 'created_by', 'data'];

/** The filtered list as a CSV file: every page of it, fetched in turn, with progress. */
function ExportButton({ queueName, filter }: { queueName: string; filter: Record<string, string> }) {
  const [state, setState] = useState<string | null>(null);
  const run = async () => {
    const rows: Record<string, string | null>[] = [];
    for (let offset = 0; ; offset += 1000) {
      const page = await api<Page<QueueElement>>('GET', `/api/queues/${encodeURIComponent(queueName)}/elements${query({ ...filter, offset, limit: 1000 })}`);
      for (const e of page.items) {
        rows.push({ id: e.id, reference: e.reference, status: e.status, created_date: e.createdDate, start_date: e.startDate, end_date: e.endDate, message: e.message, created_by: e.createdBy, data: e.data });
      }
      setState(`exporting: ${rows.length.toLocaleString()} of ${(page.total ?? rows.length).toLocaleString()}`);
      if (page.items.length < 1000) break;
    }
    const url = URL.createObjectURL(new Blob([toCsv(rows, EXPORT_COLUMNS)], { type: 'text/csv;charset=utf-8' }));
    const link = document.createElement('a');
    link.href = url;
    link.download = `${queueName.replace(/[^\w.-]+/g, '_')}-elements.csv`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    setState(`exported ${rows.length.toLocaleString()} element${rows.length === 1 ? '' : 's'}`);
  };
  return (
    <>
      <button type="button" onClick={() => void run().catch((e: Error) => setState(e.message))}>
        Export CSV
      </button>
      <span role="status" className="muted" data-testid="export-state">
        {state ?? ''}
      </span>
    </>
  );
}

/** The view of one queue; its filters, sort, page and the open element (or dialog) live in the address. */
function QueueView({ queueName, tick }: { queueName: string; tick: number }) {
  const [, navigate] = useLocation();
  const [q, setQ] = useUrlState({ status: '', from: '', to: '', search: '', sort: 'created_date', order: 'desc', page: '1', limit: '100', element: '', dialog: '' });
  const limit = [25, 100, 500].includes(Number(q.limit)) ? Number(q.limit) : 100;
  const offset = offsetOf(q.page, limit);
  const order = q.order === 'asc' ? 'asc' : 'desc';
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [notice, setNotice] = useState<string | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const filter = { status: q.status, from: q.from, to: q.to, search: q.search, sort: q.sort, order };
  const elements = usePoll(
    () => api<Page<QueueElement>>('GET', `/api/queues/${encodeURIComponent(queueName)}/elements${query({ ...filter, offset, limit })}`),
    [queueName, q.status, q.from, q.to, q.search, q.sort, order, offset, limit],
    tick,
  );
  const open = usePoll(() => (q.element ? api<QueueElement>('GET', `/api/queue-elements/${q.element}`) : Promise.resolve(null)), [q.element], 0);
  const throughput = usePoll(() => api<{ hour: string; count: number }[]>('GET', `/api/queues/throughput${query({ queueName, hours: 24 })}`), [queueName], tick);
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
  const closeDialog = () => setQ({ element: '', dialog: '' });
  return (
    <section className="panel">
      <div className="toolbar">
        <button type="button" onClick={() => navigate(TAB_PATHS.Queues)}>
          ‹ All queues
        </button>
        <h2>{queueName}</h2>
        <Needs table="Queues" privilege="INSERT">
          <button type="button" className="primary" onClick={() => setQ({ dialog: 'new' })}>
            New element
          </button>
          <button type="button" onClick={() => setQ({ dialog: 'upload' })}>
            Upload CSV/JSON
          </button>
        </Needs>
        <ExportButton queueName={queueName} filter={filter} />
        <Needs table="Queues" privilege="UPDATE">
          <button type="button" disabled={selected.size === 0} onClick={retry}>
            Retry selected ({selected.size})
          </button>
        </Needs>
      </div>
      <QueueSettingsPanel queueName={queueName} />
      <div className="toolbar filters">
        <Field label="Search" name="search">
          <input type="search" name="search" placeholder="reference, data or message" value={q.search} onChange={(e) => setQ({ search: e.target.value, page: '1' }, { replace: true })} />
        </Field>
        <SelectField name="status" label="Status" value={q.status} onChange={(v) => setQ({ status: v, page: '1' })} options={STATUS_OPTIONS} />
        <DateTimeInput label="Created from" name="from" value={q.from} onChange={(v) => setQ({ from: v, page: '1' }, { replace: true })} />
        <DateTimeInput label="Created to" name="to" value={q.to} onChange={(v) => setQ({ to: v, page: '1' }, { replace: true })} />
        <SelectField name="limit" label="Rows per page" value={String(limit)} onChange={(v) => setQ({ limit: v, page: '1' })} options={['25', '100', '500'].map((n) => [n, n] as const)} />
      </div>
      {notice && (
        <p className="notice" role="status">
          {notice}
        </p>
      )}
      <ErrorLine error={elements.error ?? actionError ?? open.error} />
      <HeadedTable
        rows={rows}
        columns={columns}
        rowKey={(e) => e.id}
        sortKey={q.sort}
        sortDir={order}
        onSort={(key) => setQ({ sort: key, order: q.sort === key && order === 'desc' ? 'asc' : 'desc', page: '1' })}
        onRowClick={(e) => setQ({ element: e.id })}
        rowLabel={(e) => `Element ${e.reference ?? e.id.slice(0, 8)}, ${label(e.status)}: open`}
        testId="elements-table"
        empty="No elements match."
      />
      <Pager offset={offset} limit={limit} total={elements.data?.total ?? null} onChange={(o) => setQ({ page: pageOf(o, limit) })} />
      <BarChart
        testId="throughput-chart"
        title="Elements finished per hour (last 24 hours)"
        valueTitle="elements finished"
        categoryTitle="hour"
        empty="No elements of this queue finished in the last 24 hours."
        emptyWhenZero
        data={(throughput.data ?? []).map((b) => ({ label: `${b.hour.slice(11, 13)}:00`, value: b.count, tooltip: [`${showDate(b.hour).slice(0, 16)}: ${b.count} finished`] }))}
      />
      {q.element && open.data && open.data.id === q.element && (
        <ElementDialog
          key={open.data.id}
          element={open.data}
          onClose={closeDialog}
          onDone={() => {
            closeDialog();
            elements.reload();
          }}
        />
      )}
      {q.dialog === 'new' && (
        <NewElementDialog
          queueName={queueName}
          onClose={closeDialog}
          onDone={() => {
            closeDialog();
            elements.reload();
          }}
        />
      )}
      {q.dialog === 'upload' && (
        <UploadDialog
          queueName={queueName}
          onClose={closeDialog}
          onDone={(_queue, created) => {
            setNotice(`${created.toLocaleString()} element${created === 1 ? '' : 's'} added.`);
            closeDialog();
            elements.reload();
          }}
        />
      )}
    </section>
  );
}

/** The list of queues (/queues), or one queue (/queues/<name>). */
export function QueuesTab({ tick, queueName }: { tick: number; queueName?: string }) {
  const [, navigate] = useLocation();
  const search = useSearch();
  const dialog = new URLSearchParams(search).get('dialog');
  const { data, error } = usePoll(() => api<QueueSummary[]>('GET', '/api/queues'), [], tick);
  if (queueName) return <QueueView key={queueName} queueName={queueName} tick={tick} />;
  const columns: Column<QueueSummary>[] = [
    { key: 'name', title: 'Queue', render: (q) => q.queueName, sortValue: (q) => q.queueName.toLowerCase() },
    ...STATUSES.map((s) => ({ key: s, title: label(s), render: (q: QueueSummary) => (q.counts[s] ?? 0).toLocaleString(), sortValue: (q: QueueSummary) => q.counts[s] ?? 0 })),
    { key: 'total', title: 'Total', render: (q) => q.total.toLocaleString(), sortValue: (q) => q.total },
  ];
  const close = () => navigate(TAB_PATHS.Queues);
  return (
    <section className="panel">
      <div className="toolbar">
        <Needs table="Queues" privilege="INSERT">
          <button type="button" className="primary" onClick={() => navigate(`${TAB_PATHS.Queues}?dialog=new`)}>
            New element
          </button>
          <button type="button" onClick={() => navigate(`${TAB_PATHS.Queues}?dialog=upload`)}>
            Upload CSV/JSON
          </button>
        </Needs>
      </div>
      <ErrorLine error={error} />
      <SortableTable
        rows={data ?? []}
        columns={columns}
        rowKey={(q) => q.queueName}
        onRowClick={(q) => navigate(queuePath(q.queueName))}
        rowLabel={(q) => `Queue ${q.queueName}, ${q.total} elements: open`}
        testId="queues-table"
        empty='No queues yet: a queue appears when its first element is added ("New element" or "Upload CSV/JSON" above).'
      />
      {dialog === 'new' && <NewElementDialog onClose={close} onDone={(queue) => navigate(queuePath(queue), { replace: true })} />}
      {dialog === 'upload' && <UploadDialog onClose={close} onDone={(queue) => navigate(queuePath(queue), { replace: true })} />}
    </section>
  );
}
