/**
 * The retention archive: one gzip JSON-lines file per purge run and table, written so that no
 * purged row is ever lost. Each batch is appended as a gzip member of its own (gzip readers,
 * `zcat` and node:zlib included, read concatenated members as one stream) and synced to disk
 * before its rows are deleted; a batch whose delete did not happen is cut off again. The file is
 * written as `<name>.partial` and renamed to `<name>` when the run ends, so a finished name is
 * always a complete file; a `.partial` left by a crash is repaired on the next start
 * (`recoverArchives`).
 *
 * @example
 *   const file = await ArchiveFile.create(dir, 'Logs');
 *   const undo = await file.append(rows);
 *   if (!(await deleteExpiredBatch(...))) await undo();
 *   const path = await file.finish();
 */
import { randomBytes } from 'node:crypto';
import { constants, gunzipSync, gzipSync } from 'node:zlib';
import { open, readFile, readdir, rename, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

const PARTIAL = '.partial';
const EXTENSION = '.jsonl.gz';

/** `Logs-20260102-030405-a1b2c3.jsonl.gz`: what, when (local time), and a random part for monitors sharing a folder. */
export function archiveName(what: string, at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  const stamp = `${at.getFullYear()}${pad(at.getMonth() + 1)}${pad(at.getDate())}-${pad(at.getHours())}${pad(at.getMinutes())}${pad(at.getSeconds())}`;
  return `${what.replace(/[^A-Za-z0-9_.-]+/g, '_').slice(0, 120)}-${stamp}-${randomBytes(3).toString('hex')}${EXTENSION}`;
}

export class ArchiveFile {
  readonly path: string;
  readonly #handle: FileHandle;
  #size = 0;
  #rows = 0;

  private constructor(path: string, handle: FileHandle) {
    this.path = path;
    this.#handle = handle;
  }

  /** A new archive of `what` in `dir` (the folder must exist); nothing is visible under the final name yet. */
  static async create(dir: string, what: string, at = new Date()): Promise<ArchiveFile> {
    const path = join(dir, archiveName(what, at));
    return new ArchiveFile(path, await open(path + PARTIAL, 'wx', 0o600));
  }

  /** Rows appended so far (undone batches not counted). */
  get rows(): number {
    return this.#rows;
  }

  /**
   * Appends one batch as a gzip member and syncs it to disk; returns the undo that cuts it off
   * again (for a batch whose delete rolled back).
   */
  async append(lines: object[]): Promise<() => Promise<void>> {
    const before = this.#size;
    const member = gzipSync(lines.map((line) => `${JSON.stringify(line)}\n`).join(''));
    await this.#handle.write(member, 0, member.length, before);
    await this.#handle.sync();
    this.#size = before + member.length;
    this.#rows += lines.length;
    return async () => {
      await this.#handle.truncate(before);
      await this.#handle.sync();
      this.#size = before;
      this.#rows -= lines.length;
    };
  }

  /** Closes the file and gives it its final name; an archive of no rows is removed instead (returns undefined). */
  async finish(): Promise<string | undefined> {
    await this.#handle.close();
    if (this.#rows === 0) {
      await unlink(this.path + PARTIAL);
      return undefined;
    }
    await rename(this.path + PARTIAL, this.path);
    return this.path;
  }
}

/**
 * Repairs the `.partial` archives a crashed monitor left in `dir`: the complete lines they hold
 * are written to `<name>-recovered.jsonl.gz` and the partial file removed. Their rows were all
 * deleted but for the last batch, which may still be in the table and so be archived again by
 * the next purge (at least once, never lost). Returns the files written.
 */
export async function recoverArchives(dir: string): Promise<string[]> {
  const written: string[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith(EXTENSION + PARTIAL)) continue;
    const partial = join(dir, name);
    // A member cut short by the crash decompresses as far as it goes; its last line may be cut too.
    const text = gunzipSync(await readFile(partial), { finishFlush: constants.Z_SYNC_FLUSH }).toString('utf8');
    const complete = text.slice(0, text.lastIndexOf('\n') + 1);
    if (complete.length > 0) {
      const target = join(dir, `${name.slice(0, -(EXTENSION + PARTIAL).length)}-recovered${EXTENSION}`);
      await writeFile(`${target}${PARTIAL}`, gzipSync(complete), { mode: 0o600 });
      await rename(`${target}${PARTIAL}`, target);
      written.push(target);
    }
    await unlink(partial);
  }
  return written;
}
