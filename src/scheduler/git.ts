/** Cloning a git trigger's repository into a fresh folder. */
import { spawn } from 'node:child_process';
import { LaunchError } from './launch-error.js';

/** A URL with any password (`https://user:token@host/...`) replaced by `***`, for messages. */
export function redactGitUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

export interface CloneRequest {
  url: string;
  branch?: string | null;
  folder: string;
  timeoutMs: number;
  /** a login for an https repository, from the Credentials table (see gitCredentialNames) */
  credential?: { username: string; password: string };
}

/**
 * The Credentials a repository's login may be stored under, most specific first: for
 * `https://git.example.com/team/robot.git`, `git:git.example.com/team/robot`, then
 * `git:git.example.com/team`, then `git:git.example.com`. Empty for other kinds of URL (ssh and
 * local paths authenticate otherwise) and for a URL that carries its own password.
 *
 * @example
 *   gitCredentialNames('https://github.com/org/bot.git') // ['git:github.com/org/bot', 'git:github.com/org', 'git:github.com']
 */
export function gitCredentialNames(url: string): string[] {
  const m = /^https?:\/\/(?:([^/@]*)@)?([^/?#]+)(\/[^?#]*)?/i.exec(url.trim());
  if (!m || m[1]?.includes(':')) return [];
  const host = m[2]!.toLowerCase();
  const parts = (m[3] ?? '').replace(/\.git\/?$/i, '').split('/').filter(Boolean);
  const names: string[] = [];
  for (let n = parts.length; n >= 0; n--) names.push(`git:${[host, ...parts.slice(0, n)].join('/')}`);
  return names.filter((name) => name.length <= 100);
}

/**
 * git's `-c` options that answer its login question from two environment variables, and only
 * from them: the helper list is emptied first, so no other helper (a system store) is asked or
 * handed the login to keep. The command line names the variables, never their values.
 */
const CREDENTIAL_HELPER = [
  '-c',
  'credential.helper=',
  '-c',
  'credential.helper=!f() { test "$1" = get && printf \'username=%s\\npassword=%s\\n\' "$OO_GIT_USERNAME" "$OO_GIT_PASSWORD"; }; f',
];

/**
 * `git clone --depth 1 [--branch B --single-branch] <url> <folder>`, never prompting for
 * credentials (a service has no one to answer); with `credential`, git gets that login through
 * the environment of its own process (never its argv, never a file). Throws LaunchError naming
 * what failed.
 */
export function cloneRepository(request: CloneRequest): Promise<void> {
  const args = [...(request.credential ? CREDENTIAL_HELPER : []), 'clone', '--quiet', '--depth', '1'];
  const login = request.credential ? { OO_GIT_USERNAME: request.credential.username, OO_GIT_PASSWORD: request.credential.password } : {};
  if (request.branch) args.push('--branch', request.branch, '--single-branch');
  args.push('--', request.url, request.folder);
  const what = `git clone of ${redactGitUrl(request.url)}${request.branch ? ` (branch ${request.branch})` : ''}`;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', ...login },
      windowsHide: true,
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      if (stderr.length < 4000) stderr += chunk;
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new LaunchError(`${what} took longer than ${Math.round(request.timeoutMs / 1000)} s and was stopped`));
    }, request.timeoutMs);
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new LaunchError(error.code === 'ENOENT' ? `${what} failed: git is not installed or not on the PATH` : `${what} failed: ${error.message}`));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const detail = stderr
        .split('\n')
        .map((line) => line.trim())
        .filter((line) => line && !line.startsWith('warning: --depth is ignored'))
        .join(' ');
      reject(new LaunchError(`${what} failed (exit code ${code}): ${redactGitUrl(detail) || 'no message from git'}`));
    });
  });
}
