/**
 * `openorchestrator monitor` and `scheduler --monitor` as real processes on a SQLite file: they
 * deliver a notification to a real HTTP receiver and stop on SIGTERM; bad input is one line.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChannel, createRule, deleteRule, listRules } from '../src/db/store/alerts.js';
import { createQueueElement } from '../src/db/store/queues.js';
import { runCli, spawnCli } from './helpers/cli.js';
import { createTestDatabase } from './helpers/databases.js';
import { startHttpReceiver, waitUntil, type HttpReceiver } from './helpers/receivers.js';
import { KEY, tempDir } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

describe('openorchestrator monitor', () => {
  let live: TestStore;
  let http: HttpReceiver;

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    http = await startHttpReceiver();
  });
  afterAll(async () => {
    await http?.close();
    await live?.close();
  });

  const watchQueue = async (queue: string, path: string) => {
    for (const rule of await listRules(live.store)) await deleteRule(live.store, rule.id);
    const channel = await createChannel(live.store, { name: path, kind: 'WEBHOOK', settings: { url: `${http.url}${path}`, template: 'json', body: null } });
    await createRule(live.store, { name: `backlog ${queue}`, kind: 'QUEUE_BACKLOG', target: queue, threshold: 0, channelIds: [channel.id] });
    await createQueueElement(live.store, queue);
  };

  it('runs as a process, sends the notification, and stops on SIGTERM', async () => {
    await watchQueue('cli-q', '/cli');
    const cli = spawnCli(['monitor', '--connection-string', live.url, '--interval', '0.2', '--name', 'cli-monitor', '--json']);
    try {
      await waitUntil(() => http.posts.some((p) => p.path === '/cli'), 'the monitor process to post');
    } finally {
      cli.stop();
    }
    expect(await cli.exited).toBe(0);
    const events = cli.stdout().trim().split('\n').map((line) => (JSON.parse(line) as { event: string }).event);
    expect(events[0]).toBe('monitor-started');
    expect(events).toContain('alerts');
    expect(events.at(-1)).toBe('monitor-stopped');
    expect(http.posts.filter((p) => p.path === '/cli')).toHaveLength(1);
    expect(cli.stderr()).toBe('');
  });

  it('runs inside a Scheduler with --monitor', async () => {
    await watchQueue('sched-q', '/sched');
    const cli = spawnCli(['scheduler', '--connection-string', live.url, '--key', KEY, '--interval', '0.2', '--machine-name', 'mon-pc', '--work-dir', tempDir(), '--monitor', '0.2']);
    try {
      await waitUntil(() => http.posts.some((p) => p.path === '/sched'), 'the Scheduler\'s monitor to post');
    } finally {
      cli.stop();
    }
    expect(await cli.exited).toBe(0);
    expect(http.posts.filter((p) => p.path === '/sched')).toHaveLength(1);
  });

  it('says in one line what is missing: no database, or one without the tables', async () => {
    const none = await runCli(['monitor'], { env: { OpenOrchestratorConnString: '' } });
    expect(none.status).toBe(1);
    expect(none.stderr).toBe('error: no database given: set OpenOrchestratorConnString, or give --connection-string-file <path> or the connection string (e.g. sqlite+pysqlite:///orchestrator.db)\n');
    const noKeyFile = await runCli(['monitor', '--connection-string', 'sqlite:///x.db', '--key-file', '/nonexistent/oo-key']);
    expect(noKeyFile.status).toBe(1);
    expect(noKeyFile.stderr).toBe('error: cannot read the key file /nonexistent/oo-key (ENOENT); give the path of a file holding the key\n');
    const empty = await createTestDatabase('sqlite');
    try {
      const result = await runCli(['monitor', '--connection-string', empty.url]);
      expect(result.status).toBe(1);
      expect(result.stderr).toMatch(/^error: the database has no OpenOrchestrator tables yet: run `openorchestrator upgrade` on it once to create them\n$/);
    } finally {
      await empty.drop();
    }
  });
});
