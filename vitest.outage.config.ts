import { defineConfig } from 'vitest/config';

// Tests that stop shared services (the PostgreSQL outage test): run alone, after the others.
export default defineConfig({
  test: {
    include: ['test/scheduler-outage.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
  },
});
