/**
 * Sign-in throttling (team mode): per user name and per client address, a few attempts are
 * free, then each further attempt must wait twice as long as the one before (1 s, 2 s, 4 s, ...
 * up to 15 minutes). An attempt counts as failed the moment it starts, so a burst of parallel
 * guesses is held as well as a loop; a successful sign-in gives its attempt back and clears
 * the user's count. Entries are forgotten an hour after their last attempt, and their number
 * is bounded, so a spray of made-up names cannot grow the table without end.
 */

export interface ThrottleLimits {
  /** attempts allowed before the first wait */
  free: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const USER_LIMITS: ThrottleLimits = { free: 5, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000 };
/** An address may be a whole office behind one NAT: more free attempts than one user. */
export const ADDRESS_LIMITS: ThrottleLimits = { free: 20, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000 };

const FORGET_AFTER_MS = 60 * 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  failures: number;
  lastAttempt: number;
  blockedUntil: number;
}

/** What an attempt may do: go ahead, or wait `retryAfterMs`. */
export type ThrottleDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export class SignInThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => number = Date.now,
    private readonly limits: { user: ThrottleLimits; address: ThrottleLimits } = { user: USER_LIMITS, address: ADDRESS_LIMITS },
  ) {}

  /**
   * Decides an attempt by `user` from `address` and, when it may go ahead, counts it as failed
   * until `succeeded` says otherwise.
   *
   * @example
   *   const decision = throttle.attempt('alice', '10.0.0.5');
   *   if (!decision.allowed) return reply.code(429).header('retry-after', Math.ceil(decision.retryAfterMs / 1000));
   */
  attempt(user: string, address: string): ThrottleDecision {
    const at = this.clock();
    this.forgetOld(at);
    const keys = [userKey(user), addressKey(address)];
    const wait = Math.max(...keys.map((key) => (this.entries.get(key)?.blockedUntil ?? 0) - at));
    if (wait > 0) return { allowed: false, retryAfterMs: wait };
    for (const key of keys) this.count(key, at);
    return { allowed: true };
  }

  /** The attempt signed in: the user's count is cleared, the address gets its attempt back. */
  succeeded(user: string, address: string): void {
    this.entries.delete(userKey(user));
    const entry = this.entries.get(addressKey(address));
    if (entry) {
      entry.failures = Math.max(0, entry.failures - 1);
      entry.blockedUntil = this.blockedUntil(entry, this.limits.address);
    }
  }

  private count(key: string, at: number): void {
    const entry = this.entries.get(key) ?? { failures: 0, lastAttempt: at, blockedUntil: 0 };
    entry.failures += 1;
    entry.lastAttempt = at;
    entry.blockedUntil = this.blockedUntil(entry, key.startsWith('u:') ? this.limits.user : this.limits.address);
    // Re-inserted last, so the map's order is oldest attempt first (what forgetOld trims).
    this.entries.delete(key);
    this.entries.set(key, entry);
    if (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
  }

  private blockedUntil(entry: Entry, limits: ThrottleLimits): number {
    if (entry.failures < limits.free) return 0;
    const delay = Math.min(limits.baseDelayMs * 2 ** Math.min(entry.failures - limits.free, 30), limits.maxDelayMs);
    return entry.lastAttempt + delay;
  }

  private forgetOld(at: number): void {
    for (const [key, entry] of this.entries) {
      if (at - entry.lastAttempt < FORGET_AFTER_MS) break;
      if (entry.blockedUntil <= at) this.entries.delete(key);
    }
  }
}

// User names are compared as the database would find them; case differs by dialect, so the
// stricter reading (case-insensitive) decides the count.
const userKey = (user: string) => `u:${user.trim().toLowerCase()}`;
const addressKey = (address: string) => `a:${address}`;
