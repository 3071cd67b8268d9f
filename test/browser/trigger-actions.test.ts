/**
 * "Run now" and the actions on each row of the Triggers table (issue 11), in Debian's Chromium
 * driven by playwright-core, against a real SQLite database shared with a real in-process
 * Scheduler (0.3 s tick) that runs the node robots of test/fixtures/robots. Triggers named
 * "...-held" list a machine that does not exist, so no Scheduler takes them and the database
 * shows what "run now" wrote; the others really run.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { REQUEST_HEADER } from '../../src/orchestrator/server.js';
import { bulkCreateQueueElements } from '../../src/db/store/queues.js';
import { listRunRequests } from '../../src/db/store/run-requests.js';
import { createTrigger, getTrigger, getTriggerByName, setTriggerStatus, type NewTrigger } from '../../src/db/store/triggers.js';
import { listJobs, type Job } from '../../src/db/store/jobs.js';
import type { TriggerStatus } from '../../src/db/types.js';
import { ROBOTS, waitFor, waitForEndedJob } from '../helpers/scheduler.js';
import { type LiveStore, refreshUntil, startUiWithScheduler, type UiWithScheduler } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;
const MACHINE = 'UI-ACTIONS-WORKER';
const HELD = { schedulerWhitelist: ['NOBODY-RUNS-THIS'] };

describe('Run now and the row actions of the Triggers tab (SQLite, a real Scheduler)', () => {
  let ui: UiWithScheduler;
  let live: LiveStore;
  let page: Page;

  beforeAll(async () => {
    ui = await startUiWithScheduler(MACHINE);
    ({ live, page } = ui);
  }, 60_000);

  afterAll(() => ui?.close());

  const tab = (name: string) => page.getByRole('tab', { name, exact: true }).click();
  const dialog = () => page.getByRole('dialog');
  /** the trigger's own row (a Failed trigger has a second row under it, with its reason) */
  const triggerRow = (name: string) => page.getByTestId('triggers-table').locator('tr.clickable', { hasText: name });
  const rowButton = (name: string, button: string) => triggerRow(name).getByRole('button', { name: button, exact: true });
  const status = async (name: string) => (await getTriggerByName(live.store, name)).status;
  const jobsOf = async (id: string): Promise<Job[]> => (await listJobs(live.store)).filter((j) => j.triggerId === id);

  async function made(trigger: NewTrigger): Promise<string> {
    const id = await createTrigger(live.store, trigger);
    await tab('Triggers');
    await refreshUntil(page, triggerRow(trigger.triggerName));
    return id;
  }

  async function waitForStatus(name: string, wanted: TriggerStatus): Promise<void> {
    await waitFor(`trigger "${name}" to be ${wanted}`, async () => (await status(name)) === wanted);
  }

  it('a new single trigger waits five minutes; Run now in its row starts it at once, and again once it is Done', async () => {
    await tab('Triggers');
    await page.getByRole('button', { name: 'New single trigger' }).click();
    const time = await dialog().locator('input[name=nextRun]').inputValue();
    expect(time).toMatch(/^\d{2}-\d{2}-\d{4} \d{2}:\d{2}$/);
    expect(await dialog().textContent()).toContain('"Create and run now" starts it at once');
    await dialog().locator('input[name=triggerName]').fill('single-now');
    await dialog().locator('input[name=processName]').fill('single-now');
    await dialog().locator('input[name=processPath]').fill(`${ROBOTS}hello.mjs`);
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await triggerRow('single-now').waitFor();
    const trigger = await getTriggerByName(live.store, 'single-now');
    const wait = ((trigger as { nextRun: Date }).nextRun.getTime() - Date.now()) / 60_000;
    expect(wait).toBeGreaterThan(3.5);
    expect(wait).toBeLessThan(5.5);
    expect(trigger.status).toBe('IDLE');

    const clicked = Date.now();
    await rowButton('single-now', 'Run now').click();
    await page.getByRole('status').filter({ hasText: '"single-now" is due now' }).waitFor();
    const first = await waitForEndedJob(live.store, trigger.id, 20_000);
    expect(first).toMatchObject({ status: 'DONE', schedulerName: MACHINE });
    // at once: the next tick, not in five minutes
    expect(first.startTime.getTime() - clicked).toBeLessThan(15_000);
    await waitForStatus('single-now', 'DONE');
    expect(await dialog().count()).toBe(0);

    // a Done single trigger runs again with Run now
    await refreshUntil(page, triggerRow('single-now').locator('.status', { hasText: 'Done' }));
    await rowButton('single-now', 'Run now').click();
    await waitFor('a second Done job', async () => {
      const jobs = await jobsOf(trigger.id);
      return jobs.length === 2 && jobs.every((j) => j.status === 'DONE');
    });
    await waitForStatus('single-now', 'DONE');
  });

  it('Run now on a scheduled trigger: next run = now, one extra run, then the next cron time', async () => {
    const cron = { type: 'SCHEDULED' as const, cronExpr: '0 3 1 1 *', processPath: `${ROBOTS}hello.mjs` };
    const heldId = await made({ ...cron, ...HELD, triggerName: 'cron-held', processName: 'cron-held' });
    const before = Date.now();
    await rowButton('cron-held', 'Run now').click();
    await page.getByRole('status').filter({ hasText: '"cron-held" is due now' }).waitFor();
    const held = (await getTrigger(live.store, heldId)) as { nextRun: Date; status: string };
    expect(held.status).toBe('IDLE');
    expect(held.nextRun.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(held.nextRun.getTime()).toBeLessThanOrEqual(Date.now());

    const id = await made({ ...cron, triggerName: 'cron-now', processName: 'cron-now' });
    await rowButton('cron-now', 'Run now').click();
    expect(await waitForEndedJob(live.store, id, 20_000)).toMatchObject({ status: 'DONE', schedulerName: MACHINE });
    await waitForStatus('cron-now', 'IDLE');
    const after = (await getTrigger(live.store, id)) as { nextRun: Date };
    expect(after.nextRun.getTime()).toBeGreaterThan(Date.now());
    expect([after.nextRun.getMonth(), after.nextRun.getDate(), after.nextRun.getHours(), after.nextRun.getMinutes()]).toEqual([0, 1, 3, 0]);
    expect(await jobsOf(id)).toHaveLength(1);
  });

  it('Run now on a queue trigger below its batch size: a run request, which the run consumes', async () => {
    await bulkCreateQueueElements(live.store, 'now-q', [{ reference: 'only-one' }]);
    const queue = { type: 'QUEUE' as const, queueName: 'now-q', minBatchSize: 5, processPath: `${ROBOTS}hello.mjs` };
    const heldId = await made({ ...queue, ...HELD, triggerName: 'queue-held', processName: 'queue-held' });
    await rowButton('queue-held', 'Run now').click();
    await page.getByRole('status').filter({ hasText: '"queue-held" runs once at the next Scheduler tick, even below its batch size of 5' }).waitFor();
    expect((await listRunRequests(live.store)).map((r) => r.triggerId)).toEqual([heldId]);
    const rows = await live.store.db.selectFrom('oo_run_requests').selectAll().execute();
    expect(rows).toHaveLength(1);
    await refreshUntil(page, triggerRow('queue-held').locator('.badge', { hasText: 'run requested' }));

    const id = await made({ ...queue, triggerName: 'queue-now', processName: 'queue-now' });
    await rowButton('queue-now', 'Run now').click();
    expect(await waitForEndedJob(live.store, id, 20_000)).toMatchObject({ status: 'DONE', schedulerName: MACHINE });
    await waitForStatus('queue-now', 'IDLE');
    // consumed by the run; the held one still waits for a Scheduler
    expect((await listRunRequests(live.store)).map((r) => r.triggerId)).toEqual([heldId]);
    expect(await jobsOf(id)).toHaveLength(1);
  });

  it('refuses Run now on a Running or Paused trigger with one line saying why (409)', async () => {
    const id = (await getTriggerByName(live.store, 'cron-held')).id;
    const runNow = async () => {
      const response = await fetch(new URL(`/api/triggers/${id}/run-now`, ui.server.url), { method: 'POST', headers: { [REQUEST_HEADER]: '1' } });
      return { status: response.status, body: (await response.json()) as { error: string } };
    };
    await setTriggerStatus(live.store, id, 'RUNNING');
    await refreshUntil(page, triggerRow('cron-held').locator('.status', { hasText: 'Running' }));
    expect(await rowButton('cron-held', 'Run now').isDisabled()).toBe(true);
    expect(await runNow()).toEqual({
      status: 409,
      body: { error: 'cannot run trigger "cron-held" now: it is Running; wait until it ends (only a trigger that is Idle, Done, Failed or Killed can run now)' },
    });
    await setTriggerStatus(live.store, id, 'PAUSED');
    expect(await runNow()).toEqual({ status: 409, body: { error: 'cannot run trigger "cron-held" now: it is Paused; enable it first' } });
    expect(await status('cron-held')).toBe('PAUSED');
    await setTriggerStatus(live.store, id, 'IDLE');
  });

  it('disables, enables and kills a trigger from its row, without opening the dialog', async () => {
    const id = await made({ type: 'SINGLE', ...HELD, triggerName: 'row-target', processName: 'row-target', processPath: 'x.py', nextRun: new Date(2040, 0, 1) });
    await rowButton('row-target', 'Disable').click();
    await triggerRow('row-target').locator('.status', { hasText: 'Paused' }).waitFor();
    expect(await status('row-target')).toBe('PAUSED');
    expect(await rowButton('row-target', 'Run now').isDisabled()).toBe(true);
    await rowButton('row-target', 'Enable').click();
    await triggerRow('row-target').locator('.status', { hasText: 'Idle' }).waitFor();
    expect(await status('row-target')).toBe('IDLE');
    expect(await rowButton('row-target', 'Kill').isDisabled()).toBe(true);
    await setTriggerStatus(live.store, id, 'RUNNING');
    await refreshUntil(page, triggerRow('row-target').locator('.status', { hasText: 'Running' }));
    await rowButton('row-target', 'Kill').click();
    await triggerRow('row-target').locator('.status', { hasText: 'Killing' }).waitFor();
    expect(await status('row-target')).toBe('KILLING');
    expect(await dialog().count()).toBe(0);
    // the row itself still opens the dialog
    await triggerRow('row-target').locator('td').first().click();
    await dialog().waitFor();
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    await setTriggerStatus(live.store, id, 'PAUSED');
  });

  it('shows why a trigger failed under its row and links to its job, and from there to its logs', async () => {
    const id = await made({ type: 'SINGLE', triggerName: 'erp-fails', processName: 'erp-fails', processPath: `${ROBOTS}fails.mjs`, processArgs: '--erp prod', nextRun: new Date(2040, 0, 1) });
    await rowButton('erp-fails', 'Run now').click();
    const job = await waitForEndedJob(live.store, id, 20_000);
    expect(job.status).toBe('FAILED');
    await waitForStatus('erp-fails', 'FAILED');
    const failure = page.getByTestId('trigger-failure').filter({ hasText: 'erp-fails could not reach the ERP (arguments "--erp prod")' });
    await refreshUntil(page, failure);
    expect(await triggerRow('erp-fails').locator('.status').textContent()).toBe('Failed');
    expect(await triggerRow('erp-fails').evaluate((row) => getComputedStyle(row).cursor)).toBe('pointer');

    // The failure line says the robot's own error, not the Scheduler's preamble, and links to its job's page.
    expect(await failure.locator('.failure-message').textContent()).toBe('erp-fails could not reach the ERP (arguments "--erp prod")');
    await failure.getByRole('link', { name: 'Its job ›' }).click();
    await page.waitForURL(`**/jobs/${job.id}`);
    await page.getByTestId('job-error').filter({ hasText: 'erp-fails could not reach the ERP' }).waitFor();
    // From there to all its logs in the Logs tab.
    await page.getByRole('link', { name: 'Open in Logs ›' }).click();
    await page.getByRole('tab', { name: 'Logs', selected: true }).waitFor();
    await page.getByRole('button', { name: `Remove the filter on job ${job.id}` }).waitFor();
    const logs = await live.store.db.selectFrom('Logs').select('log_message').where('job_id', '=', live.store.dialect.encodeUuid(job.id)).execute();
    expect(logs.length).toBeGreaterThan(0);
    await page.getByTestId('pager-text').filter({ hasText: `(${logs.length} rows)` }).waitFor();
    const table = page.getByTestId('logs-table');
    expect(await table.locator('tr.clickable').count()).toBe(logs.length);
    const errorRow = table.locator('tr.clickable', { hasText: 'could not reach the ERP' });
    await errorRow.click();
    expect(await page.getByTestId('log-message').textContent()).toContain('erp-fails could not reach the ERP (arguments "--erp prod")');
  });

  it('writes screenshots of the Triggers tab with its row actions, a run request and a failure, light and dark', async () => {
    mkdirSync(SHOTS, { recursive: true });
    for (const theme of ['light', 'dark']) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.getByRole('button', { name: 'Dark mode' }).click();
      await tab('Triggers');
      await triggerRow('erp-fails').waitFor();
      await rowButton('queue-held', 'Run now').click();
      await page.getByRole('status').waitFor();
      await page.getByTestId('trigger-failure').first().waitFor();
      await page.screenshot({ path: `${SHOTS}/triggers-actions-${theme}.png` });
    }
  });
});
