/**
 * OrchestratorConnection: the library a TypeScript/JavaScript robot uses, with everything the
 * Python client offers. Unlike the Python one it holds no global state, so one process may
 * keep connections to several databases.
 *
 * @example
 *   import { createConnectionFromArgs } from 'openorchestrator';
 *   const oc = createConnectionFromArgs();
 *   await oc.logInfo('started');
 *   const element = await oc.getNextQueueElement('invoices');
 *   if (element) await oc.setQueueElementStatus(element.id, 'DONE');
 *   await oc.close();
 */
import { readEnvironment } from '../config/environment.js';
import { validateKey } from '../crypto/fernet.js';
import { DatabaseError, InputError } from '../errors.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../db/open.js';
import * as constants from '../db/store/constants.js';
import * as credentials from '../db/store/credentials.js';
import * as logs from '../db/store/logs.js';
import * as queues from '../db/store/queues.js';
import * as retries from '../db/store/retries.js';
import * as triggers from '../db/store/triggers.js';
import type { LogLevel, QueueStatus } from '../db/types.js';
import { NOT_A_COLUMN, checkId, checkText } from '../db/store/validate.js';

export type { Constant } from '../db/store/constants.js';
export type { Credential } from '../db/store/credentials.js';
export type { QueueElement, NewQueueElement, QueueElementFilter, QueueElementChanges } from '../db/store/queues.js';
export type { FailureOutcome, ElementAttempts, ElementEvent } from '../db/store/retries.js';

/** Environment variables the Scheduler sets for every robot, beside the argv protocol. */
export const ENV_PROCESS_NAME = 'OpenOrchestratorProcessName';
export const ENV_PROCESS_ARGS = 'OpenOrchestratorProcessArgs';
export const ENV_TRIGGER_ID = 'OpenOrchestratorTriggerId';
export const ENV_JOB_ID = 'OpenOrchestratorJobId';

export interface ConnectionOptions {
  processName: string;
  connectionString: string;
  cryptoKey: string;
  processArguments?: string;
  triggerId?: string;
  /** the Jobs row the Scheduler made for this run; logs carry it */
  jobId?: string;
}

export class OrchestratorConnection {
  readonly processName: string;
  readonly processArguments: string;
  readonly triggerId: string | undefined;
  readonly jobId: string | undefined;
  readonly #key: string;
  readonly #store: Store;
  #closed = false;

  constructor(options: ConnectionOptions) {
    checkText(NOT_A_COLUMN, 'connection string', options.connectionString, 10_000);
    validateKey(options.cryptoKey);
    this.#key = options.cryptoKey;
    this.processArguments = options.processArguments ?? '';
    this.triggerId = options.triggerId || undefined;
    // Checked here, so a wrong value names itself instead of failing the first log write.
    this.jobId = options.jobId ? checkId('job id', options.jobId) : undefined;
    // Opening connects nothing yet; the store's dialect says how Logs.process_name counts length.
    const store = openStore(options.connectionString);
    try {
      this.processName = checkText(store.dialect, 'process name', options.processName, 100);
    } catch (error) {
      void closeStore(store);
      throw error;
    }
    this.#store = store;
  }

  /** Runs a store call, turning driver errors into one-line messages without the password. */
  async #run<T>(call: (store: Store) => Promise<T>): Promise<T> {
    // Kysely would say "driver has already been destroyed", which names no cause a robot author knows.
    if (this.#closed) throw new DatabaseError('this OrchestratorConnection is closed; create a new one to use the database again');
    try {
      return await call(this.#store);
    } catch (error) {
      throw toDatabaseError(error, this.#store.config);
    }
  }

  // Every public method is async, so bad input rejects the promise like any other failure
  // instead of throwing before the caller's `.catch` is attached.
  async #log(level: LogLevel, message: string): Promise<void> {
    if (typeof message !== 'string') throw new InputError('log message must be text');
    return this.#run(async (store) => {
      await logs.createLog(store, { level, processName: this.processName, message, jobId: this.jobId });
    });
  }

  logTrace(message: string): Promise<void> {
    return this.#log('TRACE', message);
  }

  logInfo(message: string): Promise<void> {
    return this.#log('INFO', message);
  }

  logError(message: string): Promise<void> {
    return this.#log('ERROR', message);
  }

  /** The constant's value record; a missing name throws NotFoundError. */
  getConstant(name: string): Promise<constants.Constant> {
    return this.#run((store) => constants.getConstant(store, name));
  }

  updateConstant(name: string, newValue: string): Promise<void> {
    return this.#run((store) => constants.updateConstant(store, name, newValue));
  }

  /** The credential with its password decrypted. */
  getCredential(name: string): Promise<credentials.Credential> {
    return this.#run((store) => credentials.getCredential(store, this.#key, name));
  }

  updateCredential(name: string, newUsername: string, newPassword: string): Promise<void> {
    return this.#run((store) => credentials.updateCredential(store, this.#key, name, newUsername, newPassword));
  }

  createQueueElement(queueName: string, element: queues.NewQueueElement = {}): Promise<queues.QueueElement> {
    return this.#run((store) => queues.createQueueElement(store, queueName, element));
  }

  /**
   * Creates many elements at once, in large batches within one transaction.
   * `createdBy` defaults to this robot's process name, as in the Python client.
   */
  async bulkCreateQueueElements(queueName: string, elements: queues.NewQueueElement[]): Promise<number> {
    if (!Array.isArray(elements)) throw new InputError('elements must be an array of { reference, data, createdBy }');
    const withCreator = elements.map((e) => ({ ...e, createdBy: e?.createdBy ?? this.processName }));
    return this.#run((store) => queues.bulkCreateQueueElements(store, queueName, withCreator));
  }

  /** Claims the oldest New element (In Progress from now on), or undefined if the queue is empty. */
  getNextQueueElement(queueName: string, options: { reference?: string; setStatus?: boolean } = {}): Promise<queues.QueueElement | undefined> {
    return this.#run((store) => queues.getNextQueueElement(store, queueName, options));
  }

  getQueueElements(queueName: string, filter: queues.QueueElementFilter = {}): Promise<queues.QueueElement[]> {
    return this.#run((store) => queues.getQueueElements(store, queueName, filter));
  }

  /** One element by id, whatever its status; an unknown id throws NotFoundError. */
  getQueueElement(id: string): Promise<queues.QueueElement> {
    return this.#run((store) => queues.getQueueElement(store, id));
  }

  /**
   * Changes the given fields of an element (reference, status, data, message, createdBy and
   * the dates) and returns it as stored. A new status sets no date by itself.
   *
   * @example await oc.updateQueueElement(id, { message: 'waiting for approval', status: 'NEW' });
   */
  updateQueueElement(id: string, changes: queues.QueueElementChanges): Promise<queues.QueueElement> {
    return this.#run((store) => queues.updateQueueElement(store, id, changes));
  }

  /**
   * Sets an element's status. FAILED is a retryable failure: on a queue with retry settings it
   * is counted and retried after the queue's delay, as `failQueueElement` does.
   */
  async setQueueElementStatus(id: string, status: QueueStatus, message?: string): Promise<void> {
    if (status === 'FAILED') {
      await this.failQueueElement(id, message);
      return;
    }
    return this.#run((store) => queues.setQueueElementStatus(store, id, status, message));
  }

  /**
   * Marks an element Failed. On a queue with retry settings the failure is counted at once: a
   * retryable one goes back to New after the queue's delay until its attempts are used up; a
   * business error (`{ business: true }`: bad data, a rule the case breaks) is never retried.
   * Resolves to the decision, or undefined when the queue has no retry settings.
   *
   * @example await oc.failQueueElement(element.id, 'customer number unknown', { business: true });
   */
  failQueueElement(id: string, message?: string, options: { business?: boolean } = {}): Promise<retries.FailureOutcome | undefined> {
    return this.#run((store) => retries.failQueueElement(store, id, { message, business: options.business === true, actor: this.processName }));
  }

  /** An element's attempt counter and history (retries, timeouts, business errors). */
  getQueueElementAttempts(id: string): Promise<retries.ElementAttempts> {
    return this.#run((store) => retries.getElementAttempts(store, id));
  }

  deleteQueueElement(id: string): Promise<void> {
    return this.#run((store) => queues.deleteQueueElement(store, id));
  }

  #requireTrigger(): string {
    if (!this.triggerId) throw new InputError('this connection has no trigger id: it was not started by a Scheduler');
    return this.triggerId;
  }

  /**
   * True when an admin asked this robot's trigger to pause (Pausing), or it is Paused already,
   * as the Python 3.0 client answers.
   */
  async isTriggerPausing(): Promise<boolean> {
    const id = this.#requireTrigger();
    return this.#run(async (store) => {
      const { status } = await triggers.getTrigger(store, id);
      return status === 'PAUSING' || status === 'PAUSED';
    });
  }

  /**
   * Asks for this robot's trigger to be paused once the current run ends (Running -> Pausing);
   * an Idle trigger is paused at once. Any other status is left as it is (already pausing,
   * paused, being killed).
   */
  async pauseMyTrigger(): Promise<void> {
    const id = this.#requireTrigger();
    return this.#run(async (store) => {
      if (await triggers.transitionTriggerStatus(store, id, ['RUNNING'], 'PAUSING')) return;
      if (await triggers.transitionTriggerStatus(store, id, ['IDLE'], 'PAUSED')) return;
      // Neither transition matched: the trigger may not exist at all, which the robot must hear.
      await triggers.getTrigger(store, id);
    });
  }

  /** Closes the database connection (the robot process can then exit promptly). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await closeStore(this.#store);
  }
}

/**
 * Builds a connection from the argv protocol of the Schedulers (ours and Python 3.0's):
 * `<entry> <process_name> <connection_string> <crypto_key> <process_args> <trigger_id> <job_id>`
 * (2.x Schedulers pass no job id). Values missing or empty on the command line (our Scheduler
 * leaves the secrets out of argv for JavaScript robots) are read from the environment.
 *
 * @example const oc = createConnectionFromArgs(); // in a robot started by a Scheduler
 */
export function createConnectionFromArgs(argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): OrchestratorConnection {
  const [processName, connectionString, cryptoKey, processArguments, triggerId, jobId] = argv;
  const fromEnv = readEnvironment(env);
  const pick = (value: string | undefined, fallback: string | undefined) => (value && value.length > 0 ? value : fallback);
  const conn = pick(connectionString, fromEnv.connectionString);
  const key = pick(cryptoKey, fromEnv.cryptoKey);
  const name = pick(processName, env[ENV_PROCESS_NAME]);
  if (!name || !conn || !key) {
    throw new InputError(
      'expected the arguments <process_name> <connection_string> <crypto_key> [process_args] [trigger_id] [job_id], as a Scheduler passes them, or the environment variables OpenOrchestratorConnString and OpenOrchestratorKey',
    );
  }
  return new OrchestratorConnection({
    processName: name,
    connectionString: conn,
    cryptoKey: key,
    processArguments: pick(processArguments, env[ENV_PROCESS_ARGS]) ?? '',
    triggerId: pick(triggerId, env[ENV_TRIGGER_ID]),
    jobId: pick(jobId, env[ENV_JOB_ID]),
  });
}

/**
 * Builds a connection from the environment alone (`OpenOrchestratorConnString`,
 * `OpenOrchestratorKey`), for scripts that are not started by a Scheduler.
 *
 * @example const oc = createConnectionFromEnvironment('nightly-report');
 */
export function createConnectionFromEnvironment(processName: string, env: NodeJS.ProcessEnv = process.env): OrchestratorConnection {
  const { connectionString, cryptoKey } = readEnvironment(env);
  if (!connectionString) throw new InputError('the environment variable OpenOrchestratorConnString is not set');
  if (!cryptoKey) throw new InputError('the environment variable OpenOrchestratorKey is not set');
  return new OrchestratorConnection({
    processName,
    connectionString,
    cryptoKey,
    processArguments: env[ENV_PROCESS_ARGS],
    triggerId: env[ENV_TRIGGER_ID],
    jobId: env[ENV_JOB_ID],
  });
}
