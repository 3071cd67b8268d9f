/**
 * Every way a secret can turn up in text, for tests that search output and stored rows: as
 * written, percent-encoded (upper- and lower-case hex, form-encoded), JSON-escaped and base64,
 * and for a login the base64 that HTTP Basic and SMTP AUTH send.
 */

/** The spellings of one secret. */
export function spellings(secret: string): string[] {
  const encoded = encodeURIComponent(secret);
  return [
    ...new Set([
      secret,
      encoded,
      encoded.replace(/%[0-9A-F]{2}/g, (hex) => hex.toLowerCase()),
      new URLSearchParams({ x: secret }).toString().slice(2),
      JSON.stringify(secret).slice(1, -1),
      Buffer.from(secret).toString('base64'),
    ]),
  ];
}

/** The spellings of a login's password, and of the login as HTTP Basic and SMTP AUTH PLAIN send it. */
export function loginSpellings(user: string, password: string): string[] {
  return [...spellings(password), Buffer.from(`${user}:${password}`).toString('base64'), Buffer.from(`\0${user}\0${password}`).toString('base64')];
}

/** The spellings among `all` that occur in `text` (empty: none leaked). */
export function leaked(text: string, all: readonly string[]): string[] {
  return all.filter((spelling) => text.includes(spelling));
}
