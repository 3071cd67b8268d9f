/**
 * The operations UI (issue 12) in Debian's Chromium driven by playwright-core, on real SQLite
 * databases: the Dashboard (a failed job with a working link to its logs, a late trigger, an
 * offline Scheduler, a backlog, non-empty charts; and the empty state on an empty database),
 * the Alerts tab (channels and rules created, edited and deleted, checked in the database; a
 * real monitor's incident and notifications; "send test" to a real HTTP receiver) and the
 * queue retry settings with an element's attempts. Screenshots go to docs/screenshots.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { OrchestratorConnection } from '../../src/connection/orchestrator-connection.js';
import { createChannel, createRule, listChannels, listRules } from '../../src/db/store/alerts.js';
import { createQueueElement } from '../../src/db/store/queues.js';
import { getElementAttempts, getQueueSettings, saveQueueSettings } from '../../src/db/store/retries.js';
import { Monitor } from '../../src/monitor/monitor.js';
import { startOrchestrator, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { createConsoleLog } from '../../src/scheduler/console-log.js';
import { SEED, seedDashboard, type DashboardSeed } from '../helpers/dashboard-data.js';
import { startHttpReceiver, waitUntil, type HttpReceiver } from '../helpers/receivers.js';
import { KEY } from '../helpers/scheduler.js';
import { launchChromium, type LiveStore, openLiveStore } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;
const THEMES = ['light', 'dark'] as const;

describe('Dashboard, Alerts and queue retry settings (SQLite, real rows)', () => {
  let live: LiveStore;
  let empty: LiveStore;
  let server: RunningOrchestrator;
  let emptyServer: RunningOrchestrator;
  let http: HttpReceiver;
  let browser: Browser;
  let page: Page;
  let seed: DashboardSeed;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const launched = launchChromium();
    live = await openLiveStore('sqlite');
    empty = await openLiveStore('sqlite');
    seed = await seedDashboard(live.store);
    http = await startHttpReceiver();
    server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
    emptyServer = await startOrchestrator({ port: 0, connectionString: empty.url, cryptoKey: KEY });
    browser = await launched;
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(server.url);
    await page.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await emptyServer?.close();
    await http?.close();
    await live?.close();
    await empty?.close();
  });

  const tab = (p: Page, name: string) => p.getByRole('tab', { name, exact: true }).click();
  const setTheme = async (p: Page, theme: string) => {
    if ((await p.evaluate(() => document.documentElement.dataset.theme)) !== theme) await p.getByRole('button', { name: 'Dark mode' }).click();
    await p.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
  };
  const dialog = () => page.getByRole('dialog');
  const fill = (name: string, value: string) => dialog().locator(`[name="${name}"]`).fill(value);
  const select = (name: string, value: string) => dialog().locator(`[name="${name}"]`).selectOption(value);

  it('opens on the Dashboard and shows the empty state on an empty database', async () => {
    const emptyPage = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    try {
      await emptyPage.goto(emptyServer.url);
      await emptyPage.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
      await emptyPage.getByText('No job failed in the last 24 hours.').waitFor();
      await emptyPage.getByText('Every due trigger has started.').waitFor();
      await emptyPage.getByText('No queue has New elements waiting.').waitFor();
      for (const chart of ['runs-chart', 'throughput-chart', 'backlog-chart']) await emptyPage.getByTestId(`${chart}-empty`).waitFor();
      expect(await emptyPage.locator('.card.attention').count()).toBe(0);
      for (const theme of THEMES) {
        await setTheme(emptyPage, theme);
        await emptyPage.screenshot({ path: `${SHOTS}/dashboard-empty-${theme}.png`, fullPage: true });
      }
      await tab(emptyPage, 'Alerts');
      await emptyPage.getByTestId('channels-table').getByText('No channels').waitFor();
      await emptyPage.getByTestId('rules-table').getByText('No rules').waitFor();
      for (const theme of THEMES) {
        await setTheme(emptyPage, theme);
        await emptyPage.screenshot({ path: `${SHOTS}/alerts-empty-${theme}.png`, fullPage: true });
      }
    } finally {
      await emptyPage.close();
    }
  });

  it('lists what needs attention, draws the charts and links a failed job to its page', async () => {
    const failed = page.getByTestId('failed-jobs');
    await failed.getByText(SEED.failedProcess).waitFor();
    await page.getByTestId('late-triggers').getByText(SEED.lateTrigger).waitFor();
    expect(await page.getByTestId('late-triggers').getByText('later-today').count()).toBe(0);
    await page.getByTestId('offline-schedulers').getByText(SEED.offlineScheduler).waitFor();
    expect(await page.getByTestId('offline-schedulers').getByText(SEED.onlineScheduler).count()).toBe(0);
    const backlog = page.getByTestId('queue-backlogs').locator('tr', { hasText: SEED.queue });
    await backlog.getByText(`${SEED.backlog} (backlog)`).waitFor();
    await backlog.getByText('(old)').waitFor();
    await page.getByTestId('stale-elements').getByText('STUCK-1').waitFor();
    for (const chart of ['runs-chart', 'throughput-chart', 'backlog-chart']) {
      const figure = page.getByTestId(chart);
      await figure.locator('canvas').waitFor();
      expect(await figure.getAttribute('data-empty')).toBe('false');
    }
    // The canvas holds its data as a table: the failed run is counted.
    expect(await page.getByTestId('runs-chart').locator('canvas').textContent()).toMatch(/Failed 1/);
    await page.getByRole('button', { name: 'Last week' }).click();
    await page.getByRole('heading', { name: /^Activity/ }).waitFor();
    await page.getByTestId('runs-chart').getByText('Runs per hour by outcome (last 7 days)').waitFor();
    expect(await page.getByTestId('runs-chart').getAttribute('data-empty')).toBe('false');
    for (const theme of THEMES) {
      await setTheme(page, theme);
      await page.screenshot({ path: `${SHOTS}/dashboard-${theme}.png`, fullPage: true });
    }
    await page.getByRole('button', { name: 'Last day' }).click();
    // One click from the failed job to its page, with its logs.
    await failed.locator('tr.clickable', { hasText: SEED.failedProcess }).click();
    await page.waitForURL(`**/jobs/${seed.failedJobId}`);
    await page.getByTestId('job-logs').getByText(SEED.failedMessage).waitFor();
    await page.goBack();
    await setTheme(page, 'light');
  });

  it('creates, edits and deletes channels and rules, each reflected in the database', async () => {
    await tab(page, 'Alerts');
    await page.getByRole('button', { name: 'New channel' }).click();
    await fill('name', 'ops mail');
    await fill('host', 'smtp.example.test');
    await fill('port', '587');
    await select('security', 'starttls');
    await fill('from', 'oo@example.test');
    await fill('to', 'ops@example.test, lead@example.test');
    await fill('credential', 'smtp-login');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('channels-table').getByText('ops mail').waitFor();
    await waitUntil(async () => (await listChannels(live.store)).length === 1, 'the e-mail channel in the database');
    expect((await listChannels(live.store))[0]).toMatchObject({
      name: 'ops mail',
      kind: 'EMAIL',
      settings: { host: 'smtp.example.test', port: 587, security: 'starttls', from: 'oo@example.test', to: ['ops@example.test', 'lead@example.test'], credential: 'smtp-login' },
    });

    await page.getByTestId('channels-table').getByText('ops mail').click();
    await fill('port', '465');
    await select('security', 'tls');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await waitUntil(async () => ((await listChannels(live.store))[0]!.settings as { port: number }).port === 465, 'the changed port in the database');

    await page.getByRole('button', { name: 'New channel' }).click();
    await fill('name', 'teams hook');
    await select('kind', 'WEBHOOK');
    await fill('url', `${http.url}/teams`);
    await select('template', 'teams');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('channels-table').getByText('teams hook').waitFor();
    const hook = (await listChannels(live.store)).find((c) => c.name === 'teams hook')!;
    expect(hook).toMatchObject({ kind: 'WEBHOOK', settings: { url: `${http.url}/teams`, template: 'teams' } });

    await page.getByRole('button', { name: 'New rule' }).click();
    await fill('name', 'late triggers');
    await select('kind', 'TRIGGER_LATE');
    await fill('threshold', '10');
    await dialog().locator('[name="channel-teams hook"]').check();
    await dialog().getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('rules-table').getByText('late triggers').waitFor();
    expect(await listRules(live.store)).toEqual([expect.objectContaining({ name: 'late triggers', kind: 'TRIGGER_LATE', threshold: 10, target: null, channelIds: [hook.id] })]);

    await page.getByTestId('rules-table').getByText('late triggers').click();
    await fill('threshold', '15');
    await fill('target', SEED.lateTrigger);
    await dialog().getByRole('button', { name: 'Save' }).click();
    await waitUntil(async () => (await listRules(live.store))[0]?.threshold === 15, 'the changed threshold in the database');
    expect((await listRules(live.store))[0]).toMatchObject({ target: SEED.lateTrigger });

    await page.getByTestId('rules-table').getByText('late triggers').click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await dialog().getByRole('button', { name: /Really delete/ }).click();
    await waitUntil(async () => (await listRules(live.store)).length === 0, 'the rule deleted');
    await page.getByTestId('channels-table').getByText('ops mail').click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await dialog().getByRole('button', { name: /Really delete/ }).click();
    await waitUntil(async () => (await listChannels(live.store)).every((c) => c.name !== 'ops mail'), 'the e-mail channel deleted');
    await page.getByTestId('channels-table').getByText('ops mail').waitFor({ state: 'detached' });
  });

  it("shows a monitor's incident and notifications, each channel's last failure, and sends a test", async () => {
    const hook = (await listChannels(live.store)).find((c) => c.name === 'teams hook')!;
    const broken = await createChannel(live.store, { name: 'broken hook', kind: 'WEBHOOK', settings: { url: 'http://127.0.0.1:1/refused', template: 'slack', body: null } });
    await createRule(live.store, { name: 'trigger late 5 min', kind: 'TRIGGER_LATE', target: null, threshold: 5, channelIds: [hook.id, broken.id] });
    const monitor = new Monitor({ connectionString: live.url, cryptoKey: KEY, name: 'ui-test-monitor', intervalSeconds: 60, retryBaseSeconds: 600 }, createConsoleLog({ write: () => undefined }));
    try {
      expect(await monitor.tick()).toMatchObject({ opened: 1 });
    } finally {
      await monitor.close();
    }
    await tab(page, 'Dashboard');
    await page.getByTestId('open-incidents').getByText(`Trigger "${SEED.lateTrigger}" is late`).waitFor();
    await tab(page, 'Alerts');
    await page.getByTestId('incidents-table').getByText(`Trigger "${SEED.lateTrigger}" is late`).waitFor();
    const notifications = page.getByTestId('notifications-table');
    await notifications.locator('tr', { hasText: 'teams hook' }).getByText('Sent').waitFor();
    await notifications.locator('tr', { hasText: 'broken hook' }).locator('.error-text').filter({ hasText: /\S/ }).waitFor();
    await page.getByTestId('channels-table').locator('tr', { hasText: 'broken hook' }).locator('.error-text').waitFor();

    const before = http.posts.length;
    await page.getByTestId('channels-table').locator('tr', { hasText: 'teams hook' }).getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('test-result').getByText('test message sent').waitFor();
    expect(http.posts.length).toBe(before + 1);
    await page.getByTestId('channels-table').locator('tr', { hasText: 'broken hook' }).getByRole('button', { name: 'Send test' }).click();
    await page.getByTestId('test-result').filter({ hasNotText: 'sending' }).waitFor();
    expect(await page.getByTestId('test-result').getAttribute('class')).toBe('error-text');
    for (const theme of THEMES) {
      await setTheme(page, theme);
      await page.screenshot({ path: `${SHOTS}/alerts-${theme}.png`, fullPage: true });
    }
    await setTheme(page, 'light');
  });

  it("saves a queue's retry settings, shows them, and shows an element's attempts and history", async () => {
    await saveQueueSettings(live.store, { queueName: 'payments', maxAttempts: 3, delayMode: 'FIXED', delaySeconds: 3600, maxDelaySeconds: null, visibilityMinutes: null, visibilityAction: 'NEW' });
    const element = await createQueueElement(live.store, 'payments', { reference: 'PAY-1' });
    const robot = new OrchestratorConnection({ processName: 'pay-robot', connectionString: live.url, cryptoKey: KEY });
    try {
      expect((await robot.getNextQueueElement('payments'))?.id).toBe(element.id);
      await robot.failQueueElement(element.id, 'the bank timed out');
    } finally {
      await robot.close();
    }
    expect(await getElementAttempts(live.store, element.id)).toMatchObject({ attempt: 1, state: 'WAITING' });

    await tab(page, 'Queues');
    await page.getByTestId('queues-table').getByText(SEED.queue).click();
    await page.getByTestId('queue-settings').getByText('none (a failed element stays Failed)').waitFor();
    for (const theme of THEMES) {
      await setTheme(page, theme);
      await page.screenshot({ path: `${SHOTS}/queue-settings-empty-${theme}.png` });
    }
    await page.getByRole('button', { name: 'Retry settings' }).click();
    await fill('maxAttempts', '4');
    await select('delayMode', 'EXPONENTIAL');
    await fill('delaySeconds', '30');
    await fill('maxDelaySeconds', '600');
    await fill('visibilityMinutes', '90');
    await select('visibilityAction', 'ABANDONED');
    await dialog().getByRole('button', { name: 'Save' }).click();
    await page.getByTestId('queue-settings').getByText(/4 attempts in all, 30 s doubled after each failure \(at most 600 s\); In Progress elements taken back after 90 min/).waitFor();
    expect(await getQueueSettings(live.store, SEED.queue)).toMatchObject({ maxAttempts: 4, delayMode: 'EXPONENTIAL', delaySeconds: 30, maxDelaySeconds: 600, visibilityMinutes: 90, visibilityAction: 'ABANDONED' });
    for (const theme of THEMES) {
      await setTheme(page, theme);
      await page.getByRole('button', { name: 'Retry settings' }).click();
      await dialog().locator('[name="maxDelaySeconds"]').waitFor();
      expect(await dialog().locator('[name="maxAttempts"]').inputValue()).toBe('4');
      await page.screenshot({ path: `${SHOTS}/queue-settings-${theme}.png` });
      await page.keyboard.press('Escape');
    }

    await page.getByRole('button', { name: '‹ All queues' }).click();
    await page.getByTestId('queues-table').getByText('payments').click();
    await page.getByTestId('queue-settings').getByText(/3 attempts in all, 3600 s between them/).waitFor();
    await page.getByTestId('elements-table').getByText('PAY-1').click();
    const attempts = dialog().getByTestId('element-attempts');
    await attempts.getByText(/1 — Failed, waiting for its retry delay/).waitFor();
    await attempts.getByText('the bank timed out').first().waitFor();
    await attempts.getByTestId('element-history').locator('tr', { hasText: 'pay-robot' }).first().waitFor();
    for (const theme of THEMES) {
      // The theme button is behind the dialog's backdrop: close, switch, open again.
      await page.keyboard.press('Escape');
      await setTheme(page, theme);
      await page.getByTestId('elements-table').getByText('PAY-1').click();
      await attempts.getByTestId('element-history').waitFor();
      await page.screenshot({ path: `${SHOTS}/queue-settings-element-${theme}.png` });
    }
    await page.keyboard.press('Escape');
    await setTheme(page, 'light');
  });
});
