/**
 * Which due trigger this Scheduler may start now. The store lists due Idle triggers in the
 * Scheduler's order (priority high first, then Single > Scheduled > Queue, then earliest due);
 * these rules add what only this machine knows: its name, `--exclusive` and what runs here.
 */
import type { Trigger } from '../db/store/triggers.js';
import type { TriggerType } from '../db/types.js';

export interface Here {
  machineName: string;
  exclusive: boolean;
}

export interface RunningHere {
  /** processes this Scheduler is running (or launching) now */
  count: number;
  /** whether one of them is blocking */
  blocking: boolean;
}

/** Whitelists: a listed machine only; `--exclusive` runs only triggers that list this machine. */
export function mayRunHere(trigger: Pick<Trigger, 'schedulerWhitelist'>, here: Here): boolean {
  const listed = trigger.schedulerWhitelist.includes(here.machineName);
  if (here.exclusive) return listed;
  return trigger.schedulerWhitelist.length === 0 || listed;
}

/**
 * Blocking: a blocking trigger starts only when nothing runs here, and nothing starts while a
 * blocking process runs. A blocking trigger that must wait is skipped for this tick (as the
 * Python Scheduler does), so non-blocking triggers behind it may still start.
 */
export function mayStartNow(trigger: Pick<Trigger, 'isBlocking'>, running: RunningHere): boolean {
  if (running.blocking) return false;
  return !trigger.isBlocking || running.count === 0;
}

const TYPE_RANK: Record<TriggerType, number> = { SINGLE: 0, SCHEDULED: 1, QUEUE: 2 };

/** The Scheduler's order; the store already sorts so, this keeps it true for any input. */
export function inStartOrder(triggers: readonly Trigger[]): Trigger[] {
  const due = (t: Trigger) => ('nextRun' in t ? t.nextRun.getTime() : 0);
  return [...triggers].sort((a, b) => b.priority - a.priority || TYPE_RANK[a.type] - TYPE_RANK[b.type] || due(a) - due(b));
}

/** The due triggers this machine may consider, in start order. */
export function candidatesHere(due: readonly Trigger[], here: Here): Trigger[] {
  return inStartOrder(due).filter((trigger) => mayRunHere(trigger, here));
}
