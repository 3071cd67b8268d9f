/**
 * `--metrics <host:port>` of the Scheduler and the monitor: a small HTTP server that answers
 * `GET /metrics` with this process's metrics in Prometheus text format, and nothing else. It
 * is opt-in; bound to a loopback address it answers only requests addressed to a loopback name
 * (as the Orchestrator does, against DNS rebinding).
 *
 * @example
 *   const server = await serveMetrics(parseMetricsAddress('127.0.0.1:9464'));
 *   console.log(server.url); // http://127.0.0.1:9464/metrics
 */
import { createServer, type Server } from 'node:http';
import { InputError } from '../errors.js';
import { isLoopback } from '../orchestrator/access.js';
import { metrics, metricsRegistry } from './metrics.js';

export interface MetricsAddress {
  host: string;
  port: number;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  close(): Promise<void>;
}

/**
 * `host:port`, `[v6]:port` or `:port` (loopback), with a port from 0 (any free one) to 65535.
 *
 * @example parseMetricsAddress('0.0.0.0:9464') // { host: '0.0.0.0', port: 9464 }
 */
export function parseMetricsAddress(text: string): MetricsAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(text.trim());
  const port = Number(match?.[3]);
  if (!match || port > 65535) throw new InputError(`--metrics ${text} is not an address to listen on: give host:port, e.g. 127.0.0.1:9464 (or 0.0.0.0:9464 for other machines)`);
  return { host: match[1] ?? (match[2] || '127.0.0.1'), port };
}

/** Answers one request: the metrics, or a one-line refusal. */
async function answer(server: MetricsAddress, method: string | undefined, url: string | undefined, hostHeader: string | undefined): Promise<{ status: number; type: string; body: string }> {
  const text = (status: number, body: string) => ({ status, type: 'text/plain; charset=utf-8', body: `${body}\n` });
  if (isLoopback(server.host)) {
    const name = (hostHeader ?? '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
    if (!isLoopback(name)) return text(403, `this metrics server answers only requests addressed to 127.0.0.1 or localhost, not "${name.slice(0, 60)}"`);
  }
  if ((url ?? '').split('?')[0] !== '/metrics') return text(404, 'the metrics are at /metrics');
  if (method !== 'GET' && method !== 'HEAD') return text(405, 'only GET /metrics');
  metrics();
  const registry = metricsRegistry();
  return { status: 200, type: registry.contentType, body: await registry.metrics() };
}

/** Listens on `address`; rejects with a one-line InputError when it cannot. */
export async function serveMetrics(address: MetricsAddress): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    answer(address, request.method, request.url, request.headers.host)
      .then(({ status, type, body }) => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
        response.end(request.method === 'HEAD' ? undefined : body);
      })
      .catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        response.end(`the metrics could not be read: ${String((error as Error)?.message ?? error).split('\n')[0]}\n`);
      });
  });
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(new InputError(`cannot serve metrics on ${address.host}:${address.port} (${error.code ?? error.message}); choose another --metrics address`)),
    );
    server.listen(address.port, address.host, resolve);
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : address.port;
  const shown = address.host.includes(':') ? `[${address.host}]` : address.host === '0.0.0.0' ? '127.0.0.1' : address.host;
  return {
    url: `http://${shown}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
