/**
 * Queue elements from a file: CSV (papaparse) with a header row, a JSON array, or JSON Lines.
 * Every row is checked as the server will check it, and each problem is reported with the line
 * of the file it is on, before anything is sent.
 *
 * CSV: a `reference` column (optional) becomes the reference; a `data` column becomes the data as
 * it is; without one, the other columns become the data as a JSON object ({"column": "value"}).
 * JSON: each item is an object ({"reference": ..., "data": ...}, data may be any JSON value; an
 * object without those keys is the data itself, its "reference" kept), or a string (the data).
 */
import Papa from 'papaparse';

export interface UploadRow {
  /** the file's line the row starts on, from 1 */
  line: number;
  reference: string | null;
  data: string | null;
}

export interface UploadParse {
  rows: UploadRow[];
  errors: { line: number; message: string }[];
}

const REFERENCE_CHARS = 100;
const DATA_CHARS = 2000;
const chars = (text: string) => [...text].length;

/** The line (from 1) each character offset of `text` is on. */
function lineFinder(text: string): (offset: number) => number {
  const breaks: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) breaks.push(i);
  return (offset) => {
    let low = 0;
    let high = breaks.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (breaks[mid]! < offset) low = mid + 1;
      else high = mid;
    }
    return low + 1;
  };
}

function checked(line: number, reference: string | null, data: string | null, out: UploadParse): void {
  if (reference !== null && chars(reference) > REFERENCE_CHARS) out.errors.push({ line, message: `the reference is ${chars(reference)} characters; the limit is ${REFERENCE_CHARS}` });
  else if (data !== null && chars(data) > DATA_CHARS) out.errors.push({ line, message: `the data is ${chars(data)} characters; the limit is ${DATA_CHARS}` });
  else out.rows.push({ line, reference: reference === '' ? null : reference, data: data === '' ? null : data });
}

function parseCsv(text: string): UploadParse {
  const out: UploadParse = { rows: [], errors: [] };
  const lineOf = lineFinder(text);
  let header: string[] | undefined;
  let start = 0;
  Papa.parse<string[]>(text, {
    skipEmptyLines: 'greedy',
    step: (result) => {
      // The row began where the previous one ended, past its line break (and skipped empty lines).
      while (text[start] === '\r' || text[start] === '\n') start++;
      const line = lineOf(start);
      start = result.meta.cursor;
      const cells = result.data;
      if (!header) {
        header = cells.map((c) => c.trim());
        if (header.length === 0 || header.every((h) => h === '')) out.errors.push({ line, message: 'the first line must name the columns (e.g. reference,data)' });
        return;
      }
      for (const error of result.errors) out.errors.push({ line, message: error.message });
      if (result.errors.length > 0) return;
      if (cells.length !== header.length) {
        out.errors.push({ line, message: `${cells.length} column${cells.length === 1 ? '' : 's'}, but the first line names ${header.length}` });
        return;
      }
      const byName = new Map(header.map((name, i) => [name.toLowerCase(), cells[i] ?? '']));
      const reference = byName.get('reference') ?? null;
      let data: string | null;
      if (byName.has('data')) data = byName.get('data') ?? null;
      else {
        const rest = header.map((name, i) => [name, cells[i] ?? ''] as const).filter(([name]) => name.toLowerCase() !== 'reference');
        data = rest.length === 0 ? null : JSON.stringify(Object.fromEntries(rest));
      }
      checked(line, reference, data, out);
    },
  });
  if (!header) out.errors.push({ line: 1, message: 'the file is empty' });
  return out;
}

/** One JSON item as an element. */
function fromItem(item: unknown, line: number, out: UploadParse): void {
  if (typeof item === 'string') return checked(line, null, item, out);
  if (item === null || typeof item !== 'object' || Array.isArray(item)) {
    out.errors.push({ line, message: 'each item must be an object ({"reference": ..., "data": ...}) or a string' });
    return;
  }
  const record = item as Record<string, unknown>;
  const reference = record.reference;
  if (reference !== undefined && reference !== null && typeof reference !== 'string') {
    out.errors.push({ line, message: 'reference must be text' });
    return;
  }
  const keys = Object.keys(record);
  const shaped = keys.every((k) => k === 'reference' || k === 'data');
  const value = shaped ? record.data : Object.fromEntries(keys.filter((k) => k !== 'reference').map((k) => [k, record[k]]));
  const data = value === undefined || value === null ? null : typeof value === 'string' ? value : JSON.stringify(value);
  checked(line, (reference as string | null | undefined) ?? null, data, out);
}

/** Where each item of a top-level JSON array starts (character offsets). */
function arrayItemStarts(text: string): number[] {
  const starts: number[] = [];
  let depth = 0;
  let inString = false;
  let expecting = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (expecting && depth === 1 && c !== ']') {
      starts.push(i);
      expecting = false;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      depth++;
      if (depth === 1 && c === '[') expecting = true;
    } else if (c === ']' || c === '}') depth--;
    else if (c === ',' && depth === 1) expecting = true;
  }
  return starts;
}

function parseJson(text: string): UploadParse {
  const out: UploadParse = { rows: [], errors: [] };
  const lineOf = lineFinder(text);
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let items: unknown;
    try {
      items = JSON.parse(text);
    } catch (e) {
      const position = /position (\d+)/.exec((e as Error).message)?.[1];
      out.errors.push({ line: position ? lineOf(Number(position)) : 1, message: `not valid JSON: ${(e as Error).message}` });
      return out;
    }
    const starts = arrayItemStarts(text);
    (items as unknown[]).forEach((item, i) => fromItem(item, lineOf(starts[i] ?? 0), out));
    return out;
  }
  // JSON Lines: one item per line.
  text.split('\n').forEach((raw, i) => {
    if (raw.trim() === '') return;
    try {
      fromItem(JSON.parse(raw), i + 1, out);
    } catch (e) {
      out.errors.push({ line: i + 1, message: `not valid JSON: ${(e as Error).message}` });
    }
  });
  return out;
}

/**
 * Reads a file's text as elements: JSON when its name ends in .json, .jsonl or .ndjson (or the
 * text starts with [ or {), CSV otherwise.
 *
 * @example
 *   parseUpload('invoices.csv', 'reference,amount\nINV-1,10\n'); // rows: [{ line: 2, reference: 'INV-1', data: '{"amount":"10"}' }]
 */
export function parseUpload(name: string, text: string): UploadParse {
  const body = text.replace(/^\uFEFF/, '');
  const json = /\.(json|jsonl|ndjson)$/i.test(name) || /^\s*[[{]/.test(body);
  return json ? parseJson(body) : parseCsv(body);
}

/** A CSV of elements (papaparse quotes what needs it). */
export function toCsv(rows: Record<string, string | null>[], columns: string[]): string {
  return Papa.unparse({ fields: columns, data: rows.map((row) => columns.map((c) => row[c] ?? '')) });
}
