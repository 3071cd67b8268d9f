import { defineConfig } from 'vitest/config';

// Tests that stop or restart shared services (the PostgreSQL outage test, the PostgreSQL and
// MariaDB restarts under load): run alone, one file after another, after the others.
export default defineConfig({
  test: {
    include: ['test/scheduler-outage.test.ts', 'test/reliability-restart.outage.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
