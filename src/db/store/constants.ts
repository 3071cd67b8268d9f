/** Constants: named values any robot may read. */
import { InputError, NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import type { Store } from '../open.js';
import { checkText } from './validate.js';

export interface Constant {
  name: string;
  value: string;
  changedAt: Date;
}

const NAME_LIMIT = 100;
const VALUE_LIMIT = 1000;

export async function getConstant({ db, dialect }: Store, name: string): Promise<Constant> {
  checkText(dialect, 'constant name', name, NAME_LIMIT);
  const row = await db.selectFrom('Constants').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw new NotFoundError(`no constant named "${name}"`);
  return { name: row.name, value: row.value, changedAt: dialect.decodeDate(row.changed_at) };
}

export async function listConstants({ db, dialect }: Store): Promise<Constant[]> {
  const rows = await db.selectFrom('Constants').selectAll().orderBy('name').execute();
  return rows.map((row) => ({ name: row.name, value: row.value, changedAt: dialect.decodeDate(row.changed_at) }));
}

/** Creates a constant; a name that exists already is refused. */
export async function createConstant({ db, dialect }: Store, name: string, value: string): Promise<void> {
  checkText(dialect, 'constant name', name, NAME_LIMIT);
  checkText(dialect, 'constant value', value, VALUE_LIMIT, { allowEmpty: true });
  const exists = await db.selectFrom('Constants').select('name').where('name', '=', name).executeTakeFirst();
  if (exists) throw new InputError(`a constant named "${name}" already exists; choose another name or edit the existing one`);
  await db.insertInto('Constants').values({ name, value, changed_at: dialect.encodeDate(now()) }).execute();
}

/** Changes the value of an existing constant (the robot API's update_constant). */
export async function updateConstant({ db, dialect }: Store, name: string, value: string): Promise<void> {
  checkText(dialect, 'constant name', name, NAME_LIMIT);
  checkText(dialect, 'constant value', value, VALUE_LIMIT, { allowEmpty: true });
  const result = await db
    .updateTable('Constants')
    .set({ value, changed_at: dialect.encodeDate(now()) })
    .where('name', '=', name)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`no constant named "${name}"`);
}

export async function deleteConstant({ db, dialect }: Store, name: string): Promise<void> {
  checkText(dialect, 'constant name', name, NAME_LIMIT);
  const result = await db.deleteFrom('Constants').where('name', '=', name).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no constant named "${name}"`);
}
