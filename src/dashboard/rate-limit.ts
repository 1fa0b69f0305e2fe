// Dashboard sign-in attempts, counted per account (tenant + email) and per client IP in fixed windows held in
// an LRU cache: past the limit every attempt is refused (429) without checking the password, so guessing
// is slow. An attempt is counted when it starts, in the same synchronous step that checks the limit, and
// given back only when it turns out not to be a guess: counting after the (slow, asynchronous) password
// check let any number of parallel guesses through while the count still read 0. Per process: with N
// replicas an attacker gets at most N times the limit.
import { LRUCache } from 'lru-cache';

export interface LoginLimits {
  maxPerAccount: number;
  maxPerIp: number;
  windowMs: number;
}

export const DEFAULT_LOGIN_LIMITS: LoginLimits = { maxPerAccount: 5, maxPerIp: 20, windowMs: 15 * 60_000 };

export interface LoginKeys {
  account: string;
  ip: string;
}

interface Window {
  /** Attempts counted in this window (every attempt, less those given back). */
  failures: number;
  endsAt: number;
}

export interface LoginLimiter {
  /**
   * Takes one attempt for both keys: 0 when it is allowed (and now counted), else the milliseconds until
   * attempts are allowed again (and nothing is counted).
   */
  takeAttempt(keys: LoginKeys): number;
  /** The attempt was not a guess (the right password): it no longer counts for either key. */
  giveBack(keys: LoginKeys): void;
  /** A correct password also clears the account's count (not the IP's: one success must not hide a spray). */
  recordSuccess(keys: LoginKeys): void;
}

export function accountKey(tenant: string, email: string): string {
  return `${tenant.trim().toLowerCase()}\u0000${email.trim().toLowerCase()}`;
}

export function createLoginLimiter(limits: LoginLimits = DEFAULT_LOGIN_LIMITS, now: () => number = Date.now): LoginLimiter {
  // Bounded: a flood of made-up accounts evicts the oldest windows instead of growing without end.
  const windows = new LRUCache<string, Window>({ max: 50_000, ttl: limits.windowMs });

  const open = (key: string): Window | undefined => {
    const w = windows.get(key);
    return w && w.endsAt > now() ? w : undefined;
  };
  const wait = (key: string, max: number): number => {
    const w = open(key);
    return w && w.failures >= max ? w.endsAt - now() : 0;
  };
  const bump = (key: string) => {
    const w = open(key);
    if (w) w.failures += 1;
    else windows.set(key, { failures: 1, endsAt: now() + limits.windowMs });
  };

  const unbump = (key: string) => {
    const w = open(key);
    if (w && w.failures > 0) w.failures -= 1;
  };

  return {
    takeAttempt: (keys) => {
      const waitMs = Math.max(wait(`a:${keys.account}`, limits.maxPerAccount), wait(`i:${keys.ip}`, limits.maxPerIp));
      if (waitMs > 0) return waitMs;
      bump(`a:${keys.account}`);
      bump(`i:${keys.ip}`);
      return 0;
    },
    giveBack: (keys) => {
      unbump(`a:${keys.account}`);
      unbump(`i:${keys.ip}`);
    },
    recordSuccess: (keys) => {
      windows.delete(`a:${keys.account}`);
      unbump(`i:${keys.ip}`);
    },
  };
}
