/**
 * The Scheduler: a loop of ticks. Each tick beats the heart (`Schedulers.last_update`), records
 * what ended since the last tick, kills the processes whose trigger was set to Killing, and,
 * unless paused or stopping, claims and starts due triggers.
 *
 * Processes are watched by events, not by the tick, so a run that ends while the database is
 * unreachable is noticed at once; its outcome waits in `#pending` (in order) until the database
 * answers again, and reconnection attempts back off up to `maxBackoffSeconds`.
 *
 * Between ticks it sleeps the poll interval, but wakes sooner: at the due time of the nearest
 * Idle time-based trigger, when the database notifies a change (PostgreSQL: the change-tracking
 * triggers of oo-014 fire for every writer, db/listen.ts), and when another connection has
 * committed (SQLite's change probe). The poll stays, for what a notification cannot carry; an
 * idle one reads only the change counters' sum, and the trigger tables only when that moved or a
 * timed trigger falls due (docs/scheduler.md).
 *
 * @example
 *   const scheduler = new Scheduler({ connectionString, cryptoKey, intervalSeconds: 6 });
 *   process.on('SIGTERM', () => scheduler.stop());
 *   await scheduler.run();
 */
import { ENV_CONN_STRING, ENV_CRYPTO_KEY } from '../config/environment.js';
import { parseConnectionString, redactConnectionString } from '../config/connection-string.js';
import { connectionSecrets, loginSecrets } from '../config/secrets.js';
import { ENV_JOB_ID, ENV_PROCESS_ARGS, ENV_PROCESS_NAME, ENV_TRIGGER_ID } from '../connection/orchestrator-connection.js';
import { validateKey } from '../crypto/fernet.js';
import { nextRun } from '../cron/cron.js';
import { closeStore, loginRefused, openStore, permissionDenied, toDatabaseError, type Store } from '../db/open.js';
import { checkText } from '../db/store/validate.js';
import { newId } from '../db/dialects/encoding.js';
import { canListen, listenForChanges, type ChangeListener } from '../db/listen.js';
import { checkSchemaInUse, schemaNotCurrent } from '../db/schema/upgrade.js';
import { claimRun, releaseUncertainRun } from '../db/store/runs.js';
import { heartbeat } from '../db/store/schedulers.js';
import { getTriggerStatuses, pollTriggers, type ChangeWatch, type Trigger, type TriggerPoll } from '../db/store/triggers.js';
import { createLog } from '../db/store/logs.js';
import { DatabaseError, InputError, NotFoundError, SchemaError } from '../errors.js';
import { metrics } from '../metrics/metrics.js';
import { now } from '../time/clock.js';
import { scrub, silentLog, withSecrets, type ConsoleLog } from './console-log.js';
import { commandFor, ENTRY_SEARCH_LIMITS, findEntry, localEntry, workingFolderOf } from './entry.js';
import { cloneRepository, gitCredentialNames, gitOrigin, redactGitUrl, type GitLogin } from './git.js';
import { findFirstCredential } from '../db/store/credentials.js';
import { LaunchError } from './launch-error.js';
import { resolveOptions, type ResolvedOptions, type SchedulerOptions } from './options.js';
import { recordOutcome, type RunOutcome, type RunRecord } from './outcome.js';
import { candidatesHere, mayRunHere, mayStartNow, type RunningHere } from './poll.js';
import { reconcileStaleJobs } from './reconcile.js';
import { launchArgs, robotArgv, secretsInArgvFor } from './robot-argv.js';
import { installRobotDependencies } from './robot-deps.js';
import { startProcess, type ProcessEnd, type RobotProcess } from './runner.js';
import { OutputCapture } from './job-output.js';
import { appendJobOutput } from '../db/store/job-output.js';
import { cleanLeftovers, jobFolder, machineFolder, openWorkFolder, removeFolder } from './work-dir.js';

interface RunningJob {
  jobId: string;
  trigger: Trigger;
  /** when the claim committed (epoch ms): the job's duration runs from here */
  claimedAt: number;
  /** undefined while the run is being prepared (clone, spawn) */
  process?: RobotProcess;
  folder?: string;
  kill?: { byAdmin: boolean };
  /** what the robot prints, on its way to oo_job_output */
  output?: OutputCapture;
}

/** A database write waiting for the database (kept in order). */
interface PendingWrite {
  what: string;
  run(store: Store): Promise<unknown>;
  attempts: number;
}

/** Writes that fail this often while the database otherwise answers are given up (logged). */
const MAX_WRITE_ATTEMPTS = 10;
/** After a second stop signal, how long to keep trying to record outcomes. */
const FORCED_STOP_WAIT_MS = 30_000;
/**
 * Notifications wake the Scheduler at most this often, so a burst of writes (a robot filling a
 * queue, one notification per element) costs a few ticks, not one each.
 */
const WAKE_MIN_GAP_MS = 100;
/** The due-time timer fires this long after the due time, so the tick's clock is past it. */
const DUE_TIMER_MARGIN_MS = 5;
/**
 * Where the database has no notifications but a cheap change probe (SQLite), how often it is
 * asked: about 0.15 ms a probe against about 6 ms for a poll (docs/scheduler.md).
 */
const CHANGE_PROBE_MS = 250;
/**
 * The heartbeat is a write (a commit: the dearest statement of an idle tick), and it only says
 * "alive" to readers that call a Scheduler offline after a minute: ours after 60 s without one;
 * the Python Orchestrator as soon as the minute of the last beat (it drops the seconds) is over a
 * minute ago, that is whenever the minute now has no beat yet. So beats fall on the clock: on the
 * first tick after each :00, :20 and :40 (three a minute, at most 20 s and a tick apart), which
 * keeps the Python Orchestrator's red mark to a minute's first tick, as for its own Scheduler
 * that beats on every tick. When polls are 20 s or slower, every poll beats; when they are very
 * fast (tests), every 10 polls' worth.
 */
export function heartbeatEveryMs(intervalSeconds: number): number {
  return Math.min(20_000, intervalSeconds * 10_000);
}

/**
 * Whether a tick at `nowMs` beats, the last beat having been at `lastBeatMs` (0: none yet).
 *
 * @example
 *   beatDue(Date.parse('2026-12-08T10:00:18Z'), Date.parse('2026-12-08T10:00:24Z'), 6); // true: :20 passed
 */
export function beatDue(lastBeatMs: number, nowMs: number, intervalSeconds: number): boolean {
  const every = heartbeatEveryMs(intervalSeconds);
  if (intervalSeconds * 1000 >= every) return true;
  return Math.floor(nowMs / every) > Math.floor(lastBeatMs / every);
}
/** The listening connection's application_name starts with this (then the machine name). */
export const LISTENER_APPLICATION_NAME = 'openorchestrator-scheduler';

export class Scheduler {
  readonly options: ResolvedOptions;
  readonly #store: Store;
  readonly #log: ConsoleLog;
  readonly #secrets: string[];
  readonly #jobsRoot: string;
  readonly #running = new Map<string, RunningJob>();
  readonly #pending: PendingWrite[] = [];
  #ready = false;
  #dbFailures = 0;
  #dbRetryAt = 0;
  #dbDownSince: number | undefined;
  #paused: boolean;
  #stopping = false;
  #forcedAt: number | undefined;
  #wake: (() => void) | undefined;
  #wakeRequested = false;
  #fatal: Error | undefined;
  #listener: ChangeListener | undefined;
  /** when a notification last woke the Scheduler (epoch ms) */
  #notifiedWakeAt = 0;
  /** when this Scheduler last wrote its heartbeat (epoch ms) */
  #beatAt = 0;
  /** the earliest due time of an Idle time-based trigger after the last tick (epoch ms) */
  #nextTimedAt: number | undefined;
  #throttle: NodeJS.Timeout | undefined;
  #probe: NodeJS.Timeout | undefined;
  /** what the last polls saw of the change counters and timed triggers: an idle poll reads only the counters (pollTriggers) */
  #changeWatch: ChangeWatch = { ours: (trigger) => mayRunHere(trigger, this.options) };
  /** the counters cannot be read with this login: every poll reads the trigger tables (said once) */
  #trackingOff = false;
  /** the login may not write oo_job_output (grants older than it): output is not kept, said once */
  #outputRefused = false;

  constructor(options: SchedulerOptions, log: ConsoleLog = silentLog) {
    this.options = resolveOptions(options);
    const { connectionString, cryptoKey, machineName, intervalSeconds } = this.options;
    if (!connectionString) throw new InputError('the Scheduler needs a connection string (--connection-string or OpenOrchestratorConnString)');
    if (!cryptoKey) throw new InputError('the Scheduler needs the encryption key robots use (--key or OpenOrchestratorKey)');
    validateKey(cryptoKey);
    if (!(intervalSeconds > 0)) throw new InputError('the interval must be a number of seconds above 0');
    const config = parseConnectionString(connectionString);
    this.#secrets = [cryptoKey, ...connectionSecrets(config)];
    this.#store = openStore(connectionString);
    try {
      // Schedulers.machine_name, counted the way this database counts (SQL Server: UTF-16 units).
      checkText(this.#store.dialect, 'the machine name', machineName, 100);
    } catch (error) {
      void closeStore(this.#store);
      throw error;
    }
    this.#log = withSecrets(log, this.#secrets);
    this.#paused = this.options.paused;
    this.#jobsRoot = machineFolder(this.options.workDir, machineName);
  }

  /** Stops polling; running processes are still watched and recorded. */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    this.#log.info('paused', 'paused: no new runs start until resumed');
  }

  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#log.info('resumed', 'resumed: polling for due triggers again');
    this.#changeWatch = this.#newWatch();
    this.#wakeUp();
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Processes running (or being prepared) now. */
  get runningCount(): number {
    return this.#running.size;
  }

  /**
   * First call: stop claiming and finish when the running processes have ended and their
   * outcomes are recorded. Second call: kill them all (recorded as Killed) and finish.
   */
  stop(): void {
    if (!this.#stopping) {
      this.#stopping = true;
      const n = this.#running.size;
      this.#log.info('stopping', n === 0 ? 'stopping' : `stopping: no new runs; waiting for ${n} running process${n === 1 ? '' : 'es'} to end (stop again to kill them)`);
    } else if (this.#forcedAt === undefined) {
      this.#forcedAt = Date.now();
      this.#log.warn('stopping-forced', `stopping now: killing ${this.#running.size} running process tree(s)`);
      for (const job of this.#running.values()) this.#kill(job, false);
    }
    this.#wakeUp();
  }

  /**
   * Runs until stopped. Rejects only when the Scheduler cannot work at all: the schema is not
   * the one this program needs (run `openorchestrator upgrade`) or is newer than it knows.
   */
  async run(): Promise<void> {
    const { machineName, intervalSeconds, connectionString, exclusive } = this.options;
    let leftovers: number;
    try {
      leftovers = cleanLeftovers(openWorkFolder(this.options.workDir, machineName));
    } catch (error) {
      await closeStore(this.#store).catch(() => undefined);
      throw error;
    }
    this.#log.info(
      'started',
      `Scheduler "${machineName}" started on ${redactConnectionString(connectionString)}, every ${intervalSeconds} s${exclusive ? ', exclusive (whitelisted triggers only)' : ''}${this.#paused ? ', paused' : ''}`,
      { workDir: this.#jobsRoot },
    );
    if (leftovers > 0) this.#log.info('cleaned', `removed ${leftovers} leftover job folder(s) from an earlier run`);
    this.#listener = this.#listen();
    if (!this.#listener) this.#probe = await this.#startProbe();
    try {
      for (;;) {
        await this.tick();
        if (this.#fatal) throw this.#fatal;
        if (this.#finished()) break;
        await this.#sleep(this.#stopping ? Math.min(intervalSeconds, 0.2) : this.#secondsToNextTick());
      }
    } finally {
      clearTimeout(this.#throttle);
      clearInterval(this.#probe);
      await this.#listener?.close();
      if (this.#pending.length > 0) {
        this.#log.error('unrecorded', `stopped with ${this.#pending.length} outcome(s) not recorded (the database did not answer); the next start-up marks those jobs failed`);
      }
      await closeStore(this.#store).catch(() => undefined);
      this.#log.info('stopped', `Scheduler "${machineName}" stopped`);
    }
  }

  #finished(): boolean {
    if (!this.#stopping || this.#running.size > 0) return false;
    if (this.#pending.length === 0) return true;
    return this.#forcedAt !== undefined && Date.now() - this.#forcedAt > FORCED_STOP_WAIT_MS;
  }

  /** One tick. Database failures are caught here: they start (or continue) the backoff. */
  async tick(): Promise<void> {
    if (Date.now() < this.#dbRetryAt) return;
    try {
      const store = this.#store;
      // The schema is checked before anything is written, so an old or newer database gets
      // one line saying what to do, not a Scheduler that beats and claims but cannot record.
      if (!this.#ready) await this.#prepare();
      // Not on every tick (see heartbeatEveryMs). On a tick that polls, the poll carries it
      // (pollTriggers): on PostgreSQL in the same statement.
      const beats = beatDue(this.#beatAt, Date.now(), this.options.intervalSeconds);
      const polling = !this.#paused && !this.#stopping;
      if (beats && !polling) {
        await heartbeat(store, this.options.machineName);
        this.#beatAt = Date.now();
      }
      await this.#flush();
      await this.#checkKills();
      this.#nextTimedAt = undefined;
      if (polling) {
        await this.#startDue(now(), beats);
        if (beats) this.#beatAt = Date.now();
      }
      await this.#flush();
      this.#databaseAnswered();
    } catch (error) {
      if (error instanceof SchemaError) {
        this.#fatal = error;
        return;
      }
      // Never connected yet, and the server refuses this login: retrying cannot help (an outage
      // later, after a first success, is waited out as ever).
      if (!this.#ready && loginRefused(error)) {
        this.#fatal = new DatabaseError(`${toDatabaseError(error, this.#store.config).message}; the Scheduler stops: fix the connection string and start it again`);
        return;
      }
      this.#databaseFailed(error);
    }
  }

  async #prepare(): Promise<void> {
    const check = await checkSchemaInUse(this.#store.db, this.#store.dialect);
    if (!check.current) throw schemaNotCurrent(check);
    const stale = await reconcileStaleJobs(this.#store, this.options.machineName);
    for (const job of stale) {
      this.#log.warn('reconciled', `job of "${job.processName}" was left running by an earlier run of this Scheduler: marked failed`, { jobId: job.id });
    }
    this.#ready = true;
  }

  #databaseAnswered(): void {
    if (this.#dbDownSince !== undefined) {
      metrics().databaseReconnects.inc({ component: 'scheduler' });
      const seconds = ((Date.now() - this.#dbDownSince) / 1000).toFixed(1);
      this.#log.info('database-back', `the database answers again after ${seconds} s`);
    }
    this.#dbFailures = 0;
    this.#dbRetryAt = 0;
    this.#dbDownSince = undefined;
  }

  #databaseFailed(error: unknown): void {
    const message = toDatabaseError(error, this.#store.config).message;
    metrics().databaseErrors.inc({ component: 'scheduler' });
    this.#dbFailures++;
    this.#dbDownSince ??= Date.now();
    this.#nextTimedAt = undefined;
    this.#changeWatch = this.#newWatch();
    const cap = this.#stopping ? 2 : this.options.maxBackoffSeconds;
    const delay = Math.min(cap, this.options.intervalSeconds * 2 ** (this.#dbFailures - 1));
    this.#dbRetryAt = Date.now() + delay * 1000;
    const watching = this.#running.size > 0 ? `; still watching ${this.#running.size} process(es)` : '';
    this.#log.warn('database-unavailable', `${message}; trying again in ${delay.toFixed(1)} s${watching}`, { attempt: this.#dbFailures });
  }

  /** Records waiting outcomes in order; stops at the first database failure (rethrown). */
  async #flush(): Promise<void> {
    while (this.#pending.length > 0) {
      const write = this.#pending[0]!;
      try {
        await write.run(this.#store);
      } catch (error) {
        write.attempts++;
        const permanent = error instanceof InputError || error instanceof NotFoundError || write.attempts >= MAX_WRITE_ATTEMPTS;
        if (!permanent) throw error;
        this.#log.error('write-dropped', `gave up recording ${write.what}: ${toDatabaseError(error, this.#store.config).message}`);
      }
      this.#pending.shift();
    }
  }

  #later(what: string, run: (store: Store) => Promise<unknown>): void {
    this.#pending.push({ what, run, attempts: 0 });
  }

  async #checkKills(): Promise<void> {
    if (this.#running.size === 0) return;
    const statuses = await getTriggerStatuses(this.#store, [...this.#running.values()].map((job) => job.trigger.id));
    for (const job of this.#running.values()) {
      if (statuses.get(job.trigger.id) === 'KILLING' && !job.kill) this.#kill(job, true);
    }
  }

  #kill(job: RunningJob, byAdmin: boolean): void {
    job.kill ??= { byAdmin };
    if (byAdmin) this.#log.info('killing', `killing "${job.trigger.triggerName}" (its trigger was set to Killing)`, { jobId: job.jobId, pid: job.process?.pid });
    job.process?.killTree(this.options.killGraceSeconds * 1000);
  }

  #runningHere(): RunningHere {
    const jobs = [...this.#running.values()];
    return { count: jobs.length, blocking: jobs.some((job) => job.trigger.isBlocking) };
  }

  /**
   * One poll: starts what is due and may run here, and arms the timer to the next timed trigger
   * due before the next poll (one falling due later is the next poll's to see).
   */
  async #startDue(at: Date, beat: boolean): Promise<void> {
    const until = new Date(at.getTime() + this.options.intervalSeconds * 1000 + DUE_TIMER_MARGIN_MS);
    const { due, nextTimedRun } = await this.#poll(at, until, beat);
    this.#nextTimedAt = nextTimedRun?.getTime();
    for (const trigger of candidatesHere(due, this.options)) {
      if (this.#paused || this.#stopping) break;
      if (!mayStartNow(trigger, this.#runningHere())) continue;
      await this.#claimAndRun(trigger);
    }
  }

  /** What the polls remember of the change counters, from scratch (after an outage, on resume). */
  #newWatch(): ChangeWatch {
    return { off: this.#trackingOff, ours: (trigger) => mayRunHere(trigger, this.options) };
  }

  /** The poll; a login whose grants predate oo-014 (no SELECT on the counters) polls as before, said once. */
  async #poll(at: Date, until: Date, beat: boolean): Promise<TriggerPoll> {
    const beatOf = beat ? this.options.machineName : undefined;
    try {
      return await pollTriggers(this.#store, at, until, beatOf, this.#changeWatch);
    } catch (error) {
      const denied = this.#changeWatch.off ? undefined : permissionDenied(error);
      if (!denied) throw error;
      this.#trackingOff = true;
      this.#changeWatch = this.#newWatch();
      this.#log.warn('tracking-refused', `cannot read the change counters (${denied}): every poll probes every queue trigger until the grants are renewed`);
      return pollTriggers(this.#store, at, until, beatOf, this.#changeWatch);
    }
  }

  async #claimAndRun(trigger: Trigger): Promise<void> {
    const store = this.#store;
    const { machineName } = this.options;
    const at = now();
    let next: Date | undefined;
    let cronProblem: string | undefined;
    if (trigger.type === 'SCHEDULED') {
      try {
        next = nextRun(trigger.cronExpr, at);
      } catch (error) {
        cronProblem = `its cron expression "${trigger.cronExpr}" cannot be used: ${(error as Error).message}`;
      }
    }
    const jobId = newId();
    let claimed: boolean;
    const claiming = performance.now();
    try {
      claimed = await claimRun(store, trigger, { jobId, schedulerName: machineName, at, nextRun: next });
      metrics().claimLatency.observe({ result: claimed ? 'claimed' : 'lost' }, (performance.now() - claiming) / 1000);
    } catch (error) {
      // The claim rolled back, unless the connection broke during COMMIT: then undo it if it
      // happened, once the database answers.
      this.#later(`the release of "${trigger.triggerName}"`, (s) =>
        releaseUncertainRun(s, { jobId, triggerId: trigger.id, processName: trigger.processName, reason: `the Scheduler on ${machineName} lost the database while starting this run; the run did not start` }),
      );
      throw error;
    }
    if (!claimed) {
      this.#log.debug('claim-lost', `"${trigger.triggerName}" was claimed by another Scheduler`);
      return;
    }
    const record: RunRecord = { jobId, triggerId: trigger.id, triggerType: trigger.type, processName: trigger.processName };
    const claimedAt = Date.now();
    metrics().jobsStarted.inc({ process: trigger.processName });
    if (cronProblem) {
      this.#failLaunch(trigger, record, cronProblem, claimedAt);
      return;
    }
    const job: RunningJob = { jobId, trigger, claimedAt };
    this.#running.set(jobId, job);
    this.#log.info('claimed', `starting "${trigger.triggerName}" (process "${trigger.processName}", ${trigger.type.toLowerCase()}${trigger.isBlocking ? ', blocking' : ''})`, { jobId });
    try {
      const entry = await this.#entryFor(trigger, job);
      const command = commandFor(entry, this.options);
      const launch = launchArgs(command, this.#robotArgs(trigger, jobId, entry));
      const output = this.#outputRefused ? undefined : this.#captureOutput(job);
      const child = await startProcess({
        command: command.command,
        args: launch.args,
        windowsVerbatimArguments: launch.windowsVerbatimArguments,
        cwd: workingFolderOf(entry),
        env: { ...this.#robotEnv(trigger, jobId), ...command.env },
        runner: command.runner,
        onOutput: output && ((stream, chunk) => output.append(stream, chunk)),
      });
      job.process = child;
      job.output = output;
      output?.start();
      if (trigger.type !== 'QUEUE') metrics().dispatchDelay.observe({ type: trigger.type }, Math.max(0, Date.now() - trigger.nextRun.getTime()) / 1000);
      void child.ended.then((end) => this.#ended(job, end));
      this.#log.info('started', `"${trigger.triggerName}" runs: ${entry} with ${command.runner}`, { jobId, pid: child.pid });
      if (job.kill) this.#kill(job, job.kill.byAdmin);
      else if (this.#forcedAt !== undefined) this.#kill(job, false);
    } catch (error) {
      this.#running.delete(jobId);
      if (job.folder) removeFolder(job.folder);
      const reason = error instanceof LaunchError ? error.message : `unexpected error: ${(error as Error)?.message ?? String(error)}`;
      this.#failLaunch(trigger, record, reason, claimedAt);
    }
  }

  #failLaunch(trigger: Trigger, record: RunRecord, reason: string, claimedAt: number): void {
    countEnded(trigger.processName, 'failed', claimedAt);
    const message = scrub(`could not start process "${trigger.processName}" of trigger "${trigger.triggerName}" on ${this.options.machineName}: ${reason}`, this.#secrets);
    this.#log.error('launch-failed', message, { jobId: record.jobId });
    this.#later(`the failed start of "${trigger.triggerName}"`, (s) => recordOutcome(s, record, { kind: 'failed', message }, now()));
  }

  /** The entry file: cloned for a git trigger (into the job's own folder), else the local path. */
  async #entryFor(trigger: Trigger, job: RunningJob): Promise<string> {
    if (!trigger.isGitRepo) return localEntry(trigger.processPath);
    const folder = jobFolder(this.#jobsRoot, job.jobId);
    job.folder = folder;
    this.#log.info('cloning', `cloning ${redactGitUrl(trigger.processPath)}${trigger.gitBranch ? ` (branch ${trigger.gitBranch})` : ''}`, { jobId: job.jobId });
    const login = await this.#gitLogin(trigger, job);
    await cloneRepository({ url: trigger.processPath, branch: trigger.gitBranch, folder, timeoutMs: this.options.cloneTimeoutSeconds * 1000, login });
    const jobLog = (level: 'INFO' | 'ERROR', message: string) => createLog(this.#store, { level, processName: trigger.processName, message: scrub(message, this.#secrets), jobId: job.jobId }).then(() => this.#log.info('dependencies', message.split('\n')[0]!, { jobId: job.jobId }));
    await installRobotDependencies({
      folder,
      workDir: this.options.workDir,
      timeoutMs: this.options.cloneTimeoutSeconds * 1000,
      ignoreScripts: this.options.ignoreScripts,
      secrets: [this.options.connectionString, ...this.#secrets],
      log: jobLog,
    });
    const entry = await findEntry(folder);
    if (!entry) throw new LaunchError(`the repository ${redactGitUrl(trigger.processPath)}${trigger.gitBranch ? ` (branch ${trigger.gitBranch})` : ''} has no main.py, main.ts or main.js (searched ${ENTRY_SEARCH_LIMITS.maxDepth} folder levels deep; links to folders are not followed)`);
    return entry;
  }

  /**
   * The login for an http(s) repository, from the Credentials table (`git:<host>[/<path>]`, most
   * specific first; plain http only from `git:http://...`), scoped to the origin its name covers.
   * A login that may not read Credentials clones without one, with a warning.
   */
  async #gitLogin(trigger: Trigger, job: RunningJob): Promise<GitLogin | undefined> {
    const names = gitCredentialNames(trigger.processPath);
    if (names.length === 0) return undefined;
    let found;
    try {
      found = await findFirstCredential(this.#store, this.options.cryptoKey, names);
      if (!found && /^http:/i.test(trigger.processPath.trim())) {
        // A login stored for the host goes over TLS only: say why it was not used.
        const tlsOnly = await findFirstCredential(this.#store, this.options.cryptoKey, gitCredentialNames(trigger.processPath.trim().replace(/^http:/i, 'https:')));
        if (tlsOnly) {
          const plain = tlsOnly.name.replace(/^git:/, 'git:http://');
          this.#log.warn('git-credential', `credential "${tlsOnly.name}" is for https only and is not sent over plain http: store the login as "${plain}" to send it over http`, { jobId: job.jobId });
        }
      }
    } catch (error) {
      if (!permissionDenied(error)) throw error;
      this.#log.warn('git-credential', `cloning without a stored login: this database login may not read Credentials (${names.at(-1)} and the like); give it the robot role's rights`, { jobId: job.jobId });
      return undefined;
    }
    if (!found) return undefined;
    this.#log.info('git-credential', `cloning with the login stored as credential "${found.name}"`, { jobId: job.jobId });
    // The password is scrubbed from everything this Scheduler prints or logs from now on.
    for (const secret of loginSecrets(found.username, found.password)) if (!this.#secrets.includes(secret)) this.#secrets.push(secret);
    return { username: found.username, password: found.password, origin: gitOrigin(trigger.processPath, found.name) };
  }

  /** The robot's output, scrubbed of every secret this Scheduler knows (a git login found later included). */
  #captureOutput(job: RunningJob): OutputCapture {
    return new OutputCapture(
      () => this.#secrets,
      (lines) => appendJobOutput(this.#store, job.jobId, lines),
      // A failed timed write keeps its lines for the next; an outage is the tick's to report.
      { onWriteError: (error) => this.#outputWriteFailed(error), columns: this.#store.dialect },
    );
  }

  /** True when the failure is this login's missing right: then output is no longer kept, said once. */
  #outputWriteFailed(error: unknown): boolean {
    if (!permissionDenied(error)) return false;
    if (!this.#outputRefused) {
      this.#outputRefused = true;
      this.#log.warn('output-refused', "robots' output is not kept: this database login may not write oo_job_output (give it the scheduler role's rights: `openorchestrator grants`)");
    }
    return true;
  }

  /** The argv protocol (robot-argv.ts); the secrets go on the command line only where needed. */
  #robotArgs(trigger: Trigger, jobId: string, entry: string): string[] {
    const { connectionString, cryptoKey } = this.options;
    const run = { processName: trigger.processName, connectionString, cryptoKey, processArgs: trigger.processArgs, triggerId: trigger.id, jobId };
    return robotArgv(run, secretsInArgvFor(entry, this.options));
  }

  #robotEnv(trigger: Trigger, jobId: string): NodeJS.ProcessEnv {
    return {
      ...process.env,
      [ENV_CONN_STRING]: this.options.connectionString,
      [ENV_CRYPTO_KEY]: this.options.cryptoKey,
      [ENV_PROCESS_NAME]: trigger.processName,
      [ENV_PROCESS_ARGS]: trigger.processArgs ?? '',
      [ENV_TRIGGER_ID]: trigger.id,
      [ENV_JOB_ID]: jobId,
    };
  }

  #ended(job: RunningJob, end: ProcessEnd): void {
    this.#running.delete(job.jobId);
    if (job.folder) {
      try {
        removeFolder(job.folder);
      } catch (error) {
        this.#log.warn('cleanup-failed', `could not remove ${job.folder}: ${(error as Error).message}`);
      }
    }
    const { trigger } = job;
    const outcome = this.#outcomeOf(job, end);
    countEnded(trigger.processName, outcome.kind, job.claimedAt);
    const fields = { jobId: job.jobId, pid: job.process?.pid };
    if (outcome.kind === 'done') this.#log.info('done', `"${trigger.triggerName}" finished`, fields);
    else if (outcome.kind === 'killed') this.#log.info('killed', `"${trigger.triggerName}" was killed`, fields);
    else this.#log.error('failed', `"${trigger.triggerName}" failed: ${describeEnd(end)}`, fields);
    const record: RunRecord = { jobId: job.jobId, triggerId: trigger.id, triggerType: trigger.type, processName: trigger.processName };
    // The output first, so a job shown as ended has all of it.
    const output = job.output;
    if (output) {
      this.#later(`the output of "${trigger.triggerName}"`, () =>
        output.finish().catch((error: unknown) => {
          if (!this.#outputWriteFailed(error)) throw error;
        }),
      );
    }
    this.#later(`the end of "${trigger.triggerName}"`, (s) => recordOutcome(s, record, outcome, end.endedAt));
    this.#wakeUp();
  }

  #outcomeOf(job: RunningJob, end: ProcessEnd): RunOutcome {
    const { machineName } = this.options;
    if (job.kill) {
      return job.kill.byAdmin
        ? { kind: 'killed', byAdmin: true, message: `killed on request (the trigger was set to Killing); the Scheduler on ${machineName} ended its process tree` }
        : { kind: 'killed', byAdmin: false, message: `killed because the Scheduler on ${machineName} was stopped while it ran` };
    }
    if (end.code === 0) return { kind: 'done' };
    const stderr = scrub(end.stderr.trim(), this.#secrets);
    const message = `process "${job.trigger.processName}" (trigger "${job.trigger.triggerName}") ${describeEnd(end)}${stderr ? `; its error output:\n${stderr}` : '; it wrote nothing to its error output'}`;
    return { kind: 'failed', message };
  }

  /** Where the database carries notifications, listens on a connection of its own. */
  #listen(): ChangeListener | undefined {
    if (!canListen(this.#store.config)) return undefined;
    const { machineName, intervalSeconds, maxBackoffSeconds } = this.options;
    return listenForChanges(
      this.#store,
      { applicationName: `${LISTENER_APPLICATION_NAME} ${machineName}`, maxBackoffMs: maxBackoffSeconds * 1000 },
      {
        onChange: () => this.#notified(),
        onListening: (again) => {
          if (again) this.#log.info('wake-listening', 'notifications work again: changes start at once, whoever makes them');
          else this.#log.debug('wake-listening', 'listening for notifications: changes start at once, whoever makes them');
        },
        onLost: (reason) => this.#log.warn('wake-lost', `lost the notification connection (${reason}); polling every ${intervalSeconds} s until it is back`),
        onUnsupported: () =>
          this.#log.warn('wake-unsupported', `notifications do not reach this Scheduler (a connection pooler in transaction mode cannot carry LISTEN): polling every ${intervalSeconds} s`),
      },
    );
  }

  /**
   * Without notifications: asks the database's change probe every CHANGE_PROBE_MS and wakes
   * when its value moves (another connection committed something: maybe a trigger, maybe a log).
   */
  async #startProbe(): Promise<NodeJS.Timeout | undefined> {
    const statement = this.#store.dialect.changeProbeSql();
    if (!statement) return undefined;
    let last: string | undefined;
    let busy = false;
    const probe = async () => {
      const result = await statement.execute(this.#store.db);
      const value = JSON.stringify(result.rows[0]);
      if (last !== undefined && value !== last) this.#notified();
      last = value;
    };
    // The first value is read before the first tick, so a commit made after it is either seen
    // by that tick or moves the value.
    await probe().catch(() => undefined);
    return setInterval(() => {
      if (busy || this.#paused || this.#stopping || Date.now() < this.#dbRetryAt) return;
      busy = true;
      // A failure is the tick's to report; the probe only tries again later.
      probe()
        .catch(() => undefined)
        .finally(() => (busy = false));
    }, CHANGE_PROBE_MS);
  }

  /** A writer changed something: tick now, or once WAKE_MIN_GAP_MS have passed since the last such wake-up. */
  #notified(): void {
    if (this.#throttle) return;
    const wait = this.#notifiedWakeAt + WAKE_MIN_GAP_MS - Date.now();
    const wake = () => {
      this.#throttle = undefined;
      this.#notifiedWakeAt = Date.now();
      this.#wakeUp();
    };
    if (wait <= 0) wake();
    else this.#throttle = setTimeout(wake, wait);
  }

  /** The poll interval, or less when a time-based trigger falls due sooner. */
  #secondsToNextTick(): number {
    const { intervalSeconds } = this.options;
    if (this.#nextTimedAt === undefined) return intervalSeconds;
    return Math.max(0, Math.min(intervalSeconds, (this.#nextTimedAt + DUE_TIMER_MARGIN_MS - Date.now()) / 1000));
  }

  #wakeUp(): void {
    this.#wakeRequested = true;
    this.#wake?.();
  }

  #sleep(seconds: number): Promise<void> {
    if (this.#wakeRequested) {
      this.#wakeRequested = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(finish, seconds * 1000);
      this.#wake = () => {
        this.#wakeRequested = false;
        finish();
      };
    });
  }
}

/** A job's end in the metrics: its outcome and how long it ran since the claim. */
function countEnded(processName: string, outcome: RunOutcome['kind'], claimedAt: number): void {
  const m = metrics();
  m.jobsEnded.inc({ process: processName, outcome });
  m.jobDuration.observe({ process: processName, outcome }, (Date.now() - claimedAt) / 1000);
}

function describeEnd(end: ProcessEnd): string {
  return end.code !== null ? `exited with code ${end.code}` : `was ended by signal ${end.signal ?? 'unknown'}`;
}
