import { useState } from 'react';
import { api, query } from '../api';
import { ErrorLine, SortableTable, usePoll } from '../components';
import { CheckField, FormDialog, TextField } from '../forms';
import { showDate } from '../format';

export interface TableSize {
  scope: string;
  table: string;
  rows: number;
  estimated: boolean;
  oldest: string | null;
}
interface Period {
  scope: string;
  queueName: string | null;
  keepDays: number;
  archive: boolean;
}
/** A row of the section: a scope as a whole (with its table's size) or one queue's own period. */
interface Row {
  key: string;
  scope: string;
  queueName: string | null;
  size?: TableSize;
  period?: Period;
}

const SCOPES: Record<string, string> = {
  LOGS: 'Logs',
  JOBS: 'Jobs (ended)',
  QUEUE_ELEMENTS: 'Queue elements (finished)',
  ELEMENT_EVENTS: 'Queue element history',
  INCIDENTS: 'Alert incidents (cleared)',
};

function PeriodDialog({ row, onDone, onClose }: { row: Row | null; onDone: () => void; onClose: () => void }) {
  const [queueName, setQueueName] = useState(row?.queueName ?? '');
  const [keepDays, setKeepDays] = useState(String(row?.period?.keepDays ?? 90));
  const [archive, setArchive] = useState(row?.period?.archive ?? false);
  const scope = row?.scope ?? 'QUEUE_ELEMENTS';
  const forQueue = row === null || row.queueName !== null;
  const title = row === null ? 'Period of one queue' : `Keep ${SCOPES[scope]}${row.queueName ? ` of ${row.queueName}` : ''}`;
  return (
    <FormDialog
      title={title}
      onClose={onClose}
      onDone={onDone}
      onSubmit={() => api('PUT', '/api/operations/retention', { scope, queueName: forQueue ? queueName : null, keepDays: Number(keepDays), archive })}
      onDelete={row?.period ? () => api('DELETE', `/api/operations/retention${query({ scope, queueName: row.queueName })}`) : undefined}
      deleteWhat={forQueue ? `the period of ${row?.queueName ?? ''}` : 'this period (keep for ever)'}
    >
      {forQueue && <TextField name="queueName" label="Queue" value={queueName} onChange={setQueueName} required maxLength={100} readOnly={row !== null} autoFocus={row === null} />}
      <TextField
        name="keepDays"
        label="Keep for (days)"
        hint="the monitor purges what is older, in small batches"
        type="number"
        min={1}
        max={36500}
        value={keepDays}
        onChange={setKeepDays}
        required
        autoFocus={row !== null}
      />
      <CheckField name="archive" label="Archive first" hint="gzip JSON lines in the monitor's --archive-dir" checked={archive} onChange={setArchive} />
    </FormDialog>
  );
}

/** History tables: size, oldest row and how long they are kept, each period editable. */
export function RetentionSection({ tables, tick }: { tables: TableSize[]; tick: number }) {
  const periods = usePoll(() => api<Period[]>('GET', '/api/operations/retention'), [], tick);
  const [editing, setEditing] = useState<Row | null | undefined>(undefined);
  const list = periods.data ?? [];
  const rows: Row[] = [
    ...Object.keys(SCOPES).map((scope) => ({ key: scope, scope, queueName: null, size: tables.find((t) => t.scope === scope), period: list.find((p) => p.scope === scope && p.queueName === null) })),
    ...list.filter((p) => p.queueName !== null).map((p) => ({ key: `${p.scope}/${p.queueName}`, scope: p.scope, queueName: p.queueName, period: p })),
  ];
  return (
    <>
      <div className="toolbar">
        <h2>History and retention</h2>
        <button type="button" onClick={() => setEditing(null)}>
          Add a queue's period
        </button>
      </div>
      <ErrorLine error={periods.error} />
      <SortableTable
        testId="retention-table"
        rows={rows}
        rowKey={(r) => r.key}
        empty="No history tables."
        columns={[
          { key: 'what', title: 'History', render: (r) => (r.queueName ? `${SCOPES[r.scope]}: ${r.queueName}` : SCOPES[r.scope]) },
          { key: 'rows', title: 'Rows', render: (r) => (r.size ? `${r.size.estimated ? '≈ ' : ''}${r.size.rows.toLocaleString()}` : ''), sortValue: (r) => r.size?.rows ?? -1 },
          { key: 'oldest', title: 'Oldest', render: (r) => (r.size ? showDate(r.size.oldest, 'none') : ''), sortValue: (r) => r.size?.oldest ?? '' },
          { key: 'kept', title: 'Kept for', render: (r) => (r.period ? `${r.period.keepDays} days${r.period.archive ? ', archived' : ''}` : r.queueName ? '' : 'for ever') },
          {
            key: 'edit',
            title: 'Period',
            interactive: true,
            render: (r) => (
              <button type="button" className="link" onClick={() => setEditing(r)}>
                {r.period ? 'edit' : 'set'}
              </button>
            ),
          },
        ]}
      />
      {editing !== undefined && (
        <PeriodDialog
          row={editing}
          onClose={() => setEditing(undefined)}
          onDone={() => {
            setEditing(undefined);
            periods.reload();
          }}
        />
      )}
    </>
  );
}
