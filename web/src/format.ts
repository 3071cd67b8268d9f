/** Display conventions of the Python Orchestrator: DD-MM-YYYY HH:MM:SS, N/A for a missing date. */

/** `2024-05-01T13:45:00` -> `01-05-2024 13:45:00` */
export function showDate(value: string | null | undefined, missing = 'N/A'): string {
  if (!value) return missing;
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!m) return value;
  return `${m[3]}-${m[2]}-${m[1]} ${m[4]}:${m[5]}:${m[6] ?? '00'}`;
}

/** A local time in the API's form: `YYYY-MM-DDTHH:MM`. */
export function localInputValue(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** The API's `2024-05-01T13:45` as a date field shows it: `01-05-2024 13:45` ('' stays ''). */
export function inputDate(value: string): string {
  const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})/.exec(value);
  return m ? `${m[3]}-${m[2]}-${m[1]} ${m[4]}:${m[5]}` : value;
}

/**
 * What is typed in a date field, `DD-MM-YYYY HH:MM` (or just `DD-MM-YYYY`: midnight), in the
 * API's form `YYYY-MM-DDTHH:MM`; '' for an empty field, null for anything else or a day that
 * does not exist (31-02-2026).
 */
export function parseInputDate(text: string): string | null {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  const m = /^(\d{1,2})-(\d{1,2})-(\d{4})(?:\s+(\d{1,2}):(\d{2}))?$/.exec(trimmed);
  if (!m) return null;
  const [day, month, year, hour, minute] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0), Number(m[5] ?? 0)];
  const date = new Date(year, month - 1, day, hour, minute);
  if (date.getFullYear() !== year || date.getMonth() !== month - 1 || date.getDate() !== day || hour > 23 || minute > 59) return null;
  return localInputValue(date);
}

export function showDuration(seconds: number | null): string {
  if (seconds === null) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(seconds / 3600)} h ${Math.round((seconds % 3600) / 60)} min`;
}

export const STATUS_LABEL: Record<string, string> = {
  IDLE: 'Idle',
  RUNNING: 'Running',
  FAILED: 'Failed',
  DONE: 'Done',
  PAUSED: 'Paused',
  PAUSING: 'Pausing',
  KILLING: 'Killing',
  KILLED: 'Killed',
  NEW: 'New',
  IN_PROGRESS: 'In Progress',
  ABANDONED: 'Abandoned',
  TRACE: 'Trace',
  INFO: 'Info',
  ERROR: 'Error',
  SINGLE: 'Single',
  SCHEDULED: 'Scheduled',
  QUEUE: 'Queue',
};

export const label = (value: string): string => STATUS_LABEL[value] ?? value;
