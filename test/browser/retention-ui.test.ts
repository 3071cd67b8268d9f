/**
 * The Dashboard's "History and retention" section in Debian's Chromium, on a real SQLite
 * database: each history table's size and oldest row, a period set for Logs with the mouse and
 * one queue's period added with the keyboard alone, both checked in the database, then removed
 * again. Screenshots (light and dark, 1440 px) go to docs/screenshots; 390 px is checked to fit.
 */
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { newId } from '../../src/db/dialects/encoding.js';
import { listRetention } from '../../src/db/store/retention.js';
import { startOrchestrator, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { KEY } from '../helpers/scheduler.js';
import { launchChromium, openLiveStore, refreshUntil, type LiveStore } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;

describe('History and retention on the Dashboard (SQLite)', () => {
  let live: LiveStore;
  let server: RunningOrchestrator;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    const launched = launchChromium();
    live = await openLiveStore('sqlite');
    const { store } = live;
    const logTime = (i: number) => store.dialect.encodeDate(new Date(2025, 0, 2, 3, 4, i));
    await store.db
      .insertInto('Logs')
      .values(Array.from({ length: 42 }, (_, i) => ({ id: store.dialect.encodeUuid(newId()), log_time: logTime(i), log_level: 'INFO' as const, process_name: 'robot', log_message: `line ${i}`, job_id: null })))
      .execute();
    server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
    browser = await launched;
    page = await (await browser.newContext({ viewport: { width: 1440, height: 900 } })).newPage();
    await page.goto(server.url);
    await page.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await live?.close();
  });

  const table = () => page.getByTestId('retention-table');
  const row = (text: string) => table().getByRole('row').filter({ hasText: text });
  const dialog = () => page.getByRole('dialog');

  it('shows each table\'s size and oldest row, and edits the periods (mouse and keyboard)', async () => {
    await row('Logs').getByText('42').waitFor();
    await expect(row('Logs').textContent()).resolves.toMatch(/02-01-2025 03:04/);
    await expect(row('Logs').textContent()).resolves.toContain('for ever');

    await row('Logs').getByRole('button', { name: 'set' }).click();
    await dialog().locator('[name="keepDays"]').fill('30');
    await dialog().locator('[name="archive"]').check();
    await dialog().getByRole('button', { name: 'Save' }).click();
    await row('Logs').getByText('30 days, archived').waitFor();
    expect(await listRetention(live.store)).toMatchObject([{ scope: 'LOGS', queueName: null, keepDays: 30, archive: true }]);

    // A queue's own period, with the keyboard only.
    await page.getByRole('button', { name: "Add a queue's period" }).focus();
    await page.keyboard.press('Enter');
    await dialog().locator('[name="queueName"]').waitFor();
    await page.keyboard.type('invoices');
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('365');
    await page.keyboard.press('Enter');
    await refreshUntil(page, row('invoices').getByText('365 days'));
    expect((await listRetention(live.store)).find((p) => p.queueName === 'invoices')).toMatchObject({ scope: 'QUEUE_ELEMENTS', keepDays: 365, archive: false });

    for (const theme of ['light', 'dark'] as const) {
      if ((await page.evaluate(() => document.documentElement.dataset.theme)) !== theme) await page.getByRole('button', { name: 'Dark mode' }).click();
      await page.waitForFunction((t) => document.documentElement.dataset.theme === t, theme);
      await table().scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${SHOTS}/retention-${theme}.png` });
    }

    // Narrow: the section stays within the page (the table scrolls inside its own box).
    await page.setViewportSize({ width: 390, height: 844 });
    await table().scrollIntoViewIfNeeded();
    await page.screenshot({ path: '/tmp/oo-retention-390.png' });
    const box = (await table().locator('xpath=..').boundingBox())!;
    expect(box.x + box.width).toBeLessThanOrEqual(390);
    await expect(page.getByRole('button', { name: "Add a queue's period" }).boundingBox()).resolves.toMatchObject({ x: expect.any(Number) });
    await page.setViewportSize({ width: 1440, height: 900 });

    // Removing the queue's period.
    await row('invoices').getByRole('button', { name: 'edit' }).click();
    await dialog().getByRole('button', { name: 'Delete' }).click();
    await dialog().getByRole('button', { name: /Really delete/ }).click();
    await row('invoices').waitFor({ state: 'detached' });
    expect((await listRetention(live.store)).map((p) => p.scope)).toEqual(['LOGS']);
  });
});
