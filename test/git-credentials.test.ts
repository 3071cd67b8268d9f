/**
 * A git trigger's login from the Credentials table: a real Scheduler clones from a real git
 * server over HTTP that asks for a login, with the login stored as credential `git:<host>...`,
 * handed to git through its environment. Without the credential the run fails in one line.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCredential } from '../src/db/store/credentials.js';
import { listLogs } from '../src/db/store/logs.js';
import { createTrigger, getTrigger } from '../src/db/store/triggers.js';
import { gitCredentialNames } from '../src/scheduler/git.js';
import { startGitHttpServer, type GitHttpServer } from './helpers/git-http.js';
import { KEY, makeGitRepo, startScheduler, tempDir, waitForEndedJob } from './helpers/scheduler.js';
import { openTestStore, type TestStore } from './helpers/stores.js';

const TOKEN = 'ghp_s3cret-Token+with/odd=chars';

describe('git credentials from the Credentials table', () => {
  let live: TestStore;
  let git: GitHttpServer;
  let repoUrl: string;
  let out: string;

  beforeAll(async () => {
    live = await openTestStore('sqlite');
    out = join(tempDir(), 'ran.txt');
    const repo = makeGitRepo({ main: { 'main.mjs': `import { writeFileSync } from 'node:fs';\nwriteFileSync(${JSON.stringify(out)}, 'cloned and ran');\n` } });
    git = await startGitHttpServer(dirname(repo), 'robot-bot', TOKEN);
    repoUrl = `${git.base}${basename(repo)}`;
  });
  afterAll(async () => {
    await git?.close();
    await live?.close();
  });

  it('names the credentials a repository URL may use, most specific first', () => {
    expect(gitCredentialNames('https://GitHub.com/org/team/bot.git')).toEqual(['git:github.com/org/team/bot', 'git:github.com/org/team', 'git:github.com/org', 'git:github.com']);
    expect(gitCredentialNames('http://127.0.0.1:8080/bot')).toEqual(['git:127.0.0.1:8080/bot', 'git:127.0.0.1:8080']);
    expect(gitCredentialNames('https://user:token@github.com/org/bot.git')).toEqual([]);
    expect(gitCredentialNames('git@github.com:org/bot.git')).toEqual([]);
    expect(gitCredentialNames('/srv/robots/bot')).toEqual([]);
  });

  it('without a stored login the clone fails in one line, asking git nothing interactively', async () => {
    const id = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: 'no login', processName: 'bot', processPath: repoUrl, isGitRepo: true, isBlocking: false });
    const s = startScheduler({ connectionString: live.url });
    try {
      const job = await waitForEndedJob(live.store, id);
      expect(job.status).toBe('FAILED');
      expect((await getTrigger(live.store, id)).status).toBe('FAILED');
      const [log] = await listLogs(live.store, { jobId: job.id });
      expect(log?.message).toMatch(/git clone of http:\/\/127\.0\.0\.1:\d+\/\S+ failed \(exit code 128\)/);
    } finally {
      await s.stop();
    }
  });

  it('clones with the login stored as git:<host>, which never reaches argv, a file, a log or the output', async () => {
    const host = new URL(git.base).host;
    await createCredential(live.store, KEY, `git:${host}`, 'robot-bot', TOKEN);
    const id = await createTrigger(live.store, { type: 'SINGLE', nextRun: new Date(Date.now() - 1000), triggerName: 'with login', processName: 'bot', processPath: repoUrl, isGitRepo: true, isBlocking: false });
    const work = tempDir('oo-work-');
    const s = startScheduler({ connectionString: live.url, workDir: work });
    try {
      const job = await waitForEndedJob(live.store, id);
      expect(job.status).toBe('DONE');
      expect(readFileSync(out, 'utf8')).toBe('cloned and ran');
      expect(git.logins).toContain(`robot-bot:${TOKEN}`);
      const messages = s.lines.map((line) => (JSON.parse(line) as { message: string }).message);
      expect(messages).toContain(`cloning with the login stored as credential "git:${host}"`);
      expect(s.lines.join('\n')).not.toContain(TOKEN);
      expect(JSON.stringify(await listLogs(live.store, {}))).not.toContain(TOKEN);
      // The job folder is gone and nothing under the work folder holds the token.
      const files = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
      for (const file of files(work)) expect(readFileSync(file, 'latin1').includes(TOKEN), file).toBe(false);
    } finally {
      await s.stop();
    }
  });
});
