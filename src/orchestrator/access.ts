/** Who may reach the Orchestrator: loopback names, and the token's environment variable. */

export const TOKEN_ENV = 'OpenOrchestratorToken';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopback(host: string): boolean {
  return LOOPBACK.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}
