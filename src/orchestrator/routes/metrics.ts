/**
 * GET /metrics (opt-in, `orchestrator --metrics`): this process's Prometheus metrics, with the
 * queue and incident gauges read through the connected database. It sits behind the server's
 * own rules like every API route: loopback names only on a loopback address, and the access
 * token when one is set (Prometheus sends it with `authorization: { credentials: <token> }`).
 */
import type { FastifyInstance } from 'fastify';
import { metrics, metricsRegistry, setScrapeStore } from '../../metrics/metrics.js';
import type { Session } from '../session.js';

export function registerMetricsRoute(app: FastifyInstance, session: Session): void {
  metrics();
  // Only a database at the current schema is read; otherwise the gauges stay empty.
  setScrapeStore(() => (session.status().connected && !session.status().needsUpgrade ? session.requireStore() : undefined));
  app.get('/metrics', { schema: { hide: true } }, async (_request, reply) => {
    const registry = metricsRegistry();
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
