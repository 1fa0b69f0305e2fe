import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, parseDuration, parseSize } from '../src/config.ts';

describe('configuration', () => {
  it('names every missing or invalid variable in one error', () => {
    let error: unknown;
    try {
      loadConfig({ PORT: 'eighty', RESERVATION_TTL: 'soon', CHAT_BODY_LIMIT: '-3', TRUST_PROXY: 'maybe', JWKS_URL: 'not a url' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as ConfigError).message;
    for (const name of ['LIBRECHAT_URL', 'PORT', 'RESERVATION_TTL', 'CHAT_BODY_LIMIT', 'TRUST_PROXY', 'JWKS_URL']) {
      expect(message).toContain(name);
    }
  });

  it('stops the process with exit code 2 and every problem on stderr (the README\'s promise)', () => {
    const cwd = new URL('..', import.meta.url).pathname;
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd, env: { PATH: process.env.PATH ?? '', PORT: 'eighty', RESERVATION_TTL: 'soon' }, encoding: 'utf8', timeout: 20_000,
    });
    expect(result.status).toBe(2);
    for (const name of ['LIBRECHAT_URL', 'PORT', 'RESERVATION_TTL', 'JWT_SECRET']) expect(result.stderr).toContain(name);
  });

  it('requires a key to verify tokens with', () => {
    expect(() => loadConfig({ LIBRECHAT_URL: 'http://lc:3080' })).toThrow(/JWT_SECRET or JWKS_URL/);
  });

  it('refuses the embedded database in production unless explicitly allowed', () => {
    const base = { LIBRECHAT_URL: 'http://lc:3080', JWT_SECRET: 'x'.repeat(32), NODE_ENV: 'production' };
    expect(() => loadConfig(base)).toThrow(/DATABASE_URL is required when NODE_ENV=production/);
    expect(loadConfig({ ...base, ALLOW_EMBEDDED_DATABASE: 'true' }).databaseUrl).toBeUndefined();
    expect(loadConfig({ ...base, DATABASE_URL: 'postgres://db/app' }).databaseUrl).toBe('postgres://db/app');
  });

  it('applies the documented defaults', () => {
    const config = loadConfig({ LIBRECHAT_URL: 'http://lc:3080', JWT_SECRET: 'x'.repeat(32) });
    expect(config.port).toBe(8080);
    expect(config.reservationTtlMs).toBe(15 * 60_000);
    expect(config.chatBodyLimit).toBe(3 * 1024 * 1024);
    expect(config.upstreamHeadersTimeoutMs).toBe(30_000);
    expect(config.trustProxy).toBe(false);
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads durations and sizes with or without units', () => {
    expect(parseDuration('1500')).toBe(1500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('later')).toBeUndefined();
    expect(parseSize('3mb')).toBe(3 * 1024 * 1024);
    expect(parseSize('512')).toBe(512);
    expect(parseSize('big')).toBeUndefined();
  });
});
