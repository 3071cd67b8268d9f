/**
 * Private TLS database servers for tests: certificates made with openssl, and a PostgreSQL or
 * MariaDB instance of its own (temporary data folder, own port, own socket) that only speaks
 * TLS over TCP. The shared servers on 5432 and 3306 are never touched.
 *
 * PostgreSQL refuses to run as root, so under root it runs as the `postgres` system user;
 * MariaDB runs as the current user (`--user=root` under root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';

export interface TestCerts {
  dir: string;
  /** root CA and a server certificate it signed, made out to DNS:localhost only */
  caCert: string;
  serverCert: string;
  serverKey: string;
  /** a self-signed server certificate for DNS:localhost (its own root, like Debian's snakeoil) */
  selfCert: string;
  selfKey: string;
  /** a root that signed nothing here */
  wrongCa: string;
  /** a server certificate the CA signed for DNS:oo-other.test, a name that is not this machine */
  otherCert: string;
  otherKey: string;
  /** a client certificate signed by the CA */
  clientCert: string;
  clientKey: string;
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes the certificates in a new temporary folder. */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), 'oo-tls-certs-'));
  chmodSync(dir, 0o755);
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n');
  writeFileSync(join(dir, 'other.ext'), 'subjectAltName=DNS:oo-other.test\nbasicConstraints=CA:FALSE\n');
  writeFileSync(join(dir, 'client.ext'), 'basicConstraints=CA:FALSE\n');
  openssl(['req', '-x509', ...EC, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=OpenOrchestrator test CA'], dir);
  openssl(['req', '-x509', ...EC, '-keyout', 'wrong-ca.key', '-out', 'wrong-ca.crt', '-days', '2', '-subj', '/CN=Some other CA'], dir);
  openssl(['req', '-x509', ...EC, '-keyout', 'self.key', '-out', 'self.crt', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'], dir);
  for (const [name, cn] of [['server', 'localhost'], ['other', 'oo-other.test'], ['client', 'oo_client']] as const) {
    openssl(['req', ...EC, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`], dir);
    openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.crt`, '-days', '2', '-extfile', `${name}.ext`], dir);
  }
  for (const file of readdirSync(dir)) chmodSync(join(dir, file), file.endsWith('.key') ? 0o600 : 0o644);
  const at = (file: string) => join(dir, file);
  return {
    dir,
    caCert: at('ca.crt'),
    serverCert: at('server.crt'),
    serverKey: at('server.key'),
    selfCert: at('self.crt'),
    selfKey: at('self.key'),
    wrongCa: at('wrong-ca.crt'),
    otherCert: at('other.crt'),
    otherKey: at('other.key'),
    clientCert: at('client.crt'),
    clientKey: at('client.key'),
  };
}

/**
 * Points HOME at an empty folder until the returned function is called: libpq's defaults
 * (~/.postgresql/root.crt) must not depend on the account the tests run under.
 */
export function isolateHome(): () => void {
  const saved = process.env.HOME;
  const home = mkdtempSync(join(tmpdir(), 'oo-home-'));
  process.env.HOME = home;
  return () => {
    if (saved === undefined) delete process.env.HOME;
    else process.env.HOME = saved;
    rmSync(home, { recursive: true, force: true });
  };
}

/** A port nobody listens on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  port: number;
  /** folder of the Unix socket (PostgreSQL) or the socket file (MariaDB) */
  socket: string;
  /** the server's own copies of its certificate and key (MariaDB re-reads them on FLUSH SSL) */
  certFile: string;
  keyFile: string;
  stop(): Promise<void>;
}

/** Resolves when `child` writes `ready` to stderr; rejects with its output when it exits first. */
function waitReady(child: ChildProcess, ready: RegExp, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let output = '';
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        child.off('exit', onExit);
        resolve();
      }
    };
    const onExit = (code: number | null) => reject(new Error(`${what} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    child.stderr?.on('data', onData);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function stopper(child: ChildProcess, signal: NodeJS.Signals, dirs: string[]): () => Promise<void> {
  // A test process that dies without afterAll must not leave a server behind.
  const orphan = () => child.kill('SIGKILL');
  process.once('exit', orphan);
  return async () => {
    process.off('exit', orphan);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill(signal);
      await exited;
    }
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
}

function systemUser(name: string): { uid: number; gid: number } {
  return { uid: Number(execFileSync('id', ['-u', name]).toString().trim()), gid: Number(execFileSync('id', ['-g', name]).toString().trim()) };
}

const isRoot = process.getuid?.() === 0;

function postgresBin(tool: string): string {
  return join(execFileSync('pg_config', ['--bindir']).toString().trim(), tool);
}

/**
 * A PostgreSQL of its own with ssl=on and `cert`/`key`. pg_hba: TLS only over TCP (plain TCP is
 * rejected); `passwordLogins` (default `oo_scram`) log in with a password (scram-sha-256),
 * `oo_client` with a client certificate, everyone else by trust.
 */
export async function startPostgresTls(cert: string, key: string, caForClients: string, passwordLogins: readonly string[] = ['oo_scram']): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'oo-tls-pg-'));
  const data = join(dir, 'data');
  const owner = isRoot ? systemUser('postgres') : undefined;
  // The server reads its key only when the key belongs to it and nobody else may read it.
  const own = (file: string, mode: number) => {
    const copy = join(dir, basename(file));
    copyFileSync(file, copy);
    chmodSync(copy, mode);
    if (owner) chownSync(copy, owner.uid, owner.gid);
    return copy;
  };
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const serverCert = own(cert, 0o644);
  const serverKey = own(key, 0o600);
  const clientCa = own(caForClients, 0o644);
  execFileSync(postgresBin('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8'], { ...owner, stdio: ['ignore', 'ignore', 'pipe'] });
  const hba = join(data, 'pg_hba.conf');
  writeFileSync(
    hba,
    [
      'local all all trust',
      ...passwordLogins.map((login) => `hostssl all ${login} 127.0.0.1/32 scram-sha-256`),
      'hostssl all oo_client 127.0.0.1/32 cert',
      'hostssl all all 127.0.0.1/32 trust',
      'hostnossl all all 127.0.0.1/32 reject',
      '',
    ].join('\n'),
  );
  if (owner) chownSync(hba, owner.uid, owner.gid);
  const port = await freePort();
  const child = spawn(
    postgresBin('postgres'),
    [
      '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      '-c', 'ssl=on', '-c', `ssl_cert_file=${serverCert}`, '-c', `ssl_key_file=${serverKey}`, '-c', `ssl_ca_file=${clientCa}`,
      '-c', 'fsync=off', '-c', 'shared_buffers=16MB', '-c', 'max_connections=30', '-c', 'logging_collector=off',
    ],
    { ...owner, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = stopper(child, 'SIGINT', [dir]);
  try {
    await waitReady(child, /database system is ready to accept connections/, 'the test PostgreSQL');
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, socket: dir, certFile: serverCert, keyFile: serverKey, stop };
}

/**
 * A MariaDB of its own with TLS (`cert`, `key`, `ca`) and require_secure_transport=ON: over TCP
 * only TLS connections are accepted. root logs in without a password over its socket.
 */
export async function startMariadbTls(cert: string, key: string, ca: string): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'oo-tls-maria-'));
  const data = join(dir, 'data');
  const user = isRoot ? ['--user=root'] : [];
  execFileSync('mariadb-install-db', ['--no-defaults', `--datadir=${data}`, ...user, '--auth-root-authentication-method=normal', '--skip-test-db'], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const certFile = join(dir, 'server.crt');
  const keyFile = join(dir, 'server.key');
  copyFileSync(cert, certFile);
  copyFileSync(key, keyFile);
  const port = await freePort();
  const socket = join(dir, 'mariadb.sock');
  const child = spawn(
    'mariadbd',
    [
      '--no-defaults', `--datadir=${data}`, ...user, `--port=${port}`, '--bind-address=127.0.0.1', `--socket=${socket}`,
      `--pid-file=${join(dir, 'mariadb.pid')}`, `--ssl-cert=${certFile}`, `--ssl-key=${keyFile}`, `--ssl-ca=${ca}`,
      '--require-secure-transport=ON', '--innodb-buffer-pool-size=16M', '--skip-log-bin', '--skip-name-resolve',
      '--innodb-flush-log-at-trx-commit=0',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const stop = stopper(child, 'SIGTERM', [dir]);
  try {
    await waitReady(child, /ready for connections/, 'the test MariaDB');
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, socket, certFile, keyFile, stop };
}
