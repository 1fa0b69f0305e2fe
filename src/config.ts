// Reads the environment once, validates every variable, and returns a frozen Config. Every missing or
// invalid value is collected and reported together in one ConfigError, so a bad deploy fails at boot
// with the full list instead of one variable per restart. No other module reads process.env.
import { parseTrustProxy, type TrustProxy } from './http/client-address.ts';

export interface Config {
  librechatUrl: URL;
  databaseUrl: string | undefined;
  jwtSecret: string | undefined;
  jwksUrl: URL | undefined;
  jwtIssuer: string | undefined;
  jwtAudience: string | undefined;
  port: number;
  host: string;
  /** Which proxies in front may tell the client's address and host (src/http/client-address.ts). */
  trustProxy: TrustProxy;
  reservationTtlMs: number;
  chatBodyLimit: number;
  /** A metered chat body must keep arriving (no gap longer than this) and be complete within chatBodyTimeoutMs. */
  chatBodyIdleTimeoutMs: number;
  chatBodyTimeoutMs: number;
  upstreamHeadersTimeoutMs: number;
  streamIdleTimeoutMs: number;
  shutdownDeadlineMs: number;
  clientHeadersTimeoutMs: number;
  migrateOnStart: boolean;
  dataDir: string;
  dbPoolMax: number;
  dbPrepare: boolean;
  dbConnectTimeoutMs: number;
  dbStatementTimeoutMs: number;
  dbMaxPending: number;
  instanceStaleMs: number;
  sweepIntervalMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Set by Fly.io on every machine; enables fly-replay routing of stream GETs. */
  flyMachineId: string | undefined;
  /** Key material for dashboard session cookies; unset: derived from JWT_SECRET (src/dashboard/session.ts). */
  dashboardSecret: string | undefined;
  dashboardSessionTtlMs: number;
  /** Bearer token for /_gateway/metrics; unset: that route is 404. */
  metricsToken: string | undefined;
  /** A second listener serving /metrics for private scraping; unset: none. */
  metricsPort: number | undefined;
  metricsHost: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

const DURATION = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/i;
const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib)?$/i;
const SIZE_UNITS: Record<string, number> = {
  b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2, gb: 1024 ** 3, gib: 1024 ** 3,
};
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

/** Parses a duration: a bare number is milliseconds; `ms`, `s`, `m`, `h` suffixes are accepted. */
export function parseDuration(text: string): number | undefined {
  const match = DURATION.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'ms').toLowerCase();
  return Math.round(Number(match[1]) * (DURATION_UNITS[unit] ?? 1));
}

/** Parses a byte size: a bare number is bytes; `kb`/`mb`/`gb` (binary multiples) are accepted. */
export function parseSize(text: string): number | undefined {
  const match = SIZE.exec(text.trim());
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase();
  return Math.floor(Number(match[1]) * (SIZE_UNITS[unit] ?? 1));
}

class EnvReader {
  readonly problems: string[] = [];
  constructor(private readonly env: Env) {}

  text(name: string): string | undefined {
    const value = this.env[name]?.trim();
    return value === '' ? undefined : value;
  }

  url(name: string, required: boolean): URL | undefined {
    const value = this.text(name);
    if (value === undefined) {
      if (required) this.problems.push(`${name} is required (the base URL of LibreChat, e.g. http://librechat:3080)`);
      return undefined;
    }
    try {
      const url = new URL(value);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('protocol');
      return url;
    } catch {
      this.problems.push(`${name} must be an http(s) URL, got "${value}"`);
      return undefined;
    }
  }

  integer(name: string, fallback: number, min: number, max: number): number {
    const value = this.text(name);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      this.problems.push(`${name} must be an integer from ${min} to ${max}, got "${value}"`);
      return fallback;
    }
    return n;
  }

  duration(name: string, fallbackMs: number): number {
    const value = this.text(name);
    if (value === undefined) return fallbackMs;
    const ms = parseDuration(value);
    if (ms === undefined || ms <= 0) {
      this.problems.push(`${name} must be a positive duration (milliseconds, or with a unit: 500ms, 30s, 15m, 1h), got "${value}"`);
      return fallbackMs;
    }
    return ms;
  }

  size(name: string, fallback: number): number {
    const value = this.text(name);
    if (value === undefined) return fallback;
    const bytes = parseSize(value);
    if (bytes === undefined || bytes <= 0) {
      this.problems.push(`${name} must be a positive size (bytes, or with a unit: 512kb, 3mb), got "${value}"`);
      return fallback;
    }
    return bytes;
  }

  boolean(name: string, fallback: boolean): boolean {
    const value = this.text(name)?.toLowerCase();
    if (value === undefined) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(value)) return true;
    if (['0', 'false', 'no', 'off'].includes(value)) return false;
    this.problems.push(`${name} must be true or false, got "${value}"`);
    return fallback;
  }
}

/** Builds the Config from an environment (process.env in production, a plain object in tests). */
export function loadConfig(env: Env): Config {
  const read = new EnvReader(env);
  const jwtSecret = read.text('JWT_SECRET');
  const jwksUrl = read.url('JWKS_URL', false);
  if (jwtSecret === undefined && jwksUrl === undefined && read.text('JWKS_URL') === undefined) {
    read.problems.push('JWT_SECRET or JWKS_URL is required (JWT_SECRET: the same value as LibreChat\'s JWT_SECRET)');
  }
  if (jwtSecret !== undefined && Buffer.byteLength(jwtSecret) < 16) {
    read.problems.push('JWT_SECRET must be at least 16 bytes long');
  }
  const databaseUrl = readDatabaseUrl(read);
  const logLevel = (read.text('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    read.problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }
  const config: Config = {
    librechatUrl: read.url('LIBRECHAT_URL', true) ?? new URL('http://127.0.0.1:3080'),
    databaseUrl,
    jwtSecret,
    jwksUrl,
    jwtIssuer: read.text('JWT_ISSUER'),
    jwtAudience: read.text('JWT_AUDIENCE'),
    port: read.integer('PORT', 8080, 0, 65535),
    host: read.text('HOST') ?? '0.0.0.0',
    trustProxy: readTrustProxy(read),
    reservationTtlMs: read.duration('RESERVATION_TTL', 15 * 60_000),
    chatBodyLimit: read.size('CHAT_BODY_LIMIT', 3 * 1024 * 1024),
    ...readChatBodyTimeouts(read),
    upstreamHeadersTimeoutMs: read.duration('UPSTREAM_HEADERS_TIMEOUT', 30_000),
    streamIdleTimeoutMs: read.duration('STREAM_IDLE_TIMEOUT', 15 * 60_000),
    shutdownDeadlineMs: read.duration('SHUTDOWN_DEADLINE', 25_000),
    clientHeadersTimeoutMs: read.duration('CLIENT_HEADERS_TIMEOUT', 60_000),
    migrateOnStart: read.boolean('MIGRATE_ON_START', true),
    dataDir: read.text('DATA_DIR') ?? '.data',
    dbPoolMax: read.integer('DB_POOL_MAX', 10, 1, 1000),
    dbPrepare: read.boolean('DB_PREPARE', true),
    dbConnectTimeoutMs: read.duration('DB_CONNECT_TIMEOUT', 5_000),
    dbStatementTimeoutMs: read.duration('DB_STATEMENT_TIMEOUT', 5_000),
    dbMaxPending: read.integer('DB_MAX_PENDING', 1000, 1, 1_000_000),
    instanceStaleMs: read.duration('INSTANCE_STALE_AFTER', 60_000),
    sweepIntervalMs: read.duration('SWEEP_INTERVAL', 30_000),
    logLevel: logLevel as Config['logLevel'],
    flyMachineId: read.text('FLY_MACHINE_ID'),
    dashboardSecret: readDashboardSecret(read),
    dashboardSessionTtlMs: readDashboardTtl(read),
    ...readMetricsAccess(read),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return Object.freeze(config);
}

/**
 * DATABASE_URL, checked. Unset means the embedded database, which is for development: in production
 * (NODE_ENV=production) a forgotten secret must stop the deploy, not quietly start a throwaway database.
 */
function readDatabaseUrl(read: EnvReader): string | undefined {
  const databaseUrl = read.text('DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    read.problems.push('DATABASE_URL must be a postgres:// or postgresql:// URL');
  }
  if (databaseUrl === undefined && read.text('NODE_ENV') === 'production' && !read.boolean('ALLOW_EMBEDDED_DATABASE', false)) {
    read.problems.push('DATABASE_URL is required when NODE_ENV=production (set ALLOW_EMBEDDED_DATABASE=true to use the embedded one)');
  }
  return databaseUrl;
}

/** Only what the migration command needs, so it runs without the gateway's other settings. */
export function loadDatabaseConfig(env: Env) {
  const read = new EnvReader(env);
  const databaseUrl = readDatabaseUrl(read);
  const result = {
    databaseUrl,
    dataDir: read.text('DATA_DIR') ?? '.data',
    poolMax: 2,
    prepare: read.boolean('DB_PREPARE', true),
    connectTimeoutMs: read.duration('DB_CONNECT_TIMEOUT', 5_000),
  };
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return result;
}

/**
 * CHAT_BODY_IDLE_TIMEOUT and CHAT_BODY_TIMEOUT: how long a client may take to send a metered chat body (gap
 * between chunks, whole body). The idle bound cannot exceed the whole one.
 */
function readChatBodyTimeouts(read: EnvReader): { chatBodyIdleTimeoutMs: number; chatBodyTimeoutMs: number } {
  const chatBodyIdleTimeoutMs = read.duration('CHAT_BODY_IDLE_TIMEOUT', 15_000);
  const chatBodyTimeoutMs = read.duration('CHAT_BODY_TIMEOUT', 60_000);
  if (chatBodyIdleTimeoutMs > chatBodyTimeoutMs) read.problems.push('CHAT_BODY_IDLE_TIMEOUT must not be longer than CHAT_BODY_TIMEOUT');
  return { chatBodyIdleTimeoutMs, chatBodyTimeoutMs };
}

/**
 * METRICS_TOKEN, METRICS_PORT, METRICS_HOST. A token is one header value without spaces (it is sent as
 * `Bearer <token>`); the private listener needs a port of its own.
 */
function readMetricsAccess(read: EnvReader): { metricsToken: string | undefined; metricsPort: number | undefined; metricsHost: string } {
  const metricsToken = read.text('METRICS_TOKEN');
  if (metricsToken !== undefined && !/^[\x21-\x7e]+$/.test(metricsToken)) {
    read.problems.push('METRICS_TOKEN must be printable ASCII without spaces (it is sent as "Authorization: Bearer <token>")');
  }
  const metricsPort = read.text('METRICS_PORT') === undefined ? undefined : read.integer('METRICS_PORT', 0, 0, 65535);
  const port = Number(read.text('PORT') ?? 8080);
  if (metricsPort !== undefined && metricsPort !== 0 && metricsPort === port) read.problems.push('METRICS_PORT must differ from PORT');
  return { metricsToken, metricsPort, metricsHost: read.text('METRICS_HOST') ?? read.text('HOST') ?? '0.0.0.0' };
}

/** TRUST_PROXY, checked: `true` on Fly (FLY_MACHINE_ID set) means Fly's proxy, elsewhere one hop. */
function readTrustProxy(read: EnvReader): TrustProxy {
  const parsed = parseTrustProxy(read.text('TRUST_PROXY'), read.text('FLY_MACHINE_ID') !== undefined);
  if (parsed !== false && 'problem' in parsed) {
    read.problems.push(parsed.problem);
    return false;
  }
  return parsed;
}

/** DASHBOARD_SECRET, checked: a key for session cookies must not be guessable. */
function readDashboardSecret(read: EnvReader): string | undefined {
  const secret = read.text('DASHBOARD_SECRET');
  if (secret !== undefined && Buffer.byteLength(secret) < 32) read.problems.push('DASHBOARD_SECRET must be at least 32 bytes long');
  return secret;
}

/** DASHBOARD_SESSION_TTL: short-lived on purpose (a stolen cookie is worth little), at most 12 hours. */
function readDashboardTtl(read: EnvReader): number {
  const ttlMs = read.duration('DASHBOARD_SESSION_TTL', 30 * 60_000);
  if (ttlMs > 12 * 3_600_000) read.problems.push('DASHBOARD_SESSION_TTL must be at most 12h');
  return ttlMs;
}
