/**
 * Team mode in Chromium over HTTPS, on PostgreSQL and MariaDB with real logins made by `grants`:
 * the sign-in page (by keyboard, a wrong password in one line), what a viewer, a robot and an
 * admin login each see and may do (and that nothing changes when they try more), two admins at
 * once in the audit tab, the cookie as the browser keeps it, sign-out and an expired session.
 * Writes the screenshots of the sign-in page and a viewer's read-only view at 1440 and 390 px
 * and of the Audit tab, and checks each with axe-core.
 */
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { generateKey } from '../../src/crypto/fernet.js';
import { listAudit } from '../../src/db/store/audit.js';
import { createConstant, getConstant } from '../../src/db/store/constants.js';
import { bulkCreateQueueElements } from '../../src/db/store/queues.js';
import { createTrigger } from '../../src/db/store/triggers.js';
import { startOrchestrator, type OrchestratorOptions, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { waitFor } from '../helpers/scheduler.js';
import { createTeamDatabase, type TeamDatabase, type TeamLogin } from '../helpers/team-database.js';
import { axeViolations, countRows, launchChromium } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SHOTS = `${ROOT}docs/screenshots`;
const KEY = generateKey();

describe.each(['postgres', 'mysql'] as const)('team mode in Chromium on %s', (dialect) => {
  let team: TeamDatabase;
  let server: RunningOrchestrator;
  let browser: Browser;
  const contexts: BrowserContext[] = [];
  const extra: RunningOrchestrator[] = [];
  const bodies: string[] = [];

  const startTeam = (options: Partial<OrchestratorOptions> = {}) =>
    startOrchestrator({ port: 0, team: {}, connectionString: team.url, cryptoKey: KEY, tls: { certFile: team.certs.serverCert, keyFile: team.certs.serverKey }, ...options });

  /** A browser of its own (its own cookies) at `width`, on the sign-in page of `at`. */
  const open = async (width = 1440, at: RunningOrchestrator = server): Promise<Page> => {
    // The test CA is not one Chromium trusts; the certificate itself is checked by the API test.
    const context = await browser.newContext({ viewport: { width, height: 900 }, ignoreHTTPSErrors: true });
    contexts.push(context);
    const page = await context.newPage();
    page.on('response', (response) => {
      if (response.url().includes('/api/')) void response.text().then((t) => bodies.push(t)).catch(() => undefined);
    });
    await page.goto(at.url.replace('127.0.0.1', 'localhost'));
    await page.getByRole('heading', { name: 'OpenOrchestrator' }).waitFor();
    return page;
  };
  /** Signs in by keyboard only: the user field has the focus, Tab to the password, Enter. */
  const signIn = async (page: Page, login: TeamLogin, password = team.logins[login].password) => {
    await page.getByLabel('Database user').waitFor();
    await page.keyboard.type(team.logins[login].user);
    await page.keyboard.press('Tab');
    await page.keyboard.type(password);
    await page.keyboard.press('Enter');
  };
  const signedIn = async (login: TeamLogin, width = 1440, at: RunningOrchestrator = server): Promise<Page> => {
    const page = await open(width, at);
    await signIn(page, login);
    await page.getByTestId('signed-in-as').getByText(team.logins[login].user).waitFor();
    return page;
  };
  const tab = async (page: Page, name: string) => {
    await page.getByRole('tab', { name, exact: true }).click();
    await page.getByRole('tab', { name, selected: true }).waitFor();
  };

  beforeAll(async () => {
    const launched = launchChromium();
    team = await createTeamDatabase(dialect);
    await createTrigger(team.root, { type: 'SINGLE', triggerName: 'nightly invoices', processName: 'invoice-robot', processPath: 'invoices.py', nextRun: new Date(Date.now() + 86_400_000) });
    await createTrigger(team.root, { type: 'SCHEDULED', triggerName: 'morning report', processName: 'report-robot', processPath: 'report.py', cronExpr: '0 7 * * 1-5' });
    await createConstant(team.root, 'erp-url', 'https://erp.example/api');
    await bulkCreateQueueElements(team.root, 'invoices', [{ reference: 'INV-1' }, { reference: 'INV-2' }]);
    server = await startTeam();
    browser = await launched;
  }, 180_000);
  afterAll(async () => {
    for (const context of contexts) await context.close().catch(() => undefined);
    await browser?.close();
    for (const started of extra) await started.close();
    await server?.close();
    await team?.close();
    const wire = bodies.join('\n');
    for (const password of team?.passwords ?? []) expect(wire).not.toContain(password);
  });

  it('the sign-in page: usable by keyboard, axe-clean, a wrong password in one line; the cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    for (const width of [1440, 390]) {
      const page = await open(width);
      expect(page.url()).toMatch(/^https:\/\//);
      await expect.poll(() => page.evaluate(() => document.activeElement?.getAttribute('name'))).toBe('user');
      expect(await axeViolations(page)).toEqual([]);
      if (dialect === 'postgres') await page.screenshot({ path: `${SHOTS}/team-sign-in-${width}.png` });
    }
    const page = await open();
    await signIn(page, 'viewer', 'not-the-password');
    const alert = page.getByRole('alert');
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/check the user name and password/);
    expect(await page.getByLabel('Password').inputValue()).toBe('');
    await page.getByLabel('Password').focus();
    await page.keyboard.type(team.logins.viewer.password);
    await page.keyboard.press('Enter');
    await page.getByTestId('signed-in-as').waitFor();
    const [cookie] = await page.context().cookies();
    expect(cookie).toMatchObject({ name: '__Host-oo-session', httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it("a viewer sees every tab read-only: changes are unavailable, and one forced through is refused with the database's line", async () => {
    for (const width of [1440, 390]) {
      const page = await signedIn('viewer', width);
      await page.getByTestId('read-only').waitFor();
      await tab(page, 'Triggers');
      await page.getByTestId('triggers-table').getByText('nightly invoices').waitFor();
      for (const name of ['New single trigger', 'New scheduled trigger', 'New queue trigger']) expect(await page.getByRole('button', { name }).isDisabled()).toBe(true);
      expect(await page.getByRole('button', { name: 'Run now' }).first().isDisabled()).toBe(true);
      expect(await axeViolations(page)).toEqual([]);
      if (dialect === 'postgres') await page.screenshot({ path: `${SHOTS}/team-viewer-${width}.png` });
    }
    const page = await signedIn('viewer');
    await tab(page, 'Constants & Credentials');
    expect(await page.getByRole('button', { name: 'New constant' }).isDisabled()).toBe(true);
    await page.getByTestId('constants-table').getByText('erp-url').click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.getByRole('button', { name: 'Save' }).isDisabled()).toBe(true);
    expect(await dialog.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
    await page.keyboard.press('Escape');
    await tab(page, 'Audit');
    await page.getByTestId('audit-table').waitFor();
    // A change sent anyway (as a hand-made request would) is the database's to refuse.
    const triggers = await countRows(team.root, 'Triggers');
    const refusal = await page.evaluate(async () => {
      const r = await fetch('/api/constants/erp-url', { method: 'PUT', headers: { 'x-openorchestrator-request': '1', 'content-type': 'application/json' }, body: JSON.stringify({ value: 'by-viewer' }) });
      return { status: r.status, body: (await r.json()) as { error: string } };
    });
    expect(refusal.status).toBe(403);
    expect(refusal.body.error).toMatch(/this login lacks .* Constants/);
    expect((await getConstant(team.root, 'erp-url')).value).toBe('https://erp.example/api');
    expect(await countRows(team.root, 'Triggers')).toBe(triggers);
  });

  it('a robot login changes constants but cannot create or delete them; tabs it may not read show the refusal in one line', async () => {
    const page = await signedIn('robot');
    // The trigger list also reads run requests and failure logs, which a robot login may not.
    for (const [name, table] of [
      ['Triggers', 'oo_run_requests'],
      ['Jobs', 'Jobs'],
    ] as const) {
      await tab(page, name);
      const refusal = page.getByRole('alert').first();
      await refusal.waitFor();
      expect(await refusal.textContent()).toMatch(new RegExp(`this login lacks .*${table}.*openorchestrator grants`));
    }
    await tab(page, 'Triggers');
    expect(await page.getByRole('button', { name: 'New single trigger' }).isDisabled()).toBe(true);
    await tab(page, 'Constants & Credentials');
    expect(await page.getByRole('button', { name: 'New constant' }).isDisabled()).toBe(true);
    await page.getByTestId('constants-table').getByText('erp-url').click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Value').fill('https://erp.example/v2');
    expect(await dialog.getByRole('button', { name: 'Delete' }).isDisabled()).toBe(true);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'detached' });
    expect((await getConstant(team.root, 'erp-url')).value).toBe('https://erp.example/v2');
    const rows = await listAudit(team.root, { login: team.logins.robot.user });
    expect(rows.map((r) => r.action)).toEqual(['constant.update']);
  });

  it('two admins at once act as themselves: each change in the audit tab under its own login', async () => {
    const [alice, bob] = await Promise.all([signedIn('admin'), signedIn('admin2')]);
    const create = async (page: Page, name: string) => {
      await tab(page, 'Constants & Credentials');
      await page.getByRole('button', { name: 'New constant' }).click();
      const dialog = page.getByRole('dialog');
      await dialog.getByLabel('Name').fill(name);
      await dialog.getByLabel('Value').fill(`${name}-value`);
      await dialog.getByRole('button', { name: 'Create' }).click();
      await dialog.waitFor({ state: 'detached' });
    };
    await Promise.all([create(alice, 'alice-constant'), create(bob, 'bob-constant')]);
    await tab(alice, 'Audit');
    const table = alice.getByTestId('audit-table');
    for (const [login, target] of [
      ['admin', 'alice-constant'],
      ['admin2', 'bob-constant'],
    ] as const) {
      const row = table.locator('tr', { hasText: target });
      await row.waitFor();
      expect(await row.textContent()).toContain(team.logins[login].user);
      expect(await row.textContent()).toContain('constant.create');
    }
    await alice.getByRole('combobox', { name: 'Who' }).selectOption(team.logins.admin2.user);
    await table.locator('tr', { hasText: 'alice-constant' }).waitFor({ state: 'detached' });
    await table.locator('tr', { hasText: 'bob-constant' }).click();
    await alice.getByText('"value": "bob-constant-value"').waitFor();
    expect(await axeViolations(alice)).toEqual([]);
    if (dialect === 'postgres') await alice.screenshot({ path: `${SHOTS}/team-audit-1440.png` });
  });

  it('signing out and an expired session bring back the sign-in page, and the old session is refused', async () => {
    const page = await signedIn('admin');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('Database user').waitFor();
    expect(await page.context().cookies()).toEqual([]);
    await page.reload();
    await page.getByLabel('Database user').waitFor();

    const short = await startTeam({ team: { idleMinutes: 0.02 } });
    extra.push(short);
    const idle = await signedIn('viewer', 1440, short);
    // The server ends the idle session when it sweeps (every 0.3 s here); then the page's next request is refused.
    await waitFor('the idle session ended', () => short.team!.signedIn === 0, 30_000);
    await idle.getByRole('button', { name: /Refresh/ }).click();
    const notice = idle.getByRole('status');
    await notice.waitFor();
    expect(await notice.textContent()).toMatch(/sign in again/);
    await idle.getByLabel('Database user').waitFor();
  });
});
