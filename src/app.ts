// Composition: builds the Hono app and wires auth, admission, the upstream proxy and metering from the
// dependencies it is given. No I/O happens at import or build time. The gateway's own routes live
// under /_gateway (Hono); every other request goes to client-request.ts, which classifies it
// (proxy/routes.ts) and passes it through or admits and meters it.
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { createAdmission } from './admission/admit.ts';
import { createAgentModelResolver } from './admission/agent-models.ts';
import { createTokenVerifier } from './auth/verify-token.ts';
import type { Config } from './config.ts';
import { registerDashboardRoutes } from './dashboard/routes.ts';
import type { Sql } from './db/sql.ts';
import { GatewayError } from './errors.ts';
import type { Logger } from './log.ts';
import { createMeter } from './metering/meter.ts';
import { createMetrics } from './ops/metrics.ts';
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
  const metrics = createMetrics();
  const upstream = createUpstreamProxy({
    target: config.librechatUrl, headersTimeoutMs: config.upstreamHeadersTimeoutMs, logger, onUpstreamError: metrics.countUpstreamError,
  });
  const verifyToken = createTokenVerifier({
    jwtSecret: config.jwtSecret, jwksUrl: config.jwksUrl, issuer: config.jwtIssuer, audience: config.jwtAudience,
  });
  const meter = createMeter({
    sql, logger, target: config.librechatUrl, idleTimeoutMs: config.streamIdleTimeoutMs, metrics, recordStreamHolders: config.flyMachineId !== undefined,
  });
  const admission = createAdmission({
    sql, instanceId: deps.instanceId, logger, statementTimeoutMs: config.dbStatementTimeoutMs, maxPending: config.dbMaxPending,
    releaseHold: (usageId, reason) => void meter.releaseHold(usageId, reason), metrics,
  });
  metrics.bindSources({
    openGenerations: meter.openGenerations, clientStreams: meter.clientStreams,
    pendingStatements: admission.pendingStatements, poolMax: config.dbPoolMax,
  });
  const lookupAgentModel = createAgentModelResolver({ target: config.librechatUrl, agent: upstream.agent });
  const state = { draining: false };
  const handleClient = createClientHandler({ config, sql, logger, upstream, verifyToken, admission, lookupAgentModel, meter, metrics });

  const app = new Hono<AppEnv>();
  app.use('*', async function refuseWhileDraining(c, next) {
    if (!state.draining || c.req.path === '/_gateway/healthz') return next();
    sendError(c.env.outgoing, new GatewayError('shutting_down'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });
  registerDashboardRoutes(app, { sql, config, logger });
  registerOpsRoutes(app, { sql, config, verifyToken, admission, metrics });
  app.onError(function unexpectedError(error, c) {
    logger.error('unhandled error', { err: error.name });
    sendError(c.env.outgoing, new GatewayError('internal'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });

  /**
   * The server's entry point. Client traffic goes straight to the proxy handler; only /_gateway/* is
   * routed by Hono. Hono answers HEAD by running GET and wrapping its result in a new Response, which
   * loses the "already sent" marker of a proxied answer, and its router would only add cost here.
   */
  const fetch = async function gatewayFetch(request: Request, bindings: HttpBindings | Http2Bindings): Promise<Response> {
    // The gateway serves HTTP/1.1 only (http-proxy speaks it upstream); it never creates an HTTP/2 server.
    const env = bindings as HttpBindings;
    const url = env.incoming.url ?? '/';
    if (url === '/_gateway' || url.startsWith('/_gateway/') || url.startsWith('/_gateway?')) return app.fetch(request, env);
    if (state.draining) {
      sendError(env.outgoing, new GatewayError('shutting_down'), resolveRequestId(env.incoming.headers));
      return RESPONSE_ALREADY_SENT;
    }
    await handleClient(env.incoming, env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };

  return {
    app,
    fetch,
    meter,
    startDraining: () => { state.draining = true; },
    close: () => upstream.close(),
  };
}

export type Gateway = ReturnType<typeof buildGateway>;
