/**
 * One line that says why a run failed, from an Error log: the exception a Python or node robot
 * ended with, not the first line of its traceback (a source location) nor the Scheduler's
 * "exited with code 1; its error output:" preamble. The whole message stays on the job page.
 */

/** An exception line: `ValueError: ...`, `Error: boom`, `TypeError [ERR_X]: ...`, `pkg.mod.OperationalError: ...`. */
const EXCEPTION = /^(?:[\w.$]*(?:Error|Exception|Exit|Interrupt|Warning)|Error|Exception|Uncaught \w+)(?: \[[\w-]+\])?(?::|$)/;

/** Lines of a traceback or stack that say where, not what. */
const NOISE = [
  /^\s*$/,
  /^\s+at\s/, // node: "    at f (file.js:1:2)"
  /^\s*\^+\s*$/, // node: the caret under the source line
  /^(?:file:\/\/|\/|[A-Za-z]:\\)?\S*:\d+(?::\d+)?$/, // node: "file:///x/main.mjs:3"
  /^Traceback \(most recent call last\):$/,
  /^\s+File ".*", line \d+/, // Python
  /^Node\.js v\d/,
  /^\s*(?:During handling of the above exception|The above exception was the direct cause)/,
];

/** The Scheduler's preamble before a robot's stderr (src/scheduler/loop.ts, #outcomeOf). */
const PREAMBLE = /; its error output:$/;

/**
 * @example
 *   errorSummary('process "p" (trigger "t") exited with code 1; its error output:\nTraceback (most recent call last):\n  File "x.py", line 1\nValueError: bad') // 'ValueError: bad'
 *   errorSummary('file:///r/main.mjs:2\nthrow new Error("boom")\n^\n\nError: boom\n    at file:///r/main.mjs:2:7') // 'Error: boom'
 */
export function errorSummary(message: string): string {
  const lines = message.replace(/\r/g, '').split('\n');
  const body = PREAMBLE.test(lines[0] ?? '') ? lines.slice(1) : lines;
  const exception = [...body].reverse().find((line) => EXCEPTION.test(line));
  if (exception) return exception.trim();
  const meaningful = body.find((line) => !NOISE.some((noise) => noise.test(line)));
  return (meaningful ?? lines[0] ?? '').trim();
}
