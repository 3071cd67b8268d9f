/** The JSON API client. The access token (if the server has one) comes from the URL fragment #token=... */

const TOKEN_KEY = 'oo-token';

function readToken(): string | null {
  const match = /(?:^#|&)token=([^&]+)/.exec(window.location.hash);
  if (match) {
    const token = decodeURIComponent(match[1]!);
    sessionStorage.setItem(TOKEN_KEY, token);
    history.replaceState(null, '', window.location.pathname + window.location.search);
    return token;
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const token = readToken();

/** Dispatched on window when a request is refused for want of a session (team mode); detail: the server's line. */
export const SIGNED_OUT_EVENT = 'oo-signed-out';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  // Proves to the server that the request comes from this page: another site's page cannot set
  // a custom header without a CORS preflight, which the server never grants.
  const headers: Record<string, string> = { 'x-openorchestrator-request': '1' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  let parsed: unknown = undefined;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const message = (parsed as { error?: string } | undefined)?.error ?? `${response.status} ${response.statusText}`;
    // Team mode: the session ended (signed out, timed out); the app shows the sign-in again.
    if (response.status === 401 && !path.startsWith('/api/session')) window.dispatchEvent(new CustomEvent(SIGNED_OUT_EVENT, { detail: message }));
    throw new ApiError(response.status, message);
  }
  return parsed as T;
}

export function query(params: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return text ? `?${text}` : '';
}

export interface Status {
  connected: boolean;
  connectionString: string | null;
  dialect: string | null;
  revision: string | null;
  needsUpgrade: boolean;
  hasKey: boolean;
}

export interface Trigger {
  id: string;
  type: 'SINGLE' | 'SCHEDULED' | 'QUEUE';
  triggerName: string;
  processName: string;
  status: string;
  lastRun: string | null;
  nextRun: string | null;
  overdue: boolean;
  processPath: string;
  processArgs: string | null;
  isGitRepo: boolean;
  gitBranch: string | null;
  isBlocking: boolean;
  schedulerWhitelist: string[];
  priority: number;
  cronExpr: string | null;
  queueName: string | null;
  minBatchSize: number | null;
  /** a queue trigger's "run now" that no Scheduler has started yet */
  runRequested: boolean;
  /** why a Failed trigger failed: the last Error log of its latest job */
  failure: { message: string; logTime: string | null; jobId: string | null } | null;
}

export interface LogEntry {
  id: string;
  logTime: string;
  level: 'TRACE' | 'INFO' | 'ERROR';
  processName: string;
  message: string;
  jobId: string | null;
}

export interface Page<T> {
  items: T[];
  total: number | null;
  offset: number;
  limit: number;
}

export interface Constant {
  name: string;
  value: string;
  changedAt: string | null;
}

export interface Credential {
  name: string;
  username: string;
  changedAt: string | null;
  sizeText: string;
  readable: boolean | null;
}

export interface QueueSummary {
  queueName: string;
  counts: Record<string, number>;
  total: number;
}

export interface QueueElement {
  id: string;
  queueName: string;
  status: string;
  data: string | null;
  reference: string | null;
  createdDate: string;
  startDate: string | null;
  endDate: string | null;
  message: string | null;
  createdBy: string | null;
}

export interface SchedulerRow {
  machineName: string;
  lastUpdate: string;
  online: boolean;
  secondsSinceUpdate: number;
  latestTrigger: string | null;
  latestTriggerTime: string | null;
  running: { jobId: string; processName: string; startTime: string; triggerId: string | null }[];
}

export interface Job {
  id: string;
  processName: string;
  schedulerName: string;
  startTime: string;
  endTime: string | null;
  durationSeconds: number | null;
  status: string;
  triggerId: string | null;
  triggerName: string | null;
}

export const TABS = ['Dashboard', 'Settings', 'Triggers', 'Logs', 'Constants & Credentials', 'Queues', 'Schedulers', 'Jobs', 'Alerts', 'Audit'] as const;
export type Tab = (typeof TABS)[number];

/** Where a link (e.g. from a log to its job) asks the app to go. */
export type Navigate = (tab: Tab, filter?: { jobId?: string; processName?: string }) => void;
