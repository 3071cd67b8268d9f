/**
 * HTTP spoken byte for byte over a socket (node:net, or node:tls for HTTPS), so that no client
 * tidies the request line or hides a header: what the server answers is read as it came.
 */
import { connect as connectTcp } from 'node:net';
import { connect as connectTls } from 'node:tls';

export interface RawReply {
  status: number;
  /** the last value of each header, names in lower case */
  headers: Record<string, string>;
  /** every Set-Cookie line, as sent */
  setCookies: string[];
  body: string;
}

/** Where to send: a port on 127.0.0.1, over TLS when `ca` (the root that signed the server's certificate) is given. */
export interface Target {
  port: number;
  ca?: string;
  /** the name TLS checks the certificate against (default localhost) */
  servername?: string;
}

/** One request over a fresh socket, written exactly as given. */
export function raw(target: Target | number, requestText: string): Promise<RawReply> {
  const { port, ca, servername } = typeof target === 'number' ? { port: target, ca: undefined, servername: undefined } : target;
  return new Promise((resolve, reject) => {
    const socket = ca === undefined ? connectTcp(port, '127.0.0.1') : connectTls({ port, host: '127.0.0.1', ca, servername: servername ?? 'localhost' });
    const chunks: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const [head = '', ...rest] = text.split('\r\n\r\n');
      const [statusLine = '', ...headerLines] = head.split('\r\n');
      const headers: Record<string, string> = {};
      const setCookies: string[] = [];
      for (const line of headerLines) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = value;
        if (name === 'set-cookie') setCookies.push(value);
      }
      resolve({ status: Number(statusLine.split(' ')[1]), headers, setCookies, body: rest.join('\r\n\r\n') });
    });
    socket.write(requestText);
  });
}

/** A request with `Host`, `Connection: close` and, with a body, its length. */
export function request(target: Target | number, method: string, path: string, headers: Record<string, string> = {}, body?: string): Promise<RawReply> {
  const port = typeof target === 'number' ? target : target.port;
  const all: Record<string, string> = { host: `${typeof target === 'object' && target.ca ? 'localhost' : '127.0.0.1'}:${port}`, connection: 'close', ...headers };
  if (body !== undefined) all['content-length'] = String(Buffer.byteLength(body));
  const lines = Object.entries(all).map(([name, value]) => `${name}: ${value}`);
  return raw(target, `${method} ${path} HTTP/1.1\r\n${lines.join('\r\n')}\r\n\r\n${body ?? ''}`);
}
