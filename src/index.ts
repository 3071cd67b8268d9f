/**
 * The `openorchestrator` package as a library: the robot API first, then the building blocks
 * the Orchestrator and Scheduler use.
 *
 * @example
 *   import { createConnectionFromArgs } from 'openorchestrator';
 *   const oc = createConnectionFromArgs();
 *   await oc.logInfo('hello from a TypeScript robot');
 */
export {
  OrchestratorConnection,
  createConnectionFromArgs,
  createConnectionFromEnvironment,
  type ConnectionOptions,
  type Constant,
  type Credential,
  type QueueElement,
  type NewQueueElement,
  type QueueElementFilter,
} from './connection/orchestrator-connection.js';
export { encrypt, decrypt, decryptString, generateKey, validateKey } from './crypto/fernet.js';
export { parseConnectionString, redactConnectionString, type ConnectionConfig, type TlsConfig } from './config/connection-string.js';
export { scrubSecrets, connectionSecrets } from './config/secrets.js';
export { openStore, closeStore, type Store } from './db/open.js';
export { upgradeDatabase } from './db/schema/upgrade.js';
export type { LogLevel, QueueStatus, TriggerStatus, TriggerType, JobStatus } from './db/types.js';
export { InputError, NotFoundError, ConnectionStringError, CryptoError, SchemaError, DatabaseError, ClaimConflictError } from './errors.js';
