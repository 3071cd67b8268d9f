/** The Scheduler with real robot processes and git repositories, on MariaDB (suite in helpers/scheduler-suite.ts). */
import { schedulerSuite } from './helpers/scheduler-suite.js';

schedulerSuite('mysql');
