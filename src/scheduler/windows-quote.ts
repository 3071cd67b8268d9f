/**
 * Quoting for `.bat`/`.cmd` robots, which Windows can only run through cmd.exe. cmd.exe does not
 * split its command line by the C runtime's rules that Node's spawn quotes for: outside double
 * quotes `&`, `|`, `<`, `>`, `^`, `(`, `)` are commands and redirections, and `%NAME%` is
 * expanded everywhere, quoted or not. A process argument such as `x" & calc & "` would otherwise
 * run a program. So the command line is built here, whole, and spawned verbatim
 * (windowsVerbatimArguments):
 *
 * - every argument is wrapped in double quotes, so the metacharacters are inside quotes, where
 *   cmd.exe and the batch file's own `%1` splitting take them literally;
 * - a `"` inside an argument is doubled (`""`): the quote state toggles twice, so what follows
 *   stays quoted (a backslash escape `\"` means nothing to cmd.exe and would end the quoting);
 * - backslashes just before a `"` (and before the closing quote) are doubled, so a program the
 *   batch file hands `"%~1"` to (C runtime rules) reads them as they were;
 * - `%` becomes `%%cd:~,%`: `%cd:~,%` is an empty substring of the always-defined `cd`, which
 *   splits every `%NAME%` apart so nothing is expanded (needs command extensions: `/e:on`);
 * - `^` is not used as an escape: inside quotes cmd.exe keeps it, so it would change the value;
 * - delayed expansion (`!NAME!`) is switched off (`/v:off`), AutoRun commands are skipped
 *   (`/d`), and `/s` makes cmd.exe drop exactly the outer pair of quotes around the line;
 * - a line break or NUL cannot be quoted (cmd.exe ends the command there): refused.
 */
import { LaunchError } from './launch-error.js';

/** One argument (or the script path) quoted for a cmd.exe command line. */
export function quoteForCmd(arg: string): string {
  if (/[\r\n\0]/.test(arg)) {
    throw new LaunchError('a .bat/.cmd robot cannot receive an argument with a line break or NUL character (cmd.exe would end the command there): remove it from the process arguments');
  }
  let quoted = '"';
  let backslashes = 0;
  for (const char of arg) {
    if (char === '\\') {
      backslashes++;
      quoted += char;
      continue;
    }
    if (char === '"') quoted += '\\'.repeat(backslashes) + '""';
    else if (char === '%') quoted += '%%cd:~,%';
    else quoted += char;
    backslashes = 0;
  }
  return `${quoted}${'\\'.repeat(backslashes)}"`;
}

/**
 * cmd.exe's arguments for running `script` with `args`: to be spawned with
 * windowsVerbatimArguments, so they reach cmd.exe exactly as built here.
 *
 * @example cmdArguments(['C:\\robots\\main.bat', 'a & b']) // ['/d', '/e:on', '/v:off', '/s', '/c', '""C:\\robots\\main.bat" "a & b""']
 */
export function cmdArguments([script, ...args]: [string, ...string[]]): string[] {
  return ['/d', '/e:on', '/v:off', '/s', '/c', `"${[script, ...args].map(quoteForCmd).join(' ')}"`];
}
