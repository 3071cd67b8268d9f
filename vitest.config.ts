import { configDefaults, defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Stops the shared PostgreSQL server: runs alone afterwards (vitest.outage.config.ts, in `npm test`).
    exclude: [...configDefaults.exclude, 'test/scheduler-outage.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Files run in parallel worker processes; each live-database test file makes its own database.
    pool: 'forks',
    // Builds the browser UI once, before the browser tests serve it.
    globalSetup: ['test/global-setup.ts'],
  },
});
