/**
 * A git server over HTTP for tests: node:http in front of `git http-backend` (git's own smart
 * HTTP server, run as CGI), asking for one Basic login. It records every Authorization header
 * it was sent, so a test can tell what reached the server. A redirecting server sends every
 * request on to another address, optionally only after its own login.
 */
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface GitHttpServer {
  /** http://127.0.0.1:<port>/ */
  base: string;
  /** "user:password" of every request that sent one */
  logins: string[];
  /** every request's path and query, in order */
  requests: string[];
  close(): Promise<void>;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function recordLogin(logins: string[], auth: string | undefined): void {
  if (auth?.startsWith('Basic ')) logins.push(Buffer.from(auth.slice(6), 'base64').toString('utf8'));
}

async function listen(server: Server, logins: string[], requests: string[]): Promise<GitHttpServer> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { base: `http://127.0.0.1:${port}/`, logins, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Answers every request with `status` (302 by default) to the same path and query under
 * `target`; with `login`, only requests that carry it (others get a 401 asking for it).
 */
export async function startRedirectServer(target: string, options: { status?: number; login?: { user: string; password: string } } = {}): Promise<GitHttpServer> {
  const logins: string[] = [];
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    requests.push(request.url ?? '/');
    recordLogin(logins, request.headers.authorization);
    request.resume();
    if (options.login && request.headers.authorization !== basic(options.login.user, options.login.password)) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="robots"' }).end();
      return;
    }
    response.writeHead(options.status ?? 302, { location: new URL((request.url ?? '/').replace(/^\/+/, ''), target).href }).end();
  });
  return listen(server, logins, requests);
}

/** Serves every repository under `root` (as /<name>) to the login `user`/`password` only. */
export async function startGitHttpServer(root: string, user: string, password: string): Promise<GitHttpServer> {
  const logins: string[] = [];
  const requests: string[] = [];
  const expected = basic(user, password);
  const server: Server = createServer((request, response) => {
    const auth = request.headers.authorization;
    requests.push(request.url ?? '/');
    recordLogin(logins, auth);
    if (auth !== expected) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="robots"' }).end();
      return;
    }
    const url = new URL(request.url ?? '/', 'http://x');
    const cgi = spawn('git', ['http-backend'], {
      env: {
        ...process.env,
        GIT_PROJECT_ROOT: root,
        GIT_HTTP_EXPORT_ALL: '1',
        PATH_INFO: decodeURIComponent(url.pathname),
        QUERY_STRING: url.search.slice(1),
        REQUEST_METHOD: request.method ?? 'GET',
        CONTENT_TYPE: request.headers['content-type'] ?? '',
        REMOTE_USER: user,
        REMOTE_ADDR: '127.0.0.1',
      },
      stdio: ['pipe', 'pipe', 'ignore'],
    });
    request.pipe(cgi.stdin);
    let head = Buffer.alloc(0);
    let sentHead = false;
    cgi.stdout.on('data', (chunk: Buffer) => {
      if (sentHead) return void response.write(chunk);
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      let status = 200;
      const headers: Record<string, string> = {};
      for (const line of head.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers[name] = value;
      }
      response.writeHead(status, headers);
      sentHead = true;
      response.write(head.subarray(end + 4));
    });
    cgi.on('close', () => response.end());
  });
  return listen(server, logins, requests);
}
