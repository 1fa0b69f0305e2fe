// Failed dashboard sign-ins, counted per account (tenant + email) and per client IP in fixed windows held in
// an LRU cache: past the limit every attempt is refused (429) without checking the password, so guessing
// is slow. Per process: with N replicas an attacker gets at most N times the limit.
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
  failures: number;
  endsAt: number;
}

export interface LoginLimiter {
  /** Milliseconds until attempts are allowed again, or 0 when they are allowed now. */
  retryAfterMs(keys: LoginKeys): number;
  recordFailure(keys: LoginKeys): void;
  /** A correct password clears the account's count (not the IP's: one success must not hide a spray). */
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

  return {
    retryAfterMs: (keys) => Math.max(wait(`a:${keys.account}`, limits.maxPerAccount), wait(`i:${keys.ip}`, limits.maxPerIp)),
    recordFailure: (keys) => {
      bump(`a:${keys.account}`);
      bump(`i:${keys.ip}`);
    },
    recordSuccess: (keys) => {
      windows.delete(`a:${keys.account}`);
    },
  };
}
