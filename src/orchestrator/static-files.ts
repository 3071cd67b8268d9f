/**
 * Serves the built browser UI (web/dist) with a strict Content-Security-Policy. Unknown paths
 * outside /api get index.html, so the single-page app owns its own routes. This route is the only
 * one the server answers without its token (the page must load to read the token from its URL).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** set on the static-files route only: the token check skips it */
    staticFiles?: boolean;
  }
}

/** web/dist, found from this file in src/orchestrator/ and in dist/orchestrator/ alike. */
export const DEFAULT_WEB_ROOT = fileURLToPath(new URL('../../web/dist', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
};

const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

function send(reply: FastifyReply, path: string, cacheable: boolean): FastifyReply {
  return reply
    .header('content-type', TYPES[extname(path)] ?? 'application/octet-stream')
    .header('content-security-policy', CSP)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', cacheable ? 'public, max-age=31536000, immutable' : 'no-cache')
    .send(readFileSync(path));
}

/** True when the router matched the request to the UI files (decided by route, never by the raw URL). */
export function isStaticFilesRequest(request: FastifyRequest): boolean {
  return request.routeOptions.config?.staticFiles === true;
}

export function registerStaticFiles(app: FastifyInstance, webRoot: string = DEFAULT_WEB_ROOT): void {
  const root = resolve(webRoot);
  app.get('/*', { schema: { hide: true }, config: { staticFiles: true } }, async (request, reply) => {
    // The router has already decoded the path once; decoding again would let %2561 stand for "a".
    const url = (request.params as { '*': string })['*'] ?? '';
    if (url.startsWith('api/') || url === 'api') return reply.code(404).send({ error: `no API route ${request.method} /${url}` });
    const index = join(root, 'index.html');
    if (!existsSync(index)) {
      return reply
        .code(503)
        .type('text/plain; charset=utf-8')
        .send('The web UI is not built. Run `npm run build` in the openorchestrator folder, then reload. (The JSON API works: /api/openapi.json)');
    }
    const candidate = normalize(join(root, url));
    if ((candidate === root || candidate.startsWith(root + sep)) && url !== '' && existsSync(candidate) && statSync(candidate).isFile()) {
      return send(reply, candidate, url.startsWith('assets/'));
    }
    return send(reply, index, false);
  });
}
