/**
 * A robot's standard output and error, captured while it runs: cut into lines, scrubbed of
 * secrets (the one scrub, config/secrets.ts), bounded per job, and written to oo_job_output
 * every half second so the job page can follow it live.
 *
 * Bound: the first `headLines` lines (and at most `headChars` characters) are written as they
 * come; after that only the last `tailLines` lines are kept, and written when the job ends, after
 * a line saying how many were left out. A robot that prints without end costs the database at
 * most head + tail rows.
 *
 * @example
 *   const output = new OutputCapture(() => secrets, (lines) => appendJobOutput(store, jobId, lines));
 *   child.stdout.on('data', (chunk) => output.append('stdout', chunk));
 *   ...; await output.finish(); // once the process has ended
 */
import { scrubSecrets } from '../config/secrets.js';
import { OUTPUT_LINE_CHARS, type OutputLine, type OutputStream } from '../db/store/job-output.js';
import { NOT_A_COLUMN, splitToFit, type TextColumns } from '../db/store/validate.js';
import { now } from '../time/clock.js';

export interface OutputLimits {
  headLines: number;
  headChars: number;
  tailLines: number;
  /** a line longer than this without a line break is written in pieces */
  longLineChars: number;
  flushMs: number;
}

export const DEFAULT_OUTPUT_LIMITS: OutputLimits = { headLines: 1000, headChars: 200_000, tailLines: 200, longLineChars: 8000, flushMs: 500 };

export class OutputCapture {
  readonly #secrets: () => readonly string[];
  readonly #write: (lines: OutputLine[]) => Promise<void>;
  readonly #limits: OutputLimits;
  readonly #columns: TextColumns;
  readonly #partial: Record<OutputStream, string> = { stdout: '', stderr: '' };
  /** lines numbered and waiting to be written */
  #pending: OutputLine[] = [];
  #seq = 0;
  #headChars = 0;
  #headFull = false;
  #tail: { stream: OutputStream; text: string; at: Date }[] = [];
  #leftOut = 0;
  #finished = false;
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;
  #onWriteError: ((error: unknown) => void) | undefined;

  /**
   * `onWriteError`: a timed write failed (its lines are kept for the next one). `columns`: the
   * store's dialect, how its oo_job_output.line_text counts length (default: characters).
   */
  constructor(
    secrets: () => readonly string[],
    write: (lines: OutputLine[]) => Promise<void>,
    options: { limits?: Partial<OutputLimits>; onWriteError?: (error: unknown) => void; columns?: TextColumns } = {},
  ) {
    this.#secrets = secrets;
    this.#columns = options.columns ?? NOT_A_COLUMN;
    this.#write = write;
    this.#limits = { ...DEFAULT_OUTPUT_LIMITS, ...options.limits };
    this.#onWriteError = options.onWriteError;
  }

  /** Writes what has come every flushMs until finish(). */
  start(): void {
    this.#timer ??= setInterval(() => void this.flush().catch((error: unknown) => this.#onWriteError?.(error)), this.#limits.flushMs);
    this.#timer.unref();
  }

  /** Takes a chunk the process wrote; complete lines are numbered now and written at the next flush. */
  append(stream: OutputStream, chunk: string): void {
    if (this.#finished) return;
    let buffer = this.#partial[stream] + chunk;
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      this.#line(stream, buffer.slice(0, newline).replace(/\r$/, ''));
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
    }
    if (buffer.length > this.#limits.longLineChars) {
      // A line without end: scrubbed as a whole first, then written up to a point no secret can
      // straddle (the rest waits for more text: a secret cut here would not be recognised).
      const scrubbed = this.#scrub(buffer);
      const holdBack = Math.min(scrubbed.length, 3 * Math.max(0, ...this.#secrets().map((s) => s.length)) + 3);
      this.#line(stream, scrubbed.slice(0, scrubbed.length - holdBack), true);
      buffer = scrubbed.slice(scrubbed.length - holdBack);
    }
    this.#partial[stream] = buffer;
  }

  /** Writes the numbered lines not written yet (one write at a time, in order). A failed write keeps them for the next. */
  flush(): Promise<void> {
    const run = this.#writing.then(async () => {
      if (this.#pending.length === 0) return;
      const lines = this.#pending;
      this.#pending = [];
      try {
        await this.#write(lines);
      } catch (error) {
        this.#pending = [...lines, ...this.#pending];
        throw error;
      }
    });
    this.#writing = run.catch(() => undefined);
    return run;
  }

  /**
   * After the process ended: its last unfinished lines, the note on what was left out and the
   * kept tail, then writes everything. May be called again after a failure (it only writes then).
   */
  async finish(): Promise<void> {
    if (!this.#finished) {
      this.#finished = true;
      clearInterval(this.#timer);
      for (const stream of ['stdout', 'stderr'] as const) {
        if (this.#partial[stream] !== '') this.#line(stream, this.#partial[stream]);
        this.#partial[stream] = '';
      }
      if (this.#headFull) {
        if (this.#leftOut > 0) this.#number('stdout', `[... ${this.#leftOut} line${this.#leftOut === 1 ? '' : 's'} left out ...]`, now());
        for (const line of this.#tail) this.#number(line.stream, line.text, line.at);
        this.#tail = [];
      }
    }
    await this.flush();
  }

  /** Lines written or waiting, the notes included (for tests and the job page's count). */
  get lineCount(): number {
    return this.#seq;
  }

  #scrub(text: string): string {
    return scrubSecrets(text, this.#secrets());
  }

  /** One line the robot printed; `scrubbed` when the caller has scrubbed it already. */
  #line(stream: OutputStream, raw: string, scrubbed = false): void {
    const text = scrubbed ? raw : this.#scrub(raw);
    const at = now();
    if (!this.#headFull && this.#seq < this.#limits.headLines && this.#headChars + text.length <= this.#limits.headChars) {
      this.#headChars += text.length;
      this.#number(stream, text, at);
      return;
    }
    if (!this.#headFull) {
      this.#headFull = true;
      this.#number('stdout', `[... more output: only its last ${this.#limits.tailLines} lines are kept, written when the job ends ...]`, at);
    }
    this.#tail.push({ stream, text, at });
    if (this.#tail.length > this.#limits.tailLines) {
      this.#tail.shift();
      this.#leftOut++;
    }
  }

  /** Numbers a line for writing, in pieces that each fit OUTPUT_LINE_CHARS as the database counts. */
  #number(stream: OutputStream, text: string, at: Date): void {
    for (const piece of splitToFit(this.#columns, text, OUTPUT_LINE_CHARS)) this.#pending.push({ seq: ++this.#seq, stream, at, text: piece });
  }
}
