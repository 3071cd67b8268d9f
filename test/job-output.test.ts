/**
 * What a robot prints (issue 22): the Scheduler captures its stdout and stderr line by line,
 * scrubbed and bounded, into oo_job_output while it runs; the API gives it to the job page. The
 * capture's rules on their own first, then a real Scheduler and robot on SQLite, PostgreSQL and
 * MariaDB (the same assertions on each), then the one-line error summaries.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getLatestJobOfTrigger } from '../src/db/store/jobs.js';
import { listJobOutput, type OutputLine } from '../src/db/store/job-output.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { errorSummary } from '../src/orchestrator/error-summary.js';
import { REQUEST_HEADER, buildOrchestrator } from '../src/orchestrator/server.js';
import { OutputCapture } from '../src/scheduler/job-output.js';
import type { LiveDialect } from './helpers/databases.js';
import { KEY, ROBOTS, startScheduler, tempDir, waitFor, waitForEndedJob, waitForRunningJob, type RunningScheduler } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

/** A capture writing into an array, as the database would keep it. */
function capture(limits: Record<string, number> = {}, secrets: string[] = []) {
  const written: OutputLine[] = [];
  const output = new OutputCapture(() => secrets, async (lines) => void written.push(...lines), { limits });
  return { output, written, texts: () => written.map((l) => l.text) };
}

describe('the output capture', () => {
  it('numbers whole lines from both streams in the order they came; a last line without a break is kept at the end', async () => {
    const { output, written, texts } = capture();
    output.append('stdout', 'one\r\ntw');
    output.append('stderr', 'err one\n');
    output.append('stdout', 'o\nthree');
    await output.flush();
    expect(texts()).toEqual(['one', 'err one', 'two']);
    await output.finish();
    expect(written.map((l) => [l.seq, l.stream, l.text])).toEqual([
      [1, 'stdout', 'one'],
      [2, 'stderr', 'err one'],
      [3, 'stdout', 'two'],
      [4, 'stdout', 'three'],
    ]);
  });

  it('keeps the first lines and the last ones, and says how many were left out', async () => {
    const { output, texts } = capture({ headLines: 3, tailLines: 2 });
    for (let i = 1; i <= 10; i++) output.append('stdout', `line ${i}\n`);
    await output.flush();
    expect(texts()).toEqual(['line 1', 'line 2', 'line 3', '[... more output: only its last 2 lines are kept, written when the job ends ...]']);
    await output.finish();
    expect(texts().slice(4)).toEqual(['[... 5 lines left out ...]', 'line 9', 'line 10']);
  });

  it('bounds the characters of the head too, and stores a long line in pieces of 1000', async () => {
    const { output, written } = capture({ headChars: 2500 });
    output.append('stdout', `${'a'.repeat(2400)}\n`);
    output.append('stdout', 'b\n');
    output.append('stdout', `${'c'.repeat(200)}\n`);
    await output.finish();
    expect(written.map((l) => l.text.length)).toEqual([1000, 1000, 400, 1, expect.any(Number), 200]);
    expect(written[4]!.text).toMatch(/^\[\.\.\. more output/);
  });

  it('masks secrets however they are spelled, also in a line without end that is written in parts', async () => {
    const secret = 'Pa55-w0rd-of-the-db!';
    const { output, texts } = capture({ longLineChars: 100 }, [secret]);
    output.append('stdout', `connecting with ${secret} and ${encodeURIComponent(secret)}\n`);
    // A line without a break, long enough to be cut; the secret arrives across the cut.
    output.append('stdout', 'x'.repeat(95) + secret.slice(0, 6));
    output.append('stdout', secret.slice(6) + 'y'.repeat(200));
    await output.finish();
    const all = texts().join('\n');
    expect(all).toContain('connecting with *** and ***');
    expect(all).not.toContain('Pa55');
    expect(all).not.toContain('w0rd');
    expect(all.replace(/\n/g, '')).toBe(`connecting with *** and ***${'x'.repeat(95)}***${'y'.repeat(200)}`);
  });

  it('keeps lines whose write failed for the next write, in order', async () => {
    const written: OutputLine[] = [];
    let fail = true;
    const output = new OutputCapture(() => [], async (lines) => {
      if (fail) throw new Error('database down');
      written.push(...lines);
    });
    output.append('stdout', 'a\n');
    await expect(output.flush()).rejects.toThrow('database down');
    output.append('stdout', 'b\n');
    fail = false;
    await output.finish();
    expect(written.map((l) => [l.seq, l.text])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
  });
});

describe.each<LiveDialect>(['sqlite', 'postgres', 'mysql'])('a robot\'s output under a real Scheduler on %s', (dialect) => {
  let live: TestStore;
  let scheduler: RunningScheduler;
  let app: FastifyInstance;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    scheduler = startScheduler({ connectionString: live.url, intervalSeconds: 0.1 });
    ({ app } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY }));
  });
  afterAll(async () => {
    await scheduler?.stop();
    await app?.close();
    await live?.close();
  });

  const get = async (url: string) => JSON.parse((await app.inject({ method: 'GET', url, headers: { host: '127.0.0.1', [REQUEST_HEADER]: '1' } })).body) as Record<string, unknown>;

  it('is stored while the robot runs, scrubbed, and complete once the job has ended', async () => {
    const release = join(tempDir(), 'release');
    const triggerId = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(), triggerName: 'chatty', processName: 'chatty', processPath: `${ROBOTS}chatty.mjs`, processArgs: release, isBlocking: false });
    const job = await waitForRunningJob(live.store, triggerId);
    // Live: the first lines are there while the job still runs.
    const early = await waitFor('the first lines', async () => {
      const lines = await listJobOutput(live.store, job.id);
      return lines.length >= 3 ? lines : undefined;
    });
    expect((await getLatestJobOfTrigger(live.store, triggerId))!.status).toBe('RUNNING');
    // Two pipes: the order between them is the order their chunks arrived in, not fixed.
    const of = (lines: OutputLine[], stream: string) => lines.filter((l) => l.stream === stream).map((l) => l.text);
    expect(of(early, 'stdout')).toEqual(['chatty starts', 'the key is ***']);
    expect(of(early, 'stderr')).toEqual(['a warning on stderr']);
    expect(early.map((l) => l.seq)).toEqual([1, 2, 3]);
    const following = await get(`/api/jobs/${job.id}/output?afterSeq=1`);
    expect(following.running).toBe(true);
    expect((following.lines as { seq: number }[]).map((l) => l.seq)).toEqual([2, 3]);

    writeFileSync(release, '');
    expect((await waitForEndedJob(live.store, triggerId)).status).toBe('DONE');
    const all = await listJobOutput(live.store, job.id);
    expect(of(all, 'stdout')).toEqual(['chatty starts', 'the key is ***', 'no line break yet ... now one', 'chatty ends']);
    expect(of(all, 'stderr')).toEqual(['a warning on stderr']);
    expect(all.map((l) => l.seq)).toEqual([1, 2, 3, 4, 5]);
    expect(JSON.stringify(all)).not.toContain(KEY);
    const ended = await get(`/api/jobs/${job.id}/output`);
    expect(ended.running).toBe(false);
    expect((ended.lines as unknown[]).length).toBe(5);
  });

  it('keeps the output of a robot that fails, and the job page says why in one line', async () => {
    const release = join(tempDir(), 'release');
    writeFileSync(release, 'fail');
    const triggerId = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(), triggerName: 'chatty-fails', processName: 'chatty-fails', processPath: `${ROBOTS}chatty.mjs`, processArgs: release, isBlocking: false });
    const job = await waitForEndedJob(live.store, triggerId);
    expect(job.status).toBe('FAILED');
    const lines = await listJobOutput(live.store, job.id);
    expect(lines.filter((l) => l.stream === 'stdout').map((l) => l.text)).toEqual(['chatty starts', 'the key is ***', 'no line break yet ... now one']);
    const stderr = lines.filter((l) => l.stream === 'stderr').map((l) => l.text);
    expect(stderr[0]).toBe('a warning on stderr');
    expect(stderr).toContain('Error: chatty gave up');
    const detail = await get(`/api/jobs/${job.id}`);
    expect((detail.error as { summary: string }).summary).toBe('Error: chatty gave up');
    expect(detail.trigger).toMatchObject({ id: triggerId, triggerName: 'chatty-fails', status: 'FAILED', processArgs: release, latestJobId: job.id });
  });
});

describe('the one line that says why a run failed', () => {
  const preamble = 'process "p" (trigger "t") exited with code 1; its error output:';
  it('is the exception a Python robot ended with', () => {
    expect(errorSummary(`${preamble}\nTraceback (most recent call last):\n  File "/r/main.py", line 3, in <module>\n    connect()\nConnectionRefusedError: [Errno 111] Connection refused`)).toBe(
      'ConnectionRefusedError: [Errno 111] Connection refused',
    );
    expect(errorSummary(`${preamble}\nTraceback (most recent call last):\n  File "x.py", line 1\nKeyError: 'a'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File "x.py", line 3\nsqlalchemy.exc.OperationalError: (psycopg2.OperationalError) no server`)).toBe(
      'sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) no server',
    );
  });
  it('is the error a node robot threw, not the source line node prints first', () => {
    expect(errorSummary(`${preamble}\nfile:///r/main.mjs:3\nthrow new Error('ERP down');\n^\n\nError: ERP down\n    at file:///r/main.mjs:3:7\n    at ModuleJob.run (node:internal/modules/esm/module_job:234:25)\n\nNode.js v20.20.2`)).toBe('Error: ERP down');
    expect(errorSummary(`${preamble}\n/r/main.js:1\nfoo();\n^\n\nReferenceError: foo is not defined\n    at Object.<anonymous> (/r/main.js:1:1)`)).toBe('ReferenceError: foo is not defined');
  });
  it('is the first line that says something otherwise, or the message itself', () => {
    expect(errorSummary(`${preamble}\n/usr/bin/env: 'python3': No such file or directory`)).toBe("/usr/bin/env: 'python3': No such file or directory");
    expect(errorSummary('could not start process "p": python3 was not found')).toBe('could not start process "p": python3 was not found');
    expect(errorSummary('the invoice total did not match\nsecond line')).toBe('the invoice total did not match');
  });
});
