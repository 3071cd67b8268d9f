/**
 * Another web page the admin has open cannot drive the loopback Orchestrator: a real Chromium
 * loads a page from a second origin (another loopback port) that fires cross-origin fetches
 * (no-cors, text/plain bodies, DELETE) and form posts at every state-changing route; afterwards
 * the databases are exactly as they were (still not upgraded, still connected, triggers,
 * constants, credentials and queue elements unchanged).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { generateKey } from '../../src/crypto/fernet.js';
import { startOrchestrator, type RunningOrchestrator } from '../../src/orchestrator/server.js';
import { createTrigger, getTrigger, setTriggerStatus } from '../../src/db/store/triggers.js';
import { createConstant } from '../../src/db/store/constants.js';
import { createCredential } from '../../src/db/store/credentials.js';
import { createQueueElement, getQueueElement, setQueueElementStatus } from '../../src/db/store/queues.js';
import { createTestDatabase, type TestDatabase } from '../helpers/databases.js';
import { countRows, launchChromium, type LiveStore, openLiveStore, TABLES } from './support.js';

const KEY = generateKey();

/** One attack the foreign page makes: fetch (no-cors or cors) or a form post into a hidden frame. */
interface Attack {
  kind: 'fetch' | 'form';
  method: string;
  url: string;
  mode?: 'no-cors' | 'cors';
  body?: string;
}

describe('cross-origin pages cannot change anything through the Orchestrator', () => {
  let fresh: TestDatabase;
  let live: LiveStore;
  let notUpgraded: RunningOrchestrator;
  let upgraded: RunningOrchestrator;
  let foreign: Server;
  let foreignUrl: string;
  let browser: Browser;
  const ids = { paused: '', idle: '', running: '', doomed: '', element: '' };

  beforeAll(async () => {
    fresh = await createTestDatabase('sqlite');
    notUpgraded = await startOrchestrator({ port: 0, connectionString: fresh.url, cryptoKey: KEY });
    expect(notUpgraded.session.status()).toMatchObject({ connected: true, needsUpgrade: true });

    live = await openLiveStore('sqlite');
    const s = live.store;
    const trigger = (name: string) => createTrigger(s, { type: 'SINGLE', triggerName: name, processName: 'p', processPath: 'robot.py', nextRun: new Date(Date.now() + 86_400_000) });
    ids.paused = await trigger('paused-one');
    await setTriggerStatus(s, ids.paused, 'PAUSED');
    ids.idle = await trigger('idle-one');
    ids.running = await trigger('running-one');
    await setTriggerStatus(s, ids.running, 'RUNNING');
    ids.doomed = await trigger('doomed-one');
    await createConstant(s, 'kept-constant', 'v');
    await createCredential(s, KEY, 'kept-credential', 'user', 'pw-not-for-them');
    const element = await createQueueElement(s, 'kept-queue', { reference: 'REF-1' });
    await setQueueElementStatus(s, element.id, 'FAILED', 'boom');
    ids.element = element.id;
    upgraded = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });

    foreign = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end('<!doctype html><title>some other site</title><p>nothing to see</p>');
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', () => resolve()));
    foreignUrl = `http://127.0.0.1:${(foreign.address() as AddressInfo).port}/`;

    browser = await launchChromium();
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (foreign ? foreign.close(() => resolve()) : resolve()));
    await upgraded?.close();
    await notUpgraded?.close();
    await live?.close();
    await fresh?.drop();
  });

  it('refuses every cross-origin change, and the databases stay as they were', async () => {
    const counts: Record<string, number> = {};
    for (const table of TABLES) counts[table] = await countRows(live.store, table);
    const a = notUpgraded.baseUrl;
    const b = upgraded.baseUrl;
    const json = (value: unknown) => JSON.stringify(value);
    const noCors = (url: string, body?: string): Attack => ({ kind: 'fetch', method: 'POST', url, mode: 'no-cors', body });
    // Disconnecting comes last, so that on a vulnerable server every other attack would land first.
    const attacks: Attack[] = [
      noCors(`${a}api/settings/upgrade`),
      { kind: 'form', method: 'POST', url: `${a}api/settings/upgrade` },
      noCors(`${b}api/settings/generate-key`),
      noCors(`${b}api/triggers/${ids.paused}/enable`),
      noCors(`${b}api/triggers/${ids.idle}/disable`),
      noCors(`${b}api/triggers/${ids.running}/kill`),
      { kind: 'form', method: 'POST', url: `${b}api/triggers/${ids.idle}/disable` },
      noCors(`${b}api/triggers`, json({ type: 'SINGLE', triggerName: 'planted', processName: 'p', processPath: 'evil.py', nextRun: '2030-01-01T07:00' })),
      noCors(`${b}api/constants`, json({ name: 'planted', value: 'x' })),
      noCors(`${b}api/queue-elements/retry`, json({ ids: [ids.element] })),
      noCors(`${b}api/queues/kept-queue/elements`, json({ reference: 'planted' })),
      noCors(`${b}api/settings/connect`, json({ connectionString: 'sqlite+pysqlite:///:memory:' })),
      { kind: 'fetch', method: 'DELETE', url: `${b}api/triggers/${ids.doomed}`, mode: 'cors' },
      { kind: 'fetch', method: 'DELETE', url: `${b}api/constants/kept-constant`, mode: 'cors' },
      { kind: 'fetch', method: 'DELETE', url: `${b}api/credentials/kept-credential`, mode: 'cors' },
      { kind: 'fetch', method: 'DELETE', url: `${b}api/queue-elements/${ids.element}`, mode: 'cors' },
      { kind: 'fetch', method: 'PUT', url: `${b}api/constants/kept-constant`, mode: 'cors', body: json({ value: 'changed' }) },
      noCors(`${b}api/settings/disconnect`),
      { kind: 'form', method: 'POST', url: `${b}api/settings/disconnect` },
    ];

    const context = await browser.newContext();
    const page = await context.newPage();
    // What reached the Orchestrators, as the network saw it (an opaque answer still has a status).
    const answered: string[] = [];
    page.on('response', (response) => {
      const request = response.request();
      if (request.method() !== 'OPTIONS' && (response.url().startsWith(a) || response.url().startsWith(b))) answered.push(`${request.method()} ${response.url()} ${response.status()}`);
    });
    await page.goto(foreignUrl);
    for (const [i, attack] of attacks.entries()) {
      if (attack.kind === 'fetch') {
        await page.evaluate(async ({ method, url, mode, body }) => {
          try {
            await fetch(url, { method, mode, body, credentials: 'include', headers: body === undefined ? undefined : { 'content-type': 'text/plain' } });
          } catch {
            // a refused preflight rejects the fetch; the state check below is what counts
          }
        }, attack);
      } else {
        const arrived = page.waitForResponse((response) => response.url() === attack.url && response.request().method() === 'POST');
        await page.evaluate(
          ({ url, name }) => {
            const frame = document.createElement('iframe');
            frame.name = name;
            document.body.append(frame);
            const form = document.createElement('form');
            form.method = 'POST';
            form.action = url;
            form.target = name;
            const field = document.createElement('input');
            field.name = 'confirm';
            field.value = 'yes';
            form.append(field);
            document.body.append(form);
            form.submit();
          },
          { url: attack.url, name: `sink${i}` },
        );
        await arrived;
      }
    }
    await context.close();

    expect(notUpgraded.session.status()).toMatchObject({ connected: true, needsUpgrade: true });
    expect(upgraded.session.status()).toMatchObject({ connected: true, needsUpgrade: false, hasKey: true });
    expect((await getTrigger(live.store, ids.paused)).status).toBe('PAUSED');
    expect((await getTrigger(live.store, ids.idle)).status).toBe('IDLE');
    expect((await getTrigger(live.store, ids.running)).status).toBe('RUNNING');
    expect((await getTrigger(live.store, ids.doomed)).triggerName).toBe('doomed-one');
    for (const table of TABLES) expect(await countRows(live.store, table), table).toBe(counts[table]);
    expect((await getQueueElement(live.store, ids.element)).status).toBe('FAILED');

    // Every no-cors fetch and form post reached a server and was refused there; cors ones died at the preflight.
    const reached = attacks.filter((attack) => attack.mode !== 'cors').length;
    expect(answered.length, answered.join('\n')).toBeGreaterThanOrEqual(reached);
    for (const line of answered) expect(line).toMatch(/ 403$/);
  }, 120_000);
});
