// Module hooks for the robots the Scheduler starts (registered by ./register.mjs):
// - `import 'openorchestrator'` finds the Scheduler's own copy of this package when the robot
//   has none of its own (the package is in no registry, so a robot cannot install it);
// - a `.ts` entry whose package.json says no "type" runs as an ES module unless it uses
//   CommonJS names: Node detects this for `.js`, tsx does not for `.ts`, and without it
//   top-level `await` in a plain `main.ts` fails; so does one whose package.json says
//   "commonjs" (as `npm init -y` writes) but that awaits at its top level.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = 'openorchestrator';
// Resolving from this package's own package.json is Node's self-reference: its "exports".
const SELF = new URL('../package.json', import.meta.url).href;
const COMMONJS_NAMES = /\brequire\s*\(|\bmodule\.exports\b|\bexports\.\w|\b__dirname\b|\b__filename\b|\bimport\s+\w+\s*=\s*require\b/;

/** A line that starts a statement at the top (no indentation, not a comment) and awaits. */
const TOP_LEVEL_AWAIT = /^(?![\s/*])[^\n]*\bawait\b/m;

const isPackage = (specifier) => specifier === PACKAGE || specifier.startsWith(`${PACKAGE}/`);

/** The "type" of the nearest package.json above `file`, or undefined when none says one. */
function packageType(file) {
  for (let folder = dirname(file); ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest)) {
      try {
        return JSON.parse(readFileSync(manifest, 'utf8')).type;
      } catch {
        return undefined;
      }
    }
    if (dirname(folder) === folder) return undefined;
  }
}

export async function resolve(specifier, context, nextResolve) {
  if (isPackage(specifier)) {
    try {
      return await nextResolve(specifier, context);
    } catch (error) {
      if (error?.code !== 'ERR_MODULE_NOT_FOUND') throw error;
      return nextResolve(specifier, { ...context, parentURL: SELF });
    }
  }
  const resolved = await nextResolve(specifier, context);
  // Only the entry itself (it has no parent): its imports follow their own package.json.
  if (context.parentURL === undefined && resolved.url.startsWith('file:') && resolved.url.endsWith('.ts')) {
    const file = fileURLToPath(resolved.url);
    const source = readFileSync(file, 'utf8');
    const type = packageType(file);
    // `npm init -y` (npm 11) writes "type": "commonjs"; a CommonJS module cannot hold top-level
    // `await` at all, so an entry that does (an unindented line with await) can only be meant as
    // an ES module: it runs as one instead of failing on an esbuild message about "cjs".
    const esm = type === undefined || (type === 'commonjs' && TOP_LEVEL_AWAIT.test(source));
    if (esm && !COMMONJS_NAMES.test(source)) return { ...resolved, format: 'module' };
  }
  return resolved;
}
