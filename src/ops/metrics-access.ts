// Who may read the Prometheus text. It names every tenant and workspace with its token counts, so on the
// public port it answers only `Authorization: Bearer <METRICS_TOKEN>` (and is 404 without a token set), and
// for private scraping (Fly's [metrics]) METRICS_PORT serves it on a listener of its own that the public
// service does not route to, with nothing else on it.
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorBody, GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';

/** The path the private listener serves (Prometheus' default, and fly.toml's [metrics] path). */
export const PRIVATE_METRICS_PATH = '/metrics';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * Checks an Authorization header against the token in constant time: both sides are hashed first, so
 * neither the comparison nor an early length mismatch tells how much of a guess was right.
 */
export function createMetricsAuth(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = typeof authorization === 'string' ? /^Bearer +(\S+) *$/i.exec(authorization) : null;
    return match !== null && timingSafeEqual(digest(match[1]!), expected);
  };
}

/** The error an unauthenticated scrape gets, with the challenge RFC 6750 asks for. */
export function metricsUnauthenticated(): GatewayError {
  return new GatewayError('unauthenticated', 'A valid metrics bearer token is required.', undefined, { 'www-authenticate': 'Bearer realm="metrics"' });
}

function answerError(res: http.ServerResponse, error: GatewayError): void {
  const body = errorBody(error, randomUUID());
  res.writeHead(error.status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

export interface MetricsServerOptions {
  registry: Registry;
  port: number;
  host: string;
  logger: Logger;
}

export interface MetricsServer {
  port: number;
  close(): void;
}

/** Starts the private metrics listener: `GET /metrics` only, everything else 404 `not_found`. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const server = http.createServer({ headersTimeout: 10_000, requestTimeout: 10_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== PRIVATE_METRICS_PATH || (req.method !== 'GET' && req.method !== 'HEAD')) {
      answerError(res, new GatewayError('not_found'));
      return;
    }
    opts.registry.metrics().then((text) => {
      res.writeHead(200, { 'content-type': opts.registry.contentType, 'cache-control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    }, () => answerError(res, new GatewayError('internal')));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  opts.logger.info('metrics listening', { metrics_port: port, host: opts.host, path: PRIVATE_METRICS_PATH });
  return {
    port,
    close: () => {
      server.close();
      server.closeAllConnections();
    },
  };
}
