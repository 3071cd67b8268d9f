/**
 * Queue retries: per-queue settings, each element's attempt counter and history (tables of ours;
 * the upstream Queues table gets no column), and the moves the retry sweep and the visibility
 * timeout make.
 *
 * Every move is a conditional write: the Queues row must still have the status (and claim time)
 * the mover saw, and the attempts row the attempt number and state it saw. The statement's
 * changed-row count (or a primary key someone else took) decides who moved it; the loser's
 * transaction rolls back whole. So a failure is counted exactly once however many robots and
 * monitors race, and a history row exists for exactly the moves that happened.
 *
 * States of an attempts row (no row: the element is on its first attempt):
 *   QUEUED     attempt N was handed back to New and has not failed yet
 *   WAITING    attempt N failed; it goes back to New at retry_at
 *   EXHAUSTED  attempt N failed and was the last one: the element stays Failed
 *   BUSINESS   attempt N failed with a business error: never retried, stays Failed
 *   ABANDONED  the visibility timeout moved attempt N to Abandoned
 */
import { InputError, NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import { newId } from '../dialects/encoding.js';
import type { Store } from '../open.js';
import { expectOne, whoWins } from './conflict.js';
import { paged } from './paging.js';
import { listInProgressPastTimeout } from './queues.js';
import { checkEnum, checkId, checkInteger, checkOptionalText, checkText } from './validate.js';

export const DELAY_MODES = ['FIXED', 'EXPONENTIAL'] as const;
export type DelayMode = (typeof DELAY_MODES)[number];
export const VISIBILITY_ACTIONS = ['NEW', 'ABANDONED'] as const;
export type VisibilityAction = (typeof VISIBILITY_ACTIONS)[number];
export const ATTEMPT_STATES = ['QUEUED', 'WAITING', 'EXHAUSTED', 'BUSINESS', 'ABANDONED'] as const;
export type AttemptState = (typeof ATTEMPT_STATES)[number];
/** What the history records. */
export type ElementEventKind = 'FAILED' | 'FAILED_FINAL' | 'BUSINESS_ERROR' | 'RETRIED' | 'TIMED_OUT' | 'REQUEUED';

/** A queue's retry settings. */
export interface QueueSettings {
  queueName: string;
  /** tries in all, the first included (1 = never retried) */
  maxAttempts: number;
  delayMode: DelayMode;
  /** FIXED: the wait after each failure; EXPONENTIAL: the first wait, doubled after each failure */
  delaySeconds: number;
  /** EXPONENTIAL: the longest wait (null: no cap) */
  maxDelaySeconds: number | null;
  /** minutes after which an In Progress element is taken back (null: off) */
  visibilityMinutes: number | null;
  /** where a timed-out element goes (default NEW) */
  visibilityAction: VisibilityAction;
  changedAt: Date;
}

export type QueueSettingsInput = Omit<QueueSettings, 'changedAt' | 'visibilityAction'> & { visibilityAction?: VisibilityAction };

export interface ElementAttempts {
  elementId: string;
  queueName: string;
  /** the attempt the element is on (or failed last) */
  attempt: number;
  state: AttemptState | 'FIRST';
  retryAt: Date | null;
  lastError: string | null;
  history: ElementEvent[];
}

export interface ElementEvent {
  id: string;
  attempt: number;
  event: ElementEventKind;
  message: string | null;
  actor: string;
  at: Date;
}

const MAX_SECONDS = 30 * 24 * 3600;

function checkSettings({ dialect }: Store, input: QueueSettingsInput): QueueSettingsInput {
  if (typeof input !== 'object' || input === null) throw new InputError('queue settings must be an object');
  checkText(dialect, 'queue name', input.queueName, 100);
  checkInteger('maxAttempts', input.maxAttempts, 1, 1000);
  checkEnum('delayMode', input.delayMode, DELAY_MODES);
  checkInteger('delaySeconds', input.delaySeconds, 0, MAX_SECONDS);
  if (input.maxDelaySeconds !== null && input.maxDelaySeconds !== undefined) {
    checkInteger('maxDelaySeconds', input.maxDelaySeconds, 0, MAX_SECONDS);
    if (input.delayMode === 'FIXED') throw new InputError('maxDelaySeconds applies to EXPONENTIAL delays only; leave it out for FIXED');
  }
  if (input.visibilityMinutes !== null && input.visibilityMinutes !== undefined) checkInteger('visibilityMinutes', input.visibilityMinutes, 1, 525_600);
  if (input.visibilityAction !== undefined) checkEnum('visibilityAction', input.visibilityAction, VISIBILITY_ACTIONS);
  return input;
}

function decodeSettings({ dialect }: Store, row: Record<string, unknown>): QueueSettings {
  return {
    queueName: String(row.queue_name),
    maxAttempts: Number(row.max_attempts),
    delayMode: row.delay_mode as DelayMode,
    delaySeconds: Number(row.delay_seconds),
    maxDelaySeconds: row.max_delay_seconds === null || row.max_delay_seconds === undefined ? null : Number(row.max_delay_seconds),
    visibilityMinutes: row.visibility_minutes === null || row.visibility_minutes === undefined ? null : Number(row.visibility_minutes),
    visibilityAction: (row.visibility_action as VisibilityAction | null) ?? 'NEW',
    changedAt: dialect.decodeDate(row.changed_at),
  };
}

/** Creates or replaces a queue's settings. */
export async function saveQueueSettings(store: Store, input: QueueSettingsInput): Promise<QueueSettings> {
  const s = checkSettings(store, input);
  const values = {
    max_attempts: s.maxAttempts,
    delay_mode: s.delayMode,
    delay_seconds: s.delaySeconds,
    max_delay_seconds: s.maxDelaySeconds ?? null,
    visibility_minutes: s.visibilityMinutes ?? null,
    visibility_action: s.visibilityAction ?? 'NEW',
    changed_at: store.dialect.encodeDate(now()),
  };
  const updated = await store.db.updateTable('oo_queue_settings').set(values).where('queue_name', '=', s.queueName).executeTakeFirst();
  if (Number(updated.numUpdatedRows) === 0) {
    try {
      await store.db.insertInto('oo_queue_settings').values({ queue_name: s.queueName, ...values }).execute();
    } catch (error) {
      // Saved at the same moment by another admin: theirs exists, ours replaces it.
      const again = await store.db.updateTable('oo_queue_settings').set(values).where('queue_name', '=', s.queueName).executeTakeFirst();
      if (Number(again.numUpdatedRows) === 0) throw error;
    }
  }
  return getQueueSettings(store, s.queueName) as Promise<QueueSettings>;
}

/** A queue's settings, or undefined when it has none (no retries, no timeout). */
export async function getQueueSettings(store: Store, queueName: string): Promise<QueueSettings | undefined> {
  checkText(store.dialect, 'queue name', queueName, 100);
  const row = await store.db.selectFrom('oo_queue_settings').selectAll().where('queue_name', '=', queueName).executeTakeFirst();
  return row ? decodeSettings(store, row) : undefined;
}

export async function listQueueSettings(store: Store): Promise<QueueSettings[]> {
  const rows = await store.db.selectFrom('oo_queue_settings').selectAll().orderBy('queue_name').execute();
  return rows.map((row) => decodeSettings(store, row));
}

export async function deleteQueueSettings(store: Store, queueName: string): Promise<void> {
  checkText(store.dialect, 'queue name', queueName, 100);
  const result = await store.db.deleteFrom('oo_queue_settings').where('queue_name', '=', queueName).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`queue "${queueName}" has no retry settings`);
}

/** Seconds to wait after attempt `attempt` failed. */
export function retryDelaySeconds(settings: Pick<QueueSettings, 'delayMode' | 'delaySeconds' | 'maxDelaySeconds'>, attempt: number): number {
  if (settings.delayMode === 'FIXED') return settings.delaySeconds;
  const grown = settings.delaySeconds * 2 ** Math.min(Math.max(attempt - 1, 0), 40);
  return Math.min(grown, settings.maxDelaySeconds ?? MAX_SECONDS);
}

/** An attempts row as a mover saw it (undefined: no row, the element is on attempt 1). */
type SeenAttempts = { attempt: number; state: AttemptState } | undefined;

async function readAttempts(store: Store, encodedId: unknown): Promise<SeenAttempts> {
  const row = await store.db.selectFrom('oo_element_attempts').select(['attempt', 'state']).where('element_id', '=', encodedId).executeTakeFirst();
  return row ? { attempt: Number(row.attempt), state: row.state as AttemptState } : undefined;
}

/** The attempt that just ended: the one queued, or (after a move by hand) the next one. */
function endedAttempt(seen: SeenAttempts): number {
  if (!seen) return 1;
  return seen.state === 'QUEUED' ? seen.attempt : seen.attempt + 1;
}

/**
 * Moves the attempts row from what was seen to (attempt, state), or creates it; LostRace when
 * someone moved it first.
 */
async function moveAttempts(
  trx: Store,
  element: { encodedId: unknown; queueName: string },
  seen: SeenAttempts,
  next: { attempt: number; state: AttemptState; retryAt: Date | null; lastError: string | null },
): Promise<void> {
  const { dialect } = trx;
  const values = {
    attempt: next.attempt,
    state: next.state,
    retry_at: next.retryAt ? dialect.encodeDate(next.retryAt) : null,
    last_error: next.lastError === null ? null : next.lastError.slice(0, 1000),
    changed_at: dialect.encodeDate(now()),
  };
  if (!seen) {
    // The primary key decides between two movers that both saw no row.
    await trx.db.insertInto('oo_element_attempts').values({ element_id: element.encodedId, queue_name: element.queueName, ...values }).execute();
    return;
  }
  expectOne(
    await trx.db
      .updateTable('oo_element_attempts')
      .set(values)
      .where('element_id', '=', element.encodedId)
      .where('attempt', '=', seen.attempt)
      .where('state', '=', seen.state)
      .executeTakeFirst(),
  );
}

async function addEvent(
  trx: Store,
  element: { encodedId: unknown; queueName: string },
  event: { attempt: number; kind: ElementEventKind; message: string | null; actor: string },
): Promise<void> {
  await trx.db
    .insertInto('oo_element_events')
    .values({
      id: trx.dialect.encodeUuid(newId()),
      element_id: element.encodedId,
      queue_name: element.queueName,
      attempt: event.attempt,
      event: event.kind,
      message: event.message === null ? null : event.message.slice(0, 1000),
      actor: event.actor.slice(0, 100),
      event_at: trx.dialect.encodeDate(now()),
    })
    .execute();
}

/** What counting a failure decided. */
export interface FailureOutcome {
  attempt: number;
  state: 'WAITING' | 'EXHAUSTED' | 'BUSINESS';
  retryAt: Date | null;
}

function decideFailure(settings: QueueSettings, attempt: number, business: boolean, failedAt: Date): FailureOutcome {
  if (business) return { attempt, state: 'BUSINESS', retryAt: null };
  if (attempt >= settings.maxAttempts) return { attempt, state: 'EXHAUSTED', retryAt: null };
  return { attempt, state: 'WAITING', retryAt: new Date(failedAt.getTime() + retryDelaySeconds(settings, attempt) * 1000) };
}

const EVENT_OF: Record<FailureOutcome['state'], ElementEventKind> = { WAITING: 'FAILED', EXHAUSTED: 'FAILED_FINAL', BUSINESS: 'BUSINESS_ERROR' };

/** Counts one failure inside a transaction whose first write already moved or locked the element. */
async function countFailure(
  trx: Store,
  element: { encodedId: unknown; queueName: string },
  seen: SeenAttempts,
  outcome: FailureOutcome,
  message: string | null,
  actor: string,
): Promise<void> {
  await moveAttempts(trx, element, seen, { attempt: outcome.attempt, state: outcome.state, retryAt: outcome.retryAt, lastError: message });
  await addEvent(trx, element, { attempt: outcome.attempt, kind: EVENT_OF[outcome.state], message, actor });
}

/**
 * A robot's failure of an element: Failed now, and on a queue with settings, counted at once as
 * retryable (WAITING until its delay passed, or EXHAUSTED after the last attempt) or as a
 * business error (never retried). An element that is Failed already only gets the message.
 * Returns undefined when the queue has no settings.
 *
 * @example await failQueueElement(store, id, { message: 'customer unknown', business: true, actor: 'invoices-robot' });
 */
export async function failQueueElement(
  store: Store,
  id: string,
  options: { message?: string | null; business?: boolean; actor: string },
): Promise<FailureOutcome | undefined> {
  const { db, dialect } = store;
  const canonical = checkId('queue element id', id);
  const message = checkOptionalText(store.dialect, 'queue element message', options.message, 1000);
  const encodedId = dialect.encodeUuid(canonical);
  const element = await db.selectFrom('Queues').select(['queue_name', 'status']).where('id', '=', encodedId).executeTakeFirst();
  if (!element) throw new NotFoundError(`no queue element with id ${canonical}`);
  const settings = await getQueueSettings(store, element.queue_name);
  const target = { encodedId, queueName: element.queue_name };
  for (;;) {
    const seen = settings ? await readAttempts(store, encodedId) : undefined;
    const failedAt = now();
    const outcome = settings ? decideFailure(settings, endedAttempt(seen), options.business === true, failedAt) : undefined;
    const result = await whoWins(store, async (trx) => {
      // The first write locks the element: a sweep or timeout racing with this waits, then finds it Failed.
      const moved = await trx.db
        .updateTable('Queues')
        .set({ status: 'FAILED', end_date: dialect.encodeDate(failedAt), ...(options.message !== undefined ? { message } : {}) })
        .where('id', '=', encodedId)
        .where('status', '<>', 'FAILED')
        .executeTakeFirst();
      if (Number(moved.numUpdatedRows) === 0) {
        if (options.message !== undefined) await trx.db.updateTable('Queues').set({ message }).where('id', '=', encodedId).execute();
        return 'already failed' as const;
      }
      if (outcome) await countFailure(trx, target, seen, outcome, message, options.actor);
      return outcome ?? ('no settings' as const);
    });
    if (result === 'already failed' || result === 'no settings') return undefined;
    // Lost: the attempts row moved between our read and our write (a sweep's reconciliation); read again.
    if (result !== undefined) return result;
  }
}

/** What one sweep did. */
export interface SweepResult {
  /** failures counted that a robot reported only as a Failed row (the Python client, updateQueueElement) */
  counted: number;
  /** elements moved from Failed back to New */
  retried: number;
  /** elements a person or a Python tool moved out of Failed, whose next failure is a new attempt */
  requeued: number;
  /** In Progress elements the visibility timeout took back */
  timedOut: number;
}

const SWEEP_BATCH = 500;

/**
 * One pass of the retry sweep over every queue with settings: counts uncounted failures, moves
 * elements whose delay has passed back to New, and applies the visibility timeouts. Safe to run
 * from several monitors at once: each move is claimed by a conditional write.
 */
export async function sweepQueues(store: Store, actor: string): Promise<SweepResult> {
  const result: SweepResult = { counted: 0, retried: 0, requeued: 0, timedOut: 0 };
  const allSettings = await listQueueSettings(store);
  for (const settings of allSettings) result.counted += await countUnseenFailures(store, settings, actor);
  result.requeued += await reconcileMovedByHand(store, actor);
  result.retried += await retryDue(store, actor);
  for (const settings of allSettings) {
    if (settings.visibilityMinutes !== null) result.timedOut += await applyVisibilityTimeout(store, settings, actor);
  }
  return result;
}

/** Failed elements of the queue whose failure no attempts row records yet. */
async function countUnseenFailures(store: Store, settings: QueueSettings, actor: string): Promise<number> {
  const { db, dialect } = store;
  const rows = await db
    .selectFrom('Queues')
    .leftJoin('oo_element_attempts', 'oo_element_attempts.element_id', 'Queues.id')
    .select(['Queues.id as id', 'Queues.end_date as end_date', 'Queues.message as message', 'oo_element_attempts.attempt as attempt', 'oo_element_attempts.state as state'])
    .where('Queues.queue_name', '=', settings.queueName)
    .where('Queues.status', '=', 'FAILED')
    .where((eb) => eb.or([eb('oo_element_attempts.state', 'is', null), eb('oo_element_attempts.state', '=', 'QUEUED')]))
    .orderBy('Queues.id')
    .$call(paged(dialect, SWEEP_BATCH))
    .execute();
  let counted = 0;
  for (const row of rows) {
    const seen: SeenAttempts = row.state === null || row.state === undefined ? undefined : { attempt: Number(row.attempt), state: row.state as AttemptState };
    const failedAt = row.end_date === null || row.end_date === undefined ? now() : dialect.decodeDate(row.end_date);
    const outcome = decideFailure(settings, endedAttempt(seen), false, failedAt);
    const won = await whoWins(store, async (trx) => {
      // The attempts write comes first (SQLite takes its write lock on it) and decides the race.
      await countFailure(trx, { encodedId: row.id, queueName: settings.queueName }, seen, outcome, row.message ?? null, actor);
      return true;
    });
    if (won) counted++;
  }
  return counted;
}

/** Attempts rows that say "failed" while the element is no longer Failed: someone moved it by hand. */
async function reconcileMovedByHand(store: Store, actor: string): Promise<number> {
  const rows = await store.db
    .selectFrom('oo_element_attempts')
    .innerJoin('Queues', 'Queues.id', 'oo_element_attempts.element_id')
    .select(['oo_element_attempts.element_id as id', 'oo_element_attempts.queue_name as queue_name', 'oo_element_attempts.attempt as attempt', 'oo_element_attempts.state as state'])
    .where('oo_element_attempts.state', 'in', ['WAITING', 'EXHAUSTED', 'BUSINESS', 'ABANDONED'])
    .where('Queues.status', 'in', ['NEW', 'IN_PROGRESS', 'DONE'])
    .orderBy('oo_element_attempts.element_id')
    .$call(paged(store.dialect, SWEEP_BATCH))
    .execute();
  let moved = 0;
  for (const row of rows) {
    const seen = { attempt: Number(row.attempt), state: row.state as AttemptState };
    const won = await whoWins(store, async (trx) => {
      await moveAttempts(trx, { encodedId: row.id, queueName: row.queue_name }, seen, { attempt: seen.attempt + 1, state: 'QUEUED', retryAt: null, lastError: null });
      await addEvent(trx, { encodedId: row.id, queueName: row.queue_name }, { attempt: seen.attempt + 1, kind: 'REQUEUED', message: 'moved out of Failed by hand', actor });
      return true;
    });
    if (won) moved++;
  }
  return moved;
}

/** WAITING elements whose delay has passed: back to New, as attempt N + 1. */
async function retryDue(store: Store, actor: string): Promise<number> {
  const { db, dialect } = store;
  const rows = await db
    .selectFrom('oo_element_attempts')
    .select(['element_id', 'queue_name', 'attempt'])
    .where('state', '=', 'WAITING')
    .where('retry_at', '<=', dialect.encodeDate(now()))
    .orderBy('retry_at')
    .$call(paged(dialect, SWEEP_BATCH))
    .execute();
  let retried = 0;
  for (const row of rows) {
    const attempt = Number(row.attempt);
    const target = { encodedId: row.element_id, queueName: row.queue_name };
    const won = await whoWins(store, async (trx) => {
      expectOne(
        await trx.db
          .updateTable('Queues')
          .set({ status: 'NEW', start_date: null, end_date: null })
          .where('id', '=', row.element_id)
          .where('status', '=', 'FAILED')
          .executeTakeFirst(),
      );
      await moveAttempts(trx, target, { attempt, state: 'WAITING' }, { attempt: attempt + 1, state: 'QUEUED', retryAt: null, lastError: null });
      await addEvent(trx, target, { attempt: attempt + 1, kind: 'RETRIED', message: null, actor });
      return true;
    });
    if (won) retried++;
  }
  return retried;
}

/**
 * In Progress elements whose job has ended, or that were claimed longer ago than the timeout:
 * each goes back to New as its next attempt (Failed when that was its last one), or to
 * Abandoned, as the queue's setting says. A timed-out attempt counts as a failed one, so an
 * element that kills every robot cannot circulate for ever.
 */
async function applyVisibilityTimeout(store: Store, settings: QueueSettings, actor: string): Promise<number> {
  const { dialect } = store;
  const minutes = settings.visibilityMinutes ?? 0;
  const candidates = await listInProgressPastTimeout(store, settings.queueName, new Date(now().getTime() - minutes * 60_000), SWEEP_BATCH);
  let moved = 0;
  for (const element of candidates) {
    const encodedId = dialect.encodeUuid(element.id);
    const target = { encodedId, queueName: settings.queueName };
    const seen = await readAttempts(store, encodedId);
    const attempt = endedAttempt(seen);
    const reason = element.reason === 'job ended' ? 'its job ended while it was In Progress' : `In Progress for more than ${minutes} minutes`;
    const abandon = settings.visibilityAction === 'ABANDONED';
    const last = attempt >= settings.maxAttempts;
    const status = abandon ? 'ABANDONED' : last ? 'FAILED' : 'NEW';
    const stamp = dialect.encodeDate(now());
    const won = await whoWins(store, async (trx) => {
      expectOne(
        await trx.db
          .updateTable('Queues')
          .set(status === 'NEW' ? { status, start_date: null, end_date: null } : { status, end_date: stamp, message: `visibility timeout: ${reason}` })
          .where('id', '=', encodedId)
          .where('status', '=', 'IN_PROGRESS')
          .where('start_date', '=', element.rawStartDate)
          .executeTakeFirst(),
      );
      const next =
        status === 'NEW'
          ? { attempt: attempt + 1, state: 'QUEUED' as const }
          : { attempt, state: abandon ? ('ABANDONED' as const) : ('EXHAUSTED' as const) };
      await moveAttempts(trx, target, seen, { ...next, retryAt: null, lastError: `visibility timeout: ${reason}` });
      await addEvent(trx, target, { attempt, kind: 'TIMED_OUT', message: `${reason}; now ${status}`, actor });
      return true;
    });
    if (won) moved++;
  }
  return moved;
}

function decodeEvent({ dialect }: Store, row: Record<string, unknown>): ElementEvent {
  return {
    id: dialect.decodeUuid(row.id),
    attempt: Number(row.attempt),
    event: row.event as ElementEventKind,
    message: (row.message as string | null) ?? null,
    actor: String(row.actor),
    at: dialect.decodeDate(row.event_at),
  };
}

/** An element's attempt counter and its history, oldest event first. */
export async function getElementAttempts(store: Store, id: string): Promise<ElementAttempts> {
  const { db, dialect } = store;
  const canonical = checkId('queue element id', id);
  const encodedId = dialect.encodeUuid(canonical);
  const element = await db.selectFrom('Queues').select('queue_name').where('id', '=', encodedId).executeTakeFirst();
  const row = await db.selectFrom('oo_element_attempts').selectAll().where('element_id', '=', encodedId).executeTakeFirst();
  if (!element && !row) throw new NotFoundError(`no queue element with id ${canonical}`);
  const events = await db.selectFrom('oo_element_events').selectAll().where('element_id', '=', encodedId).orderBy('event_at').orderBy('attempt').execute();
  return {
    elementId: canonical,
    queueName: row?.queue_name ?? element!.queue_name,
    attempt: row ? Number(row.attempt) : 1,
    state: row ? (row.state as AttemptState) : 'FIRST',
    retryAt: row?.retry_at === null || row?.retry_at === undefined ? null : dialect.decodeDate(row.retry_at),
    lastError: row?.last_error ?? null,
    history: events.map((event) => decodeEvent(store, event)),
  };
}

