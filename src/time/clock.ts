/**
 * The one clock of the system. Timestamps are naive local wall-clock times, as the Python
 * OpenOrchestrator writes them with `datetime.now()`, so both implementations agree on "now"
 * on the same machine. Tests replace the clock with `setClock`.
 *
 * @example
 *   const started = now();
 */
let clock: () => Date = () => new Date();

/** The current local time. */
export function now(): Date {
  return clock();
}

/** Replaces the clock (tests only); returns a function that restores the previous one. */
export function setClock(next: () => Date): () => void {
  const previous = clock;
  clock = next;
  return () => {
    clock = previous;
  };
}

const pad = (value: number, width = 2): string => String(value).padStart(width, '0');

/**
 * Formats a date as the naive local text Python's SQLite dialect stores:
 * `YYYY-MM-DD HH:MM:SS.ffffff` (always six fraction digits, space separator).
 *
 * @example formatNaive(new Date(2024, 0, 2, 3, 4, 5, 6)) // '2024-01-02 03:04:05.006000'
 */
export function formatNaive(date: Date): string {
  return (
    `${pad(date.getFullYear(), 4)}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}.${pad(date.getMilliseconds(), 3)}000`
  );
}

const NAIVE = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?$/;

/**
 * Parses naive local text (`YYYY-MM-DD HH:MM[:SS[.ffffff]]`, space or `T`) into a local Date.
 * Returns undefined for anything else.
 */
export function parseNaive(text: string): Date | undefined {
  const m = NAIVE.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s, f] = m;
  const ms = f ? Number(f.padEnd(3, '0').slice(0, 3)) : 0;
  const date = new Date(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s ?? 0), ms);
  return Number.isNaN(date.getTime()) ? undefined : date;
}
