/**
 * Credentials: a username and a Fernet-encrypted password. Decrypted passwords leave the system
 * only through the robot API (`getCredential`); listings carry sizes, never the password.
 */
import { decryptString, encrypt } from '../../crypto/fernet.js';
import { InputError, NotFoundError } from '../../errors.js';
import { now } from '../../time/clock.js';
import type { Store } from '../open.js';
import { checkText } from './validate.js';

export interface Credential {
  name: string;
  username: string;
  /** the decrypted password */
  password: string;
  changedAt: Date;
}

/** What admins see of a credential: everything but the password. */
export interface CredentialSummary {
  name: string;
  username: string;
  changedAt: Date;
  /** length of the stored token */
  encryptedLength: number;
  /** the Python Orchestrator's estimate of the plain size: A..A+15 bytes */
  decryptedLengthRange: [number, number];
}

const NAME_LIMIT = 100;
const USERNAME_LIMIT = 250;
const TOKEN_LIMIT = 1000;

/** The Python Orchestrator's formula: A = trunc((N - 100) / 20 * 16), B = A + 15. */
export function estimatePlainLength(encryptedLength: number): [number, number] {
  const low = Math.trunc(((encryptedLength - 100) / 20) * 16);
  return [low, low + 15];
}

/** Encrypts a password, refusing one whose token would not fit the column. */
function encryptPassword(key: string, password: string): string {
  if (typeof password !== 'string') throw new InputError('credential password must be text');
  const token = encrypt(key, password);
  if (token.length > TOKEN_LIMIT) {
    throw new InputError(`credential password is too long: its encrypted form takes ${token.length} characters; the limit is ${TOKEN_LIMIT} (about 600 bytes of password)`);
  }
  return token;
}

export async function getCredential({ db, dialect }: Store, key: string, name: string): Promise<Credential> {
  checkText(dialect, 'credential name', name, NAME_LIMIT);
  const row = await db.selectFrom('Credentials').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) throw new NotFoundError(`no credential named "${name}"`);
  return { name: row.name, username: row.username, password: decryptString(key, row.password), changedAt: dialect.decodeDate(row.changed_at) };
}

/**
 * The first of `names` (in that order) that is stored, decrypted; undefined when none is.
 *
 * @example
 *   await findFirstCredential(store, key, ['git:github.com/org', 'git:github.com']);
 */
export async function findFirstCredential({ db, dialect }: Store, key: string, names: readonly string[]): Promise<Credential | undefined> {
  if (names.length === 0) return undefined;
  for (const name of names) checkText(dialect, 'credential name', name, NAME_LIMIT);
  const rows = await db.selectFrom('Credentials').selectAll().where('name', 'in', [...names]).execute();
  const row = names.map((name) => rows.find((r) => r.name === name)).find((r) => r !== undefined);
  if (!row) return undefined;
  return { name: row.name, username: row.username, password: decryptString(key, row.password), changedAt: dialect.decodeDate(row.changed_at) };
}

export async function listCredentials({ db, dialect }: Store): Promise<CredentialSummary[]> {
  const rows = await db.selectFrom('Credentials').selectAll().orderBy('name').execute();
  return rows.map((row) => ({
    name: row.name,
    username: row.username,
    changedAt: dialect.decodeDate(row.changed_at),
    encryptedLength: row.password.length,
    decryptedLengthRange: estimatePlainLength(row.password.length),
  }));
}

export async function createCredential({ db, dialect }: Store, key: string, name: string, username: string, password: string): Promise<void> {
  checkText(dialect, 'credential name', name, NAME_LIMIT);
  checkText(dialect, 'credential username', username, USERNAME_LIMIT, { allowEmpty: true });
  const token = encryptPassword(key, password);
  const exists = await db.selectFrom('Credentials').select('name').where('name', '=', name).executeTakeFirst();
  if (exists) throw new InputError(`a credential named "${name}" already exists; choose another name or edit the existing one`);
  await db.insertInto('Credentials').values({ name, username, password: token, changed_at: dialect.encodeDate(now()) }).execute();
}

/** Changes username and password of an existing credential (the robot API's update_credential). */
export async function updateCredential({ db, dialect }: Store, key: string, name: string, username: string, password: string): Promise<void> {
  checkText(dialect, 'credential name', name, NAME_LIMIT);
  checkText(dialect, 'credential username', username, USERNAME_LIMIT, { allowEmpty: true });
  const token = encryptPassword(key, password);
  const result = await db
    .updateTable('Credentials')
    .set({ username, password: token, changed_at: dialect.encodeDate(now()) })
    .where('name', '=', name)
    .executeTakeFirst();
  if (Number(result.numUpdatedRows) === 0) throw new NotFoundError(`no credential named "${name}"`);
}

export async function deleteCredential({ db, dialect }: Store, name: string): Promise<void> {
  checkText(dialect, 'credential name', name, NAME_LIMIT);
  const result = await db.deleteFrom('Credentials').where('name', '=', name).executeTakeFirst();
  if (Number(result.numDeletedRows) === 0) throw new NotFoundError(`no credential named "${name}"`);
}

/** Credential summaries, each flagged when its token cannot be decrypted with `key` (another key). */
export async function listCredentialsWithKeyCheck(store: Store, key: string | undefined): Promise<(CredentialSummary & { readable: boolean | null })[]> {
  const rows = await store.db.selectFrom('Credentials').select(['name', 'password']).execute();
  const readable = new Map<string, boolean>();
  for (const row of rows) {
    if (key === undefined) continue;
    try {
      decryptString(key, row.password);
      readable.set(row.name, true);
    } catch {
      readable.set(row.name, false);
    }
  }
  const summaries = await listCredentials(store);
  return summaries.map((summary) => ({ ...summary, readable: readable.get(summary.name) ?? null }));
}
