/**
 * Who may reach the Orchestrator: loopback names, the token's environment variable, and the
 * proof that a state-changing request comes from the app's own page rather than another site's.
 */
import type { IncomingHttpHeaders } from 'node:http';

export const TOKEN_ENV = 'OpenOrchestratorToken';

/** Team mode: a session ends after this many minutes without a request, ... */
export const DEFAULT_IDLE_MINUTES = 30;
/** ... and this many hours after sign-in, whatever happens. */
export const DEFAULT_SESSION_HOURS = 12;

/**
 * The header the web UI (and every API client) sends on each request. Another site's page can
 * only send it after a CORS preflight, which this server never grants, so it marks a change as
 * coming from the app itself. The value must be `1`.
 */
export const REQUEST_HEADER = 'x-openorchestrator-request';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

// Methods that change nothing; a browser sends them cross-site without asking, so they must stay read-only.
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** True when `origin` (an Origin header) names the server that `host` (the Host header) addresses. */
export function isSameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const from = new URL(origin);
    if (from.protocol !== 'http:' && from.protocol !== 'https:') return false;
    // Parsing the Host under the origin's scheme drops a default port the same way the origin does.
    return from.host === new URL(`${from.protocol}//${host}`).host && from.pathname === '/';
  } catch {
    return false;
  }
}

/**
 * Why a state-changing request (anything but GET, HEAD, OPTIONS) cannot be shown to come from
 * this server's own page, as one line; undefined when it can or when the method changes nothing.
 * Holds with or without a token: a page the admin has open elsewhere must not reach the loopback server.
 */
export function crossSiteRefusal(method: string, headers: IncomingHttpHeaders): string | undefined {
  if (SAFE_METHODS.has(method.toUpperCase())) return undefined;
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none') {
    return `refused a change sent by another site's page (Sec-Fetch-Site: ${site.slice(0, 40)}); changes are accepted only from this server's own page`;
  }
  const origin = headers.origin;
  if (typeof origin === 'string' && !isSameOrigin(origin, headers.host)) {
    return `refused a change sent from the page at origin "${origin.slice(0, 100)}"; changes are accepted only from this server's own origin`;
  }
  if (headers[REQUEST_HEADER] !== '1') {
    return 'a change needs the header "X-OpenOrchestrator-Request: 1" (the web UI sends it; API clients such as curl must send it too)';
  }
  return undefined;
}
