// Composition: builds the Hono app and wires auth, admission, the upstream proxy and metering from the
// dependencies it is given. No I/O happens at import or build time. The gateway's own routes live
// under /_gateway (Hono); every other request goes to client-request.ts, which classifies it
// (proxy/routes.ts) and passes it through or admits and meters it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import { createAdmission } from './admission/admit.ts';
import { createChatLookups } from './admission/chat-lookups.ts';
import { createTokenVerifier } from './auth/verify-token.ts';
import type { Config } from './config.ts';
import { registerDashboardRoutes } from './dashboard/routes.ts';
import { createFileRequests } from './files/file-requests.ts';
import type { Sql } from './db/sql.ts';
import { GatewayError } from './errors.ts';
import type { AppEnv } from './http/app-env.ts';
import { sendError } from './http/respond.ts';
import { resolveRequestId } from './http/request-id.ts';
import type { Logger } from './log.ts';
import { createMeter } from './metering/meter.ts';
import { createMetrics } from './ops/metrics.ts';
import { registerOpsRoutes } from './ops/routes.ts';
import { createClientHandler } from './proxy/client-request.ts';
import { decideRequestTarget } from './proxy/request-target.ts';
import { createUpstreamProxy } from './proxy/upstream-proxy.ts';
import { registerChooserRoutes } from './web-client/chooser-routes.ts';
import { createListFilter } from './web-client/filtered-lists.ts';

export interface GatewayDeps {
  config: Config;
  sql: Sql;
  logger: Logger;
  instanceId: string;
}

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
    sql, logger, target: config.librechatUrl, idleTimeoutMs: config.streamIdleTimeoutMs, headersTimeoutMs: config.upstreamHeadersTimeoutMs, metrics, recordStreamHolders: config.flyMachineId !== undefined,
  });
  const admission = createAdmission({
    sql, instanceId: deps.instanceId, logger, statementTimeoutMs: config.dbStatementTimeoutMs, maxPending: config.dbMaxPending,
    releaseHold: (usageId, reason) => void meter.releaseHold(usageId, reason), metrics,
  });
  metrics.bindSources({
    openGenerations: meter.openGenerations, clientStreams: meter.clientStreams,
    pendingStatements: admission.pendingStatements, poolMax: config.dbPoolMax,
  });
  const chatLookups = createChatLookups({ target: config.librechatUrl, agent: upstream.agent });
  const state = { draining: false };
  const lists = createListFilter({ sql, config, verifyToken, upstream, logger });
  const files = createFileRequests({ config, sql, logger, upstream, verifyToken, instanceId: deps.instanceId });
  const handleClient = createClientHandler({ config, sql, logger, upstream, verifyToken, admission, chatLookups, meter, metrics, lists, files });

  const app = new Hono<AppEnv>();
  registerDashboardRoutes(app, { sql, config, logger });
  registerChooserRoutes(app, { sql, config, verifyToken, logger });
  registerOpsRoutes(app, { sql, config, verifyToken, admission, metrics });
  app.onError(function unexpectedError(error, c) {
    logger.error('unhandled error', { err: error.name });
    sendError(c.env.outgoing, new GatewayError('internal'), resolveRequestId(c.env.incoming.headers));
    return RESPONSE_ALREADY_SENT;
  });

  const gatewayRoutes = getRequestListener(app.fetch);

  /**
   * The server's request listener. Client traffic goes straight to the proxy handler; only /_gateway/* goes
   * through @hono/node-server and Hono. Hono would answer a HEAD by running GET and wrapping the result in a
   * new Response (losing the "already sent" marker of a proxied answer), and building Request/Response
   * objects for bytes that are only passed through costs the pass-through route its throughput.
   */
  const requestListener = function gatewayRequest(req: IncomingMessage, res: ServerResponse): void {
    // The one target every later step reads (req.url now carries it): see proxy/request-target.ts.
    const target = decideRequestTarget(req);
    const url = target.ok ? target.path : '';
    // While draining, only liveness still answers: everything else is refused so the load balancer moves on.
    if (state.draining && url.split('?')[0] !== '/_gateway/healthz') {
      sendError(res, new GatewayError('shutting_down'), resolveRequestId(req.headers));
      return;
    }
    if (url === '/_gateway' || url.startsWith('/_gateway/') || url.startsWith('/_gateway?')) {
      void gatewayRoutes(req, res);
      return;
    }
    handleClient(req, res, target).catch(() => res.destroy());
  };

  return {
    app,
    requestListener,
    meter,
    metrics,
    startDraining: () => { state.draining = true; },
    close: () => upstream.close(),
  };
}

export type Gateway = ReturnType<typeof buildGateway>;
