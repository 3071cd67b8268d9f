/**
 * Says in the test output that the SQL Server runs of a per-dialect suite did not happen: a
 * skipped describe named for the reason, the only skip there is (never an assertion passed
 * over in silence). With OO_TEST_MSSQL set, the suite runs on SQL Server instead and this adds
 * nothing.
 */
import { describe, it } from 'vitest';
import { MSSQL_ADMIN_URL, MSSQL_NOT_RUN } from './databases.js';

/** Call next to a per-dialect suite: without OO_TEST_MSSQL, one skipped test says it did not run on SQL Server. */
export function reportMssqlNotRun(suite: string): void {
  if (MSSQL_ADMIN_URL) return;
  describe.skip(`${suite} ${MSSQL_NOT_RUN}`, () => {
    it(`${suite} on mssql`, () => undefined);
  });
}
