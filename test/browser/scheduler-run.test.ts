/**
 * A real Scheduler's run, seen in the Orchestrator UI (issue 4): the Orchestrator server and an
 * in-process Scheduler (0.3 s tick) share one real SQLite database; single triggers created
 * through the Triggers form run small node robots (test/fixtures/robots/hello.mjs exits 0,
 * fails.mjs writes to stderr and exits 1), and the Jobs, Schedulers and Triggers tabs show what
 * the Scheduler recorded. Debian's /usr/bin/chromium driven by playwright-core.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { getTriggerByName } from '../../src/db/store/triggers.js';
import { ROBOTS, waitForEndedJob } from '../helpers/scheduler.js';
import { type LiveStore, refreshUntil, startUiWithScheduler, type UiWithScheduler } from './support.js';

const MACHINE = 'UI-RUN-WORKER';

/** A minute ago as the form's date field takes it, DD-MM-YYYY HH:MM (local time, as the database holds it). */
function aMinuteAgo(): string {
  const d = new Date(Date.now() - 60_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getDate())}-${pad(d.getMonth() + 1)}-${d.getFullYear()} ${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

describe("a real Scheduler's run in the Orchestrator UI (SQLite)", () => {
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
  const triggerRow = (name: string) => page.getByTestId('triggers-table').locator('tr', { hasText: name });
  const jobRow = (name: string) => page.getByTestId('jobs-table').locator('tr', { hasText: name });

  async function createSingleTrigger(name: string, robot: string, args: string): Promise<string> {
    await tab('Triggers');
    await page.getByRole('button', { name: 'New single trigger' }).click();
    await dialog().locator('input[name=triggerName]').fill(name);
    await dialog().locator('input[name=processName]').fill(name);
    await dialog().locator('input[name=nextRun]').fill(aMinuteAgo());
    await dialog().locator('input[name=processPath]').fill(`${ROBOTS}${robot}`);
    await dialog().locator('input[name=processArgs]').fill(args);
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await triggerRow(name).waitFor();
    return (await getTriggerByName(live.store, name)).id;
  }

  it('runs a failing robot: a Failed job whose logs hold the Error log with its stderr', async () => {
    const id = await createSingleTrigger('ui-fails', 'fails.mjs', '--erp test');
    const job = await waitForEndedJob(live.store, id, 15_000);
    expect(job).toMatchObject({ status: 'FAILED', schedulerName: MACHINE, processName: 'ui-fails' });
    const row = await live.store.db.selectFrom('Jobs').select(['status', 'end_time']).where('trigger_id', '=', live.store.dialect.encodeUuid(id)).executeTakeFirstOrThrow();
    expect(row.status).toBe('FAILED');
    expect(row.end_time).not.toBeNull();

    await tab('Jobs');
    const failed = jobRow('ui-fails').filter({ hasText: 'Failed' });
    await refreshUntil(page, failed);
    expect(await failed.textContent()).toContain(MACHINE);
    await failed.click();
    const logs = page.getByTestId('job-logs');
    await logs.filter({ hasText: 'ERROR' }).waitFor();
    const text = (await logs.textContent()) ?? '';
    expect(text).toMatch(/ERROR\s+process "ui-fails" \(trigger "ui-fails"\)/);
    expect(text).toContain('ui-fails could not reach the ERP (arguments "--erp test")');
    // What it wrote to stderr is its output too.
    await page.getByTestId('job-output').filter({ hasText: 'ui-fails could not reach the ERP' }).waitFor();
    await page.goBack();

    await tab('Triggers');
    await refreshUntil(page, triggerRow('ui-fails').locator('.status', { hasText: 'Failed' }));
  });

  it('runs a single trigger made in the form: a Done job, the Scheduler online with it as latest trigger, the trigger Done', async () => {
    const id = await createSingleTrigger('ui-hello', 'hello.mjs', 'from the browser');
    const job = await waitForEndedJob(live.store, id, 15_000);
    expect(job).toMatchObject({ status: 'DONE', schedulerName: MACHINE, processName: 'ui-hello' });
    const jobs = await live.store.db.selectFrom('Jobs').select('status').where('trigger_id', '=', live.store.dialect.encodeUuid(id)).execute();
    expect(jobs).toEqual([{ status: 'DONE' }]);
    const trigger = await live.store.db.selectFrom('Triggers').select(['process_status', 'last_run']).where('trigger_name', '=', 'ui-hello').executeTakeFirstOrThrow();
    expect(trigger.process_status).toBe('DONE');
    expect(trigger.last_run).not.toBeNull();

    await tab('Jobs');
    const done = jobRow('ui-hello').filter({ hasText: 'Done' });
    await refreshUntil(page, done);
    expect(await done.textContent()).toContain(MACHINE);
    await done.click();
    await page.getByTestId('job-logs').filter({ hasText: 'No logs for this job.' }).waitFor();
    // What it printed (console.log) is kept and shown.
    await page.getByTestId('job-output').filter({ hasText: 'hello from ui-hello with arguments "from the browser"' }).waitFor();
    await page.goBack();

    await tab('Schedulers');
    const machine = page.getByTestId('schedulers-table').locator('tr', { hasText: MACHINE });
    await refreshUntil(page, machine.filter({ hasText: /Online.*ui-hello/ }));
    const cells = await machine.locator('td').allTextContents();
    expect(cells[1]).toBe('Online');
    expect(cells[3]).toBe('ui-hello');

    await tab('Triggers');
    const row = triggerRow('ui-hello');
    await refreshUntil(page, row.locator('.status', { hasText: 'Done' }));
    expect(await row.textContent()).not.toContain('Never');
  });
});
