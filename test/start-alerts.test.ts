/**
 * Alerts are on by default under the Quick start (issue 22): `start` runs a monitor beside its
 * Scheduler, so a rule made as a user makes it fires with no other command, into a real HTTP
 * receiver; the monitor beats, and the Orchestrator says it is alive. With `--no-monitor` the
 * same rule has nothing to evaluate it, and the Orchestrator says so.
 *
 * Runs the shipped command (test/helpers/quick-start.ts): build dist/ first.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeStore } from '../src/db/open.js';
import { createChannel, createRule } from '../src/db/store/alerts.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { REQUEST_HEADER } from '../src/orchestrator/server.js';
import { startHttpReceiver, waitUntil, type HttpReceiver } from './helpers/receivers.js';
import { quickStart, removeQuickStartFolders, type QuickStart } from './helpers/quick-start.js';
import { ROBOTS } from './helpers/scheduler.js';

type Started = QuickStart;

afterAll(removeQuickStartFolders);

async function stop(started: Started): Promise<void> {
  started.child.kill('SIGTERM');
  expect(await started.exited).toBe(0);
  await closeStore(started.store);
}

const monitoring = async (started: Started) =>
  (await (await fetch(new URL('/api/operations/monitors', started.baseUrl), { headers: { [REQUEST_HEADER]: '1' } })).json()) as { monitors: { name: string; alive: boolean }[]; warning: string | null };

describe('alerts under `openorchestrator start`', () => {
  let http: HttpReceiver;
  beforeAll(async () => {
    http = await startHttpReceiver();
  });
  afterAll(() => http?.close());

  it('with its defaults, a "job failed" rule fires into a webhook with no other command, and the monitor is shown alive', async () => {
    const started = await quickStart();
    try {
      // Printed right after the Scheduler's line quickStart waits for, maybe in the next read of the pipe.
      await waitUntil(() => started.output().includes('a monitor runs here too'), 'the monitor line', 10_000);
      const channel = await createChannel(started.store, { name: 'hook', kind: 'WEBHOOK', settings: { url: `${http.url}/start`, template: 'json', body: null } });
      await createRule(started.store, { name: 'any failure', kind: 'JOB_FAILED', target: null, threshold: null, channelIds: [channel.id] });
      await createTrigger(started.store, { type: 'SINGLE', nextRun: new Date(), triggerName: 'fails', processName: 'fails', processPath: join(ROBOTS, 'fails.mjs'), isBlocking: false });
      await waitUntil(() => http.posts.some((p) => p.path === '/start'), 'the rule to fire into the webhook', 90_000);
      const post = http.posts.find((p) => p.path === '/start')!;
      expect(post.body).toMatchObject({ event: 'OPENED', subject: 'Process "fails" failed', rule: { name: 'any failure', kind: 'JOB_FAILED' } });
      const watch = await monitoring(started);
      expect(watch.warning).toBeNull();
      expect(watch.monitors).toEqual([expect.objectContaining({ alive: true })]);
    } finally {
      await stop(started);
    }
  });

  it('with --no-monitor, an enabled rule is said to have nothing evaluating it; a stopped monitor leaves no row', async () => {
    const started = await quickStart({ flags: ['--no-monitor'] });
    try {
      expect(started.output()).not.toContain('a monitor runs here too');
      await createRule(started.store, { name: 'watched by nobody', kind: 'QUEUE_BACKLOG', target: null, threshold: 10, channelIds: [] });
      const watch = await monitoring(started);
      // The monitor of the first start stopped cleanly: it removed its heartbeat (and that was another folder).
      expect(watch.monitors).toEqual([]);
      expect(watch.warning).toBe(
        '1 enabled alert rule but no monitor running: nothing evaluates it and no alert is sent. Run `openorchestrator monitor` (`openorchestrator start` runs one).',
      );
      const dashboard = (await (await fetch(new URL('/api/dashboard', started.baseUrl), { headers: { [REQUEST_HEADER]: '1' } })).json()) as { monitoring: { warning: string | null } };
      expect(dashboard.monitoring.warning).toBe(watch.warning);
    } finally {
      await stop(started);
    }
  });
});
