/**
 * The claim guard (oo-013-claim-guard) on SQLite, PostgreSQL and MariaDB: robots of ours and
 * robots that send exactly the Python client's statements race on one queue, Schedulers of ours
 * and Python-style Scheduler starts race on due triggers; no element or trigger is ever held
 * twice, the Python-style loser gets the guard's error, and every legitimate transition (ours and
 * the Python tools') still works. Prints the race figures per dialect.
 */
import { execFileSync } from 'node:child_process';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrchestratorConnection } from '../src/connection/orchestrator-connection.js';
import { claimGuardRefusal } from '../src/db/dialects/dialect.js';
import { closeStore, openStore, toDatabaseError, type Store } from '../src/db/open.js';
import { checkSchema, upgradeDatabase } from '../src/db/schema/upgrade.js';
import { CLAIM_GUARDS } from '../src/db/schema/tables.js';
import {
  bulkCreateQueueElements,
  createQueueElement,
  getNextQueueElement,
  getQueueElement,
  getQueueElements,
  retryQueueElements,
  setQueueElementStatus,
  updateQueueElement,
} from '../src/db/store/queues.js';
import { saveQueueSettings, sweepQueues } from '../src/db/store/retries.js';
import { runTriggerNow } from '../src/db/store/run-requests.js';
import { claimTrigger, createTrigger, getTrigger, setTriggerStatus, transitionTriggerStatus, updateTrigger, type NewTrigger } from '../src/db/store/triggers.js';
import { ClaimConflictError } from '../src/errors.js';
import { buildOrchestrator } from '../src/orchestrator/server.js';
import { setClock } from '../src/time/clock.js';
import { LIVE_DIALECTS, type LiveDialect } from './helpers/databases.js';
import { pythonBeginSingleTrigger, pythonEditTrigger, pythonGetNextQueueElement, pythonSetQueueElementStatus, pythonSetTriggerStatus } from './helpers/python-client.js';
import { KEY } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const ELEMENTS = 400;
const OUR_ROBOTS = 6;
const PYTHON_ROBOTS = 4;
const TRIGGERS = 60;
const HEADERS = { 'content-type': 'application/json', 'x-openorchestrator-request': '1' };

/** The guard's own message per dialect: SQLite's RAISE takes a literal only (see sqlite.ts). */
function guardMessage(dialect: LiveDialect, kind: 'element' | 'trigger'): RegExp {
  if (dialect === 'sqlite') return kind === 'element' ? /^claim guard: the queue element is no longer NEW: another robot has it$/ : /^claim guard: the trigger is no longer IDLE: another Scheduler has it$/;
  return kind === 'element'
    ? /^claim guard: queue element [0-9a-f-]{32,36} \([^)]*\) is (IN_PROGRESS|DONE|FAILED|ABANDONED): another robot has it$/
    : /^claim guard: trigger "[^"]*" is [A-Z]+: another Scheduler has it$/;
}

/** The id as the dialect prints it in the guard's message (PostgreSQL's uuid with dashes, hex elsewhere). */
const printed = (store: Store, id: string) => String(store.dialect.encodeUuid(id));

function robotTrigger(name: string, extra: Partial<NewTrigger> = {}): NewTrigger {
  return { type: 'SINGLE', triggerName: name, processName: name, processPath: 'robot.py', nextRun: new Date(Date.now() - 60_000), ...extra } as NewTrigger;
}

async function refusalOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  const refusal = claimGuardRefusal(error);
  if (refusal === undefined) throw new Error(`expected the claim guard's refusal, got ${error === undefined ? 'success' : String(error)}`);
  return refusal;
}

describe.each(LIVE_DIALECTS)('the claim guard on %s', (dialect) => {
  let live: TestStore;
  let store: Store;

  beforeAll(async () => {
    live = await openTestStore(dialect);
    store = live.store;
  });
  afterAll(async () => {
    await live?.close();
  });

  it('is installed on Queues and Triggers, and the schema check says so', async () => {
    for (const guard of CLAIM_GUARDS) expect(await store.dialect.listTriggers(store.db)).toContain(guard.name);
    expect(await checkSchema(store.db, store.dialect)).toMatchObject({ current: true });
  });

  it(`${OUR_ROBOTS} robots of ours and ${PYTHON_ROBOTS} Python-style robots drain ${ELEMENTS} elements with retries: no element held twice`, async () => {
    const queue = 'race';
    await bulkCreateQueueElements(store, queue, Array.from({ length: ELEMENTS }, (_, i) => ({ reference: `r${i}`, data: String(i) })));
    const stores = Array.from({ length: OUR_ROBOTS + PYTHON_ROBOTS + 1 }, () => openStore(live.url));
    const claims = new Map<string, number>();
    const retries = new Map<string, number>();
    const failedOnce = new Set<string>();
    const refusals: string[] = [];
    const otherErrors: unknown[] = [];
    let pythonClaims = 0;
    const bump = (map: Map<string, number>, id: string) => map.set(id, (map.get(id) ?? 0) + 1);
    let draining = true;
    try {
      const ours = stores.slice(0, OUR_ROBOTS).map(async (robot) => {
        for (;;) {
          const element = await getNextQueueElement(robot, queue);
          if (!element) {
            if (!draining) return;
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          bump(claims, element.id);
          // Every fifth element fails its first attempt and is retried: Failed -> New while others race.
          if (Number(element.data) % 5 === 0 && !failedOnce.has(element.id)) {
            failedOnce.add(element.id);
            await setQueueElementStatus(robot, element.id, 'FAILED', 'first attempt fails');
            if ((await retryQueueElements(robot, [element.id])) === 1) bump(retries, element.id);
          } else {
            await setQueueElementStatus(robot, element.id, 'DONE');
          }
        }
      });
      const python = stores.slice(OUR_ROBOTS, OUR_ROBOTS + PYTHON_ROBOTS).map(async (robot) => {
        for (;;) {
          let id: string | undefined;
          try {
            id = await pythonGetNextQueueElement(robot, queue);
          } catch (error) {
            const refusal = claimGuardRefusal(error);
            if (refusal === undefined) otherErrors.push(error);
            else refusals.push(refusal);
            continue;
          }
          if (id === undefined) {
            if (!draining) return;
            await new Promise((resolve) => setTimeout(resolve, 5));
            continue;
          }
          pythonClaims++;
          bump(claims, id);
          await pythonSetQueueElementStatus(robot, id, 'DONE');
        }
      });
      // The queue is drained when nothing is New or In Progress; the robots then stop.
      const watcher = (async () => {
        for (;;) {
          const open = [...(await getQueueElements(stores.at(-1)!, queue, { status: 'NEW', limit: 1 })), ...(await getQueueElements(stores.at(-1)!, queue, { status: 'IN_PROGRESS', limit: 1 }))];
          if (open.length === 0 && claims.size === ELEMENTS) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        draining = false;
      })();
      await Promise.all([...ours, ...python, watcher]);
    } finally {
      await Promise.all(stores.map((s) => closeStore(s)));
    }
    const duplicates = [...claims.entries()].filter(([id, n]) => n !== 1 + (retries.get(id) ?? 0));
    console.log(
      `claim guard race: ${dialect}: ${ELEMENTS} elements, ${OUR_ROBOTS} of our robots + ${PYTHON_ROBOTS} Python-style, ${[...retries.values()].reduce((a, b) => a + b, 0)} retries; ` +
        `${pythonClaims} Python-style claims won, ${refusals.length} refused by the guard; duplicates ${duplicates.length}`,
    );
    expect(otherErrors).toEqual([]);
    expect(duplicates).toEqual([]);
    expect(claims.size).toBe(ELEMENTS);
    for (const refusal of refusals) expect(refusal).toMatch(guardMessage(dialect, 'element'));
    const done = await getQueueElements(store, queue, { status: 'DONE', limit: ELEMENTS + 1 });
    expect(done).toHaveLength(ELEMENTS);
  });

  it(`Schedulers of ours and Python-style Scheduler starts race on ${TRIGGERS} due triggers: each starts once`, async () => {
    const ids: string[] = [];
    for (let i = 0; i < TRIGGERS; i++) ids.push(await createTrigger(store, robotTrigger(`race-${dialect}-${i}`)));
    const stores = Array.from({ length: 6 }, () => openStore(live.url));
    const starts = new Map<string, number>();
    const refusals: string[] = [];
    let pythonStarts = 0;
    try {
      await Promise.all(
        stores.map(async (scheduler, n) => {
          // Each walks the list from another place, so that they meet on the same triggers.
          for (let k = 0; k < TRIGGERS; k++) {
            const id = ids[(k + n * 7) % TRIGGERS]!;
            let won: boolean;
            if (n % 2 === 0) {
              won = await claimTrigger(scheduler, { id, type: 'SINGLE' });
            } else {
              try {
                won = await pythonBeginSingleTrigger(scheduler, id);
                if (won) pythonStarts++;
              } catch (error) {
                const refusal = claimGuardRefusal(error);
                if (refusal === undefined) throw error;
                refusals.push(refusal);
                continue;
              }
            }
            if (won) starts.set(id, (starts.get(id) ?? 0) + 1);
          }
        }),
      );
    } finally {
      await Promise.all(stores.map((s) => closeStore(s)));
    }
    const twice = [...starts.values()].filter((n) => n > 1).length;
    console.log(`claim guard race: ${dialect}: ${TRIGGERS} triggers, 3 Schedulers of ours + 3 Python-style; ${pythonStarts} Python-style starts won, ${refusals.length} refused by the guard; started twice ${twice}`);
    expect(twice).toBe(0);
    expect(starts.size).toBe(TRIGGERS);
    for (const refusal of refusals) expect(refusal).toMatch(guardMessage(dialect, 'trigger'));
    for (const id of ids) expect((await getTrigger(store, id)).status).toBe('RUNNING');
  });

  it("refuses the Python client's late claim of an element another robot holds, finished or failed, with the guard's one line", async () => {
    const queue = 'late';
    const held = await createQueueElement(store, queue, { reference: 'INV-1' });
    // The Python robot read the element while it was New; ours claims it before its UPDATE.
    const python = openStore(live.url);
    try {
      const mine = await getNextQueueElement(store, queue);
      expect(mine?.id).toBe(held.id);
      const late = sql`UPDATE ${sql.table('Queues')} SET ${sql.ref('status')} = 'IN_PROGRESS', ${sql.ref('start_date')} = ${store.dialect.encodeDate(new Date())} WHERE ${sql.ref('id')} = ${store.dialect.encodeUuid(held.id)}`;
      const refusal = await refusalOf(late.execute(python.db));
      expect(refusal).toMatch(guardMessage(dialect, 'element'));
      if (dialect !== 'sqlite') expect(refusal).toContain(`queue element ${printed(store, held.id)} (INV-1) is IN_PROGRESS: another robot has it`);
      expect((await getQueueElement(store, held.id)).startDate).toEqual(mine!.startDate);
      // set_queue_element_status(IN_PROGRESS) on the held element writes start_date only (the ORM
      // leaves the unchanged status out): a new claim time on a held element is refused too.
      expect(await refusalOf(pythonSetQueueElementStatus(python, held.id, 'IN_PROGRESS'))).toMatch(guardMessage(dialect, 'element'));
      // Done, Failed and Abandoned elements are not New either.
      for (const status of ['DONE', 'FAILED', 'ABANDONED']) {
        await pythonSetQueueElementStatus(python, held.id, status, `set ${status}`);
        expect((await getQueueElement(store, held.id)).status).toBe(status);
        expect(await refusalOf(late.execute(python.db))).toMatch(guardMessage(dialect, 'element'));
        expect(await refusalOf(pythonSetQueueElementStatus(python, held.id, 'IN_PROGRESS'))).toMatch(guardMessage(dialect, 'element'));
      }
      // What our robot API says when a robot of ours tries the same: one line naming the element.
      const ours = await setQueueElementStatus(store, held.id, 'IN_PROGRESS').then(() => undefined, (e: unknown) => e as Error);
      expect(ours).toBeInstanceOf(ClaimConflictError);
      expect(ours!.message).toBe(`claim guard: queue element ${held.id} (INV-1) is ABANDONED: another robot has it; only a New element can be set In Progress, and one In Progress keeps its start date`);
      // The robot API: the same one line, a ClaimConflictError (a DatabaseError).
      const oc = new OrchestratorConnection({ processName: 'guarded-robot', connectionString: live.url, cryptoKey: KEY });
      try {
        const refused = await oc.setQueueElementStatus(held.id, 'IN_PROGRESS').then(() => undefined, (e: unknown) => e as Error);
        expect(refused).toBeInstanceOf(ClaimConflictError);
        expect(refused!.message).toBe(ours!.message);
      } finally {
        await oc.close();
      }
      // A driver error that reaches toDatabaseError unexplained is one line too.
      const mapped = toDatabaseError(await late.execute(python.db).then(() => undefined, (e: unknown) => e), store.config);
      expect(mapped).toBeInstanceOf(ClaimConflictError);
      expect(mapped.message).toMatch(/^database error \(.+\): claim guard: .*another robot has it$/);
      expect(mapped.message).not.toContain('\n');
    } finally {
      await closeStore(python);
    }
  });

  it('lets every legitimate queue element transition through: ours and the Python tools\'', async () => {
    const queue = 'legit';
    const python = openStore(live.url);
    try {
      // Python claim of a New element, its end states, and a claim again after New.
      const a = await createQueueElement(store, queue, { reference: 'A' });
      expect(await pythonGetNextQueueElement(python, queue)).toBe(a.id);
      await pythonSetQueueElementStatus(python, a.id, 'FAILED', 'python failed it');
      // Ours: retry Failed -> New, claim again, edit the held element (message, data, the same status).
      expect(await retryQueueElements(store, [a.id])).toBe(1);
      const again = await getNextQueueElement(store, queue);
      expect(again?.id).toBe(a.id);
      const edited = await updateQueueElement(store, a.id, { message: 'working', data: '{"n":1}', status: 'IN_PROGRESS' });
      expect(edited).toMatchObject({ status: 'IN_PROGRESS', message: 'working', data: '{"n":1}' });
      expect(edited.startDate).toEqual(again!.startDate);
      // The Python client's message-only update of a held element, and its own end of it.
      await sql`UPDATE ${sql.table('Queues')} SET ${sql.ref('message')} = 'python note' WHERE ${sql.ref('id')} = ${store.dialect.encodeUuid(a.id)}`.execute(python.db);
      await pythonSetQueueElementStatus(python, a.id, 'DONE');
      expect((await getQueueElement(store, a.id)).status).toBe('DONE');
      // Back to New by hand (both tools), then a Python set_queue_element_status claim of it.
      await updateQueueElement(store, a.id, { status: 'NEW', startDate: null, endDate: null });
      await pythonSetQueueElementStatus(python, a.id, 'IN_PROGRESS');
      expect((await getQueueElement(store, a.id)).status).toBe('IN_PROGRESS');
      await pythonSetQueueElementStatus(python, a.id, 'NEW');
      await setQueueElementStatus(store, a.id, 'IN_PROGRESS');
      await setQueueElementStatus(store, a.id, 'ABANDONED');
      // A held element's claim time moved by hand is a second claim: refused, said in one line.
      const b = await createQueueElement(store, queue, { reference: 'B' });
      await getNextQueueElement(store, queue, { reference: 'B' });
      const moved = await updateQueueElement(store, b.id, { startDate: new Date(2020, 0, 1) }).then(() => undefined, (e: unknown) => e as Error);
      expect(moved).toBeInstanceOf(ClaimConflictError);
      expect(moved!.message).toMatch(new RegExp(`^claim guard: queue element ${b.id} \\(B\\) is IN_PROGRESS: another robot has it;`));
      // The visibility timeout takes an element back to New; a robot claims it again.
      await saveQueueSettings(store, { queueName: queue, maxAttempts: 3, delayMode: 'FIXED', delaySeconds: 0, maxDelaySeconds: null, visibilityMinutes: 1 });
      const restore = setClock(() => new Date(Date.now() + 5 * 60_000));
      try {
        expect((await sweepQueues(store, 'test')).timedOut).toBe(1);
      } finally {
        restore();
      }
      expect((await getQueueElement(store, b.id)).status).toBe('NEW');
      expect((await getNextQueueElement(store, queue, { reference: 'B' }))?.id).toBe(b.id);
    } finally {
      await closeStore(python);
    }
  });

  it("the Orchestrator's element dialog edits a held element's message and answers a refused claim with 409 and the guard's line", async () => {
    const { app, session } = await buildOrchestrator({ connectionString: live.url, cryptoKey: KEY });
    try {
      const patch = (id: string, body: unknown) => app.inject({ method: 'PATCH', url: `/api/queue-elements/${id}`, headers: HEADERS, payload: JSON.stringify(body) });
      const held = await createQueueElement(store, 'dialog', { reference: 'D-1' });
      const claimed = (await getNextQueueElement(store, 'dialog'))!;
      // The dialog sends the status it shows: In Progress, with a new message.
      const edited = await patch(held.id, { status: 'IN_PROGRESS', message: 'waiting for the customer' });
      expect(edited.statusCode, edited.body).toBe(200);
      expect(edited.json()).toMatchObject({ status: 'IN_PROGRESS', message: 'waiting for the customer' });
      expect((await getQueueElement(store, held.id)).startDate).toEqual(claimed.startDate);
      expect((await patch(held.id, { status: 'DONE' })).statusCode).toBe(200);
      const refused = await patch(held.id, { status: 'IN_PROGRESS' });
      expect(refused.statusCode).toBe(409);
      // PostgreSQL's aborted transaction allows no read afterwards: the guard's own line, which names the element there.
      expect(refused.json().error).toMatch(new RegExp(`^claim guard: queue element ${held.id} \\(D-1\\) is DONE: another robot has it(; only a New element can be set In Progress, and one In Progress keeps its start date)?$`));
    } finally {
      await app.close();
      await session.disconnect();
    }
  });

  it("refuses a Python-style Scheduler's start of a trigger another Scheduler runs, and lets every legitimate trigger transition through", async () => {
    const python = openStore(live.url);
    try {
      const id = await createTrigger(store, robotTrigger(`guarded-${dialect}`));
      expect(await claimTrigger(store, { id, type: 'SINGLE' })).toBe(true);
      const late = sql`UPDATE ${sql.table('Triggers')} SET ${sql.ref('process_status')} = 'RUNNING', ${sql.ref('last_run')} = ${store.dialect.encodeDate(new Date())} WHERE ${sql.ref('id')} = ${store.dialect.encodeUuid(id)}`;
      const refusal = await refusalOf(late.execute(python.db));
      expect(refusal).toMatch(guardMessage(dialect, 'trigger'));
      if (dialect !== 'sqlite') expect(refusal).toBe(`claim guard: trigger "guarded-${dialect}" is RUNNING: another Scheduler has it`);
      // The Python Orchestrator edits a running trigger; kill and its end; enable; pause and its end.
      await pythonEditTrigger(python, id, { trigger_name: `guarded-${dialect}-renamed`, process_args: 'x' });
      await pythonSetTriggerStatus(python, id, 'KILLING');
      await pythonSetTriggerStatus(python, id, 'KILLED');
      expect(await refusalOf(late.execute(python.db))).toMatch(guardMessage(dialect, 'trigger'));
      await pythonSetTriggerStatus(python, id, 'IDLE');
      expect(await pythonBeginSingleTrigger(python, id)).toBe(true);
      await pythonSetTriggerStatus(python, id, 'PAUSING');
      await pythonSetTriggerStatus(python, id, 'PAUSED');
      // Ours: enable, claim, the end states of a run, kill, run now, an edit of a running trigger.
      expect(await transitionTriggerStatus(store, id, ['PAUSED'], 'IDLE')).toBe(true);
      expect(await claimTrigger(store, { id, type: 'SINGLE' })).toBe(true);
      await updateTrigger(store, id, robotTrigger(`guarded-${dialect}`, { processArgs: 'edited while running' }));
      expect(await transitionTriggerStatus(store, id, ['RUNNING'], 'KILLING')).toBe(true);
      expect(await transitionTriggerStatus(store, id, ['KILLING', 'RUNNING', 'PAUSING'], 'KILLED')).toBe(true);
      expect(await runTriggerNow(store, id)).toBe(true);
      expect(await claimTrigger(store, { id, type: 'SINGLE' })).toBe(true);
      expect(await transitionTriggerStatus(store, id, ['RUNNING'], 'DONE')).toBe(true);
      // A trigger set Running by hand from anything but Idle: one line naming it.
      const forced = await setTriggerStatus(store, id, 'RUNNING').then(() => undefined, (e: unknown) => e as Error);
      expect(forced).toBeInstanceOf(ClaimConflictError);
      expect(forced!.message).toBe(`claim guard: trigger "guarded-${dialect}" is DONE: another Scheduler has it; a trigger becomes Running only from Idle`);
      expect((await getTrigger(store, id)).status).toBe('DONE');
    } finally {
      await closeStore(python);
    }
  });

  it('is restored by upgrade when something dropped it, and the schema check says so in one line', async () => {
    const other = await openTestStore(dialect);
    try {
      const { store: s } = other;
      if (dialect === 'sqlite') {
        // What an alembic migration in batch mode does to a table on SQLite: a copy, the old one
        // dropped (its triggers with it), the copy renamed, the indexes made again.
        const table = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'Queues'`.execute(s.db)).rows[0]!.sql;
        const indexes = (await sql<{ sql: string }>`SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'Queues' AND sql IS NOT NULL`.execute(s.db)).rows.map((r) => r.sql);
        await sql.raw(table.replace('"Queues"', '"_alembic_tmp_Queues"')).execute(s.db);
        await sql.raw('INSERT INTO "_alembic_tmp_Queues" SELECT * FROM "Queues"').execute(s.db);
        await sql.raw('DROP TABLE "Queues"').execute(s.db);
        await sql.raw('ALTER TABLE "_alembic_tmp_Queues" RENAME TO "Queues"').execute(s.db);
        for (const index of indexes) await sql.raw(index).execute(s.db);
        await sql.raw('DROP TRIGGER "oo_claim_guard_triggers"').execute(s.db);
      } else {
        for (const guard of CLAIM_GUARDS) await sql.raw(`DROP TRIGGER ${s.dialect.quote(guard.name)}${dialect === 'postgres' ? ` ON ${s.dialect.quote(guard.table)}` : ''}`).execute(s.db);
      }
      const check = await checkSchema(s.db, s.dialect);
      expect(check.current).toBe(false);
      expect(check.firstStep).toBe('restore claim guard oo_claim_guard_queues on Queues (status becomes IN_PROGRESS only from NEW; something dropped it)');
      const result = await upgradeDatabase(s.db, s.dialect);
      expect(result.steps).toEqual([
        'restore claim guard oo_claim_guard_queues on Queues (status becomes IN_PROGRESS only from NEW; something dropped it)',
        'restore claim guard oo_claim_guard_triggers on Triggers (process_status becomes RUNNING only from IDLE; something dropped it)',
        // The rebuild of Queues took the change tracking's triggers on it along (oo-014).
        ...(dialect === 'sqlite' ? [expect.stringMatching(/^create change-tracking triggers \(missing: oo_track_queues_\w+(, oo_track_queues_\w+)*\)$/)] : []),
      ]);
      expect(await checkSchema(s.db, s.dialect)).toMatchObject({ current: true });
      const element = await createQueueElement(s, 'again');
      await setQueueElementStatus(s, element.id, 'DONE');
      await expect(setQueueElementStatus(s, element.id, 'IN_PROGRESS')).rejects.toThrow(ClaimConflictError);
    } finally {
      await other.close();
    }
  });
});

describe("the claim guard seen by the Python tools' own sqlite3 (SQLite 3.40 on these machines, older than 3.47)", () => {
  it('opens the guarded file, and a late claim fails with sqlite3.IntegrityError and the guard line', async () => {
    const live = await openTestStore('sqlite');
    try {
      const element = await createQueueElement(live.store, 'py', { reference: 'PY-1' });
      await getNextQueueElement(live.store, 'py');
      const path = live.url.replace(/^sqlite\+pysqlite:\/\/\//, '');
      // SQLAlchemy's statements for get_next_queue_element's UPDATE, through Python's own module.
      const script = [
        'import sqlite3, sys',
        'con = sqlite3.connect(sys.argv[1])',
        'print(sqlite3.sqlite_version)',
        'print(con.execute("SELECT count(*) FROM sqlite_master WHERE type = \'trigger\'").fetchone()[0])',
        'try:',
        '    con.execute(\'UPDATE "Queues" SET status=?, start_date=? WHERE "Queues".id = ?\', ("IN_PROGRESS", "2026-01-01 00:00:00.000000", sys.argv[2]))',
        '    con.commit()',
        '    print("updated")',
        'except Exception as e:',
        '    print(type(e).__module__ + "." + type(e).__name__ + ": " + str(e))',
      ].join('\n');
      const out = execFileSync('python3', ['-c', script, path, String(live.store.dialect.encodeUuid(element.id))], { encoding: 'utf8' }).trim().split('\n');
      console.log(`claim guard: Python's sqlite3 ${out[0]} reads the guarded file; its late claim: ${out[2]}`);
      // Every trigger of ours parses there: the guards and the change tracking's.
      expect(out[1]).toBe(String(CLAIM_GUARDS.length + live.store.dialect.trackingTriggers.length));
      expect(out[2]).toBe('sqlite3.IntegrityError: claim guard: the queue element is no longer NEW: another robot has it');
    } finally {
      await live.close();
    }
  });
});
