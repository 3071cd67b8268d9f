/**
 * The Scheduler suite (helpers/scheduler-suite.ts) on SQL Server, when OO_TEST_MSSQL names one;
 * without it, the output says that this run did not happen.
 */
import { MSSQL_ADMIN_URL } from './helpers/databases.js';
import { reportMssqlNotRun } from './helpers/mssql.js';
import { schedulerSuite } from './helpers/scheduler-suite.js';

if (MSSQL_ADMIN_URL) schedulerSuite('mssql');
else reportMssqlNotRun('Scheduler');
