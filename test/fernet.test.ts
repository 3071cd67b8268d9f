import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { decrypt, decryptString, encrypt, generateKey, validateKey } from '../src/crypto/fernet.js';
import { CryptoError } from '../src/errors.js';

// The published Fernet spec vectors (a copy of shared/fernet-spec/, kept in the repository so a
// clone tests on its own).
const SPEC_DIR = new URL('./fixtures/fernet-spec/', import.meta.url);

interface GenerateVector {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}

interface VerifyVector {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}

interface InvalidVector {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

function readVectors<T>(name: string): T[] {
  return JSON.parse(readFileSync(new URL(name, SPEC_DIR), 'utf8')) as T[];
}

/** The vectors give times as ISO strings with an offset; Fernet works in Unix seconds. */
function unixSeconds(iso: string): number {
  return Math.floor(Date.parse(iso) / 1000);
}

/** Runs `fn`, expects a CryptoError and returns it so its message can be checked. */
function cryptoErrorOf(fn: () => unknown): CryptoError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(CryptoError);
    return error as CryptoError;
  }
  throw new Error('expected a CryptoError, but nothing was thrown');
}

const WRONG_KEY_MESSAGE = 'the encryption key does not match the key these credentials were encrypted with';
const BAD_KEY_MESSAGE =
  'the encryption key is not a valid Fernet key: it must be 32 bytes in URL-safe base64 (44 characters); ' +
  'generate one with `openorchestrator key`';

const generateVectors = readVectors<GenerateVector>('generate.json');
const verifyVectors = readVectors<VerifyVector>('verify.json');
const invalidVectors = readVectors<InvalidVector>('invalid.json');

describe('Fernet spec vectors', () => {
  it('are found on disk', () => {
    expect(existsSync(fileURLToPath(SPEC_DIR))).toBe(true);
    expect(generateVectors.length).toBeGreaterThan(0);
    expect(verifyVectors.length).toBeGreaterThan(0);
    expect(invalidVectors.length).toBeGreaterThan(0);
  });

  it.each(generateVectors)('generate: $src', (v) => {
    const token = encrypt(v.secret, v.src, { now: unixSeconds(v.now), iv: Buffer.from(v.iv) });
    expect(token).toBe(v.token);
  });

  it.each(verifyVectors)('verify: $src', (v) => {
    const options = { ttlSeconds: v.ttl_sec, now: unixSeconds(v.now) };
    expect(decryptString(v.secret, v.token, options)).toBe(v.src);
    expect(decrypt(v.secret, v.token, options)).toEqual(Buffer.from(v.src, 'utf8'));
    // OpenOrchestrator decrypts without a TTL, like Python's Fernet.decrypt(token).
    expect(decryptString(v.secret, v.token)).toBe(v.src);
  });

  it.each(invalidVectors)('invalid: $desc', (v) => {
    const error = cryptoErrorOf(() => decrypt(v.secret, v.token, { ttlSeconds: v.ttl_sec, now: unixSeconds(v.now) }));
    expect(error.message).not.toContain(v.secret);
    expect(error.message).not.toContain(v.token);
    expect(error.message).not.toContain('\n');
  });

  it('reports expiry and clock skew with their own messages', () => {
    const byDesc = new Map(invalidVectors.map((v) => [v.desc, v]));
    const expired = byDesc.get('expired TTL');
    const skewed = byDesc.get('far-future TS (unacceptable clock skew)');
    if (!expired || !skewed) throw new Error('the TTL vectors are missing from invalid.json');

    const check = (v: InvalidVector, options?: { ttlSeconds: number; now: number }): string =>
      cryptoErrorOf(() => decrypt(v.secret, v.token, options)).message;
    expect(check(expired, { ttlSeconds: expired.ttl_sec, now: unixSeconds(expired.now) })).toMatch(/expired/);
    expect(check(skewed, { ttlSeconds: skewed.ttl_sec, now: unixSeconds(skewed.now) })).toMatch(/future/);
    // Without a TTL (how OpenOrchestrator decrypts) age is not checked, as in Python.
    expect(() => decrypt(expired.secret, expired.token)).not.toThrow();
    expect(() => decrypt(skewed.secret, skewed.token)).not.toThrow();
  });

  it('reports a tampered MAC as a key mismatch', () => {
    const v = invalidVectors.find((vector) => vector.desc === 'incorrect mac');
    if (!v) throw new Error('the "incorrect mac" vector is missing from invalid.json');
    expect(cryptoErrorOf(() => decrypt(v.secret, v.token)).message).toBe(WRONG_KEY_MESSAGE);
  });
});

describe('encrypt and decrypt', () => {
  it.each(['pæssw0rd ✓', '', 'hello', 'x'.repeat(1000), '\ufeffleading BOM kept'])('round-trips %j', (text) => {
    const key = generateKey();
    expect(decryptString(key, encrypt(key, text))).toBe(text);
  });

  it('round-trips bytes', () => {
    const key = generateKey();
    const bytes = Buffer.from([0, 255, 128, 1, 2, 3]);
    expect(decrypt(key, encrypt(key, bytes))).toEqual(bytes);
  });

  it('writes padded URL-safe base64 tokens, as Python does', () => {
    const key = generateKey();
    for (let length = 0; length < 20; length++) {
      const token = encrypt(key, 'a'.repeat(length));
      expect(token).toMatch(/^gAAAAA[A-Za-z0-9_-]*=*$/);
      expect(token.length % 4).toBe(0);
    }
  });

  it('gives a different token each time without a fixed IV', () => {
    const key = generateKey();
    const now = 1_700_000_000;
    const tokens = new Set(Array.from({ length: 10 }, () => encrypt(key, 'same', { now })));
    expect(tokens.size).toBe(10);
  });

  it('gives exactly the key-mismatch message for a wrong key', () => {
    const key = generateKey();
    const other = generateKey();
    const token = encrypt(key, 'secret');
    const error = cryptoErrorOf(() => decryptString(other, token));
    expect(error.message).toBe(WRONG_KEY_MESSAGE);
    expect(error.message).not.toContain(key);
    expect(error.message).not.toContain(other);
    expect(error.message).not.toContain(token);
  });

  it('reports a flipped ciphertext bit as a key mismatch', () => {
    const key = generateKey();
    const data = Buffer.from(encrypt(key, 'secret'), 'base64url');
    data[30] = (data[30] ?? 0) ^ 1;
    const tampered = data.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    expect(cryptoErrorOf(() => decrypt(key, tampered)).message).toBe(WRONG_KEY_MESSAGE);
  });

  it('rejects malformed tokens without echoing them', () => {
    const key = generateKey();
    // A token with a '-' or '_', so that its standard-alphabet spelling below differs from it
    // (about one random token in 15 has neither, and then nothing was malformed).
    let token = encrypt(key, 'secret');
    while (!/[-_]/.test(token)) token = encrypt(key, 'secret');
    const malformed = [
      '',
      token.replace(/=+$/, ''), // Python requires the padding
      `${token}\n`,
      token.replace(/-|_/, '+'), // standard alphabet
      `A${token.slice(1)}`, // wrong version byte
      'gAAAAAAdwJ6w',
    ];
    for (const bad of malformed) {
      const error = cryptoErrorOf(() => decrypt(key, bad));
      expect(error.message).toMatch(/^the encrypted value is not a valid Fernet token: |^the encryption key does not match/);
      if (bad !== '') expect(error.message).not.toContain(bad);
      expect(error.message).not.toContain(key);
    }
  });
});

describe('keys', () => {
  it('generates valid, distinct 44-character keys', () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(() => validateKey(key)).not.toThrow();
    expect(generateKey()).not.toBe(key);
  });

  it.each([
    ['empty', ''],
    ['not base64', 'not a key'],
    ['no padding', 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4'],
    ['standard alphabet', 'cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4='],
    ['16 bytes', Buffer.alloc(16, 7).toString('base64url') + '=='],
    ['33 bytes', Buffer.alloc(33, 7).toString('base64url')],
    ['trailing newline', 'cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=\n'],
  ])('rejects a malformed key (%s) with the key-format message', (_label, key) => {
    for (const fn of [() => validateKey(key), () => encrypt(key, 'x'), () => decrypt(key, 'gAAAAA==')]) {
      const error = cryptoErrorOf(fn);
      expect(error.message).toBe(BAD_KEY_MESSAGE);
      if (key !== '') expect(error.message).not.toContain(key.trim());
    }
  });
});
