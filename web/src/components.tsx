/** Small building blocks shared by the tabs: polling, tables, dialogs, pager, copy link. Forms are in forms.tsx. */
import {
  Fragment,
  useCallback,
  useEffect,
  useId,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type KeyboardEvent as ReactKeyboardEvent,
  type MouseEvent as ReactMouseEvent,
  type ReactNode,
  type TouchEvent as ReactTouchEvent,
} from 'react';
import {
  columnResizingFeature,
  columnSizingFeature,
  createSortedRowModel,
  rowExpandingFeature,
  rowSortingFeature,
  tableFeatures,
  useTable,
  type ColumnDef,
  type ExpandedState,
  type OnChangeFn,
  type RowData,
  type SortingState,
} from '@tanstack/react-table';
import { label } from './format';

export const REFRESH_MS = 10_000;

/**
 * Loads data now, again every 10 s (or `intervalMs`: a running job's page follows it faster)
 * while the page is visible, and whenever `tick` (the refresh button) or a dependency changes.
 * Returns the data, the last error and a reload function.
 */
export function usePoll<T>(load: () => Promise<T>, deps: unknown[], tick: number, intervalMs = REFRESH_MS): { data: T | undefined; error: string | null; reload: () => void } {
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
    }, intervalMs);
    const onVisible = () => document.visibilityState === 'visible' && reload();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(timer);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [...deps, tick, reload, intervalMs]);
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
  /** value to sort by (client-side sorting); with server-side sorting, any function marks the column sortable */
  sortValue?: (row: T) => string | number;
  /** width in px; columns without one shrink to their content */
  size?: number;
  /** this column takes the free width (long text, cut with an ellipsis) */
  grow?: boolean;
  /** a cell whose clicks do not reach the row (buttons, checkboxes) */
  interactive?: boolean;
}

const tableFeaturesUsed = tableFeatures({ rowSortingFeature, sortedRowModel: createSortedRowModel(), rowExpandingFeature, columnSizingFeature, columnResizingFeature });
const NO_ROWS: never[] = [];

/**
 * A cell's content at a column's width: a box of that width (auto table layout honours content
 * widths, not cell widths, beside a free-width column), its text cut with an ellipsis.
 */
function Sized({ width, children }: { width: number | undefined; children: ReactNode }) {
  if (width === undefined) return <>{children}</>;
  return (
    <div className="sized" style={{ width }}>
      {children}
    </div>
  );
}

interface TableProps<T> {
  rows: T[];
  columns: Column<T>[];
  rowKey: (row: T) => string;
  onRowClick?: (row: T) => void;
  rowClass?: (row: T) => string;
  /** shown under a row whenever it returns something (e.g. why a trigger failed) */
  detail?: (row: T) => ReactNode;
  /** a click on a row toggles this under it (e.g. a log's full message) */
  expand?: (row: T) => ReactNode;
  testId?: string;
  empty?: string;
  /** what a screen reader says for a row that opens something (default: its cells' text) */
  rowLabel?: (row: T) => string;
}

/** Enter or Space on the row itself (not on a button inside it) does what a click does. */
function activateOnKey(event: ReactKeyboardEvent<HTMLElement>, click: () => void): void {
  if (event.target !== event.currentTarget || (event.key !== 'Enter' && event.key !== ' ')) return;
  event.preventDefault();
  click();
}

function compare(x: string | number, y: string | number): number {
  return typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
}

/**
 * The one table of the UI, on TanStack Table: sorting (in the browser, or by the server for
 * paged lists), column sizes (drag a title's right edge; double-click it to fit the content
 * again), a free-width column, and rows that expand to a detail line.
 */
function DataTable<T extends RowData>({
  rows,
  columns,
  rowKey,
  onRowClick,
  rowClass,
  detail,
  expand,
  testId,
  empty = 'Nothing here yet.',
  rowLabel,
  sorting,
  onSortingChange,
  manualSorting,
}: TableProps<T> & { sorting: SortingState; onSortingChange: OnChangeFn<SortingState>; manualSorting: boolean }) {
  const [expanded, setExpanded] = useState<ExpandedState>({});
  const byKey = new Map(columns.map((c) => [c.key, c]));
  const defs = useMemo<ColumnDef<typeof tableFeaturesUsed, T>[]>(
    () =>
      columns.map((c) => ({
        id: c.key,
        header: c.title,
        accessorFn: c.sortValue ?? (() => ''),
        enableSorting: Boolean(c.sortValue),
        sortFn: (a, b, id) => compare(a.getValue<string | number>(id), b.getValue<string | number>(id)),
        ...(c.size ? { size: c.size } : {}),
        minSize: 48,
        enableResizing: !c.grow && !c.interactive,
        cell: (ctx) => c.render(ctx.row.original),
      })),
    [columns],
  );
  const table = useTable({
    features: tableFeaturesUsed,
    columns: defs,
    data: rows.length === 0 ? (NO_ROWS as T[]) : rows,
    getRowId: (row) => rowKey(row),
    state: { sorting, expanded },
    onSortingChange,
    onExpandedChange: setExpanded,
    manualSorting,
    enableSortingRemoval: false,
    sortDescFirst: false,
    // the lists reload every 10 s: an open row stays open
    autoResetExpanded: false,
    getRowCanExpand: () => Boolean(expand),
    columnResizeMode: 'onChange',
  });
  // A column has a width once it declares one or is dragged; the others fit their content.
  const sizing = table.state.columnSizing;
  const widthOf = (id: string): number | undefined => (sizing[id] !== undefined || byKey.get(id)?.size ? table.getColumn(id)?.getSize() : undefined);
  /** Starts a drag from the width the column has on screen, not from a default. */
  const startResize = (header: { id: string; column: { id: string }; getResizeHandler: () => (event: unknown) => void }, event: ReactMouseEvent | ReactTouchEvent) => {
    event.stopPropagation();
    const th = (event.currentTarget as HTMLElement).closest('th');
    if (th && sizing[header.column.id] === undefined) {
      const style = getComputedStyle(th);
      const content = th.getBoundingClientRect().width - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
      table.setColumnSizing((old) => ({ ...old, [header.column.id]: Math.round(content) }));
    }
    header.getResizeHandler()(event.nativeEvent);
  };
  const span = columns.length;
  return (
    <div className="table-wrap">
      <table data-testid={testId} className="data">
        <thead>
          {table.getHeaderGroups().map((group) => (
            <tr key={group.id}>
              {group.headers.map((header) => {
                const column = byKey.get(header.column.id)!;
                const sorted = header.column.getIsSorted();
                return (
                  <th
                    key={header.id}
                    className={column.grow ? 'grow' : undefined}
                    aria-sort={sorted ? (sorted === 'asc' ? 'ascending' : 'descending') : undefined}
                  >
                    <Sized width={widthOf(header.column.id)}>
                      {header.column.getCanSort() ? (
                        <button type="button" className="sort" onClick={header.column.getToggleSortingHandler()}>
                          {column.title}
                          <span className="sort-mark">{sorted === 'asc' ? ' ▲' : sorted === 'desc' ? ' ▼' : ''}</span>
                        </button>
                      ) : (
                        column.title
                      )}
                    </Sized>
                    {header.column.getCanResize() && (
                      <span
                        className={`resizer${header.column.getIsResizing() ? ' resizing' : ''}`}
                        role="separator"
                        aria-orientation="vertical"
                        aria-label={`Resize column ${column.title}`}
                        onMouseDown={(e) => startResize(header, e)}
                        onTouchStart={(e) => startResize(header, e)}
                        onClick={(e) => e.stopPropagation()}
                        onDoubleClick={() => header.column.resetSize()}
                      />
                    )}
                  </th>
                );
              })}
            </tr>
          ))}
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={span} className="empty">
                {empty}
              </td>
            </tr>
          ) : (
            table.getRowModel().rows.map((row) => {
              const open = row.getIsExpanded();
              const click = onRowClick ? () => onRowClick(row.original) : expand ? () => row.toggleExpanded() : undefined;
              const below = detail?.(row.original);
              return (
                <Fragment key={row.id}>
                  <tr
                    className={`${click ? 'clickable ' : ''}${open ? 'expanded ' : ''}${rowClass?.(row.original) ?? ''}`}
                    onClick={click}
                    // Keyboard: Tab reaches every row that opens something, Enter (or Space) opens it.
                    tabIndex={click ? 0 : undefined}
                    onKeyDown={click ? (e) => activateOnKey(e, click) : undefined}
                    aria-label={click ? rowLabel?.(row.original) : undefined}
                  >
                    {row.getAllCells().map((cell) => {
                      const column = byKey.get(cell.column.id)!;
                      return (
                        <td
                          key={cell.id}
                          className={column.grow ? 'grow' : undefined}
                          data-label={column.title || undefined}
                          onClick={column.interactive ? (e) => e.stopPropagation() : undefined}
                          onKeyDown={column.interactive ? (e) => e.stopPropagation() : undefined}
                        >
                          <Sized width={widthOf(cell.column.id)}>
                            <table.FlexRender cell={cell} />
                          </Sized>
                        </td>
                      );
                    })}
                  </tr>
                  {below && (
                    <tr className={`detail ${rowClass?.(row.original) ?? ''}`}>
                      <td colSpan={span}>{below}</td>
                    </tr>
                  )}
                  {open && expand && (
                    <tr className="detail expanded-detail">
                      <td colSpan={span}>{expand(row.original)}</td>
                    </tr>
                  )}
                </Fragment>
              );
            })
          )}
        </tbody>
      </table>
    </div>
  );
}

/** A table sorted in the browser (for lists the server returns whole: triggers, queues, constants...). */
export function SortableTable<T extends RowData>({
  initialSort,
  initialDesc = false,
  sort,
  onSortChange,
  columns,
  ...props
}: TableProps<T> & { initialSort?: string; initialDesc?: boolean; sort?: { key: string; desc: boolean }; onSortChange?: (sort: { key: string; desc: boolean }) => void }) {
  const [local, setLocal] = useState<SortingState>([{ id: initialSort ?? columns[0]!.key, desc: initialDesc }]);
  // Controlled (`sort`, e.g. from the address) or kept here.
  const sorting: SortingState = sort ? [{ id: sort.key, desc: sort.desc }] : local;
  const change: OnChangeFn<SortingState> = (updater) => {
    const next = typeof updater === 'function' ? updater(sorting) : updater;
    if (!sort) return setLocal(next);
    if (next[0]) onSortChange?.({ key: next[0].id, desc: next[0].desc });
  };
  return <DataTable {...props} columns={columns} sorting={sorting} onSortingChange={change} manualSorting={false} />;
}

/** A table whose sorting is done by the server (paged lists): a click on a sortable title calls `onSort`. */
export function HeadedTable<T extends RowData>({ sortKey, sortDir, onSort, columns, ...props }: TableProps<T> & { sortKey?: string; sortDir?: 'asc' | 'desc'; onSort?: (key: string) => void }) {
  const sorting: SortingState = sortKey ? [{ id: sortKey, desc: sortDir === 'desc' }] : [];
  const sortable = onSort ? columns : columns.map((c) => ({ ...c, sortValue: undefined }));
  const onSortingChange: OnChangeFn<SortingState> = (updater) => {
    const next = typeof updater === 'function' ? updater(sorting) : updater;
    const key = next[0]?.id ?? sortKey;
    if (key) onSort?.(key);
  };
  return <DataTable {...props} columns={sortable} sorting={sorting} onSortingChange={onSortingChange} manualSorting />;
}

export function Pager({ offset, limit, total, onChange }: { offset: number; limit: number; total: number | null; onChange: (offset: number) => void }) {
  const last = total === null ? null : Math.max(0, Math.ceil(total / limit) - 1);
  const page = Math.floor(offset / limit);
  return (
    <nav className="pager" aria-label="pages">
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
    </nav>
  );
}

/**
 * A modal dialog on the browser's own <dialog>: it takes the focus (its first field, or its first
 * button), keeps Tab inside it (the page behind is inert), closes on Escape and on a click beside
 * it, and gives the focus back to what had it when it opened.
 */
export function Dialog({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  const close = useRef(onClose);
  close.current = onClose;
  // A layout effect: its clean-up runs while the element is still in the page, so close() can
  // hand the focus back.
  useLayoutEffect(() => {
    const dialog = ref.current!;
    const opener = document.activeElement instanceof HTMLElement && document.activeElement !== document.body ? document.activeElement : null;
    if (!dialog.open) dialog.showModal();
    const first = dialog.querySelector<HTMLElement>('.dialog-body :is(input:not([type=hidden]):not([readonly]), select, textarea, button, a[href], [tabindex="0"]):not(:disabled)');
    (first ?? dialog).focus();
    return () => {
      if (dialog.open) dialog.close();
      if (opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={ref}
      className={`dialog${wide ? ' wide' : ''}`}
      aria-labelledby={titleId}
      tabIndex={-1}
      onCancel={(e) => {
        e.preventDefault();
        close.current();
      }}
      onClick={(e) => e.target === e.currentTarget && close.current()}
    >
      <div className="dialog-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="close" aria-label="Close" onClick={onClose}>
          ×
        </button>
      </div>
      <div className="dialog-body">{children}</div>
    </dialog>
  );
}

/** Copies `text`; where the Clipboard API is not allowed (plain http beyond this machine), through a hidden field. */
export async function copyText(text: string): Promise<void> {
  if (window.isSecureContext && navigator.clipboard) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const field = document.createElement('textarea');
  field.value = text;
  field.setAttribute('readonly', '');
  field.style.position = 'fixed';
  field.style.opacity = '0';
  document.body.append(field);
  field.select();
  const copied = document.execCommand('copy');
  field.remove();
  if (!copied) throw new Error('the browser did not allow copying: copy the address from the address bar');
}

/** "Copy link": the address of what is shown (filters, page and the open item included; never the token). */
export function CopyLinkButton({ label: text = 'Copy link' }: { label?: string }) {
  const [state, setState] = useState<string | null>(null);
  useEffect(() => {
    if (!state) return;
    const timer = setTimeout(() => setState(null), 2500);
    return () => clearTimeout(timer);
  }, [state]);
  return (
    <>
      <button
        type="button"
        onClick={() =>
          copyText(window.location.href).then(
            () => setState('Link copied'),
            (e: Error) => setState(e.message),
          )
        }
      >
        {text}
      </button>
      <span role="status" className="muted copy-state">
        {state ?? ''}
      </span>
    </>
  );
}
