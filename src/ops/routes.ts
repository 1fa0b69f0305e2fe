// The gateway's own routes, never forwarded: liveness, readiness (database and LibreChat both answer),
// the caller's quota, and Prometheus metrics (bearer METRICS_TOKEN only; src/ops/metrics-access.ts). Any
// other /_gateway path is 404 not_found.
import http from 'node:http';
import https from 'node:https';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import type { Hono } from 'hono';
import type { Admission } from '../admission/admit.ts';
import { identityInput } from '../admission/admit.ts';
import { principalFromClaims } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import { GatewayError } from '../errors.ts';
import type { AppEnv } from '../http/app-env.ts';
import { sendError, sendJson } from '../http/respond.ts';
import { resolveRequestId } from '../http/request-id.ts';
import type { Metrics } from './metrics.ts';
import { createMetricsAuth, metricsUnauthenticated } from './metrics-access.ts';

export interface OpsDeps {
  sql: Sql;
  config: Config;
  verifyToken: TokenVerifier;
  admission: Admission;
  metrics: Metrics;
}

const READY_TIMEOUT_MS = 2_000;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([promise, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref())]);
}

/** True when LibreChat answers anything at all (its /health, or any HTTP status). */
function librechatAnswers(target: URL): Promise<boolean> {
  return new Promise((resolve) => {
    const client = target.protocol === 'https:' ? https : http;
    const health = new URL(`${target.pathname.replace(/\/+$/, '')}/health`, target);
    const req = client.get(health, { timeout: READY_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

export function registerOpsRoutes(app: Hono<AppEnv>, deps: OpsDeps): void {
  app.get('/_gateway/healthz', (c) => {
    c.header('x-request-id', resolveRequestId(c.env.incoming.headers));
    return c.json({ status: 'ok' });
  });

  app.get('/_gateway/readyz', async (c) => {
    const [database, librechat] = await Promise.all([
      withTimeout(deps.sql`select 1`, READY_TIMEOUT_MS).then(() => true, () => false),
      librechatAnswers(deps.config.librechatUrl),
    ]);
    c.header('x-request-id', resolveRequestId(c.env.incoming.headers));
    return c.json({ status: database && librechat ? 'ready' : 'not_ready', database, librechat }, database && librechat ? 200 : 503);
  });

  app.get('/_gateway/quota', async (c) => {
    const req = c.env.incoming;
    const requestId = resolveRequestId(req.headers);
    try {
      const principal = principalFromClaims(await deps.verifyToken(req.headers.authorization));
      const quota = await deps.admission.readQuota(identityInput(principal, req, deps.config.trustProxy));
      sendJson(c.env.outgoing, 200, quota, requestId);
    } catch (error) {
      sendError(c.env.outgoing, error instanceof GatewayError ? error : new GatewayError('internal'), requestId);
    }
    return RESPONSE_ALREADY_SENT;
  });

  const metricsAuthorized = deps.config.metricsToken === undefined ? undefined : createMetricsAuth(deps.config.metricsToken);
  app.get('/_gateway/metrics', async (c) => {
    const requestId = resolveRequestId(c.env.incoming.headers);
    if (!metricsAuthorized) {
      sendError(c.env.outgoing, new GatewayError('not_found'), requestId);
      return RESPONSE_ALREADY_SENT;
    }
    if (!metricsAuthorized(c.env.incoming.headers.authorization)) {
      sendError(c.env.outgoing, metricsUnauthenticated(), requestId);
      return RESPONSE_ALREADY_SENT;
    }
    c.header('content-type', deps.metrics.registry.contentType);
    c.header('cache-control', 'no-store');
    c.header('x-request-id', requestId);
    return c.body(await deps.metrics.registry.metrics());
  });

  app.all('/_gateway/*', (c) => {
    sendError(c.env.outgoing, new GatewayError('not_found'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });
}
