/**
 * Runs once before the test files: builds the browser UI into web/dist when it is missing or
 * older than its sources, so the browser tests (which run in parallel) all serve one build.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { MSSQL_NOT_RUN } from './helpers/databases.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function newestChange(paths: string[]): number {
  let newest = 0;
  for (const path of paths) {
    const stat = statSync(path);
    if (stat.isDirectory()) newest = Math.max(newest, newestChange(readdirSync(path).map((name) => join(path, name))));
    else newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

export default async function setup(): Promise<void> {
  // Said once, plainly, before the run: the suites' skipped "NOT RUN on mssql" tests say it per suite.
  if (!process.env.OO_TEST_MSSQL) console.log(`SQL Server: ${MSSQL_NOT_RUN.replace('NOT RUN on mssql: ', 'the store, robot API and Scheduler suites did NOT run on mssql: ')}`);
  let built = 0;
  try {
    built = statSync(join(ROOT, 'web/dist/index.html')).mtimeMs;
  } catch {
    // not built yet
  }
  const sources = newestChange([join(ROOT, 'web/src'), join(ROOT, 'web/index.html'), join(ROOT, 'web/vite.config.ts')]);
  if (built > sources) return;
  await build({ configFile: join(ROOT, 'web/vite.config.ts'), logLevel: 'error' });
}
