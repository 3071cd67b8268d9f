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
}

/**
 * `git clone --depth 1 [--branch B --single-branch] <url> <folder>`, never prompting for
 * credentials (a service has no one to answer). Throws LaunchError naming what failed.
 */
export function cloneRepository(request: CloneRequest): Promise<void> {
  const args = ['clone', '--quiet', '--depth', '1'];
  if (request.branch) args.push('--branch', request.branch, '--single-branch');
  args.push('--', request.url, request.folder);
  const what = `git clone of ${redactGitUrl(request.url)}${request.branch ? ` (branch ${request.branch})` : ''}`;
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never' },
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
