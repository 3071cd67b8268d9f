/** Small building blocks shared by the tabs: polling, sortable tables, dialogs, pager, charts. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { label } from './format';

export const REFRESH_MS = 10_000;

/**
 * Loads data now, again every 10 s while the page is visible, and whenever `tick` (the refresh
 * button) or a dependency changes. Returns the data, the last error and a reload function.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], tick: number): { data: T | undefined; error: string | null; reload: () => void } {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | null>(null);
  const loadRef = useRef(load);
  loadRef.current = load;
  const generation = useRef(0);
  const reload = useCallback(() => {
    const mine = ++generation.current;
    loadRef
      .current()
      .then((value) => {
        if (mine !== generation.current) return;
        setData(value);
        setError(null);
      })
      .catch((e: Error) => {
        if (mine !== generation.current) return;
        setError(e.message);
      });
  }, []);
  useEffect(() => {
    reload();
    const timer = setInterval(() => {
      if (document.visibilityState === 'visible') reload();
    }, REFRESH_MS);
    const onVisible = () => document.visibilityState === 'visible' && reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, tick, reload]);
  return { data, error, reload };
}

/**
 * Runs a form's request: clears the last error, shows the server's one-line error when it fails,
 * and calls `onDone` when it succeeds.
 */
export function useAction(onDone: () => void): { error: string | null; busy: boolean; act: (work: () => Promise<unknown>) => Promise<void> } {
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const act = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
      onDone();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { error, busy, act };
}

/** A Delete button that asks once more ("Really delete …?") before it calls `onDelete`. */
export function DeleteButton({ what, onDelete }: { what?: string; onDelete: () => void }) {
  const [confirm, setConfirm] = useState(false);
  return (
    <button type="button" className="danger" onClick={() => (confirm ? onDelete() : setConfirm(true))}>
      {confirm ? (what ? `Really delete "${what}"?` : 'Really delete?') : 'Delete'}
    </button>
  );
}

export function ErrorLine({ error }: { error: string | null | undefined }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {error}
    </p>
  );
}

export function Status({ value }: { value: string }) {
  return <span className={`status status-${value.toLowerCase()}`}>{label(value)}</span>;
}

export interface Column<T> {
  key: string;
  title: string;
  render: (row: T) => ReactNode;
  /** value to sort by (client-side sorting); omit for unsortable columns */
  sortValue?: (row: T) => string | number;
}

/** A table sorted in the browser (for lists the server returns whole: triggers, queues, constants...). */
export function SortableTable<T>({
  rows,
  columns,
  rowKey,
  initialSort,
  onRowClick,
  rowClass,
  testId,
  empty = 'Nothing here yet.',
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  initialSort?: string;
  onRowClick?: (row: T) => void;
  rowClass?: (row: T) => string;
  testId?: string;
  empty?: string;
}) {
  const [sort, setSort] = useState<{ key: string; dir: 1 | -1 }>({ key: initialSort ?? columns[0]!.key, dir: 1 });
  const column = columns.find((c) => c.key === sort.key);
  const sorted = column?.sortValue
    ? [...rows].sort((a, b) => {
        const x = column.sortValue!(a);
        const y = column.sortValue!(b);
        return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y))) * sort.dir;
      })
    : rows;
  return (
    <HeadedTable
      columns={columns}
      sortKey={sort.key}
      sortDir={sort.dir === 1 ? 'asc' : 'desc'}
      onSort={(key) => setSort((s) => ({ key, dir: s.key === key ? (-s.dir as 1 | -1) : 1 }))}
      rows={sorted}
      rowKey={rowKey}
      onRowClick={onRowClick}
      rowClass={rowClass}
      testId={testId}
      empty={empty}
    />
  );
}

/** A table whose sorting is done elsewhere (the server, for paged lists). */
export function HeadedTable<T>({
  rows,
  columns,
  rowKey,
  sortKey,
  sortDir,
  onSort,
  onRowClick,
  rowClass,
  testId,
  empty = 'Nothing here yet.',
}: {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  sortKey?: string;
  sortDir?: 'asc' | 'desc';
  onSort?: (key: string) => void;
  onRowClick?: (row: T) => void;
  rowClass?: (row: T) => string;
  testId?: string;
  empty?: string;
}) {
  return (
    <div className="table-wrap">
      <table data-testid={testId}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th key={c.key} aria-sort={sortKey === c.key ? (sortDir === 'asc' ? 'ascending' : 'descending') : undefined}>
                {c.sortValue && onSort ? (
                  <button type="button" className="sort" onClick={() => onSort(c.key)}>
                    {c.title}
                    {sortKey === c.key ? (sortDir === 'asc' ? ' ▲' : ' ▼') : ''}
                  </button>
                ) : (
                  c.title
                )}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={columns.length} className="empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((row) => (
              <tr key={rowKey(row)} className={`${onRowClick ? 'clickable ' : ''}${rowClass?.(row) ?? ''}`} onClick={onRowClick ? () => onRowClick(row) : undefined}>
                {columns.map((c) => (
                  <td key={c.key}>{c.render(row)}</td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

export function Pager({ offset, limit, total, onChange }: { offset: number; limit: number; total: number | null; onChange: (offset: number) => void }) {
  const last = total === null ? null : Math.max(0, Math.ceil(total / limit) - 1);
  const page = Math.floor(offset / limit);
  return (
    <div className="pager">
      <button type="button" disabled={offset === 0} onClick={() => onChange(0)}>
        « First
      </button>
      <button type="button" disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - limit))}>
        ‹ Previous
      </button>
      <span data-testid="pager-text">
        Page {page + 1}
        {last !== null ? ` of ${last + 1}` : ''} {total !== null ? `(${total.toLocaleString()} rows)` : ''}
      </span>
      <button type="button" disabled={last !== null && page >= last} onClick={() => onChange(offset + limit)}>
        Next ›
      </button>
      {last !== null && (
        <button type="button" disabled={page >= last} onClick={() => onChange(last * limit)}>
          Last »
        </button>
      )}
    </div>
  );
}

export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose();
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [onClose]);
  return (
    <div className="backdrop" onClick={onClose}>
      <div className={`dialog${wide ? ' wide' : ''}`} role="dialog" aria-modal="true" aria-label={title} onClick={(e) => e.stopPropagation()}>
        <div className="dialog-head">
          <h2>{title}</h2>
          <button type="button" className="close" aria-label="Close" onClick={onClose}>
            ×
          </button>
        </div>
        {children}
      </div>
    </div>
  );
}

/** A labelled form field; `error` shows inline under it. */
export function Field({ label: text, children, hint, error }: { label: string; children: ReactNode; hint?: ReactNode; error?: string | null }) {
  return (
    <label className="field">
      <span className="field-label">{text}</span>
      {children}
      {hint && <span className="hint">{hint}</span>}
      {error && <span className="field-error">{error}</span>}
    </label>
  );
}

/** A bar chart as inline SVG: one bar per entry, the value above it. */
export function BarChart({ data, title, unit = '', testId }: { data: { label: string; value: number; title?: string }[]; title: string; unit?: string; testId?: string }) {
  const width = 640;
  const height = 180;
  const pad = { top: 18, bottom: 34, left: 8, right: 8 };
  const max = Math.max(1, ...data.map((d) => d.value));
  const barWidth = data.length ? Math.min(60, (width - pad.left - pad.right) / data.length) : 0;
  const every = Math.max(1, Math.ceil(data.length / 12));
  return (
    <figure className="chart" data-testid={testId}>
      <figcaption>{title}</figcaption>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label={title}>
        <line x1={pad.left} x2={width - pad.right} y1={height - pad.bottom} y2={height - pad.bottom} className="axis" />
        {data.map((d, i) => {
          const h = ((height - pad.top - pad.bottom) * d.value) / max;
          const x = pad.left + i * barWidth;
          const y = height - pad.bottom - h;
          return (
            <g key={d.label + i}>
              <rect x={x + barWidth * 0.12} y={y} width={barWidth * 0.76} height={h} className="bar">
                <title>{d.title ?? `${d.label}: ${d.value}${unit}`}</title>
              </rect>
              {d.value > 0 && (data.length <= 24 || i % every === 0) && (
                <text x={x + barWidth / 2} y={y - 4} textAnchor="middle" className="value">
                  {Number.isInteger(d.value) ? d.value : d.value.toFixed(1)}
                </text>
              )}
              {i % every === 0 && (
                <text x={x + barWidth / 2} y={height - pad.bottom + 14} textAnchor="middle" className="tick">
                  {d.label}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
