// The Prometheus text names every tenant and workspace, so it is not public: /_gateway/metrics answers only
// `Authorization: Bearer <METRICS_TOKEN>` (401 unauthenticated otherwise) and is 404 not_found without a
// token set; METRICS_PORT serves the same text at /metrics on a listener of its own, and only that.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { baseEnv, startGateway, startGatewayProcess, type GatewayProcess, type InProcessGateway } from './helpers/gateway.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken } from './helpers/jwt.ts';
import { send } from './helpers/raw-http.ts';

const METRICS_TOKEN = 'metrics-test-token-6f1c2a9e';

let h: Harness;
let guarded: InProcessGateway;
beforeAll(async () => {
  h = await startHarness();
  guarded = await startGateway(h.db.url, h.upstream.url, { METRICS_TOKEN });
});
afterAll(async () => {
  await guarded?.close();
  await h?.close();
});

const scrape = (base: string, authorization?: string) => send(base, '/_gateway/metrics', { headers: authorization === undefined ? {} : { authorization } });

describe('/_gateway/metrics on the public port', () => {
  it('is 404 not_found when METRICS_TOKEN is unset, whatever the request bears', async () => {
    for (const authorization of [undefined, `Bearer ${METRICS_TOKEN}`]) {
      const reply = await scrape(h.gw.url, authorization);
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.text).error).toMatchObject({ code: 'not_found', request_id: expect.any(String) });
      expect(reply.text).not.toContain('geko_');
    }
  });

  it('answers 401 unauthenticated without the right bearer token', async () => {
    const sameLength = `${METRICS_TOKEN.slice(0, -1)}x`;
    const refused = [
      undefined, '', 'Bearer', `Bearer ${sameLength}`, `Bearer ${METRICS_TOKEN}x`, `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`,
      `${METRICS_TOKEN}`, `Bearer ${await librechatToken('someone@example.com')}`,
    ];
    for (const authorization of refused) {
      const reply = await scrape(guarded.url, authorization);
      expect(reply.status, String(authorization)).toBe(401);
      expect(JSON.parse(reply.text).error.code).toBe('unauthenticated');
      expect(reply.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(reply.text).not.toContain('geko_');
    }
  });

  it('serves the Prometheus text to the bearer of METRICS_TOKEN', async () => {
    for (const authorization of [`Bearer ${METRICS_TOKEN}`, `bearer ${METRICS_TOKEN}`]) {
      const reply = await scrape(guarded.url, authorization);
      expect(reply.status).toBe(200);
      expect(reply.headers['content-type']).toContain('text/plain');
      expect(reply.text).toContain('\ngeko_process_resident_memory_bytes ');
    }
  });
});

describe('METRICS_PORT', () => {
  let gateway: GatewayProcess;
  let metricsBase: string;
  beforeAll(async () => {
    gateway = await startGatewayProcess(baseEnv(h.db.url, h.upstream.url, { MIGRATE_ON_START: 'false', METRICS_PORT: '0' }));
    const line = gateway.output().split('\n').find((l) => l.includes('"metrics listening"'));
    const port = (JSON.parse(line ?? '{}') as { metrics_port?: number }).metrics_port;
    expect(port).toBeGreaterThan(0);
    metricsBase = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => { await gateway?.stop(); });

  it('serves the same text at /metrics on its own listener, without a token', async () => {
    const reply = await send(metricsBase, '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toContain('text/plain');
    expect(reply.text).toContain('# TYPE geko_requests_total counter');
    expect(reply.text).toContain('\ngeko_process_resident_memory_bytes ');
  });

  it('serves nothing else there: no gateway routes, no proxying', async () => {
    for (const [method, path] of [['GET', '/_gateway/metrics'], ['GET', '/_gateway/healthz'], ['POST', '/api/agents/chat/openAI'], ['GET', '/api/config'], ['POST', '/metrics']] as const) {
      const reply = await send(metricsBase, path, { method, ...(method === 'POST' ? { body: '{}', headers: { 'content-type': 'application/json' } } : {}) });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(JSON.parse(reply.text).error.code).toBe('not_found');
    }
  });

  it('leaves the public port as it was: /_gateway/metrics 404 (no token set), /metrics is LibreChat\'s', async () => {
    expect((await scrape(gateway.url)).status).toBe(404);
    const passed = await send(gateway.url, '/metrics');
    expect(passed.text).not.toContain('geko_');
    expect(await h.upstream.control.waitFor((e) => e.url === '/metrics')).toBeDefined();
  });
});

describe('metrics configuration', () => {
  const env = { LIBRECHAT_URL: 'http://lc', JWT_SECRET: 'x'.repeat(32) };
  it('reads METRICS_TOKEN, METRICS_PORT and METRICS_HOST (default HOST), and names bad values at boot', () => {
    expect(loadConfig(env)).toMatchObject({ metricsToken: undefined, metricsPort: undefined, metricsHost: '0.0.0.0' });
    expect(loadConfig({ ...env, HOST: '127.0.0.1', METRICS_PORT: '9091', METRICS_TOKEN: 'abc' })).toMatchObject({ metricsToken: 'abc', metricsPort: 9091, metricsHost: '127.0.0.1' });
    expect(loadConfig({ ...env, METRICS_PORT: '9091', METRICS_HOST: '::' }).metricsHost).toBe('::');
    expect(() => loadConfig({ ...env, PORT: '9091', METRICS_PORT: '9091' })).toThrow(/METRICS_PORT must differ from PORT/);
    expect(() => loadConfig({ ...env, METRICS_PORT: 'nine' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...env, METRICS_TOKEN: 'two words' })).toThrow(/METRICS_TOKEN must be printable ASCII/);
  });
});
