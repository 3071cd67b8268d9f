/**
 * cmd.exe quoting for .bat/.cmd robots (cannot run here: checked against the exact strings and
 * against a model of how cmd.exe reads the line) and the robot argv protocol.
 */
import { describe, expect, it } from 'vitest';
import { commandFor } from '../src/scheduler/entry.js';
import { LaunchError } from '../src/scheduler/launch-error.js';
import { resolveOptions } from '../src/scheduler/options.js';
import { launchArgs, robotArgv, secretsInArgvFor } from '../src/scheduler/robot-argv.js';
import { cmdArguments, quoteForCmd } from '../src/scheduler/windows-quote.js';

const JOB = '0f8fad5b-d9cb-469f-a165-70867728950e';
const TRIGGER = '7c9e6679-7425-40de-944b-e07fc1f90ae7';

/** cmd.exe's %-expansion on a command line (not in a batch file): an undefined name stays as it is. */
function expandPercent(line: string, env: Record<string, string>): string {
  let out = '';
  let i = 0;
  while (i < line.length) {
    const end = line[i] === '%' ? line.indexOf('%', i + 1) : -1;
    if (end < 0) {
      out += line[i++];
      continue;
    }
    const name = line.slice(i + 1, end);
    const [variable = '', modifier] = name.split(':');
    const defined = Object.hasOwn(env, variable.toLowerCase()) && variable.length > 0;
    if (defined && modifier === '~,') out += '';
    else if (defined && modifier === undefined) out += env[variable.toLowerCase()];
    else {
      out += '%';
      i++;
      continue;
    }
    i = end + 1;
  }
  return out;
}

/** Where cmd.exe would act on a character: & | < > ^ ( ) outside double quotes. */
function unquotedMetacharacters(line: string): string[] {
  let quoted = false;
  const found: string[] = [];
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    else if (!quoted && '&|<>^()'.includes(char)) found.push(char);
  }
  return found;
}

/** A batch file's %1, %2, ...: split at spaces outside quotes, the quotes kept. */
function batchParameters(line: string): string[] {
  const params: string[] = [];
  let current = '';
  let quoted = false;
  for (const char of line) {
    if (char === '"') quoted = !quoted;
    if (char === ' ' && !quoted) {
      if (current) params.push(current);
      current = '';
    } else current += char;
  }
  if (current) params.push(current);
  return params;
}

/** What a program gets from `"%~1"` (C runtime rules: doubled quotes, backslashes before quotes halved). */
function decodeParameter(param: string): string {
  const inner = param.slice(1, -1);
  let out = '';
  for (let i = 0; i < inner.length; ) {
    let backslashes = 0;
    while (inner[i + backslashes] === '\\') backslashes++;
    const after = i + backslashes;
    if (inner.startsWith('""', after)) {
      out += '\\'.repeat(backslashes / 2) + '"';
      i = after + 2;
    } else if (after === inner.length) {
      out += '\\'.repeat(backslashes / 2);
      i = after;
    } else {
      out += '\\'.repeat(backslashes) + inner[after];
      i = after + 1;
    }
  }
  return out;
}

/** How cmd.exe /s /c hands the line to the batch file, for a model check. */
function asBatchSees(args: string[]): string[] {
  const line = cmdArguments(['C:\\robots\\main.bat', ...args]).at(-1)!;
  expect(line.startsWith('"') && line.endsWith('"')).toBe(true);
  const inner = line.slice(1, -1); // what /s removes
  expect(unquotedMetacharacters(inner)).toEqual([]);
  const expanded = expandPercent(inner, { cd: 'C:\\work', path: 'EXPANDED', username: 'EXPANDED' });
  expect(expanded).not.toContain('EXPANDED');
  const [script, ...params] = batchParameters(expanded);
  expect(script).toBe('"C:\\robots\\main.bat"');
  return params.map(decodeParameter);
}

describe('quoteForCmd', () => {
  it('wraps every argument in double quotes, empty ones too', () => {
    expect(quoteForCmd('abc')).toBe('"abc"');
    expect(quoteForCmd('')).toBe('""');
    expect(quoteForCmd('a b')).toBe('"a b"');
    expect(quoteForCmd('C:\\Program Files\\robot\\main.bat')).toBe('"C:\\Program Files\\robot\\main.bat"');
  });

  it('leaves & | < > ^ ( ) ! , ; = literal inside the quotes (no carets: cmd.exe keeps them inside quotes)', () => {
    expect(quoteForCmd('a&b|c<d>e^f(g)h!i!,;=')).toBe('"a&b|c<d>e^f(g)h!i!,;="');
  });

  it('doubles a double quote, so the quoting cannot be ended from inside', () => {
    expect(quoteForCmd('x" & calc & "')).toBe('"x"" & calc & """');
    expect(quoteForCmd('"')).toBe('""""');
    expect(quoteForCmd('{"file": "out.json"}')).toBe('"{""file"": ""out.json""}"');
  });

  it('splits every % from the name after it with the empty %cd:~,%', () => {
    expect(quoteForCmd('%PATH%')).toBe('"%%cd:~,%PATH%%cd:~,%"');
    expect(quoteForCmd('100%')).toBe('"100%%cd:~,%"');
    expect(quoteForCmd('%%')).toBe('"%%cd:~,%%%cd:~,%"');
  });

  it('doubles backslashes before a quote and at the end, and only there', () => {
    expect(quoteForCmd('C:\\dir\\')).toBe('"C:\\dir\\\\"');
    expect(quoteForCmd('a\\"b')).toBe('"a\\\\""b"');
    expect(quoteForCmd('a\\\\b')).toBe('"a\\\\b"');
    expect(quoteForCmd('\\\\server\\share')).toBe('"\\\\server\\share"');
  });

  it('refuses line breaks and NUL in one clear line', () => {
    for (const bad of ['a\nb', 'a\r\nb', 'a\rb', 'a\0b']) {
      expect(() => quoteForCmd(bad)).toThrow(LaunchError);
      expect(() => quoteForCmd(bad)).toThrow(/cannot receive an argument with a line break or NUL character/);
    }
  });
});

describe('cmdArguments', () => {
  it('runs the quoted script with the quoted arguments inside one outer pair of quotes', () => {
    expect(cmdArguments(['C:\\r\\main.bat', 'name', '', 'a & b'])).toEqual(['/d', '/e:on', '/v:off', '/s', '/c', '""C:\\r\\main.bat" "name" "" "a & b""']);
  });

  it('quotes the script path too (a folder name may hold % or &)', () => {
    expect(cmdArguments(['C:\\a&b\\%x%\\main.cmd']).at(-1)).toBe('""C:\\a&b\\%%cd:~,%x%%cd:~,%\\main.cmd""');
  });

  it('hands a batch file exactly the arguments given, never a command, in a model of cmd.exe', () => {
    const hostile = ['', ' ', 'plain', 'x" & calc & "', '"', '""', '\\', 'a\\', 'a\\"b', '%PATH%', '%username%x%', '^', '^"', '&&', '|', '<in >out', '(x)', '!PATH!', 'C:\\dir\\', '{"a": "b\\\\"}', 'tab\there', 'ünïcödé ☃'];
    expect(asBatchSees(hostile)).toEqual(hostile);
    // Every pair and triple of the hostile characters, as one argument and beside others.
    const pieces = ['"', '\\', '%', '&', '^', ' ', 'a', '|', '!'];
    for (const a of pieces) {
      for (const b of pieces) {
        for (const c of pieces) {
          const args = [a + b + c, c + a, 'x'];
          expect(asBatchSees(args), JSON.stringify(args)).toEqual(args);
        }
      }
    }
  });
});

describe('commandFor and launchArgs', () => {
  it('runs .bat and .cmd through cmd.exe with a command line built verbatim', () => {
    for (const entry of ['C:\\r\\main.bat', 'C:\\r\\MAIN.CMD']) {
      const command = commandFor(entry, { python: 'py3' });
      expect(command).toMatchObject({ args: [entry], runner: 'cmd.exe', windowsCmd: true });
      expect(command.command).toBe(process.env.ComSpec ?? 'cmd.exe');
      expect(launchArgs(command, ['n', '', '', 'a & b', TRIGGER, JOB])).toEqual({
        args: ['/d', '/e:on', '/v:off', '/s', '/c', `""${entry}" "n" "" "" "a & b" "${TRIGGER}" "${JOB}""`],
        windowsVerbatimArguments: true,
      });
    }
  });

  it('appends the robot arguments to every other kind, quoted by spawn as usual', () => {
    expect(launchArgs(commandFor('/r/main.py', { python: 'py3' }), ['n', 'a & b'])).toEqual({ args: ['/r/main.py', 'n', 'a & b'], windowsVerbatimArguments: false });
  });
});

describe('robot argv', () => {
  const run = { processName: 'invoices', connectionString: 'mssql+pyodbc://oo:pw@db/o', cryptoKey: 'k3y', processArgs: 'x y', triggerId: TRIGGER, jobId: JOB };

  it('is the 3.0 protocol: process_name, connection_string, crypto_key, process_args, trigger_id, job_id', () => {
    expect(robotArgv(run, true)).toEqual(['invoices', 'mssql+pyodbc://oo:pw@db/o', 'k3y', 'x y', TRIGGER, JOB]);
    expect(robotArgv(run, false)).toEqual(['invoices', '', '', 'x y', TRIGGER, JOB]);
    expect(robotArgv({ ...run, processArgs: null }, true)[3]).toBe('');
  });

  it('never passes an empty or malformed job id', () => {
    expect(() => robotArgv({ ...run, jobId: '' }, true)).toThrow(/the job id "" is not a UUID/);
    expect(() => robotArgv({ ...run, jobId: 'job-1' }, true)).toThrow(LaunchError);
  });

  it('puts the secrets on the command line of Python and other robots only, unless told otherwise', () => {
    const byDefault = { secretsInEnvOnly: false, secretsInArgv: false };
    for (const entry of ['/r/main.js', '/r/main.mjs', '/r/main.cjs', '/r/main.ts', '/r/main.mts', '/r/MAIN.CTS']) {
      expect(secretsInArgvFor(entry, byDefault), entry).toBe(false);
      expect(secretsInArgvFor(entry, { ...byDefault, secretsInArgv: true }), entry).toBe(true);
      expect(secretsInArgvFor(entry, { ...byDefault, secretsInEnvOnly: true }), entry).toBe(false);
    }
    for (const entry of ['/r/main.py', '/r/main.pyw', 'C:\\r\\main.bat', '/r/robot.sh', '/r/robot']) {
      expect(secretsInArgvFor(entry, byDefault), entry).toBe(true);
      expect(secretsInArgvFor(entry, { ...byDefault, secretsInEnvOnly: true }), entry).toBe(false);
    }
  });

  it('refuses --secrets-in-env-only with --secrets-in-argv', () => {
    expect(() => resolveOptions({ connectionString: 'sqlite:///x.db', cryptoKey: 'k', secretsInEnvOnly: true, secretsInArgv: true })).toThrow(
      '--secrets-in-env-only and --secrets-in-argv contradict each other: give one of them',
    );
  });
});
