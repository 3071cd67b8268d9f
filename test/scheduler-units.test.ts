/** The Scheduler's pure parts: whitelist/blocking rules, order, bounded stderr, entry search, redaction. */
import { mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Trigger } from '../src/db/store/triggers.js';
import { BoundedText } from '../src/scheduler/bounded-text.js';
import { createConsoleLog, scrub } from '../src/scheduler/console-log.js';
import { commandFor, findEntry, localEntry } from '../src/scheduler/entry.js';
import { redactGitUrl } from '../src/scheduler/git.js';
import { beatDue, heartbeatEveryMs } from '../src/scheduler/loop.js';
import { candidatesHere, mayRunHere, mayStartNow } from '../src/scheduler/poll.js';
import { tempDir } from './helpers/scheduler.js';

const trigger = (name: string, extra: Partial<Trigger>): Trigger =>
  ({ id: name, triggerName: name, type: 'SINGLE', priority: 0, nextRun: new Date(0), schedulerWhitelist: [], isBlocking: false, ...extra }) as Trigger;

describe('poll rules', () => {
  it('whitelists and exclusive mode', () => {
    const here = { machineName: 'PC1', exclusive: false };
    expect(mayRunHere({ schedulerWhitelist: [] }, here)).toBe(true);
    expect(mayRunHere({ schedulerWhitelist: ['PC2'] }, here)).toBe(false);
    expect(mayRunHere({ schedulerWhitelist: ['PC2', 'PC1'] }, here)).toBe(true);
    expect(mayRunHere({ schedulerWhitelist: [] }, { ...here, exclusive: true })).toBe(false);
    expect(mayRunHere({ schedulerWhitelist: ['PC1'] }, { ...here, exclusive: true })).toBe(true);
  });

  it('blocking', () => {
    expect(mayStartNow({ isBlocking: true }, { count: 0, blocking: false })).toBe(true);
    expect(mayStartNow({ isBlocking: true }, { count: 1, blocking: false })).toBe(false);
    expect(mayStartNow({ isBlocking: false }, { count: 3, blocking: false })).toBe(true);
    expect(mayStartNow({ isBlocking: false }, { count: 1, blocking: true })).toBe(false);
  });

  it('orders by priority, then type, then earliest due', () => {
    const due = [
      trigger('queue', { type: 'QUEUE' }),
      trigger('late', { nextRun: new Date(2000) }),
      trigger('scheduled', { type: 'SCHEDULED', nextRun: new Date(0) }),
      trigger('early', { nextRun: new Date(1000) }),
      trigger('urgent-queue', { type: 'QUEUE', priority: 9 }),
      trigger('elsewhere', { priority: 99, schedulerWhitelist: ['PC9'] }),
    ];
    expect(candidatesHere(due, { machineName: 'PC1', exclusive: false }).map((t) => t.triggerName)).toEqual(['urgent-queue', 'early', 'late', 'scheduled', 'queue']);
  });
});

describe('BoundedText', () => {
  it('keeps everything within the bound, else the beginning and the end', () => {
    const small = new BoundedText(5, 5);
    small.append('abc');
    small.append('def');
    expect(small.toString()).toBe('abcdef');
    const big = new BoundedText(4, 4);
    for (const chunk of ['BEGIN', '-'.repeat(1000), 'END!']) big.append(chunk);
    expect(big.toString()).toBe('BEGI\n[... 1001 characters left out ...]\nEND!');
  });
});

describe('entries', () => {
  it('finds the first main.py breadth-first, else main.ts or main.js, skipping .git and node_modules', async () => {
    const root = tempDir();
    for (const path of ['a/b/main.py', 'node_modules/x/main.py', 'main.js', 'z/main.py', '.git/main.py']) {
      mkdirSync(join(root, path, '..'), { recursive: true });
      writeFileSync(join(root, path), '');
    }
    expect(await findEntry(root)).toBe(join(root, 'z', 'main.py'));
    const js = tempDir();
    writeFileSync(join(js, 'main.js'), '');
    mkdirSync(join(js, 'src'));
    writeFileSync(join(js, 'src', 'main.ts'), '');
    expect(await findEntry(js)).toBe(join(js, 'src', 'main.ts'));
    expect(await findEntry(tempDir())).toBeUndefined();
    await expect(localEntry(join(js, 'nope.py'))).rejects.toThrow(/process path not found/);
  });

  it('runs each kind with its interpreter', () => {
    expect(commandFor('/r/main.py', { python: 'py3' })).toMatchObject({ command: 'py3', args: ['/r/main.py'] });
    const workDir = tempDir();
    const js = commandFor('/r/main.js', { python: 'py3', workDir });
    expect(js).toMatchObject({ command: process.execPath, args: ['--import', expect.stringMatching(/^file:.*\/loader\/register\.mjs$/), '/r/main.js'] });
    // require('openorchestrator') finds this package through NODE_PATH.
    expect(realpathSync(join(js.env!.NODE_PATH!.split(delimiter)[0]!, 'openorchestrator'))).toBe(realpathSync(join(import.meta.dirname, '..')));
    const ts = commandFor('/r/main.ts', { python: 'py3', workDir });
    expect(ts.command).toBe(process.execPath);
    expect(ts.args[0]).toBe('--import');
    expect(ts.args[1]).toMatch(/^file:.*tsx.*loader\.mjs$/);
    expect(ts.args.slice(2)).toEqual(['--import', js.args[1], '/r/main.ts']);
    expect(commandFor('/r/robot.sh', { python: 'py3' })).toMatchObject({ command: '/r/robot.sh', args: [] });
  });
});

describe('no secrets in output', () => {
  it('redacts git URL passwords and scrubs secrets from console lines', () => {
    expect(redactGitUrl('https://bot:ghp_token@github.com/org/robot.git')).toBe('https://bot:***@github.com/org/robot.git');
    expect(redactGitUrl('https://github.com/org/robot.git')).toBe('https://github.com/org/robot.git');
    expect(scrub('key=abc123 pw=s3cret', ['abc123', 's3cret'])).toBe('key=*** pw=***');
    const lines: string[] = [];
    const log = createConsoleLog({ json: true, secrets: ['s3cret'], write: (line) => lines.push(line) });
    log.error('x', 'failed with s3cret', { detail: 'also s3cret' });
    expect(lines[0]).not.toContain('s3cret');
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'error', event: 'x', message: 'failed with ***', detail: 'also ***' });
  });
});

describe('heartbeat cadence', () => {
  /** The beats of a Scheduler ticking every `interval` s for `minutes`, from a start at `phase` ms past a minute. */
  const beats = (interval: number, minutes: number, phase: number): number[] => {
    const start = Date.parse('2026-12-08T10:00:00Z') + phase;
    const out: number[] = [];
    let last = 0;
    for (let t = start; t < start + minutes * 60_000; t += interval * 1000) {
      if (beatDue(last, t, interval)) out.push((last = t));
    }
    return out;
  };

  it('beats on the first tick after each :00, :20 and :40 at the default 6 s poll, whatever the phase of the ticks', () => {
    for (const phase of [0, 1, 2_500, 5_999, 17_300, 41_000]) {
      const times = beats(6, 10, phase);
      // Three a minute (the first tick beats too).
      expect(times.length).toBeGreaterThanOrEqual(30);
      expect(times.length).toBeLessThanOrEqual(31);
      for (const time of times.slice(1)) expect(time % 20_000).toBeLessThan(6_000);
      // At most 20 s and a tick apart: ours calls a Scheduler offline after 60 s.
      const gaps = times.slice(1).map((time, i) => time - times[i]!);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(26_000);
      // The Python Orchestrator drops the seconds: each minute has its beat within its first tick.
      for (let minute = Math.ceil(times[0]! / 60_000) * 60_000; minute + 60_000 < times.at(-1)!; minute += 60_000) {
        expect(times.find((time) => time >= minute)! - minute).toBeLessThan(6_000);
      }
    }
  });

  it('beats on every poll when polls are 20 s or slower, and every 10 polls when they are fast', () => {
    expect(beats(30, 10, 7_000)).toHaveLength(20);
    expect(beats(20, 10, 0)).toHaveLength(30);
    expect(heartbeatEveryMs(6)).toBe(20_000);
    expect(heartbeatEveryMs(1)).toBe(10_000);
    expect(heartbeatEveryMs(0.2)).toBe(2_000);
    expect(beats(0.2, 1, 0).length).toBeGreaterThanOrEqual(30);
    expect(beats(0.2, 1, 0).length).toBeLessThanOrEqual(31);
  });
});
