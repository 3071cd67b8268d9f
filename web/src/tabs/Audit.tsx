/** The audit trail: who changed what through the Orchestrator, when, with the row before and after. */
import { useState } from 'react';
import { api, query, type Page } from '../api';
import { Dialog, ErrorLine, HeadedTable, Pager, usePoll, type Column } from '../components';
import { DateTimeInput, Field } from '../forms';
import { showDate } from '../format';

interface AuditEntry {
  id: string;
  changedAt: string;
  login: string;
  action: string;
  target: string | null;
  clientAddress: string | null;
  before: string | null;
  after: string | null;
}

/** A stored snapshot (JSON) as readable lines; "none" where there was no row. */
function snapshot(text: string | null): string {
  if (text === null) return 'none';
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

export function AuditTab({ tick }: { tick: number }) {
  const [login, setLogin] = useState('');
  const [action, setAction] = useState('');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<AuditEntry | null>(null);
  const limit = 100;
  const choices = usePoll(() => api<{ logins: string[]; actions: string[] }>('GET', '/api/audit/choices'), [], tick);
  const { data, error } = usePoll(() => api<Page<AuditEntry>>('GET', `/api/audit${query({ login, action, from, to, offset, limit })}`), [login, action, from, to, offset], tick);
  const reset = (setter: (v: string) => void) => (v: string) => {
    setter(v);
    setOffset(0);
  };
  const kinds = [...new Set((choices.data?.actions ?? []).map((a) => a.split('.')[0]!))];
  const columns: Column<AuditEntry>[] = [
    { key: 'time', title: 'When', render: (e) => showDate(e.changedAt) },
    { key: 'login', title: 'Who', render: (e) => e.login },
    { key: 'action', title: 'What', render: (e) => e.action },
    { key: 'target', title: 'On', render: (e) => e.target ?? '', grow: true },
    { key: 'from', title: 'From', render: (e) => e.clientAddress ?? '' },
  ];
  return (
    <section className="panel">
      <div className="toolbar filters">
        <Field label="Who">
          <select name="login" value={login} onChange={(e) => reset(setLogin)(e.target.value)}>
            <option value="">Everybody</option>
            {(choices.data?.logins ?? []).map((l) => (
              <option key={l}>{l}</option>
            ))}
          </select>
        </Field>
        <Field label="What">
          <select name="action" value={action} onChange={(e) => reset(setAction)(e.target.value)}>
            <option value="">Every change</option>
            {kinds.map((kind) => (
              <option key={kind} value={kind}>
                {kind} (all)
              </option>
            ))}
            {(choices.data?.actions ?? []).map((a) => (
              <option key={a}>{a}</option>
            ))}
          </select>
        </Field>
        <DateTimeInput label="From" name="from" value={from} onChange={reset(setFrom)} />
        <DateTimeInput label="To" name="to" value={to} onChange={reset(setTo)} />
      </div>
      <ErrorLine error={error} />
      <HeadedTable
        rows={data?.items ?? []}
        columns={columns}
        rowKey={(e) => e.id}
        onRowClick={setOpen}
        testId="audit-table"
        empty="No changes match."
      />
      <Pager offset={offset} limit={limit} total={data?.total ?? null} onChange={setOffset} />
      {open && (
        <Dialog title={`${open.action} by ${open.login}`} onClose={() => setOpen(null)} wide>
          <p className="muted">
            {showDate(open.changedAt)}
            {open.target ? ` · ${open.target}` : ''}
            {open.clientAddress ? ` · from ${open.clientAddress}` : ''}
          </p>
          <div className="audit-detail">
            <div>
              <h3>Before</h3>
              <pre data-testid="audit-before">{snapshot(open.before)}</pre>
            </div>
            <div>
              <h3>After</h3>
              <pre data-testid="audit-after">{snapshot(open.after)}</pre>
            </div>
          </div>
        </Dialog>
      )}
    </section>
  );
}
