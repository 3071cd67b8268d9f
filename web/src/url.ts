/**
 * Every view is a link: the tab is the path, its filters, sort, page and open item are the query
 * (wouter on the History API), so reload keeps the place, back and forward walk the views, and
 * an address can be sent to a colleague. The access token never enters it (api.ts keeps it in
 * sessionStorage).
 */
import { useLocation, useSearch } from 'wouter';

/**
 * The query's values, each with its default when absent, and a setter that writes a change into
 * the address: a new history entry (back undoes it), or with `replace` the same entry (typing
 * in a search field). A value equal to its default leaves the address.
 *
 * @example
 *   const [q, setQ] = useUrlState({ status: '', page: '1' });
 *   setQ({ status: 'FAILED', page: '1' });
 */
export function useUrlState<T extends Record<string, string>>(defaults: T): [T, (patch: Partial<T>, options?: { replace?: boolean }) => void] {
  const search = useSearch();
  const [location, navigate] = useLocation();
  const params = new URLSearchParams(search);
  const values = { ...defaults };
  for (const key of Object.keys(defaults) as (keyof T & string)[]) {
    const value = params.get(key);
    if (value !== null) values[key] = value as T[typeof key];
  }
  const set = (patch: Partial<T>, options: { replace?: boolean } = {}) => {
    const next = new URLSearchParams(search);
    for (const [key, value] of Object.entries(patch)) {
      if (value === undefined || value === defaults[key]) next.delete(key);
      else next.set(key, value);
    }
    const text = next.toString();
    navigate(`${location}${text ? `?${text}` : ''}`, { replace: options.replace ?? false });
  };
  return [values, set];
}

/** Rows before a page: `page` is 1-based text from the address. */
export function offsetOf(page: string, limit: number): number {
  const n = Number(page);
  return Number.isInteger(n) && n > 1 ? (n - 1) * limit : 0;
}

/** The page (1-based, as text) an offset falls on. */
export function pageOf(offset: number, limit: number): string {
  return String(Math.floor(offset / limit) + 1);
}

/** The path of each tab. */
export const TAB_PATHS = {
  Dashboard: '/dashboard',
  Settings: '/settings',
  Triggers: '/triggers',
  Logs: '/logs',
  'Constants & Credentials': '/values',
  Queues: '/queues',
  Schedulers: '/schedulers',
  Jobs: '/jobs',
  Alerts: '/alerts',
  Audit: '/audit',
} as const;

export const jobPath = (id: string) => `/jobs/${id}`;
export const triggerPath = (id: string) => `/triggers/${id}`;
export const queuePath = (queueName: string, query: Record<string, string> = {}) => {
  const text = new URLSearchParams(query).toString();
  return `/queues/${encodeURIComponent(queueName)}${text ? `?${text}` : ''}`;
};
export const logsPath = (query: Record<string, string>) => `/logs?${new URLSearchParams(query).toString()}`;
