/** Cloning a git trigger's repository into a fresh folder. */
import { spawn } from 'node:child_process';
import { LaunchError } from './launch-error.js';

/** A URL with any password (`https://user:token@host/...`) replaced by `***`, for messages. */
export function redactGitUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/i, '$1:***@');
}

/**
 * Where a git login may be sent: git's own `protocol`, `host` (with a port when the URL has one,
 * as the URL writes it) and a path prefix (`/team`, or empty for the whole host).
 */
export interface GitOrigin {
  protocol: 'https' | 'http';
  host: string;
  path: string;
}

/** A login from the Credentials table and the one origin it answers for (see gitOrigin). */
export interface GitLogin {
  username: string;
  password: string;
  origin: GitOrigin;
}

export interface CloneRequest {
  url: string;
  branch?: string | null;
  folder: string;
  timeoutMs: number;
  /** a login for an http(s) repository, from the Credentials table (see gitCredentialNames) */
  login?: GitLogin;
}

const HTTP_URL = /^(https?):\/\/(?:([^/@]*)@)?([^/?#]+)(\/[^?#]*)?/i;
/** The prefix of a credential that may be sent over plain http: it has to say so. */
const PLAIN_HTTP = 'http://';

function pathSegments(path: string | undefined): string[] {
  return (path ?? '').replace(/\.git\/?$/i, '').split('/').filter(Boolean);
}

/**
 * The Credentials a repository's login may be stored under, most specific first: for
 * `https://git.example.com/team/robot.git`, `git:git.example.com/team/robot`, then
 * `git:git.example.com/team`, then `git:git.example.com`. A plain `http://` URL is served only
 * by a name that says so, `git:http://<host>[/<path>]`: a login stored for a host goes over TLS
 * only. Empty for other kinds of URL (ssh and local paths authenticate otherwise) and for a URL
 * that carries its own password.
 *
 * @example
 *   gitCredentialNames('https://github.com/org/bot.git') // ['git:github.com/org/bot', 'git:github.com/org', 'git:github.com']
 *   gitCredentialNames('http://10.0.0.5:3000/bot.git')   // ['git:http://10.0.0.5:3000/bot', 'git:http://10.0.0.5:3000']
 */
export function gitCredentialNames(url: string): string[] {
  const m = HTTP_URL.exec(url.trim());
  if (!m || m[2]?.includes(':')) return [];
  const scheme = m[1]!.toLowerCase() === 'http' ? PLAIN_HTTP : '';
  const host = m[3]!.toLowerCase();
  const parts = pathSegments(m[4]);
  const names: string[] = [];
  for (let n = parts.length; n >= 0; n--) names.push(`git:${scheme}${[host, ...parts.slice(0, n)].join('/')}`);
  return names.filter((name) => name.length <= 100);
}

/**
 * The origin the credential `name` (one of gitCredentialNames(url)) covers for `url`: the URL's
 * scheme and host, and as many of its path segments as the name holds, decoded as git decodes
 * them when it asks for a login.
 *
 * @example
 *   gitOrigin('https://git.example.com/team/bot.git', 'git:git.example.com/team') // { protocol: 'https', host: 'git.example.com', path: '/team' }
 */
export function gitOrigin(url: string, name: string): GitOrigin {
  const m = HTTP_URL.exec(url.trim());
  if (!m) throw new Error(`not an http(s) URL: ${redactGitUrl(url)}`);
  const depth = name.replace(/^git:(?:http:\/\/)?/i, '').split('/').length - 1;
  const decode = (segment: string) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  };
  const path = pathSegments(m[4]).slice(0, depth).map(decode);
  return { protocol: m[1]!.toLowerCase() as GitOrigin['protocol'], host: m[3]!, path: path.map((segment) => `/${segment}`).join('') };
}

/**
 * The login helper, run by git's shell for every login git needs. It reads what git asks for
 * (protocol, host, path: `credential.useHttpPath` makes git send the path) and answers only
 * when all three are the login's own origin; for anything else it says nothing, and git, which
 * may not prompt, gives up. The values come from the environment, never the command line.
 */
const LOGIN_HELPER = [
  '!f() { test "$1" = get || return 0; p= h= u=',
  'while IFS= read -r l; do case "$l" in protocol=*) p=${l#protocol=};; host=*) h=${l#host=};; path=*) u=/${l#path=};; esac; done',
  'u=${u%/}; u=${u%.git}',
  'test "$p" = "$OO_GIT_PROTOCOL" && test "$h" = "$OO_GIT_HOST" || return 0',
  'case "$u/" in "$OO_GIT_PATH"/*) printf \'username=%s\\npassword=%s\\n\' "$OO_GIT_USERNAME" "$OO_GIT_PASSWORD";; esac; }; f',
].join('; ');

/**
 * git's options and environment for cloning with `login`: every other credential helper is
 * emptied first (no system store is asked or handed the login to keep), the login helper above
 * answers for the login's origin only, and git follows no redirect (`http.followRedirects=false`),
 * so a server cannot send the clone, and with it a login, anywhere else.
 *
 * @example
 *   const { args, env } = gitLoginOptions(login);
 *   spawn('git', [...args, 'clone', url], { env: { ...process.env, ...env } });
 */
export function gitLoginOptions(login: GitLogin): { args: string[]; env: Record<string, string> } {
  return {
    args: ['-c', 'credential.helper=', '-c', `credential.helper=${LOGIN_HELPER}`, '-c', 'credential.useHttpPath=true', '-c', 'http.followRedirects=false'],
    env: {
      OO_GIT_PROTOCOL: login.origin.protocol,
      OO_GIT_HOST: login.origin.host,
      OO_GIT_PATH: login.origin.path,
      OO_GIT_USERNAME: login.username,
      OO_GIT_PASSWORD: login.password,
    },
  };
}

/**
 * `git clone --depth 1 [--branch B --single-branch] <url> <folder>`, never prompting for
 * credentials (a service has no one to answer); with `login`, git gets that login through the
 * environment of its own process (never its argv, never a file), for its origin only (see
 * gitLoginOptions). Throws LaunchError naming what failed.
 */
export function cloneRepository(request: CloneRequest): Promise<void> {
  const login = request.login ? gitLoginOptions(request.login) : { args: [], env: {} };
  const args = [...login.args, 'clone', '--quiet', '--depth', '1'];
  if (request.branch) args.push('--branch', request.branch, '--single-branch');
  args.push('--', request.url, request.folder);
  const what = `git clone of ${redactGitUrl(request.url)}${request.branch ? ` (branch ${request.branch})` : ''}`;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', ...login.env },
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
