/**
 * The Orchestrator UI in a real Chromium (Debian's /usr/bin/chromium, driven by playwright-core)
 * against a real SQLite database: every trigger form, status actions, constants and credentials,
 * log filters, queue paging/search/retry, the Scheduler and Jobs tabs; then screenshots of each
 * tab in light and dark mode into docs/screenshots/.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { generateKey, decryptString } from '../../src/crypto/fernet.js';
import { startOrchestrator, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { getCredential } from '../../src/db/store/credentials.js';
import { createLog } from '../../src/db/store/logs.js';
import { endJob, startJob } from '../../src/db/store/jobs.js';
import { heartbeat, recordLatestTrigger } from '../../src/db/store/schedulers.js';
import { createTrigger, setTriggerStatus } from '../../src/db/store/triggers.js';
import { setClock } from '../../src/time/clock.js';
import { bulkCreateQueueElements, searchQueueElements, setQueueElementStatus } from '../../src/db/store/queues.js';
import { countRows, launchChromium, type LiveStore, openLiveStore } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;
const KEY = generateKey();
const PASSWORD = 'Br0wser-Secret-pw';

describe('Orchestrator UI in Chromium (SQLite)', () => {
  let live: LiveStore;
  let server: RunningOrchestrator;
  let browser: Browser;
  let page: Page;
  const bodies: string[] = [];

  beforeAll(async () => {
    live = await openLiveStore('sqlite');
    const s = live.store;
    for (let i = 0; i < 40; i++) await createLog(s, { level: i % 4 === 0 ? 'ERROR' : 'INFO', processName: i % 2 ? 'invoice-robot' : 'mail-robot', message: `step ${i} ${'detail '.repeat(i % 5 ? 2 : 40)}` });
    await bulkCreateQueueElements(s, 'invoices', Array.from({ length: 60 }, (_, i) => ({ reference: `INV-${String(i).padStart(3, '0')}`, data: `{"amount": ${i * 10}}` })));
    const first = await searchQueueElements(s, 'invoices', { sort: 'reference', order: 'asc', limit: 12 });
    for (const [i, el] of first.entries()) await setQueueElementStatus(s, el.id, i < 3 ? 'FAILED' : 'DONE', i < 3 ? 'timeout at the ERP' : null);
    await heartbeat(s, 'WORKER-01');
    await recordLatestTrigger(s, 'WORKER-01', 'nightly invoices');
    const job = await startJob(s, { processName: 'invoice-robot', schedulerName: 'WORKER-01' });
    await createLog(s, { level: 'INFO', processName: 'invoice-robot', message: 'job started', jobId: job });
    await endJob(s, job, 'DONE', new Date(Date.now() + 42_000));
    await startJob(s, { processName: 'mail-robot', schedulerName: 'WORKER-01' });
    // The durations chart: a long name, a 0.0 s run, a few minutes' run.
    for (const [processName, seconds] of [['monthly-accounts-reconciliation-for-the-finance-department', 312], ['quick-check', 0], ['quick-check', 0], ['report-robot', 9.5]] as const) {
      const other = await startJob(s, { processName, schedulerName: 'WORKER-02' });
      await endJob(s, other, 'DONE', new Date(Date.now() + seconds * 1000));
    }
    // A trigger that failed, with the Error log of its job (as a Scheduler leaves it).
    const failing = await createTrigger(s, { type: 'SINGLE', triggerName: 'erp sync', processName: 'erp-robot', processPath: 'erp.py', nextRun: new Date(2030, 0, 1) });
    const restore = setClock(() => new Date(Date.now() - 3_600_000));
    try {
      const failedJob = await startJob(s, { processName: 'erp-robot', schedulerName: 'WORKER-01', triggerId: failing });
      await createLog(s, { level: 'INFO', processName: 'erp-robot', message: 'connecting to the ERP', jobId: failedJob });
      await createLog(s, { level: 'ERROR', processName: 'erp-robot', message: 'process "erp-robot" (trigger "erp sync") ended with exit code 1: ConnectionRefusedError: the ERP at erp.example:443 refused the connection after 3 attempts', jobId: failedJob });
      await endJob(s, failedJob, 'FAILED');
    } finally {
      restore();
    }
    await setTriggerStatus(s, failing, 'FAILED');
    server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('response', (response) => {
      if (response.url().includes('/api/')) void response.text().then((t) => bodies.push(t)).catch(() => undefined);
    });
    await page.goto(server.url);
    // The Dashboard opens first after connecting; these tests start on Triggers.
    await page.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
    await page.getByRole('tab', { name: 'Triggers', exact: true }).click();
    await page.getByRole('tab', { name: 'Triggers', selected: true }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await live?.close();
  });

  const tab = (name: string) => page.getByRole('tab', { name, exact: true }).click();
  const dialog = () => page.getByRole('dialog');
  const triggerRow = (name: string) => page.getByTestId('triggers-table').locator('tr', { hasText: name });
  const status = async (name: string) => (await live.store.db.selectFrom('Triggers').select('process_status').where('trigger_name', '=', name).executeTakeFirstOrThrow()).process_status;

  it('creates a single, a scheduled and a queue trigger through the forms', async () => {
    await tab('Triggers');
    await page.getByRole('button', { name: 'New single trigger' }).click();
    await dialog().locator('input[name=triggerName]').fill('one-off report');
    await dialog().locator('input[name=processName]').fill('report-robot');
    await dialog().locator('input[name=nextRun]').fill('04-03-2031 05:06');
    await dialog().locator('input[name=processPath]').fill('C:\\robots\\report.py');
    await dialog().locator('input[name=processArgs]').fill('--fast');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await triggerRow('one-off report').waitFor();
    expect(await triggerRow('one-off report').textContent()).toContain('04-03-2031 05:06:00');

    await page.getByRole('button', { name: 'New scheduled trigger' }).click();
    await dialog().locator('input[name=triggerName]').fill('nightly invoices');
    await dialog().locator('input[name=processName]').fill('invoice-robot');
    await dialog().locator('input[name=cronExpr]').fill('0 25 * * *');
    await dialog().locator('.field-error').first().waitFor();
    expect(await dialog().locator('.field-error').first().textContent()).toMatch(/cron expression/);
    await dialog().locator('input[name=cronExpr]').fill('30 2 * * 1-5');
    await page.getByTestId('cron-preview').waitFor();
    expect(await page.getByTestId('cron-preview').textContent()).toMatch(/02:30.*Next runs:/);
    await dialog().locator('input[name=processPath]').fill('https://github.com/example/invoices.git');
    await dialog().locator('input[name=isGitRepo]').check();
    await dialog().locator('input[name=gitBranch]').fill('release');
    await dialog().locator('input[name=priority]').fill('7');
    await dialog().locator('input[name=schedulerWhitelist]').fill('WORKER-01, WORKER-02');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await triggerRow('nightly invoices').waitFor();

    await page.getByRole('button', { name: 'New queue trigger' }).click();
    await dialog().locator('input[name=triggerName]').fill('invoice queue');
    await dialog().locator('input[name=processName]').fill('invoice-robot');
    await dialog().locator('input[name=queueName]').fill('invoices');
    await dialog().locator('input[name=minBatchSize]').fill('5');
    await dialog().locator('input[name=processPath]').fill('robot.py');
    await dialog().locator('input[name=isBlocking]').uncheck();
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await triggerRow('invoice queue').waitFor();

    // a name clash is shown inline, and nothing is written
    await page.getByRole('button', { name: 'New queue trigger' }).click();
    await dialog().locator('input[name=triggerName]').fill('invoice queue');
    await dialog().locator('input[name=processName]').fill('x');
    await dialog().locator('input[name=queueName]').fill('x');
    await dialog().locator('input[name=processPath]').fill('x.py');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().locator('.field-error', { hasText: 'already exists' }).waitFor();
    await dialog().getByRole('button', { name: 'Cancel' }).click();

    const rows = await live.store.db
      .selectFrom('Triggers as t')
      .leftJoin('Scheduled_Triggers as c', 'c.id', 't.id')
      .leftJoin('Queue_Triggers as q', 'q.id', 't.id')
      .select(['t.trigger_name', 't.type', 't.process_args', 't.is_git_repo', 't.git_branch', 't.priority', 't.scheduler_whitelist', 't.is_blocking', 'c.cron_expr', 'q.queue_name', 'q.min_batch_size'])
      .orderBy('t.trigger_name')
      .execute();
    expect(rows).toMatchObject([
      { trigger_name: 'erp sync', type: 'SINGLE' },
      { trigger_name: 'invoice queue', type: 'QUEUE', queue_name: 'invoices', min_batch_size: 5, is_blocking: 0 },
      { trigger_name: 'nightly invoices', type: 'SCHEDULED', cron_expr: '30 2 * * 1-5', is_git_repo: 1, git_branch: 'release', priority: 7, scheduler_whitelist: '["WORKER-01", "WORKER-02"]' },
      { trigger_name: 'one-off report', type: 'SINGLE', process_args: '--fast' },
    ]);
  });

  it('disables, enables, kills and deletes a trigger', async () => {
    const act = async (name: string, button: string | RegExp) => {
      await triggerRow(name).click();
      await dialog().getByRole('button', { name: button }).click();
      await dialog().waitFor({ state: 'detached' });
    };
    await act('one-off report', 'Disable');
    await triggerRow('one-off report').locator('.status', { hasText: 'Paused' }).waitFor();
    expect(await status('one-off report')).toBe('PAUSED');
    await act('one-off report', 'Enable');
    await triggerRow('one-off report').locator('.status', { hasText: 'Idle' }).waitFor();
    expect(await status('one-off report')).toBe('IDLE');
    await live.store.db.updateTable('Triggers').set({ process_status: 'RUNNING' }).where('trigger_name', '=', 'invoice queue').execute();
    await page.getByRole('button', { name: /Refresh/ }).click();
    await triggerRow('invoice queue').locator('.status', { hasText: 'Running' }).waitFor();
    await act('invoice queue', 'Kill');
    await triggerRow('invoice queue').locator('.status', { hasText: 'Killing' }).waitFor();
    expect(await status('invoice queue')).toBe('KILLING');
    await triggerRow('one-off report').click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await dialog().getByRole('button', { name: /Really delete/ }).click();
    await triggerRow('one-off report').waitFor({ state: 'detached' });
    expect(await countRows(live.store, 'Single_Triggers')).toBe(1);
  });

  it('creates, edits and deletes constants and credentials; the password never reaches the browser', async () => {
    await tab('Constants & Credentials');
    await page.getByRole('button', { name: 'New constant' }).click();
    await dialog().locator('input[name=name]').fill('erp-url');
    await dialog().locator('textarea[name=value]').fill('https://erp.example');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByTestId('constants-table').locator('tr', { hasText: 'erp-url' }).waitFor();
    await page.getByRole('button', { name: 'New constant' }).click();
    await dialog().locator('input[name=name]').fill('erp-url');
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    await dialog().getByRole('alert').filter({ hasText: 'already exists' }).waitFor();
    await dialog().getByRole('button', { name: 'Cancel' }).click();

    await page.getByRole('button', { name: 'New credential' }).click();
    await dialog().locator('input[name=name]').fill('erp-login');
    await dialog().locator('input[name=username]').fill('robot');
    await dialog().locator('input[name=password]').fill(PASSWORD);
    await dialog().getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.getByTestId('credentials-table').locator('tr', { hasText: 'erp-login' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/\d+ encrypted bytes\. \d+-\d+ decrypted bytes\./);
    const stored = await live.store.db.selectFrom('Credentials').select('password').executeTakeFirstOrThrow();
    expect(stored.password).toMatch(/^gAAAAA/);
    expect(decryptString(KEY, stored.password)).toBe(PASSWORD);
    expect((await getCredential(live.store, KEY, 'erp-login')).password).toBe(PASSWORD);
    await row.click();
    expect(await dialog().locator('input[name=password]').inputValue()).toBe('');
    await dialog().getByRole('button', { name: 'Cancel' }).click();
    expect(await page.content()).not.toContain(PASSWORD);
    expect(bodies.join('\n')).not.toContain(PASSWORD);

    await page.getByTestId('constants-table').locator('tr', { hasText: 'erp-url' }).click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await dialog().getByRole('button', { name: /Really delete/ }).click();
    await page.getByTestId('constants-table').locator('tr', { hasText: 'erp-url' }).waitFor({ state: 'detached' });
    expect(await countRows(live.store, 'Constants')).toBe(0);
  });

  it('filters logs on the server and opens a long message', async () => {
    await tab('Logs');
    await page.getByTestId('pager-text').filter({ hasText: '43 rows' }).waitFor();
    await page.locator('select[name=level]').selectOption('ERROR');
    await page.getByTestId('pager-text').filter({ hasText: '11 rows' }).waitFor();
    await page.locator('select[name=processName]').selectOption('mail-robot');
    await page.getByTestId('pager-text').filter({ hasText: '10 rows' }).waitFor();
    await page.locator('select[name=processName]').selectOption('invoice-robot');
    await page.getByTestId('pager-text').filter({ hasText: '0 rows' }).waitFor();
    await page.locator('select[name=processName]').selectOption('');
    await page.locator('select[name=level]').selectOption('');
    // A long message is cut in its row, which expands to the whole text and closes again.
    const row = page.getByTestId('logs-table').locator('tr.clickable', { hasText: 'step 0 ' });
    await row.click();
    expect(await row.getAttribute('class')).toContain('expanded');
    expect(await page.getByTestId('log-message').textContent()).toBe(`step 0 ${'detail '.repeat(40)}`);
    await row.click();
    await page.getByTestId('log-message').waitFor({ state: 'detached' });
    // The message column takes the width the other columns leave.
    const widths = await page.getByTestId('logs-table').locator('thead th').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().width));
    const tableWidth = await page.getByTestId('logs-table').evaluate((t) => t.getBoundingClientRect().width);
    expect(widths[3]! / tableWidth).toBeGreaterThan(0.5);
    // Dragging the right edge of the Process title widens it; the message column gives the room.
    const handle = page.getByRole('separator', { name: 'Resize column Process' });
    await handle.scrollIntoViewIfNeeded();
    const box = (await handle.boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 + 60, box.y + box.height / 2, { steps: 4 });
    await page.mouse.move(box.x + box.width / 2 + 120, box.y + box.height / 2, { steps: 4 });
    await page.mouse.up();
    const resized = await page.getByTestId('logs-table').locator('thead th').evaluateAll((cells) => cells.map((c) => c.getBoundingClientRect().width));
    expect(resized[2]! - widths[2]!).toBeGreaterThan(100);
    expect(resized[2]! - widths[2]!).toBeLessThan(140);
    expect(resized[3]!).toBeLessThan(widths[3]! - 100);
    expect(await page.getByTestId('pager-text').textContent()).toContain('43 rows');
    // Dates are typed as the tables show them; a day that does not exist is refused inline.
    await page.locator('input[name=from]').fill('31-02-2026 10:00');
    await page.locator('.field-error', { hasText: 'DD-MM-YYYY HH:MM' }).waitFor();
    await page.locator('input[name=from]').fill('01-01-2100 00:00');
    await page.getByTestId('pager-text').filter({ hasText: '0 rows' }).waitFor();
    await page.locator('input[name=from]').fill('');
    await page.getByTestId('pager-text').filter({ hasText: '43 rows' }).waitFor();
  });

  it('pages, searches and retries queue elements', async () => {
    await tab('Queues');
    await page.getByTestId('queues-table').locator('tr', { hasText: 'invoices' }).click();
    await page.getByTestId('pager-text').filter({ hasText: '60 rows' }).waitFor();
    // the 12 elements that ended (3 Failed, 9 Done) minutes ago, in the throughput chart's hours
    const chart = page.getByTestId('throughput-chart');
    await chart.locator('canvas').waitFor();
    expect(await chart.getAttribute('data-empty')).toBe('false');
    const counts = (await chart.locator('canvas td').allTextContents()).map((t) => Number.parseInt(t, 10));
    expect(counts).toHaveLength(24);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(12);
    await page.locator('select[name=limit]').selectOption('25');
    await page.getByTestId('pager-text').filter({ hasText: 'Page 1 of 3' }).waitFor();
    await page.getByRole('button', { name: 'Next ›' }).click();
    await page.getByTestId('pager-text').filter({ hasText: 'Page 2 of 3' }).waitFor();
    await page.locator('input[name=search]').fill('timeout');
    await page.getByTestId('pager-text').filter({ hasText: '3 rows' }).waitFor();
    for (const box of await page.getByTestId('elements-table').locator('input[type=checkbox]').all()) await box.check();
    await page.getByRole('button', { name: 'Retry selected (3)' }).click();
    await page.getByText('3 elements put back to New').waitFor();
    const failed = await live.store.db.selectFrom('Queues').select('id').where('status', '=', 'FAILED').execute();
    expect(failed).toHaveLength(0);
    await page.getByRole('button', { name: '‹ All queues' }).click();
  });

  it('shows the Scheduler and its jobs', async () => {
    await tab('Schedulers');
    const row = page.getByTestId('schedulers-table').locator('tr', { hasText: 'WORKER-01' });
    await row.filter({ hasText: /Online.*nightly invoices.*mail-robot/ }).waitFor();
    await tab('Jobs');
    // A job opens its own page, with its logs; back returns to the list.
    await page.getByTestId('jobs-table').locator('tr', { hasText: 'invoice-robot' }).filter({ hasText: 'Done' }).click();
    await page.waitForURL(/\/jobs\/[0-9a-f-]{36}$/);
    await page.getByTestId('job-logs').filter({ hasText: 'job started' }).waitFor();
    await page.goBack();
    const chart = page.getByTestId('durations-chart');
    await chart.locator('canvas').waitFor();
    const bars = await chart.locator('canvas tr').evaluateAll((rows) => rows.map((r) => [r.querySelector('th')?.textContent, r.querySelector('td')?.textContent]));
    expect(bars).toEqual(
      expect.arrayContaining([
        ['invoice-robot', '42 s'],
        ['quick-check', '0 s'],
        ['monthly-accounts-reconciliation-for-the-finance-department', '312 s'],
      ]),
    );
  });

  it('remembers dark mode and writes a screenshot of each tab, light and dark', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const tabs: [string, string][] = [
      ['Settings', 'settings'],
      ['Triggers', 'triggers'],
      ['Logs', 'logs'],
      ['Constants & Credentials', 'constants-credentials'],
      ['Queues', 'queues'],
      ['Schedulers', 'schedulers'],
      ['Jobs', 'jobs'],
    ];
    for (const theme of ['light', 'dark']) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.getByRole('button', { name: 'Dark mode' }).click();
      for (const [name, file] of tabs) {
        await tab(name);
        await page.waitForLoadState('networkidle');
        await page.screenshot({ path: `${SHOTS}/${file}-${theme}.png`, fullPage: false });
      }
      // a log row opened to its whole message
      await tab('Logs');
      await page.getByTestId('logs-table').locator('tr.clickable', { hasText: 'step 0 ' }).click();
      await page.getByTestId('log-message').waitFor();
      await page.screenshot({ path: `${SHOTS}/logs-expanded-${theme}.png`, fullPage: false });
      // a queue's elements and its throughput chart (below the table)
      await tab('Queues');
      await page.getByTestId('queues-table').locator('tr', { hasText: 'invoices' }).click();
      await page.locator('select[name=limit]').selectOption('25');
      await page.getByTestId('throughput-chart').locator('canvas').scrollIntoViewIfNeeded();
      await page.waitForLoadState('networkidle');
      await page.screenshot({ path: `${SHOTS}/queue-elements-${theme}.png`, fullPage: false });
      await page.getByRole('button', { name: '‹ All queues' }).click();
    }
    await page.reload();
    await page.getByRole('tab', { selected: true }).waitFor();
    expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
    await page.getByRole('button', { name: 'Dark mode' }).click();
  });

  it('shows empty tables and charts with a line saying so, and writes their screenshots', async () => {
    const empty = await openLiveStore('sqlite');
    // a queue whose elements are all New: its throughput chart has nothing to show
    await bulkCreateQueueElements(empty.store, 'new-only', [{ reference: 'A-1' }, { reference: 'A-2' }]);
    const emptyServer = await startOrchestrator({ port: 0, connectionString: empty.url, cryptoKey: KEY });
    const emptyPage = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await emptyPage.goto(emptyServer.url);
      // The Dashboard opens first after connecting; these tests start on Triggers.
      await emptyPage.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
      await emptyPage.getByRole('tab', { name: 'Triggers', exact: true }).click();
      await emptyPage.getByRole('tab', { name: 'Triggers', selected: true }).waitFor();
      const open = (name: string) => emptyPage.getByRole('tab', { name, exact: true }).click();
      for (const theme of ['light', 'dark']) {
        if ((await emptyPage.evaluate(() => document.documentElement.dataset.theme)) !== theme) await emptyPage.getByRole('button', { name: 'Dark mode' }).click();
        await open('Triggers');
        await emptyPage.getByTestId('triggers-table').getByText('No triggers yet.').waitFor();
        await emptyPage.screenshot({ path: `${SHOTS}/triggers-empty-${theme}.png` });
        await open('Logs');
        await emptyPage.getByTestId('logs-table').getByText('No logs match.').waitFor();
        await emptyPage.screenshot({ path: `${SHOTS}/logs-empty-${theme}.png` });
        await open('Jobs');
        await emptyPage.getByTestId('jobs-table').getByText('No jobs match.').waitFor();
        await emptyPage.getByTestId('durations-chart-empty').filter({ hasText: 'No finished jobs in the last 7 days.' }).waitFor();
        expect(await emptyPage.getByTestId('durations-chart').locator('canvas').count()).toBe(0);
        await emptyPage.screenshot({ path: `${SHOTS}/jobs-empty-${theme}.png` });
        await open('Queues');
        await emptyPage.getByTestId('queues-table').locator('tr', { hasText: 'new-only' }).click();
        await emptyPage.getByTestId('throughput-chart-empty').filter({ hasText: 'No elements of this queue finished in the last 24 hours.' }).waitFor();
        await emptyPage.screenshot({ path: `${SHOTS}/queue-elements-empty-${theme}.png` });
        await emptyPage.getByRole('button', { name: '‹ All queues' }).click();
      }
    } finally {
      await emptyPage.close();
      await emptyServer.close();
      await empty.close();
    }
  });
});
