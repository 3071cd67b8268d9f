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

/**
 * A JSON request whose upload reports its progress (a large bulk upload): `onProgress(sent,
 * total)` as the body goes out. Errors are ApiError with the server's one line, as api() gives.
 */
export function apiUpload<T>(method: string, path: string, body: unknown, onProgress: (sent: number, total: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open(method, path);
    request.setRequestHeader('x-openorchestrator-request', '1');
    request.setRequestHeader('content-type', 'application/json');
    if (token) request.setRequestHeader('authorization', `Bearer ${token}`);
    request.upload.onprogress = (e) => onProgress(e.loaded, e.total);
    request.onerror = () => reject(new ApiError(0, 'the server could not be reached'));
    request.onload = () => {
      let parsed: unknown;
      try {
        parsed = request.responseText ? JSON.parse(request.responseText) : undefined;
      } catch {
        parsed = undefined;
      }
      if (request.status >= 200 && request.status < 300) resolve(parsed as T);
      else reject(new ApiError(request.status, (parsed as { error?: string } | undefined)?.error ?? `${request.status} ${request.statusText}`));
    };
    request.send(JSON.stringify(body));
  });
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
  /** why a Failed trigger failed: the last Error log of its latest job (summary: its one line) */
  failure: { message: string; summary: string; logTime: string | null; jobId: string | null } | null;
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

/** A job in full, for its page (GET /api/jobs/{id}). */
export interface JobDetail extends Job {
  trigger: { id: string; triggerName: string; type: string; status: string; processPath: string; processArgs: string | null; queueName: string | null; latestJobId: string | null } | null;
  error: { message: string; summary: string; logTime: string | null } | null;
  elements: { queueName: string; items: { id: string; reference: string | null; status: string; startDate: string | null; endDate: string | null }[] } | null;
}

export interface OutputLine {
  seq: number;
  stream: 'stdout' | 'stderr';
  at: string | null;
  text: string;
}

/** Who evaluates the alert rules (GET /api/operations/monitors, and the dashboard's `monitoring`). */
export interface Monitoring {
  monitors: { name: string; startedAt: string | null; lastBeat: string | null; intervalSeconds: number; alive: boolean }[];
  alive: number;
  enabledRules: number;
  warning: string | null;
}

/** The statuses "run now" (and so Rerun) accepts. */
export const RUN_NOW_FROM = ['IDLE', 'DONE', 'FAILED', 'KILLED'];

export const TABS = ['Dashboard', 'Settings', 'Triggers', 'Logs', 'Constants & Credentials', 'Queues', 'Schedulers', 'Jobs', 'Alerts', 'Audit'] as const;
export type Tab = (typeof TABS)[number];
