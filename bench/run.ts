/**
 * `npm run bench`: every benchmark, one after another, on SQLite, PostgreSQL and MariaDB. Prints
 * one table (progress goes to stderr) and writes it to bench/results/latest.json, .md and .svg
 * (a run with --quick, --only or --dialects writes partial.* instead, leaving the full results). Each figure sits beside a baseline measured in the same process,
 * right before or after it, so the ratio stays meaningful on a noisy machine.
 *
 *   npm run bench                 full run (~50 min on 2 cores): 100k/1M rows and 10x less
 *   npm run bench -- --quick      the 10x-smaller sizes only, fewer repetitions (~3 min)
 *   npm run bench -- --only=claim only benchmarks whose name contains "claim"
 *   npm run bench -- --dialects=postgres,mysql
 *   npm run bench -- --only=dashboard  the dashboard queries only
 *   npm run bench -- --only=fleet      idle Scheduler fleets on PostgreSQL (also via PgBouncer) and MariaDB (~30 min)
 *   npm run bench -- --only=retention  purging 5M old log rows (SQLite 1M) while 8 robots write
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchBulkInsert } from './lib/bulk-insert.js';
import { benchClaim } from './lib/claim.js';
import { benchClaimWhileInserting } from './lib/claim-inserts.js';
import { fmt, type LiveDialect, type Row } from './lib/common.js';
import { benchDashboard } from './lib/dashboard.js';
import { benchDispatch } from './lib/dispatch.js';
import { benchFleetBouncer, benchFleetGrowth, benchFleetQueueNames, benchFleetQueueTriggers, benchFleetSizes, type FleetDialect } from './lib/fleet.js';
import { benchLogsList, benchQueueList } from './lib/lists.js';
import { benchRetention } from './lib/retention.js';
import { renderSvg } from './lib/svg.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const only = args.find((a) => a.startsWith('--only='))?.slice(7);
const dialects = (args.find((a) => a.startsWith('--dialects='))?.slice(11).split(',') ?? ['sqlite', 'postgres', 'mysql']) as LiveDialect[];

interface Task {
  name: string;
  run(): Promise<Row | Row[]>;
}

const tasks: Task[] = [];
const sizes = <T>(full: T[], short: T[]) => (quick ? short : full);
for (const d of dialects) {
  for (const n of sizes([10_000, 100_000], [10_000])) tasks.push({ name: `bulk insert ${d} ${n}`, run: () => benchBulkInsert(d, n, quick ? 1 : 2) });
}
for (const d of dialects) {
  for (const w of [8, 32]) {
    for (const n of sizes([2_000, 20_000], [2_000])) tasks.push({ name: `claim ${d} ${w} workers ${n}`, run: () => benchClaim(d, w, n, quick ? 20_000 : 45_000) });
  }
}
for (const d of dialects.filter((x): x is FleetDialect => x !== 'sqlite')) {
  // An element inserted during a claim storm adds no lock waits to the claimers (issue 24).
  tasks.push({ name: `claims while inserting ${d}`, run: () => benchClaimWhileInserting(d, 8, quick ? 3_000 : 10_000) });
}
for (const d of dialects) {
  for (const n of sizes([100_000, 1_000_000], [100_000])) tasks.push({ name: `logs list ${d} ${n}`, run: () => benchLogsList(d, n, quick ? 15 : 40) });
}
for (const d of dialects) {
  for (const n of sizes([100_000, 1_000_000], [100_000])) tasks.push({ name: `queue list ${d} ${n}`, run: () => benchQueueList(d, n, quick ? 10 : 25) });
}
for (const d of dialects) {
  for (const idle of sizes([100, 1000], [100])) tasks.push({ name: `dispatch ${d} ${idle} idle`, run: () => benchDispatch(d, quick ? 6 : 12, idle) });
}
for (const d of dialects) {
  for (const n of sizes([1_000, 1_000_000], [1_000, 100_000])) tasks.push({ name: `dashboard ${d} ${n}`, run: () => benchDashboard(d, n, quick ? 5 : 15) });
}
for (const d of dialects) {
  // Old log rows purged while 8 robots log and claim (SQLite at a fifth of the size).
  const n = d === 'sqlite' ? sizes([1_000_000], [200_000])[0]! : sizes([5_000_000], [500_000])[0]!;
  tasks.push({ name: `retention ${d} ${n}`, run: () => benchRetention(d, n, 8) });
}
for (const d of dialects.filter((x): x is FleetDialect => x !== 'sqlite')) {
  tasks.push({ name: `fleet ${d} sizes`, run: () => benchFleetSizes(d, quick) });
  if (d === 'postgres') tasks.push({ name: `fleet ${d} via PgBouncer`, run: () => benchFleetBouncer(quick) });
  tasks.push({ name: `fleet ${d} growth`, run: () => benchFleetGrowth(d, quick) });
  tasks.push({ name: `fleet ${d} queue triggers`, run: () => benchFleetQueueTriggers(d, quick) });
  tasks.push({ name: `fleet ${d} queue names`, run: () => benchFleetQueueNames(d, quick) });
}
const selected = tasks.filter((t) => !only || t.name.includes(only));

const rows: Row[] = [];
const failures: string[] = [];
const began = Date.now();
for (const [i, task] of selected.entries()) {
  const elapsed = ((Date.now() - began) / 1000).toFixed(0);
  process.stderr.write(`[${i + 1}/${selected.length}, ${elapsed} s] ${task.name}\n`);
  try {
    const result = await task.run();
    rows.push(...(Array.isArray(result) ? result : [result]));
  } catch (error) {
    failures.push(`${task.name}: ${(error as Error).message}`);
    process.stderr.write(`  !! ${task.name} failed: ${(error as Error).message}\n`);
  }
}

function table(rows: Row[]): string {
  const head = ['benchmark', 'database', 'size', 'metric', 'ours', 'baseline', 'baseline value', 'ratio', 'target', 'met'];
  const body = rows.map((r) => [
    r.bench,
    r.dialect,
    r.size,
    r.metric,
    `${fmt(r.ours)} ${r.unit}`,
    r.baselineName,
    `${fmt(r.baseline)} ${r.unit}`,
    `${r.ratio.toFixed(2)}x`,
    r.target,
    r.met === null ? '' : r.met ? 'yes' : 'NO',
  ]);
  const widths = head.map((h, c) => Math.max(h.length, ...body.map((b) => b[c]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

const seconds = Math.round((Date.now() - began) / 1000);
console.log(table(rows));
console.log(`\n${rows.filter((r) => r.met === false).length} target(s) missed; ${failures.length} benchmark(s) failed; ${seconds} s, ${quick ? 'quick' : 'full'} run, ${cpus().length} CPUs, Node ${process.version}`);
for (const f of failures) console.log(`failed: ${f}`);

const dir = fileURLToPath(new URL('./results/', import.meta.url));
mkdirSync(dir, { recursive: true });
const meta = { date: new Date().toISOString(), mode: quick ? 'quick' : 'full', seconds, cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, failures };
// Only a full run replaces the full results; a selective or quick one goes beside them.
const name = quick || only || args.some((a) => a.startsWith('--dialects=')) ? 'partial' : 'latest';
writeFileSync(`${dir}${name}.json`, `${JSON.stringify({ ...meta, args, rows }, null, 2)}\n`);
writeFileSync(`${dir}${name}.svg`, renderSvg(rows, `OpenOrchestrator bench, ${meta.mode} run, ${meta.date.slice(0, 16)}`));
writeFileSync(`${dir}${name}.md`, `${table(rows)}\n`);
process.stderr.write(`wrote ${dir}${name}.json, ${name}.svg and ${name}.md\n`);
if (failures.length > 0) process.exitCode = 1;
