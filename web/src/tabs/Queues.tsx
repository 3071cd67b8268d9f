import { useState } from 'react';
import { api, query, type Page, type QueueElement, type QueueSummary } from '../api';
import { BarChart } from '../charts';
import { DateTimeInput, DeleteButton, Dialog, ErrorLine, Field, HeadedTable, Pager, SortableTable, Status, useAction, usePoll, type Column } from '../components';
import { label, showDate } from '../format';

const STATUSES = ['NEW', 'IN_PROGRESS', 'DONE', 'FAILED', 'ABANDONED'];

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
          <button type="submit" className="primary">
            Save
          </button>
          {element.status === 'FAILED' && (
            <button type="button" onClick={() => void act(() => api('POST', '/api/queue-elements/retry', { ids: [element.id] }))}>
              Retry
            </button>
          )}
          <DeleteButton onDelete={() => void act(() => api('DELETE', `/api/queue-elements/${element.id}`))} />
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
          <button type="submit" className="primary">
            Create
          </button>
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
        <button type="button" className="primary" onClick={() => setCreating(true)}>
          New element
        </button>
        <button type="button" disabled={selected.size === 0} onClick={retry}>
          Retry selected ({selected.size})
        </button>
      </div>
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
