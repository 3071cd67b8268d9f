/**
 * The one secret scrub of the program: the Scheduler's console, robots' recorded stderr, database
 * errors and HTTP error responses all pass through `scrubSecrets`.
 *
 * Spellings. A secret is found however text spells it: as written; percent-encoded, with upper-
 * or lower-case hex and any mix of encoded and plain characters (so encodeURIComponent, Python's
 * quote and quote_plus, and a URL a user half-encoded by hand are all covered); `+` or `%20` for a
 * space; and JSON-escaped (`\"`, `\\`), as the Scheduler's --json lines write it. A password
 * written `p%21w` in a connection string is found as `p!w`, `p%21w` and `p%21W`.
 *
 * Values, not letters. A secret of `LONG_SECRET` (8) characters or more is replaced wherever it
 * occurs: so long a string turns up by chance practically never. A shorter one is replaced only
 * where it stands on its own, with no letter or digit right before or after it, as a value does
 * in `password=e`, `"e"` or `user:e@host`: a password `e` leaves "access denied" as it is.
 */
import type { ConnectionConfig } from './connection-string.js';

/** Secrets at least this long are replaced everywhere; shorter ones only where they stand alone. */
export const LONG_SECRET = 8;

/** What a secret is replaced with. */
export const MASK = '***';

const patterns = new Map<string, RegExp>();

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** `%2f` or `%2F`: each hex letter in either case. */
function percentPattern(char: string): string {
  return [...Buffer.from(char, 'utf8')]
    .map((byte) => {
      const hex = byte.toString(16).toUpperCase().padStart(2, '0');
      return `%${[...hex].map((digit) => (/[A-F]/.test(digit) ? `[${digit}${digit.toLowerCase()}]` : digit)).join('')}`;
    })
    .join('');
}

/** Every way one character of a secret can be written in a log line or a URL. */
function charPattern(char: string): string {
  // The longer spellings first: '%' must not win over '%25' and leave '25' behind.
  const ways = [percentPattern(char)];
  if (char === '"') ways.push('\\\\"');
  if (char === '\\') ways.push('\\\\\\\\');
  if (char === ' ') ways.push('\\+');
  ways.push(escapeRegExp(char));
  return `(?:${ways.join('|')})`;
}

function patternFor(secret: string): RegExp {
  let pattern = patterns.get(secret);
  if (pattern === undefined) {
    const body = [...secret].map(charPattern).join('');
    const alone = [...secret].length < LONG_SECRET;
    pattern = new RegExp(alone ? `(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])` : body, 'gu');
    // Secrets are few (a password, a key); the bound only guards against a caller that varies them.
    if (patterns.size > 200) patterns.clear();
    patterns.set(secret, pattern);
  }
  pattern.lastIndex = 0;
  return pattern;
}

/**
 * `text` with every spelling of every secret replaced by `***` (see the rule above). Empty and
 * missing secrets are ignored; longer secrets go first, so one that contains another is masked whole.
 *
 * @example
 *   scrubSecrets('connect postgres://oo:p%21w@db failed: p!w', ['p!w']); // 'connect postgres://oo:***@db failed: ***'
 *   scrubSecrets('access denied for e', ['e']);                           // 'access denied for ***'
 */
export function scrubSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  const list = [...new Set(secrets.filter((secret): secret is string => typeof secret === 'string' && secret !== ''))];
  list.sort((a, b) => b.length - a.length);
  let out = text;
  for (const secret of list) out = out.replace(patternFor(secret), MASK);
  return out;
}

/**
 * The secrets a connection string carries: the password, a TLS key or Oracle wallet passphrase,
 * and a password given as a query option or inside `odbc_connect`.
 *
 * @example
 *   connectionSecrets(parseConnectionString('postgresql://oo:pw@db/oo?sslpassword=kp')); // ['pw', 'kp']
 */
export function connectionSecrets(config: ConnectionConfig | undefined): string[] {
  if (config === undefined) return [];
  const out = [config.password, config.tls?.keyPassword];
  for (const [key, value] of Object.entries(config.query)) {
    if (/^(?:password|passwd|pwd)$/i.test(key)) out.push(value);
    if (key.toLowerCase() === 'odbc_connect') {
      const match = /(?:^|;)\s*(?:pwd|password)\s*=\s*(\{(?:[^}]|\}\})*\}|[^;]*)/i.exec(value);
      const given = match?.[1]?.trim();
      if (given) out.push(given, given.startsWith('{') ? given.slice(1, -1).replace(/\}\}/g, '}') : given);
    }
  }
  return [...new Set(out.filter((secret): secret is string => secret !== undefined && secret !== ''))];
}

/**
 * The secrets a login puts into text: the password, and the spellings the wire protocols give it,
 * which a server may quote back in an error: HTTP Basic (`base64(user:password)`) and SMTP AUTH
 * PLAIN (`base64(\0user\0password)`) and LOGIN (`base64(password)`).
 *
 * @example
 *   scrubSecrets(serverReply, loginSecrets('alerts', 'pw'));
 */
export function loginSecrets(username: string, password: string): string[] {
  if (password === '') return [];
  const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return [password, base64(`${username}:${password}`), base64(`\0${username}\0${password}`), base64(password)];
}
