/** The access roles on live PostgreSQL (see access-suite.ts). */
import { accessSuite } from './access-suite.js';

accessSuite('postgres');
