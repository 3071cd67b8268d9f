/**
 * Which connection a request acts in. The server decides it once per request, on the route the
 * router matched (token mode: the server's one connection; team mode: the signed-in person's
 * own login), and runs the route's handler inside that decision. The routes keep calling
 * `session.requireStore()` on the one `Session` they were given: it answers from the request
 * they serve. A handler that runs outside any decision (a bug) is refused, never given another
 * person's connection.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Store } from '../db/open.js';
import type { UpgradeResult } from '../db/schema/upgrade.js';
import { HttpError } from './http-error.js';
import type { Session, SessionStatus } from './session.js';

const scope = new AsyncLocalStorage<Session>();

/** Runs `work` with `session` as the connection of everything it calls through `routedSession`. */
export function runInSession<T>(session: Session, work: () => T): T {
  return scope.run(session, work);
}

function current(): Session {
  const session = scope.getStore();
  if (!session) throw new HttpError(401, 'this request has no connection: sign in first');
  return session;
}

/**
 * The `Session` the routes are given: each call goes to the connection decided for the request
 * being served.
 *
 * @example
 *   registerTriggerRoutes(app, routedSession);
 *   // in a handler: session.requireStore() is the signed-in person's store
 */
export const routedSession: Session = {
  connect: (connectionString: string, cryptoKey?: string): Promise<SessionStatus> => current().connect(connectionString, cryptoKey),
  disconnect: (): Promise<void> => current().disconnect(),
  status: (): SessionStatus => current().status(),
  requireStore: (): Store => current().requireStore(),
  requireConnection: (): Store => current().requireConnection(),
  requireKey: (): string => current().requireKey(),
  optionalKey: (): string | undefined => current().optionalKey(),
  upgrade: (onStep: (line: string) => void): Promise<UpgradeResult> => current().upgrade(onStep),
  translate: (error: unknown): Error => current().translate(error),
  secrets: (): string[] => current().secrets(),
  login: (): string | null => current().login(),
};

/**
 * `base` with its store replaced (a change's transaction, unit-of-work.ts): everything else,
 * the key and the error translation included, stays the base session's.
 */
export function withStore(base: Session, store: Store): Session {
  return {
    ...bind(base),
    requireStore: () => {
      base.requireStore();
      return store;
    },
    requireConnection: () => store,
  };
}

function bind(session: Session): Session {
  return {
    connect: session.connect.bind(session),
    disconnect: session.disconnect.bind(session),
    status: session.status.bind(session),
    requireStore: session.requireStore.bind(session),
    requireConnection: session.requireConnection.bind(session),
    requireKey: session.requireKey.bind(session),
    optionalKey: session.optionalKey.bind(session),
    upgrade: session.upgrade.bind(session),
    translate: session.translate.bind(session),
    secrets: session.secrets.bind(session),
    login: session.login.bind(session),
  };
}
