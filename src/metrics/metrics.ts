/**
 * Prometheus metrics of this process (prom-client), in a registry of our own so that an
 * application embedding the library keeps its default registry to itself. The Scheduler, the
 * monitor and the Orchestrator record what they do here (cheap counters and histograms, kept
 * whether or not anything scrapes them); the gauges of queues and incidents are read from the
 * database when scraped, by the parts whose login may read those tables (the monitor and the
 * Orchestrator: `setScrapeStore`). docs/operations.md lists every metric.
 *
 * @example
 *   metrics().jobsStarted.inc({ process: 'invoices' });
 *   const text = await metricsRegistry().metrics();
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Store } from '../db/open.js';
import { listIncidents, listRules } from '../db/store/alerts.js';
import { listQueueBacklogs } from '../db/store/health.js';
import { now } from '../time/clock.js';

const PREFIX = 'openorchestrator_';

export interface Metrics {
  jobsStarted: Counter<'process'>;
  jobsEnded: Counter<'process' | 'outcome'>;
  jobDuration: Histogram<'process' | 'outcome'>;
  claimLatency: Histogram<'result'>;
  dispatchDelay: Histogram<'type'>;
  databaseErrors: Counter<'component'>;
  databaseReconnects: Counter<'component'>;
  notifications: Counter<'channel' | 'outcome'>;
  purgedRows: Counter<'table'>;
  queueNew: Gauge<'queue'>;
  queueOldestNewAge: Gauge<'queue'>;
  openIncidents: Gauge<'rule' | 'kind'>;
}

let registry: Registry | undefined;
let instruments: Metrics | undefined;
let scrapeStore: (() => Store | undefined) | undefined;
/** The gauges' read of the scrape under way: prom-client collects every metric at once, and the three gauges share one read. */
let reading: Promise<void> | undefined;

/** The registry `/metrics` serves (created with the Node process metrics on first use). */
export function metricsRegistry(): Registry {
  if (!registry) {
    registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: PREFIX });
  }
  return registry;
}

/**
 * Where the scrape-time gauges (queue depth and age, open incidents) read from; undefined: they
 * stay empty. The last caller wins: in one process the monitor and the Orchestrator share a database.
 */
export function setScrapeStore(source: (() => Store | undefined) | undefined): void {
  scrapeStore = source;
}

/** Reads the queues' New backlogs and the open incidents into their gauges, once per scrape. */
async function readGauges(m: Metrics): Promise<void> {
  m.queueNew.reset();
  m.queueOldestNewAge.reset();
  m.openIncidents.reset();
  const store = scrapeStore?.();
  if (!store) return;
  try {
    const at = now().getTime();
    // One index probe per queue (db/store/health.ts): cheap at every scrape.
    for (const queue of await listQueueBacklogs(store)) {
      m.queueNew.set({ queue: queue.queueName }, queue.newCount);
      m.queueOldestNewAge.set({ queue: queue.queueName }, Math.max(0, (at - queue.oldestNew.getTime()) / 1000));
    }
    const rules = new Map((await listRules(store)).map((rule) => [rule.id, rule]));
    for (const incident of await listIncidents(store, { state: 'OPEN', limit: 1000 })) {
      const rule = rules.get(incident.ruleId);
      m.openIncidents.inc({ rule: rule?.name ?? incident.ruleId, kind: rule?.kind ?? 'unknown' });
    }
  } catch {
    // A scrape must answer while the database does not: the gauges stay empty, the error is counted.
    m.databaseErrors.inc({ component: 'scrape' });
  }
}

function readGaugesOnce(): Promise<void> {
  reading ??= readGauges(instruments!).finally(() => (reading = undefined));
  return reading;
}

/** The instruments, created in the registry on first use. */
export function metrics(): Metrics {
  if (instruments) return instruments;
  const registers = [metricsRegistry()];
  const collect = readGaugesOnce;
  const m: Metrics = {
    jobsStarted: new Counter({ name: `${PREFIX}jobs_started_total`, help: 'Jobs this Scheduler started, by process', labelNames: ['process'], registers }),
    jobsEnded: new Counter({ name: `${PREFIX}jobs_ended_total`, help: 'Jobs this Scheduler saw end, by process and outcome (done, failed, killed)', labelNames: ['process', 'outcome'], registers }),
    jobDuration: new Histogram({
      name: `${PREFIX}job_duration_seconds`,
      help: 'How long jobs ran, from the claim to the end of the process tree',
      labelNames: ['process', 'outcome'],
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400],
      registers,
    }),
    claimLatency: new Histogram({
      name: `${PREFIX}trigger_claim_seconds`,
      help: "The Scheduler's claim of a due trigger (one transaction: trigger status, next run, Jobs row), by result (claimed, lost to another Scheduler)",
      labelNames: ['result'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    dispatchDelay: new Histogram({
      name: `${PREFIX}dispatch_delay_seconds`,
      help: 'From a single or scheduled trigger\'s due time to its process running (queue triggers have no due time)',
      labelNames: ['type'],
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    databaseErrors: new Counter({ name: `${PREFIX}database_errors_total`, help: 'Database statements that failed, by component (scheduler, monitor, scrape)', labelNames: ['component'], registers }),
    databaseReconnects: new Counter({ name: `${PREFIX}database_reconnects_total`, help: 'Times the database answered again after failing, by component', labelNames: ['component'], registers }),
    notifications: new Counter({ name: `${PREFIX}notifications_total`, help: 'Alert notifications the monitor tried to deliver, by channel kind and outcome (sent, failed)', labelNames: ['channel', 'outcome'], registers }),
    purgedRows: new Counter({ name: `${PREFIX}purged_rows_total`, help: 'Rows the monitor purged by the retention periods, by table', labelNames: ['table'], registers }),
    queueNew: new Gauge({ name: `${PREFIX}queue_new_elements`, help: 'New elements per queue (read at scrape)', labelNames: ['queue'], registers, collect }),
    queueOldestNewAge: new Gauge({ name: `${PREFIX}queue_oldest_new_age_seconds`, help: "Age of each queue's oldest New element (read at scrape)", labelNames: ['queue'], registers, collect }),
    openIncidents: new Gauge({ name: `${PREFIX}open_incidents`, help: 'Open incidents per alert rule (read at scrape)', labelNames: ['rule', 'kind'], registers, collect }),
  };
  instruments = m;
  return m;
}
