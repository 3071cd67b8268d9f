/**
 * The daily loop (issue 22) in Debian's Chromium against a real SQLite database and a real
 * in-process Scheduler: a failed job on the dashboard, its page, a rerun that runs, in at most two
 * clicks; the page following a running robot's logs and output live; every view as a link that
 * survives reload and back; a keyboard-only pass through every tab and the main dialogs; axe-core
 * on every tab in both themes with no violation; phones (390 px) with nothing scrolling sideways;
 * screenshots at 1440 and 390 px into docs/screenshots.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Papa from 'papaparse';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRule } from '../../src/db/store/alerts.js';
import { createConstant } from '../../src/db/store/constants.js';
import { getLatestJobOfTrigger, listJobs } from '../../src/db/store/jobs.js';
import { bulkCreateQueueElements } from '../../src/db/store/queues.js';
import { createTrigger } from '../../src/db/store/triggers.js';
import { ROBOTS, tempDir, waitFor, waitForEndedJob, waitForRunningJob } from '../helpers/scheduler.js';
import { startUiWithScheduler, type UiWithScheduler } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const LIVE_ROBOT = `${ROBOTS}live.ts`;

/** Every tab: its name on the tab bar and its path. */
const TABS = [
  ['Dashboard', '/dashboard'],
  ['Settings', '/settings'],
  ['Triggers', '/triggers'],
  ['Logs', '/logs'],
  ['Constants & Credentials', '/values'],
  ['Queues', '/queues'],
  ['Schedulers', '/schedulers'],
  ['Jobs', '/jobs'],
  ['Alerts', '/alerts'],
] as const;

/** axe-core's violations on the page as it is now (rule id and the nodes). */
async function axeViolations(page: Page): Promise<{ id: string; nodes: string[] }[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Waits for the app to settle: no request of its own in flight for a moment. */
async function settled(page: Page): Promise<void> {
  await page.waitForLoadState('networkidle');
}

describe('the daily loop in Chromium (SQLite, a real Scheduler)', () => {
  let ui: UiWithScheduler;
  let page: Page;
  let failedTriggerId: string;
  const files = tempDir('oo-daily-');

  beforeAll(async () => {
    ui = await startUiWithScheduler('DAILY-WORKER');
    page = ui.page;
    const { store } = ui.live;
    await createConstant(store, 'erp-url', 'https://erp.example/api');
    await bulkCreateQueueElements(store, 'invoices', Array.from({ length: 12 }, (_, i) => ({ reference: `INV-${i}`, data: `{"amount": ${i * 10}}` })));
    // An enabled rule and no monitor: the UI must say nothing evaluates it.
    await createRule(store, { name: 'failed runs', kind: 'JOB_FAILED', target: null, threshold: null, channelIds: [] });
    // A robot that fails: its job is on the dashboard with why.
    const release = join(files, 'erp-release');
    writeFileSync(release, 'fail');
    failedTriggerId = await createTrigger(store, { type: 'SINGLE', nextRun: new Date(), triggerName: 'erp sync', processName: 'erp-sync', processPath: LIVE_ROBOT, processArgs: release, isBlocking: false });
    expect((await waitForEndedJob(store, failedTriggerId, 30_000)).status).toBe('FAILED');
  }, 90_000);

  afterAll(() => ui?.close());

  it('a failed job on the dashboard -> its page -> Rerun, which runs: two clicks', async () => {
    const { store } = ui.live;
    const failed = (await getLatestJobOfTrigger(store, failedTriggerId))!;
    writeFileSync(join(files, 'erp-release'), ''); // the next run succeeds
    await page.goto(new URL('/dashboard', ui.server.baseUrl).href);
    const row = page.getByTestId('failed-jobs-table').locator('tr.clickable', { hasText: 'erp-sync' });
    await row.waitFor();
    // The first line of its error, not the stack's source line.
    expect(await row.textContent()).toContain('Error: the ERP refused the login');
    await expect.poll(() => page.getByTestId('monitor-warning').textContent()).toContain('no monitor running');

    await row.click(); // click 1
    await page.waitForURL(`**/jobs/${failed.id}`);
    await page.getByTestId('job-error').waitFor();
    expect(await page.getByTestId('job-error').textContent()).toContain('Error: the ERP refused the login');
    expect(await page.getByTestId('job-facts').textContent()).toContain('erp sync');
    await page.getByRole('button', { name: 'Rerun', exact: true }).click(); // click 2
    await page.getByTestId('job-action').filter({ hasText: 'runs again' }).waitFor();
    const rerun = await waitFor('the rerun to end', async () => {
      const latest = await getLatestJobOfTrigger(store, failedTriggerId);
      return latest && latest.id !== failed.id && latest.status !== 'RUNNING' ? latest : undefined;
    }, 30_000);
    expect(rerun.status).toBe('DONE');
    // The page links to the new run, and its page shows it Done.
    await page.getByRole('link', { name: /new run/ }).click();
    await page.waitForURL(`**/jobs/${rerun.id}`);
    await page.getByTestId('job-facts').getByText('Done', { exact: true }).waitFor();
  });

  it('follows a running robot: its log lines and its output appear while it runs', async () => {
    const { store } = ui.live;
    const release = join(files, 'live-release');
    // A queue trigger: its job's page lists the elements of its queue claimed while it ran.
    const id = await createTrigger(store, { type: 'QUEUE', queueName: 'live-q', triggerName: 'live one', processName: 'live-one', processPath: LIVE_ROBOT, processArgs: release, isBlocking: false });
    await bulkCreateQueueElements(store, 'live-q', [{ reference: 'LIVE-1' }]);
    const job = await waitForRunningJob(store, id);
    await page.goto(new URL(`/jobs/${job.id}`, ui.server.baseUrl).href);
    const output = page.getByTestId('job-output');
    const logs = page.getByTestId('job-logs');
    await output.getByText('printed line 1').waitFor({ timeout: 20_000 });
    await output.getByText('warned on stderr').waitFor();
    await logs.getByText('live robot: step 1').waitFor();
    expect((await getLatestJobOfTrigger(store, id))!.status).toBe('RUNNING');
    expect(await page.getByRole('button', { name: 'Kill' }).isEnabled()).toBe(true);
    expect(await output.textContent()).not.toContain('printed line 2');
    // Without a reload: the page asks again by itself.
    writeFileSync(release, '');
    await output.getByText('printed line 2').waitFor({ timeout: 20_000 });
    await logs.getByText('live robot: step 2').waitFor();
    await page.getByTestId('job-facts').getByText('Done', { exact: true }).waitFor();
    // The queue element it claimed, linked.
    await page.getByTestId('job-elements').getByRole('link', { name: 'LIVE-1' }).click();
    await page.waitForURL(/\/queues\/live-q\?element=/);
    await page.getByRole('dialog', { name: /Queue element LIVE-1/ }).waitFor();
  });

  it('every view is a link: filters, sort, page and the open item survive reload, back and forward', async () => {
    const base = ui.server.baseUrl;
    // No view asks for what is not there: a queue without retry settings is not a 404 every 10 s.
    const refused: string[] = [];
    page.on('response', (response) => {
      if (response.url().includes('/api/') && response.status() >= 400) refused.push(`${response.status()} ${response.url()}`);
    });
    await page.goto(new URL('/logs', base).href);
    await page.getByRole('tab', { name: 'Logs', selected: true }).waitFor();
    await page.locator('select[name=level]').selectOption('ERROR');
    await page.waitForURL(/\/logs\?level=ERROR/);
    await page.getByRole('button', { name: /^Time/ }).click();
    await page.waitForURL(/order=asc/);
    await page.reload();
    expect(await page.locator('select[name=level]').inputValue()).toBe('ERROR');
    await page.getByRole('columnheader', { name: /Time/ }).and(page.locator('[aria-sort=ascending]')).waitFor();
    await page.goBack();
    await page.waitForURL((url) => !url.search.includes('order=asc') && url.search.includes('level=ERROR'));
    await page.goBack();
    await page.waitForURL((url) => url.pathname === '/logs' && url.search === '');
    expect(await page.locator('select[name=level]').inputValue()).toBe('');
    await page.goForward();
    await page.waitForURL(/level=ERROR/);
    expect(await page.locator('select[name=level]').inputValue()).toBe('ERROR');

    // A queue with a filter and an open element; reload keeps both.
    await page.getByRole('tab', { name: 'Queues' }).click();
    await page.getByTestId('queues-table').locator('tr.clickable', { hasText: 'invoices' }).click();
    await page.waitForURL('**/queues/invoices');
    await page.locator('input[name=search]').fill('INV-1');
    await page.waitForURL(/search=INV-1/);
    await page.getByTestId('elements-table').locator('tr.clickable', { hasText: 'INV-11' }).click();
    await page.waitForURL(/element=/);
    await page.getByRole('dialog', { name: 'Queue element INV-11' }).waitFor();
    await page.getByTestId('queue-settings').getByText('none (a failed element stays Failed)').waitFor();
    expect(refused).toEqual([]);
    await page.reload();
    await page.getByRole('dialog', { name: 'Queue element INV-11' }).waitFor();
    expect(await page.locator('input[name=search]').inputValue()).toBe('INV-1');
    await page.keyboard.press('Escape');
    await page.getByRole('dialog').waitFor({ state: 'detached' });
    await page.goBack();
    await page.getByRole('dialog', { name: 'Queue element INV-11' }).waitFor();
    await page.goBack();
    await page.getByRole('dialog').waitFor({ state: 'detached' });

    // A trigger's dialog at its own address; the Jobs tab's filter and page.
    await page.goto(new URL(`/triggers/${failedTriggerId}`, base).href);
    await page.getByRole('dialog', { name: 'Trigger: erp sync' }).waitFor();
    // The process path says what it may be: a folder, .js and .ts too.
    expect(await page.getByRole('dialog').getByText(/^A file \(\.py, \.js, \.ts, \.exe, \.bat, \.\.\.\) or a folder with a main\.py, main\.ts or main\.js/).count()).toBe(1);
    await page.goto(new URL('/jobs?status=FAILED', base).href);
    await page.getByTestId('jobs-table').locator('tr.clickable', { hasText: 'erp-sync' }).waitFor();
    expect(await page.locator('select[name=status]').inputValue()).toBe('FAILED');
    expect(await page.getByTestId('jobs-table').locator('tr.clickable').count()).toBe((await listJobs(ui.live.store, { status: 'FAILED' })).length);
    // "Copy link" copies the address shown (without any token).
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(base).origin });
    await page.getByRole('button', { name: /Copy link/ }).first().click();
    await page.getByText('Link copied').first().waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(new URL('/jobs?status=FAILED', base).href);
  });

  it('adds the first element of a new queue, uploads many from a file (line errors first, then one transaction) and exports the filtered list', async () => {
    const { store } = ui.live;
    // A queue that does not exist yet gets its first element from the list of queues.
    await page.goto(new URL('/queues', ui.server.baseUrl).href);
    await page.getByRole('button', { name: 'New element' }).click();
    const create = page.getByRole('dialog', { name: 'New element' });
    await create.locator('input[name=queueName]').fill('brand-new');
    await create.locator('input[name=reference]').fill('FIRST');
    await create.getByRole('button', { name: 'Create', exact: true }).click();
    await page.waitForURL('**/queues/brand-new');
    await page.getByTestId('elements-table').getByText('FIRST').waitFor();

    // A CSV with a bad line: listed by its line number, and nothing can be sent.
    await page.getByRole('button', { name: 'Upload CSV/JSON' }).click();
    const upload = page.getByRole('dialog', { name: 'Upload elements to brand-new' });
    const rows = Array.from({ length: 120 }, (_, i) => `UP-${i},${i * 5},"note, ${i}"`);
    const bad = ['reference,amount,note', ...rows.slice(0, 40), `${'R'.repeat(101)},1,x`, ...rows.slice(40)].join('\n');
    await upload.locator('input[type=file]').setInputFiles({ name: 'elements.csv', mimeType: 'text/csv', buffer: Buffer.from(bad) });
    await upload.getByTestId('upload-errors').getByText('line 42: the reference is 101 characters; the limit is 100').waitFor();
    expect(await upload.getByRole('button', { name: /^Upload/ }).isDisabled()).toBe(true);
    // Fixed: the preview, then all of it in one request.
    const good = ['reference,amount,note', ...rows].join('\n');
    await upload.locator('input[type=file]').setInputFiles({ name: 'elements.csv', mimeType: 'text/csv', buffer: Buffer.from(good) });
    await upload.getByTestId('upload-preview').getByText('120 elements ready').waitFor();
    expect(await upload.locator('table.preview tbody tr').count()).toBe(10);
    await upload.getByRole('button', { name: 'Upload 120 elements' }).click();
    await upload.waitFor({ state: 'detached' });
    await page.getByText('120 elements added.').waitFor();
    const stored = await store.db.selectFrom('Queues').select(['reference', 'data']).where('queue_name', '=', 'brand-new').where('reference', 'like', 'UP-%').execute();
    expect(stored).toHaveLength(120);
    expect(stored.find((r) => r.reference === 'UP-7')!.data).toBe('{"amount":"35","note":"note, 7"}');

    // Export what the filter shows, every page of it.
    await page.locator('input[name=search]').fill('UP-1');
    await page.waitForURL(/search=UP-1/);
    await page.getByTestId('pager-text').filter({ hasText: '(31 rows)' }).waitFor();
    const download = page.waitForEvent('download');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const file = await (await download).path();
    const exported = Papa.parse<Record<string, string>>(readFileSync(file, 'utf8'), { header: true, skipEmptyLines: true }).data;
    expect(exported).toHaveLength(31);
    expect(new Set(exported.map((r) => r.reference))).toEqual(new Set(['UP-1', ...Array.from({ length: 10 }, (_, i) => `UP-1${i}`), ...Array.from({ length: 20 }, (_, i) => `UP-1${String(i).padStart(2, '0')}`)]));
    expect(Object.keys(exported[0]!)).toEqual(['id', 'reference', 'status', 'created_date', 'start_date', 'end_date', 'message', 'created_by', 'data']);
    await page.getByTestId('export-state').getByText('exported 31 elements').waitFor();
  });

  it('works by keyboard alone: every tab, every row and button reachable with Tab, rows open with Enter, dialogs take the focus and give it back', async () => {
    await page.goto(new URL('/dashboard', ui.server.baseUrl).href);
    await settled(page);
    for (const [name, path] of TABS) {
      // From the tab bar: Tab to the tab, Enter opens it.
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      let found = false;
      for (let i = 0; i < 30 && !found; i++) {
        await page.keyboard.press('Tab');
        found = await page.evaluate((n) => document.activeElement?.getAttribute('role') === 'tab' && document.activeElement.textContent === n, name);
      }
      expect(found, `the tab ${name} by Tab`).toBe(true);
      await page.keyboard.press('Enter');
      await page.waitForURL(`**${path}`);
      await settled(page);
      // Everything one can act on in the tab is reached by Tab, and shows that it has the focus.
      const wanted = await page.evaluate(() => {
        const selector = 'main :is(button:not(:disabled), a[href], input:not([type=hidden]):not(:disabled), select:not(:disabled), textarea, tr[tabindex="0"], [tabindex="0"])';
        // tabindex -1 marks a mouse-only duplicate of a row's own action (the row is the tab stop).
        const all = [...document.querySelectorAll<HTMLElement>(selector)].filter((e) => e.tabIndex >= 0 && e.getClientRects().length > 0);
        all.forEach((e, i) => (e.dataset.kb = String(i)));
        return all.length;
      });
      const reached = new Set<string>();
      let noOutline: string[] = [];
      for (let i = 0; i < wanted + 40; i++) {
        await page.keyboard.press('Tab');
        const info = await page.evaluate(() => {
          const e = document.activeElement as HTMLElement | null;
          if (!e || !e.closest('main')) return null;
          const style = getComputedStyle(e);
          return { kb: e.dataset.kb ?? '', html: e.outerHTML.slice(0, 80), outline: style.outlineStyle !== 'none' && style.outlineWidth !== '0px' };
        });
        if (!info) continue;
        reached.add(info.kb);
        if (!info.outline) noOutline.push(info.html);
      }
      // Those still in the page (a refresh may have replaced a few) and never focused.
      const missed = await page.evaluate((seen) => [...document.querySelectorAll<HTMLElement>('main [data-kb]')].filter((e) => !seen.includes(e.dataset.kb!) && e.tabIndex >= 0 && !(e as HTMLButtonElement).disabled).map((e) => e.outerHTML.slice(0, 80)), [...reached]);
      expect(missed, `${name}: not reachable by Tab`).toEqual([]);
      noOutline = noOutline.filter((html) => !html.startsWith('<canvas'));
      expect(noOutline, `${name}: focus not visible`).toEqual([]);
    }

    // A trigger's row: Enter opens its dialog, the focus is in it and stays in it, Escape gives it back.
    await page.goto(new URL('/triggers', ui.server.baseUrl).href);
    const row = page.getByTestId('triggers-table').locator('tr.clickable', { hasText: 'erp sync' });
    await row.focus();
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Trigger: erp sync' });
    await dialog.waitFor();
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null)).toBe(true);
    for (let i = 0; i < 40; i++) await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('dialog') !== null || document.activeElement === document.body)).toBe(true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    expect(await page.evaluate(() => document.activeElement?.textContent ?? '')).toContain('erp sync');
    // A log row opens and closes with Enter.
    await page.goto(new URL('/logs', ui.server.baseUrl).href);
    const logRow = page.getByTestId('logs-table').locator('tr.clickable').first();
    await logRow.focus();
    await page.keyboard.press('Enter');
    await page.getByTestId('log-message').first().waitFor();
    await page.keyboard.press('Enter');
    await page.getByTestId('log-message').waitFor({ state: 'detached' });
  }, 300_000);

  it('axe-core finds no violation on any tab, in either theme, nor in the main dialogs', async () => {
    const found: Record<string, { id: string; nodes: string[] }[]> = {};
    for (const theme of ['light', 'dark']) {
      await page.goto(new URL('/dashboard', ui.server.baseUrl).href);
      await page.evaluate((t) => localStorage.setItem('oo-theme', t), theme);
      const views = [...TABS.map(([, path]) => path), `/jobs/${(await getLatestJobOfTrigger(ui.live.store, failedTriggerId))!.id}`, `/triggers/${failedTriggerId}`, '/triggers?new=scheduled', '/queues/invoices?dialog=upload', '/queues?dialog=new'];
      for (const view of views) {
        await page.goto(new URL(view, ui.server.baseUrl).href);
        await settled(page);
        const violations = await axeViolations(page);
        if (violations.length > 0) found[`${theme} ${view}`] = violations;
      }
    }
    expect(found).toEqual({});
  }, 300_000);

  it('on a phone (390 px) no page scrolls sideways and every action is on screen; screenshots at 1440 and 390 px', async () => {
    const shoot = async (width: number, height: number, theme: string) => {
      const context = await ui.browser.newContext({ viewport: { width, height } });
      const p = await context.newPage();
      await p.goto(ui.server.baseUrl);
      await p.evaluate((t) => localStorage.setItem('oo-theme', t), theme);
      const job = (await getLatestJobOfTrigger(ui.live.store, failedTriggerId))!;
      const failed = (await listJobs(ui.live.store, { status: 'FAILED' }))[0]!;
      const views: [string, string][] = [
        ['dashboard', '/dashboard'],
        ['job-page', `/jobs/${failed.id}`],
        ['job-page-done', `/jobs/${job.id}`],
        ['triggers', '/triggers'],
        ['logs', '/logs'],
        ['values', '/values'],
        ['queues', '/queues'],
        ['queue-view', '/queues/invoices'],
        ['schedulers', '/schedulers'],
        ['jobs', '/jobs'],
        ['alerts', '/alerts'],
        ['settings', '/settings'],
        ['upload', '/queues/invoices?dialog=upload'],
      ];
      const wide: Record<string, number> = {};
      const offscreen: Record<string, string[]> = {};
      for (const [name, view] of views) {
        await p.goto(new URL(view, ui.server.baseUrl).href);
        await settled(p);
        const scrollWidth = await p.evaluate(() => document.documentElement.scrollWidth);
        if (scrollWidth > width) wide[name] = scrollWidth;
        const out = await p.evaluate((w) => {
          const actions = [...document.querySelectorAll<HTMLElement>('button, a[href], input, select, textarea')].filter((e) => e.getClientRects().length > 0);
          return actions.filter((e) => e.getBoundingClientRect().right > w + 1 || e.getBoundingClientRect().left < -1).map((e) => e.outerHTML.slice(0, 80));
        }, width);
        if (out.length > 0) offscreen[name] = out;
        const shown = theme === 'dark' ? ['dashboard', 'job-page'] : width === 390 ? views.map(([n]) => n) : ['dashboard', 'job-page', 'job-page-done', 'triggers', 'queue-view', 'alerts', 'upload'];
        if (shown.includes(name)) {
          await p.screenshot({ path: `${SHOTS}/daily-${name}-${width}-${theme}.png`, fullPage: true });
        }
      }
      await context.close();
      return { wide, offscreen };
    };
    const phone = await shoot(390, 844, 'light');
    expect(phone).toEqual({ wide: {}, offscreen: {} });
    await shoot(390, 844, 'dark');
    expect(await shoot(1440, 900, 'light')).toEqual({ wide: {}, offscreen: {} });
    await shoot(1440, 900, 'dark');
  }, 300_000);
});
