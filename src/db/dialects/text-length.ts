/**
 * How each database's text columns count a value's length against their declared n (SCHEMA.md),
 * so that a value the store's checks let through always fits the column it is written to.
 */

/**
 * Whether `value` fits a text column declared with length `declared`: undefined when it does,
 * otherwise the tail of a one-line error ("is 101 characters long; the limit is 100").
 */
export type TextFit = (value: string, declared: number) => string | undefined;

/**
 * Length in characters (code points) as VARCHAR(n) counts them on PostgreSQL, MariaDB (utf8mb4)
 * and Oracle (`n CHAR`), and as Python's len() does: an emoji is one character, though two UTF-16 units.
 */
export function characterCount(value: string): number {
  let count = 0;
  for (let i = 0; i < value.length; i++) {
    const unit = value.charCodeAt(i);
    // A high surrogate followed by a low one is a single character.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < value.length) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    count++;
  }
  return count;
}

/** Characters: PostgreSQL, SQLite, MariaDB utf8mb4. */
export const fitsInCharacters: TextFit = (value, declared) => {
  // UTF-16 length is never below the character count, so most values need no counting.
  if (value.length <= declared) return undefined;
  const length = characterCount(value);
  return length > declared ? `is ${length} characters long; the limit is ${declared}` : undefined;
};

/**
 * SQL Server: NVARCHAR(n) holds n UTF-16 code units, so an emoji (or any character beyond the
 * Basic Multilingual Plane) takes two. A VARCHAR(n) the Python tools made in a single-byte code
 * page holds n bytes, and there each of those characters becomes two bytes of `??`: the same
 * count. NVARCHAR(max) (declared over 4000) holds anything, so the contract's characters apply.
 */
export const fitsInUtf16Units: TextFit = (value, declared) => {
  if (declared > 4000) return fitsInCharacters(value, declared);
  if (value.length <= declared) return undefined;
  // Without characters beyond the BMP the two counts agree: say characters, as everywhere.
  if (characterCount(value) === value.length) return `is ${value.length} characters long; the limit is ${declared}`;
  return `is ${value.length} UTF-16 code units long (SQL Server counts an emoji or other character outside the Basic Multilingual Plane as 2); the limit is ${declared}`;
};

/** Oracle's VARCHAR2 holds at most this many bytes whatever its `n CHAR` says (MAX_STRING_SIZE=STANDARD). */
export const ORACLE_VARCHAR2_BYTES = 4000;

/**
 * Oracle: `VARCHAR2(n CHAR)` counts characters (AL32UTF8: an emoji is one) but never holds more
 * than 4000 bytes, so 2000 emoji do not fit a VARCHAR2(2000 CHAR). Over 4000 the DDL declares
 * a CLOB, which holds anything: characters only.
 */
export const fitsInOracleVarchar2: TextFit = (value, declared) => {
  const tooLong = fitsInCharacters(value, declared);
  if (tooLong !== undefined || declared > ORACLE_VARCHAR2_BYTES) return tooLong;
  // UTF-8 takes at most 3 bytes per UTF-16 unit.
  if (value.length * 3 <= ORACLE_VARCHAR2_BYTES) return undefined;
  const bytes = Buffer.byteLength(value, 'utf8');
  return bytes > ORACLE_VARCHAR2_BYTES ? `is ${bytes} bytes in UTF-8; Oracle's VARCHAR2 holds at most ${ORACLE_VARCHAR2_BYTES} bytes` : undefined;
};
