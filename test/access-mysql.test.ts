/** The access roles on live MariaDB/MySQL (see access-suite.ts). */
import { accessSuite } from './access-suite.js';

accessSuite('mysql');
