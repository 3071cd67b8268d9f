/**
 * The Scheduler's files: the work folder is private and refused when another user or a link
 * could steer the start-up clean-up; the clean-up never follows links; machine names map to
 * folders inside the work folder; the entry search is bounded and does not follow folder links.
 * Runs as root here: "another user" is a folder chowned to nobody (uid 65534).
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ENTRY_SEARCH_LIMITS, findEntry } from '../src/scheduler/entry.js';
import { LaunchError } from '../src/scheduler/launch-error.js';
import { cleanLeftovers, machineFolder, machineFolderName, openWorkFolder } from '../src/scheduler/work-dir.js';
import { tempDir } from './helpers/scheduler.js';

const NOBODY = 65534;
const mode = (path: string) => statSync(path).mode & 0o777;

/** A folder with files that must survive whatever the Scheduler cleans. */
function victim(): string {
  const dir = tempDir('oo-victim-');
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'precious.txt'), 'keep me');
  writeFileSync(join(dir, 'sub', 'also.txt'), 'keep me too');
  return dir;
}
const intact = (dir: string) => existsSync(join(dir, 'precious.txt')) && existsSync(join(dir, 'sub', 'also.txt'));

function touch(root: string, path: string): void {
  mkdirSync(dirname(join(root, path)), { recursive: true });
  writeFileSync(join(root, path), '');
}

describe('the work folder', () => {
  it('is created private (0700), with the machine folder inside it', () => {
    const workDir = join(tempDir(), 'new', 'work');
    const root = openWorkFolder(workDir, 'RPA-01');
    expect(root).toBe(join(workDir, 'RPA-01'));
    expect(mode(workDir)).toBe(0o700);
    expect(mode(root)).toBe(0o700);
  });

  it('tightens a machine folder of ours that others may read (left 0755 by an older version), not the work folder', () => {
    const workDir = tempDir();
    chmodSync(workDir, 0o755);
    mkdirSync(join(workDir, 'pc'), { mode: 0o755 });
    expect(mode(join(workDir, 'pc'))).toBe(0o755);
    openWorkFolder(workDir, 'pc');
    expect(mode(workDir)).toBe(0o755);
    expect(mode(join(workDir, 'pc'))).toBe(0o700);
  });

  it('is refused when others may write in it, unless it has the sticky bit (as /tmp)', () => {
    const open = tempDir();
    chmodSync(open, 0o777);
    expect(() => openWorkFolder(open, 'pc')).toThrow(`the Scheduler's work folder ${open} may be written by other users (mode 777), so it is not used: make it private (chmod 700) or give another --work-dir`);
    chmodSync(open, 0o775);
    expect(() => openWorkFolder(open, 'pc')).toThrow(/may be written by other users \(mode 775\)/);
    expect(existsSync(join(open, 'pc'))).toBe(false);
    chmodSync(open, 0o1777);
    expect(openWorkFolder(open, 'pc')).toBe(join(open, 'pc'));
    expect(mode(open)).toBe(0o777);
    expect(mode(join(open, 'pc'))).toBe(0o700);
  });

  it('is refused when it is a symbolic link, and nothing behind the link is touched', () => {
    const target = victim();
    const workDir = join(tempDir(), 'openorchestrator-scheduler');
    symlinkSync(target, workDir);
    expect(() => openWorkFolder(workDir, 'pc')).toThrow(`the Scheduler's work folder ${workDir} is a symbolic link, so it is not used: remove it or give another --work-dir`);
    expect(intact(target)).toBe(true);
    expect(existsSync(join(target, 'pc'))).toBe(false);
  });

  it('is refused when the machine folder in it is a symbolic link (<machine> -> a home folder)', () => {
    const home = victim();
    const workDir = tempDir();
    symlinkSync(home, join(workDir, 'robot-pc'));
    expect(() => openWorkFolder(workDir, 'robot-pc')).toThrow(/^the Scheduler's machine folder .*robot-pc is a symbolic link, so it is not used: remove it or give another --work-dir$/);
    expect(intact(home)).toBe(true);
  });

  it('is refused when another user owns it or the machine folder', () => {
    const planted = tempDir();
    chownSync(planted, NOBODY, NOBODY);
    expect(() => openWorkFolder(planted, 'pc')).toThrow(
      new RegExp(`^the Scheduler's work folder ${planted} belongs to another user \\(uid ${NOBODY}, this Scheduler runs as uid ${process.getuid!()}\\), so it is not used: remove it or give another --work-dir$`),
    );
    expect(existsSync(join(planted, 'pc'))).toBe(false);
    const workDir = tempDir();
    mkdirSync(join(workDir, 'pc'));
    writeFileSync(join(workDir, 'pc', 'theirs.txt'), '');
    chownSync(join(workDir, 'pc'), NOBODY, NOBODY);
    expect(() => openWorkFolder(workDir, 'pc')).toThrow(/machine folder .*pc belongs to another user/);
    expect(existsSync(join(workDir, 'pc', 'theirs.txt'))).toBe(true);
  });

  it('is refused when it is a file', () => {
    const file = join(tempDir(), 'work');
    writeFileSync(file, '');
    expect(() => openWorkFolder(file, 'pc')).toThrow(/work folder .*work is not a folder/);
  });
});

describe('machine names as folder names', () => {
  it('keeps plain names and maps every other one to a distinct folder inside the work folder', () => {
    for (const plain of ['RPA-01', 'pc.example.org', 'a_b', 'x']) expect(machineFolderName(plain)).toBe(plain);
    const workDir = tempDir();
    const odd = ['..', '.', '...', '../x', 'a/b', 'a\\b', '/etc', 'RPA 01', 'RPA_01 ', '.hidden', 'trailing.', 'CON', 'nul.txt', 'lpt1', 'ü', ''];
    const folders = odd.map((name) => machineFolder(workDir, name));
    for (const [i, folder] of folders.entries()) {
      expect(dirname(folder), odd[i]).toBe(workDir);
      expect(machineFolderName(odd[i]!), odd[i]).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]*-[0-9a-f]{12}$/);
    }
    expect(new Set(folders).size).toBe(odd.length);
    expect(machineFolderName('..')).toMatch(/^scheduler-[0-9a-f]{12}$/);
    expect(machineFolderName('RPA 01')).toMatch(/^RPA_01-[0-9a-f]{12}$/);
    // Stable: the same name finds its leftovers after a restart.
    expect(machineFolderName('RPA 01')).toBe(machineFolderName('RPA 01'));
  });

  it('with --machine-name .. or . cleans only its own folder, never the work folder or its parent', () => {
    const parent = tempDir();
    const workDir = join(parent, 'work');
    mkdirSync(workDir);
    writeFileSync(join(parent, 'beside-work.txt'), 'keep');
    writeFileSync(join(workDir, 'other-machine-file.txt'), 'keep');
    for (const name of ['..', '.']) {
      const root = openWorkFolder(workDir, name);
      expect(dirname(root)).toBe(workDir);
      mkdirSync(join(root, 'left-by-a-crash'));
      expect(cleanLeftovers(root)).toBe(1);
    }
    expect(existsSync(join(parent, 'beside-work.txt'))).toBe(true);
    expect(existsSync(join(workDir, 'other-machine-file.txt'))).toBe(true);
  });
});

describe('the start-up clean-up', () => {
  it('unlinks symbolic links in the machine folder and in job folders, never what they point to', () => {
    const target = victim();
    const root = openWorkFolder(tempDir(), 'pc');
    symlinkSync(target, join(root, 'link-to-folder'));
    symlinkSync(join(target, 'precious.txt'), join(root, 'link-to-file'));
    symlinkSync(join(target, 'gone'), join(root, 'dangling'));
    mkdirSync(join(root, 'job', 'deep'), { recursive: true });
    symlinkSync(target, join(root, 'job', 'link'));
    symlinkSync(target, join(root, 'job', 'deep', 'link'));
    writeFileSync(join(root, 'job', 'file'), '');
    writeFileSync(join(root, 'stray-file'), '');
    expect(cleanLeftovers(root)).toBe(5);
    expect(readdirSync(root)).toEqual([]);
    expect(intact(target)).toBe(true);
    expect(lstatSync(target).isDirectory()).toBe(true);
  });
});

describe('the entry search', () => {
  it('does not follow links to folders, so a link loop ends at once', async () => {
    const root = tempDir();
    for (const name of ['a', 'b', 'c']) symlinkSync('.', join(root, name));
    mkdirSync(join(root, 'deep'));
    symlinkSync('..', join(root, 'deep', 'up'));
    expect(await findEntry(root)).toBeUndefined();
    const elsewhere = tempDir();
    touch(elsewhere, 'main.py');
    symlinkSync(elsewhere, join(root, 'linked'));
    expect(await findEntry(root)).toBeUndefined();
    // A link to a file is an entry like any file (the repository's own choice).
    symlinkSync(join(elsewhere, 'main.py'), join(root, 'main.py'));
    expect(await findEntry(root)).toBe(join(root, 'main.py'));
  });

  it('looks 10 folder levels deep, no deeper', async () => {
    expect(ENTRY_SEARCH_LIMITS).toEqual({ maxDepth: 10, maxEntries: 10_000 });
    const level = (n: number) => Array.from({ length: n }, (_, i) => `d${i + 1}`).join('/');
    const at10 = tempDir();
    touch(at10, `${level(10)}/main.py`);
    expect(await findEntry(at10)).toBe(join(at10, level(10), 'main.py'));
    const at11 = tempDir();
    touch(at11, `${level(11)}/main.py`);
    touch(at11, 'main.js');
    expect(await findEntry(at11)).toBe(join(at11, 'main.js'));
    expect(await findEntry(at11, { maxDepth: 11, maxEntries: 100 })).toBe(join(at11, level(11), 'main.py'));
  });

  it('gives up after 10,000 names with a clear error, or takes the best entry seen so far', async () => {
    const wide = tempDir();
    for (let i = 0; i < 10_001; i++) writeFileSync(join(wide, `f${String(i).padStart(5, '0')}`), '');
    touch(wide, 'zz/main.py');
    const error = await findEntry(wide).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LaunchError);
    expect((error as Error).message).toBe('gave up looking for main.py, main.ts or main.js after 10000 files and folders: put the entry nearer the top of the repository');
    touch(wide, 'main.ts');
    expect(await findEntry(wide)).toBe(join(wide, 'main.ts'));
    const small = tempDir();
    for (const path of ['a/x', 'a/y', 'b/main.py']) touch(small, path);
    // 5 names in all: a, b, a/x, a/y, b/main.py (the limit is checked after each folder).
    expect(await findEntry(small, { maxDepth: 10, maxEntries: 5 })).toBe(join(small, 'b', 'main.py'));
    await expect(findEntry(small, { maxDepth: 10, maxEntries: 3 })).rejects.toThrow(/after 3 files and folders/);
  });
});
