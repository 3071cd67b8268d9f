/**
 * What the signed-in login may change, from the server's reading of its rights (GET
 * /api/settings/access). Change controls wrapped in <Needs> are shown unavailable when the login
 * lacks the right; the database stays the judge (a refusal still comes back as one line).
 */
import { createContext, useContext, type ReactNode } from 'react';

export interface Access {
  checked: boolean;
  login: string | null;
  roles: string[];
  summary: string;
  /** per table: SELECT, INSERT, UPDATE, DELETE as held; absent where the database is not read (SQLite, SQL Server, Oracle) */
  privileges?: Record<string, string[]>;
}

export type Change = 'INSERT' | 'UPDATE' | 'DELETE';

const AccessContext = createContext<Access | null>(null);
export const AccessProvider = AccessContext.Provider;

/** May the login make a change needing `privilege` on `table`? Every change also writes its audit row. */
export function allowed(access: Access | null, table: string, privilege: Change): boolean {
  const held = access?.privileges;
  if (!held) return true;
  return (held[table] ?? []).includes(privilege) && (held.oo_audit ?? []).includes('INSERT');
}

/** True when the login can change nothing at all through the Orchestrator (a viewer). */
export function readOnly(access: Access | null): boolean {
  const held = access?.privileges;
  if (!held) return false;
  return !Object.keys(held).some((table) => (['INSERT', 'UPDATE', 'DELETE'] as const).some((p) => allowed(access, table, p)));
}

/**
 * Change controls that need `privilege` on `table`: disabled, and said so to screen readers,
 * when the login lacks it.
 *
 * @example
 *   <Needs table="Triggers" privilege="INSERT"><button>New trigger</button></Needs>
 */
export function Needs({ table, privilege, children }: { table: string; privilege: Change; children: ReactNode }) {
  const access = useContext(AccessContext);
  const ok = allowed(access, table, privilege);
  return (
    <fieldset className="needs" disabled={!ok} aria-label={ok ? undefined : `unavailable: your login lacks ${privilege} on ${table}`} title={ok ? undefined : `Your login lacks ${privilege} on ${table}`}>
      {children}
    </fieldset>
  );
}
