/**
 * Test support for the Orchestrator tests: a fresh upgraded database opened as a Store, row
 * counts to prove a refused request changed nothing, and Chromium with the app's Refresh.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';
import { closeStore, openStore, type Store } from '../../src/db/open.js';
import { upgradeDatabase } from '../../src/db/schema/upgrade.js';
import { startOrchestrator, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { createTestDatabase, type LiveDialect } from '../helpers/databases.js';
import { KEY, startScheduler, type RunningScheduler } from '../helpers/scheduler.js';

export interface LiveStore {
  url: string;
  store: Store;
  close(): Promise<void>;
}

export async function openLiveStore(dialect: LiveDialect): Promise<LiveStore> {
  const database = await createTestDatabase(dialect);
  const store = openStore(database.url);
  await upgradeDatabase(store.db, store.dialect);
  return {
    url: database.url,
    store,
    close: async () => {
      await closeStore(store);
      await database.drop();
    },
  };
}

export const TABLES = ['Logs', 'Queues', 'Constants', 'Credentials', 'Triggers', 'Single_Triggers', 'Scheduled_Triggers', 'Queue_Triggers', 'Schedulers', 'Jobs'] as const;

export async function countRows(store: Store, table: (typeof TABLES)[number]): Promise<number> {
  const row = await store.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

/** Debian's Chromium (never a downloaded browser); OO_CHROMIUM names another. */
export const CHROMIUM = process.env.OO_CHROMIUM ?? '/usr/bin/chromium';

/**
 * Chromium headless, with the flags this machine's closed network needs (no background
 * connections). A failure to launch is reported where the promise is awaited, not meanwhile as
 * an unhandled rejection, so tests may start it beside their other setup.
 *
 * @example
 *   const launched = launchChromium(); live = await openLiveStore('sqlite'); browser = await launched;
 */
export function launchChromium(): Promise<Browser> {
  const launched = chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  launched.catch(() => undefined);
  return launched;
}

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

/** axe-core's violations on the page as it is now (rule id and the nodes). */
export async function axeViolations(page: Page): Promise<{ id: string; nodes: string[] }[]> {
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(AXE);
  return page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  });
}

/** Clicks the app's Refresh until `locator` shows (the tabs refresh by themselves only every 10 s). */
export async function refreshUntil(page: Page, locator: Locator, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await locator.first().waitFor({ timeout: 400 });
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    await page.getByRole('button', { name: /Refresh/ }).click();
  }
}

/** An Orchestrator and a real Scheduler (0.3 s tick) on one fresh SQLite database, and a page on the Triggers tab. */
export interface UiWithScheduler {
  live: LiveStore;
  server: RunningOrchestrator;
  scheduler: RunningScheduler;
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/**
 * Starts the UI, the database with its server and Scheduler, and Chromium side by side.
 *
 * @example
 *   let ui: UiWithScheduler;
 *   beforeAll(async () => (ui = await startUiWithScheduler('UI-WORKER')), 60_000);
 *   afterAll(() => ui?.close());
 */
export async function startUiWithScheduler(machineName: string): Promise<UiWithScheduler> {
  const launched = launchChromium();
  const live = await openLiveStore('sqlite');
  const server = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
  const scheduler = startScheduler({ connectionString: live.url, machineName, intervalSeconds: 0.3 });
  const browser = await launched;
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  await page.goto(server.url);
  // The Dashboard opens first after connecting; these tests start on Triggers.
  await page.getByRole('tab', { name: 'Dashboard', selected: true }).waitFor();
  await page.getByRole('tab', { name: 'Triggers', exact: true }).click();
  await page.getByRole('tab', { name: 'Triggers', selected: true }).waitFor();
  return {
    live,
    server,
    scheduler,
    browser,
    page,
    close: async () => {
      await browser.close();
      await scheduler.stop();
      await server.close();
      await live.close();
    },
  };
}
