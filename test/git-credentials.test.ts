/**
 * A git trigger's login from the Credentials table: a real Scheduler clones from a real git
 * server over HTTP that asks for a login, with the login stored as credential `git:<host>...`,
 * handed to git through its environment. Without the credential the run fails in one line.
 *
 * A login answers only for the origin it was stored for: real git servers on loopback, one
 * redirecting to another that asks for a login and records every Authorization header, and
 * git's own `git credential fill` asking the login helper about other origins.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential, deleteCredential } from '../src/db/store/credentials.js';
import { listLogs } from '../src/db/store/logs.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { gitCredentialNames, gitLoginOptions, gitOrigin, type GitLogin } from '../src/scheduler/git.js';
import { startGitHttpServer, startRedirectServer, type GitHttpServer } from './helpers/git-http.js';
import { KEY, makeGitRepo, startScheduler, tempDir, waitForEndedJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const TOKEN = 'ghp_s3cret-Token+with/odd=chars';

describe('git credentials from the Credentials table', () => {
  let live: TestStore;
  let git: GitHttpServer;
  let repoUrl: string;
  let host: string;
  let out: string;

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    out = join(tempDir(), 'ran.txt');
    const repo = makeGitRepo({ main: { 'main.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(out)}, 'cloned and ran');\n` } });
    git = await startGitHttpServer(dirname(repo), 'robot-bot', TOKEN);
    repoUrl = `${git.base}${basename(repo)}`;
    host = new URL(git.base).host;
  });
  afterAll(async () => {
    await git?.close();
    await live?.close();
  });

  const runTrigger = async (name: string, processPath: string, workDir = tempDir('oo-work-')) => {
    const id = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: name, processName: 'bot', processPath, isGitRepo: true, isBlocking: false });
    const s = startScheduler({ connectionString: live.url, workDir });
    try {
      const job = await waitForEndedJob(live.store, id);
      const logs = await listLogs(live.store, { jobId: job.id });
      return { id, job, logs, lines: s.lines, messages: s.lines.map((line) => (JSON.parse(line) as { message: string }).message) };
    } finally {
      await s.stop();
    }
  };

  it('names the credentials a repository URL may use, most specific first; plain http only by a name that says so', () => {
    expect(gitCredentialNames('https://GitHub.com/org/team/bot.git')).toEqual(['git:github.com/org/team/bot', 'git:github.com/org/team', 'git:github.com/org', 'git:github.com']);
    expect(gitCredentialNames('http://127.0.0.1:8080/bot')).toEqual(['git:http://127.0.0.1:8080/bot', 'git:http://127.0.0.1:8080']);
    expect(gitCredentialNames('https://user:token@github.com/org/bot.git')).toEqual([]);
    expect(gitCredentialNames('git@github.com:org/bot.git')).toEqual([]);
    expect(gitCredentialNames('/srv/robots/bot')).toEqual([]);
  });

  it('without a stored login the clone fails in one line, asking git nothing interactively', async () => {
    const { id, job, logs } = await runTrigger('no login', repoUrl);
    expect(job.status).toBe('FAILED');
    expect((await getTrigger(live.store, id)).status).toBe('FAILED');
    expect(logs[0]?.message).toMatch(/git clone of http:\/\/127\.0\.0\.1:\d+\/\S+ failed \(exit code 128\)/);
  });

  it('a login stored for https (git:<host>) is not sent to a plain http:// repository of that host', async () => {
    await createCredential(live.store, KEY, `git:${host}`, 'robot-bot', TOKEN);
    try {
      const before = git.logins.length;
      const { job, messages } = await runTrigger('https login, http url', repoUrl);
      expect(job.status).toBe('FAILED');
      expect(git.logins.slice(before)).toEqual([]);
      expect(messages).toContain(`credential "git:${host}" is for https only and is not sent over plain http: store the login as "git:http://${host}" to send it over http`);
    } finally {
      await deleteCredential(live.store, `git:${host}`);
    }
  });

  it('clones with the login stored as git:http://<host>, which never reaches argv, a file, a log or the output', async () => {
    await createCredential(live.store, KEY, `git:http://${host}`, 'robot-bot', TOKEN);
    const work = tempDir('oo-work-');
    try {
      const { job, lines, messages, logs } = await runTrigger('with login', repoUrl, work);
      expect(job.status).toBe('DONE');
      expect(readFileSync(out, 'utf8')).toBe('cloned and ran');
      expect(git.logins).toContain(`robot-bot:${TOKEN}`);
      expect(messages).toContain(`cloning with the login stored as credential "git:http://${host}"`);
      expect(lines.join('\n')).not.toContain(TOKEN);
      expect(JSON.stringify(logs)).not.toContain(TOKEN);
      expect(JSON.stringify(await listLogs(live.store, {}))).not.toContain(TOKEN);
      // The job folder is gone and nothing under the work folder holds the token.
      const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
      for (const file of files(work)) expect(readFileSync(file, 'latin1').includes(TOKEN), file).toBe(false);
    } finally {
      await deleteCredential(live.store, `git:http://${host}`);
    }
  });

  describe('a login never leaves its origin', () => {
    // Host B: another git server that asks for a login and records every Authorization header.
    let other: GitHttpServer;
    const servers: GitHttpServer[] = [];
    beforeAll(async () => {
      const repo = makeGitRepo({ main: { 'main.mjs': 'process.exit(0);\n' } });
      other = await startGitHttpServer(dirname(repo), 'someone-else', 'their-password');
    });
    afterAll(async () => {
      for (const server of [other, ...servers]) await server?.close();
    });

    /** Stores the login for host A under both names a version of the Scheduler might use. */
    const storeLoginFor = async (a: GitHttpServer) => {
      const aHost = new URL(a.base).host;
      await createCredential(live.store, KEY, `git:${aHost}`, 'robot-bot', TOKEN);
      await createCredential(live.store, KEY, `git:http://${aHost}`, 'robot-bot', TOKEN);
    };

    it('host A redirects to host B, which asks for a login: B gets none', async () => {
      const a = await startRedirectServer(other.base);
      servers.push(a);
      await storeLoginFor(a);
      const { job, logs } = await runTrigger('redirected', `${a.base}bot.git`);
      expect(job.status).toBe('FAILED');
      expect(other.logins).toEqual([]);
      expect(JSON.stringify(logs)).not.toContain(TOKEN);
    });

    it('host A takes its login, then redirects to host B: git does not follow, B gets nothing', async () => {
      const a = await startRedirectServer(other.base, { status: 301, login: { user: 'robot-bot', password: TOKEN } });
      servers.push(a);
      await storeLoginFor(a);
      const { job, logs } = await runTrigger('logged in, then redirected', `${a.base}bot.git`);
      expect(job.status).toBe('FAILED');
      expect(a.logins).toContain(`robot-bot:${TOKEN}`);
      expect(other.logins).toEqual([]);
      expect(other.requests).toEqual([]);
      expect(logs[0]?.message).toMatch(/git clone of http:\/\/127\.0\.0\.1:\d+\/bot\.git failed \(exit code 128\): .*301/);
    });
  });

  describe('the login helper answers git only for the login\'s own origin', () => {
    const login = (url: string, name: string): GitLogin => ({ username: 'robot-bot', password: TOKEN, origin: gitOrigin(url, name) });
    /** What `git credential fill` answers for `asked` (protocol, host, path), or null when nothing did. */
    const fill = (given: GitLogin, asked: { protocol: string; host: string; path?: string }) =>
      new Promise<string | null>((resolve) => {
        const { args, env } = gitLoginOptions(given);
        const child = spawn('git', [...args, 'credential', 'fill'], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GCM_INTERACTIVE: 'never', ...env }, stdio: ['pipe', 'pipe', 'ignore'] });
        let stdout = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
        child.on('close', (code) => resolve(code === 0 ? stdout : null));
        child.stdin.end(`protocol=${asked.protocol}\nhost=${asked.host}\n${asked.path === undefined ? '' : `path=${asked.path}\n`}\n`);
      });

    it('the scheme, the host and port, and the path prefix must all match', async () => {
      const team = login('https://git.example.com/team/bot.git', 'git:git.example.com/team');
      expect(team.origin).toEqual({ protocol: 'https', host: 'git.example.com', path: '/team' });
      const answer = await fill(team, { protocol: 'https', host: 'git.example.com', path: 'team/bot.git' });
      expect(answer).toContain(`username=robot-bot\npassword=${TOKEN}\n`);
      expect(await fill(team, { protocol: 'https', host: 'git.example.com', path: 'team/other/deeper.git' })).not.toBeNull();
      for (const asked of [
        { protocol: 'http', host: 'git.example.com', path: 'team/bot.git' },
        { protocol: 'https', host: 'evil.example.com', path: 'team/bot.git' },
        { protocol: 'https', host: 'git.example.com:8443', path: 'team/bot.git' },
        { protocol: 'https', host: 'git.example.com', path: 'team-evil/bot.git' },
        { protocol: 'https', host: 'git.example.com', path: 'other/bot.git' },
        { protocol: 'https', host: 'git.example.com' },
      ]) {
        expect(await fill(team, asked), JSON.stringify(asked)).toBeNull();
      }
      const wholeHost = login('http://127.0.0.1:8080/bot.git', 'git:http://127.0.0.1:8080');
      expect(wholeHost.origin).toEqual({ protocol: 'http', host: '127.0.0.1:8080', path: '' });
      expect(await fill(wholeHost, { protocol: 'http', host: '127.0.0.1:8080', path: 'any/repo.git' })).not.toBeNull();
      expect(await fill(wholeHost, { protocol: 'http', host: '127.0.0.1:8081', path: 'any/repo.git' })).toBeNull();
      expect(await fill(wholeHost, { protocol: 'https', host: '127.0.0.1:8080', path: 'any/repo.git' })).toBeNull();
    });
  });
});
