/**
 * Fernet tokens, byte-compatible with Python's `cryptography.fernet.Fernet`, which the Python
 * OpenOrchestrator uses to encrypt credential passwords. Both programs share one database, so a
 * token written by either must decrypt in the other with the same key.
 *
 * Token layout: 0x80 | timestamp (8 bytes, big-endian seconds) | IV (16) | AES-128-CBC ciphertext
 * (PKCS7) | HMAC-SHA256 (32) over everything before it. Key: 32 bytes, the first 16 sign and the
 * last 16 encrypt. Keys and tokens are URL-safe base64 with `=` padding, as Python writes them.
 *
 * @example
 *   const key = generateKey();
 *   const token = encrypt(key, 'pæssw0rd');
 *   decryptString(key, token); // 'pæssw0rd'
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { CryptoError } from '../errors.js';

const VERSION = 0x80;
const HEADER_LENGTH = 1 + 8 + 16;
const MAC_LENGTH = 32;
const BLOCK_SIZE = 16;
/** Python's `_MAX_CLOCK_SKEW`: how far in the future a token's timestamp may be when a TTL is checked. */
const MAX_CLOCK_SKEW_SECONDS = 60;

const BAD_KEY_MESSAGE =
  'the encryption key is not a valid Fernet key: it must be 32 bytes in URL-safe base64 (44 characters); ' +
  'generate one with `openorchestrator key`';
const WRONG_KEY_MESSAGE = 'the encryption key does not match the key these credentials were encrypted with';

/** 32 bytes encode to 43 characters plus one `=`; Python rejects the key without that padding. */
const KEY_PATTERN = /^[A-Za-z0-9_-]{43}=$/;
/**
 * Padded URL-safe base64. Python's decoder also requires the padding; it silently skips characters
 * outside the alphabet, but no Python-written token contains any, so rejecting them loses nothing.
 */
const TOKEN_PATTERN = /^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{2}==|[A-Za-z0-9_-]{3}=)?$/;

/** Options for {@link encrypt}; both exist so tests can reproduce fixed vectors. */
export interface EncryptOptions {
  /** Unix seconds to stamp into the token; defaults to the current time. */
  now?: number;
  /** The 16-byte IV; defaults to 16 random bytes. Never reuse a fixed IV outside tests. */
  iv?: Buffer;
}

/** Options for {@link decrypt}. */
export interface DecryptOptions {
  /** Reject tokens older than this many seconds; when absent, age is not checked (as Python with no ttl). */
  ttlSeconds?: number;
  /** Unix seconds to take as the current time for the TTL check; defaults to the current time. */
  now?: number;
}

interface FernetKey {
  signingKey: Buffer;
  encryptionKey: Buffer;
}

/**
 * A new random Fernet key, in the same form as Python's `Fernet.generate_key()`.
 *
 * @example
 *   generateKey(); // 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4='
 */
export function generateKey(): string {
  return toUrlsafeBase64(randomBytes(32));
}

/**
 * Throws a CryptoError unless `key` is 32 bytes of padded URL-safe base64.
 *
 * @example
 *   validateKey('cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4='); // ok
 *   validateKey('not a key'); // throws CryptoError
 */
export function validateKey(key: string): void {
  parseKey(key);
}

/**
 * Encrypts `plaintext` (strings as UTF-8) into a Fernet token.
 *
 * @example
 *   encrypt(key, 'hello'); // 'gAAAAABm...=='
 *   encrypt(key, 'hello', { now: 499162800, iv: Buffer.alloc(16) }); // always the same token
 */
export function encrypt(key: string, plaintext: string | Buffer, options: EncryptOptions = {}): string {
  const { signingKey, encryptionKey } = parseKey(key);
  const iv = options.iv ?? randomBytes(BLOCK_SIZE);
  if (iv.length !== BLOCK_SIZE) {
    throw new CryptoError(`the IV must be ${BLOCK_SIZE} bytes, got ${iv.length}`);
  }
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;

  const header = Buffer.alloc(HEADER_LENGTH);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(timestampSeconds(options.now)), 1);
  iv.copy(header, 9);

  const cipher = createCipheriv('aes-128-cbc', encryptionKey, iv);
  const signed = Buffer.concat([header, cipher.update(data), cipher.final()]);
  const mac = createHmac('sha256', signingKey).update(signed).digest();
  return toUrlsafeBase64(Buffer.concat([signed, mac]));
}

/**
 * Decrypts a Fernet token and returns the plaintext bytes. Throws a CryptoError when the key is
 * malformed or wrong, the token is malformed or tampered with, or (only with `ttlSeconds`) the
 * token has expired or is dated too far in the future.
 *
 * @example
 *   decrypt(key, token); // <Buffer 68 65 6c 6c 6f>
 *   decrypt(key, token, { ttlSeconds: 60 }); // throws if the token is more than a minute old
 */
export function decrypt(key: string, token: string, options: DecryptOptions = {}): Buffer {
  const { signingKey, encryptionKey } = parseKey(key);
  const data = decodeToken(token);

  // The MAC is checked before the timestamp (Python checks the TTL first): either way the token is
  // refused, but this way a wrong key always says so, and the time check reads an authentic stamp.
  const signed = data.subarray(0, data.length - MAC_LENGTH);
  const expected = createHmac('sha256', signingKey).update(signed).digest();
  if (!timingSafeEqual(expected, data.subarray(data.length - MAC_LENGTH))) {
    throw new CryptoError(WRONG_KEY_MESSAGE);
  }

  if (options.ttlSeconds !== undefined) {
    checkAge(data.readBigUInt64BE(1), options.ttlSeconds, timestampSeconds(options.now));
  }

  const ciphertext = data.subarray(HEADER_LENGTH, data.length - MAC_LENGTH);
  if (ciphertext.length === 0 || ciphertext.length % BLOCK_SIZE !== 0) {
    throw invalidToken('the ciphertext is not a whole number of AES blocks');
  }
  const decipher = createDecipheriv('aes-128-cbc', encryptionKey, data.subarray(9, HEADER_LENGTH));
  try {
    return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  } catch {
    // OpenSSL checks the whole PKCS7 pad; only a token signed with this key can get here.
    throw invalidToken('the padding is wrong');
  }
}

/**
 * Like {@link decrypt}, but returns the plaintext as a UTF-8 string.
 *
 * @example
 *   decryptString(key, encrypt(key, 'pæssw0rd ✓')); // 'pæssw0rd ✓'
 */
export function decryptString(key: string, token: string, options: DecryptOptions = {}): string {
  const plaintext = decrypt(key, token, options);
  try {
    // Strict and BOM-preserving, like Python's bytes.decode('utf-8'): never a silently altered password.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(plaintext);
  } catch {
    throw new CryptoError('the decrypted value is not valid UTF-8 text');
  }
}

function parseKey(key: string): FernetKey {
  if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
    throw new CryptoError(BAD_KEY_MESSAGE);
  }
  const bytes = Buffer.from(key, 'base64url');
  return { signingKey: bytes.subarray(0, 16), encryptionKey: bytes.subarray(16, 32) };
}

/** Decodes and checks the structure of a token; the MAC and padding are checked by the caller. */
function decodeToken(token: string): Buffer {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) {
    throw invalidToken('it is not padded URL-safe base64');
  }
  const data = Buffer.from(token, 'base64url');
  if (data.length === 0 || data[0] !== VERSION) {
    throw invalidToken('the version byte is not 0x80');
  }
  if (data.length < HEADER_LENGTH + MAC_LENGTH) {
    throw invalidToken('it is too short');
  }
  return data;
}

/** Python's rule: expired when timestamp + ttl < now; too far ahead when timestamp > now + 60. */
function checkAge(timestamp: bigint, ttlSeconds: number, now: number): void {
  if (!Number.isFinite(ttlSeconds)) {
    throw new CryptoError('the time-to-live must be a finite number of seconds');
  }
  // Compared as numbers: a stamp too large to be exact is decades ahead and fails the skew check anyway.
  const stamp = Number(timestamp);
  if (stamp + ttlSeconds < now) {
    throw new CryptoError(`the encrypted value has expired: it is older than its time-to-live of ${ttlSeconds} seconds`);
  }
  if (stamp > now + MAX_CLOCK_SKEW_SECONDS) {
    throw new CryptoError(
      `the encrypted value is dated more than ${MAX_CLOCK_SKEW_SECONDS} seconds in the future; check the system clock`,
    );
  }
}

/** Whole Unix seconds, truncated like Python's int(time.time()). */
function timestampSeconds(now: number | undefined): number {
  const seconds = Math.floor(now ?? Date.now() / 1000);
  if (!Number.isSafeInteger(seconds) || seconds < 0) {
    throw new CryptoError('the time must be a non-negative number of Unix seconds');
  }
  return seconds;
}

/** Node's 'base64url' drops the `=` padding, which Python requires. */
function toUrlsafeBase64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}

function invalidToken(reason: string): CryptoError {
  return new CryptoError(`the encrypted value is not a valid Fernet token: ${reason}`);
}
