// Composition: builds the Hono app and wires auth, admission, the upstream proxy and metering from the
// dependencies it is given. No I/O happens at import or build time. The gateway's own routes live
// under /_gateway; every other request is classified (proxy/routes.ts) and handled by client-request.ts.
import type { HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { createAdmission } from './admission/admit.ts';
import { createAgentModelResolver } from './admission/agent-models.ts';
import { createTokenVerifier } from './auth/verify-token.ts';
import type { Config } from './config.ts';
import type { Sql } from './db/sql.ts';
import { GatewayError } from './errors.ts';
import type { Logger } from './log.ts';
import { createMeter } from './metering/meter.ts';
import { registerOpsRoutes } from './ops/routes.ts';
import { createClientHandler } from './proxy/client-request.ts';
import { resolveRequestId } from './proxy/headers.ts';
import { sendError } from './proxy/respond.ts';
import { createUpstreamProxy } from './proxy/upstream-proxy.ts';

export interface GatewayDeps {
  config: Config;
  sql: Sql;
  logger: Logger;
  instanceId: string;
}

export type AppEnv = { Bindings: HttpBindings };

export function buildGateway(deps: GatewayDeps) {
  const { config, sql, logger } = deps;
  const upstream = createUpstreamProxy({ target: config.librechatUrl, headersTimeoutMs: config.upstreamHeadersTimeoutMs, logger });
  const verifyToken = createTokenVerifier({
    jwtSecret: config.jwtSecret, jwksUrl: config.jwksUrl, issuer: config.jwtIssuer, audience: config.jwtAudience,
  });
  const meter = createMeter({ sql, logger, target: config.librechatUrl, idleTimeoutMs: config.streamIdleTimeoutMs });
  const admission = createAdmission({
    sql, instanceId: deps.instanceId, logger, statementTimeoutMs: config.dbStatementTimeoutMs, maxPending: config.dbMaxPending,
    releaseHold: (usageId, reason) => void meter.releaseHold(usageId, reason),
  });
  const lookupAgentModel = createAgentModelResolver({ target: config.librechatUrl, agent: upstream.agent });
  const state = { draining: false };
  const handleClient = createClientHandler({ config, logger, upstream, verifyToken, admission, lookupAgentModel, meter });

  const app = new Hono<AppEnv>();
  app.use('*', async function refuseWhileDraining(c, next) {
    if (!state.draining || c.req.path === '/_gateway/healthz') return next();
    sendError(c.env.outgoing, new GatewayError('shutting_down'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });
  registerOpsRoutes(app, { sql, config, verifyToken, admission, meter });
  app.all('*', async function clientRequest(c) {
    await handleClient(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  app.onError(function unexpectedError(error, c) {
    logger.error('unhandled error', { err: error.name });
    sendError(c.env.outgoing, new GatewayError('internal'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });

  return {
    app,
    meter,
    startDraining: () => { state.draining = true; },
    close: () => upstream.close(),
  };
}

export type Gateway = ReturnType<typeof buildGateway>;
