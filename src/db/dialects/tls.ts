/**
 * Node TLS options for a parsed `TlsConfig`, shared by the drivers that take Node's own
 * (pg, mysql2, tedious). Certificate files are read here, when the database is opened, so a
 * missing file is one clear line at start-up and never a connection that quietly trusts all.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONNECT_TIMEOUT_SECONDS, type ConnectionConfig, type TlsConfig } from '../../config/connection-string.js';
import { ConnectionStringError } from '../../errors.js';

/** libpq's root certificate when sslrootcert is not given. */
export function defaultPostgresRoot(): string {
  return join(homedir(), '.postgresql', 'root.crt');
}

function readTlsFile(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'may not be read by this user' : `cannot be read (${code})`;
    throw new ConnectionStringError(`connection string option ${option} names the file ${path}, which ${why}: fix the path or the file's permissions`);
  }
}

/** The `tls.connect` options this program sets; a subset every driver here accepts. */
export interface NodeTlsOptions {
  rejectUnauthorized: boolean;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  passphrase?: string;
  checkServerIdentity?: () => undefined;
}

/**
 * The `tls.connect` options that enforce `tls.mode`, or undefined for plain connections.
 * `verify-ca` keeps the chain check and drops the host name check.
 *
 * @example
 *   nodeTlsOptions({ mode: 'verify-ca', caFile: '/etc/oo/ca.pem', caOption: 'sslrootcert' });
 *   // { rejectUnauthorized: true, ca: <file contents>, checkServerIdentity: () => undefined }
 */
export function nodeTlsOptions(tls: TlsConfig | undefined, names: { cert: string; key: string } = { cert: 'certificate', key: 'key' }): NodeTlsOptions | undefined {
  if (tls === undefined || tls.mode === 'off') return undefined;
  let mode = tls.mode;
  let ca: Buffer | undefined;
  if (tls.caFile !== undefined) ca = readTlsFile(tls.caFile, tls.caOption ?? 'ca');
  else if (tls.defaultRoot !== undefined) {
    const root = defaultPostgresRoot();
    if (existsSync(root)) {
      ca = readTlsFile(root, 'sslrootcert (default)');
      if (mode === 'encrypt') mode = 'verify-ca';
    } else if (tls.defaultRoot === 'required') {
      throw new ConnectionStringError(
        `sslmode=${tls.mode} needs the server's root certificate, and ${root} does not exist: add sslrootcert=/path/to/root.crt, sslrootcert=system for the public roots, or sslmode=require to encrypt without verifying`,
      );
    }
  }
  const options: NodeTlsOptions = { rejectUnauthorized: mode !== 'encrypt' };
  if (mode === 'verify-ca') options.checkServerIdentity = () => undefined;
  if (ca !== undefined) options.ca = ca;
  if (tls.certFile !== undefined) options.cert = readTlsFile(tls.certFile, names.cert);
  if (tls.keyFile !== undefined) options.key = readTlsFile(tls.keyFile, names.key);
  if (tls.keyPassword !== undefined) options.passphrase = tls.keyPassword;
  return options;
}

/** The connect timeout in milliseconds: the connection string's, or the default. */
export function connectTimeoutMs(config: ConnectionConfig): number {
  return Math.round((config.connectTimeoutSeconds ?? DEFAULT_CONNECT_TIMEOUT_SECONDS) * 1000);
}
