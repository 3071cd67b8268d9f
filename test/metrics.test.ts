/**
 * Prometheus metrics, scraped by a real HTTP client and read with a real parser of the text
 * format (parse-prometheus-text-format): a Scheduler's job counters, durations, claim and
 * dispatch latencies move when its jobs run; the monitor's notification counter and the queue
 * and incident gauges follow a real monitor tick and the database; the Orchestrator's /metrics
 * is opt-in and sits behind its token; a metrics server on loopback refuses other host names.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Store } from '../src/db/open.js';
import { createChannel, createRule } from '../src/db/store/alerts.js';
import { createQueueElement } from '../src/db/store/queues.js';
import { createTrigger } from '../src/db/store/triggers.js';
import { metricsRegistry, setScrapeStore } from '../src/metrics/metrics.js';
import { parseMetricsAddress, serveMetrics, type MetricsServer } from '../src/metrics/server.js';
import { Monitor } from '../src/monitor/monitor.js';
import { startOrchestrator } from '../src/orchestrator/server.js';
import { createConsoleLog } from '../src/scheduler/console-log.js';
import { startHttpReceiver, type HttpReceiver } from './helpers/receivers.js';
import { KEY, startScheduler, waitForEndedJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ROBOTS = fileURLToPath(new URL('./fixtures/robots/', import.meta.url));
const quiet = createConsoleLog({ write: () => undefined });

/** Scrapes `url` with fetch and parses the text; fails on anything but 200 and Prometheus's content type. */
async function scrape(url: string, headers: Record<string, string> = {}): Promise<ParsedFamily[]> {
  const response = await fetch(url, { headers });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusTextFormat(await response.text());
}

/**
 * Each histogram series' count (`name{label=value,...}`), from prom-client's registry: the parser
 * above reads counters and gauges with their labels but folds a histogram's labelled series into
 * one (it keys them by `le` alone), so the scrape is checked for the family as a whole.
 */
async function histogramCounts(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for (const family of await metricsRegistry().getMetricsAsJSON()) {
    if (String(family.type) !== 'histogram') continue;
    for (const value of family.values as { metricName?: string; labels: Record<string, unknown>; value: number }[]) {
      if (value.metricName !== `${family.name}_count`) continue;
      counts.set(`${family.name}{${Object.entries(value.labels).map(([k, v]) => `${k}=${String(v)}`).join(',')}}`, value.value);
    }
  }
  return counts;
}

/** The value of one counter or gauge sample (0 when absent). */
function sample(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const family = families.find((f) => f.name === name);
  const found = family?.metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!found) return 0;
  return Number(found.value);
}

describe('metrics', () => {
  let live: TestStore;
  let store: Store;
  let server: MetricsServer;
  let http: HttpReceiver;

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    store = live.store;
    server = await serveMetrics(parseMetricsAddress('127.0.0.1:0'));
    http = await startHttpReceiver();
  });
  afterAll(async () => {
    setScrapeStore(undefined);
    await server?.close();
    await http?.close();
    await live?.close();
  });

  it('reads --metrics addresses and refuses what it cannot listen on, in one line', () => {
    expect(parseMetricsAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseMetricsAddress(':9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseMetricsAddress('[::1]:9464')).toEqual({ host: '::1', port: 9464 });
    expect(() => parseMetricsAddress('9464')).toThrow('--metrics 9464 is not an address to listen on: give host:port, e.g. 127.0.0.1:9464 (or 0.0.0.0:9464 for other machines)');
    expect(() => parseMetricsAddress('localhost:70000')).toThrow(/is not an address to listen on/);
  });

  it("counts a Scheduler's jobs by process and outcome, with durations, claim and dispatch latency", async () => {
    const before = await scrape(server.url);
    const histogramsBefore = await histogramCounts();
    const done = await createTrigger(store, { type: 'SINGLE', triggerName: 'hello', processName: 'metrics-hello', processPath: `${ROBOTS}hello.mjs`, nextRun: new Date(Date.now() - 1000) });
    const failed = await createTrigger(store, { type: 'SINGLE', triggerName: 'fails', processName: 'metrics-fails', processPath: `${ROBOTS}fails.mjs`, nextRun: new Date(Date.now() - 1000) });
    const scheduler = startScheduler({ connectionString: live.url });
    try {
      await waitForEndedJob(store, done);
      await waitForEndedJob(store, failed);
    } finally {
      await scheduler.stop();
    }
    const after = await scrape(server.url);
    const moved = (name: string, labels: Record<string, string> = {}) => sample(after, name, labels) - sample(before, name, labels);
    expect(moved('openorchestrator_jobs_started_total', { process: 'metrics-hello' })).toBe(1);
    expect(moved('openorchestrator_jobs_started_total', { process: 'metrics-fails' })).toBe(1);
    expect(moved('openorchestrator_jobs_ended_total', { process: 'metrics-hello', outcome: 'done' })).toBe(1);
    expect(moved('openorchestrator_jobs_ended_total', { process: 'metrics-fails', outcome: 'failed' })).toBe(1);
    // The histograms' series, each with its labels (see histogramCounts), moved by as many.
    const histograms = await histogramCounts();
    const histogramMoved = (key: string) => (histograms.get(key) ?? 0) - (histogramsBefore.get(key) ?? 0);
    expect(histogramMoved('openorchestrator_job_duration_seconds{process=metrics-hello,outcome=done}')).toBe(1);
    expect(histogramMoved('openorchestrator_job_duration_seconds{process=metrics-fails,outcome=failed}')).toBe(1);
    expect(histogramMoved('openorchestrator_trigger_claim_seconds{result=claimed}')).toBe(2);
    expect(histogramMoved('openorchestrator_dispatch_delay_seconds{type=SINGLE}')).toBe(2);
    // In the scrape, each histogram's +Inf bucket counts every observation of the family.
    const inf = (families: ParsedFamily[], name: string) => Number(families.find((f) => f.name === name)?.metrics[0]?.buckets?.['+Inf'] ?? 0);
    expect(inf(after, 'openorchestrator_trigger_claim_seconds') - inf(before, 'openorchestrator_trigger_claim_seconds')).toBe(2);
    const families = new Map(after.map((f) => [f.name, f.type]));
    expect(families.get('openorchestrator_jobs_ended_total')).toBe('COUNTER');
    expect(families.get('openorchestrator_job_duration_seconds')).toBe('HISTOGRAM');
    expect(families.get('openorchestrator_process_cpu_seconds_total')).toBe('COUNTER');
  });

  it("reads queue depth and age and open incidents from the database at each scrape, and counts the monitor's deliveries", async () => {
    for (let i = 0; i < 3; i++) await createQueueElement(store, 'metrics-queue', { reference: `r${i}` });
    const channel = await createChannel(store, { name: 'hook', kind: 'WEBHOOK', settings: { url: `${http.url}/hook`, template: 'json', body: null } });
    await createRule(store, { name: 'backlog of metrics-queue', kind: 'QUEUE_BACKLOG', target: 'metrics-queue', threshold: 2, channelIds: [channel.id], enabled: true });
    const before = await scrape(server.url);
    // No database to read from: the gauges are empty, the scrape still answers.
    expect(sample(before, 'openorchestrator_queue_new_elements', { queue: 'metrics-queue' })).toBe(0);

    const monitor = new Monitor({ connectionString: live.url, cryptoKey: KEY, name: 'metrics-monitor', intervalSeconds: 60 }, quiet);
    try {
      expect(await monitor.tick()).toMatchObject({ opened: 1, sent: 1 });
    } finally {
      await monitor.close();
    }
    setScrapeStore(() => store);
    const after = await scrape(server.url);
    expect(sample(after, 'openorchestrator_queue_new_elements', { queue: 'metrics-queue' })).toBe(3);
    expect(sample(after, 'openorchestrator_queue_oldest_new_age_seconds', { queue: 'metrics-queue' })).toBeGreaterThanOrEqual(0);
    expect(sample(after, 'openorchestrator_open_incidents', { rule: 'backlog of metrics-queue', kind: 'QUEUE_BACKLOG' })).toBe(1);
    expect(sample(after, 'openorchestrator_notifications_total', { channel: 'WEBHOOK', outcome: 'sent' }) - sample(before, 'openorchestrator_notifications_total', { channel: 'WEBHOOK', outcome: 'sent' })).toBe(1);
    expect(http.posts).toHaveLength(1);
  });

  it('the Grafana dashboard in docs/ asks only for metrics that are served', async () => {
    const dashboard = readFileSync(fileURLToPath(new URL('../docs/grafana-dashboard.json', import.meta.url)), 'utf8');
    const served = new Set((await scrape(server.url)).map((family) => family.name));
    const asked = new Set([...dashboard.matchAll(/openorchestrator_[a-z_]+/g)].map(([name]) => name.replace(/_bucket$/, '')));
    expect(asked.size).toBeGreaterThan(10);
    expect([...asked].filter((name) => !served.has(name))).toEqual([]);
    expect(JSON.parse(dashboard)).toMatchObject({ uid: 'openorchestrator', __inputs: [{ name: 'DS_PROMETHEUS', pluginId: 'prometheus' }] });
  });

  it('answers only loopback names on a loopback address, and only /metrics', async () => {
    const get = (path: string, host: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const { port } = new URL(server.url);
        const req = request({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
          let body = '';
          response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ status: response.statusCode!, body }));
        });
        req.on('error', reject);
        req.end();
      });
    expect(await get('/metrics', 'evil.example:80')).toEqual({ status: 403, body: 'this metrics server answers only requests addressed to 127.0.0.1 or localhost, not "evil.example"\n' });
    expect((await get('/', 'localhost')).status).toBe(404);
    expect((await get('/metrics', 'localhost')).status).toBe(200);
  });

  it("serves the Orchestrator's /metrics only when asked, behind its token", async () => {
    const token = 'metrics-token-1234';
    const orchestrator = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY, token, metrics: true });
    const plain = await startOrchestrator({ port: 0, connectionString: live.url, cryptoKey: KEY });
    try {
      const url = `${orchestrator.baseUrl}metrics`;
      expect((await fetch(url)).status).toBe(401);
      const families = await scrape(url, { authorization: `Bearer ${token}` });
      expect(sample(families, 'openorchestrator_queue_new_elements', { queue: 'metrics-queue' })).toBe(3);
      // Without --metrics the path is the web app's (its page), never the metrics.
      expect(await (await fetch(`${plain.baseUrl}metrics`)).text()).not.toContain('openorchestrator_');
    } finally {
      await orchestrator.close();
      await plain.close();
    }
  });
});
