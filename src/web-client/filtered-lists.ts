// Serves LibreChat's model and MCP lists filtered to the caller's workspace (DESIGN.md "LibreChat's web
// client"). The caller is resolved as a chat is, in one read-only statement, every time (no cache, so an
// operator's UPDATE shows on the next GET). Without a verified token, or when no workspace resolves, the
// request is forwarded untouched and LibreChat's answer passes byte for byte. A filtered answer drops
// LibreChat's validators (ETag, Last-Modified) and says `Cache-Control: private, no-store`, so no cache
// replays one workspace's list to another workspace or after a change; the client's own conditional headers
// are dropped too, so LibreChat cannot answer 304 for a body the browser holds from before the filter.
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { identityInput } from '../admission/admit.ts';
import { createLibreChatGet } from '../admission/librechat-get.ts';
import { principalFromClaims } from '../auth/principal.ts';
import { bearerToken, type TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';
import type { UpstreamProxy } from '../proxy/upstream-proxy.ts';
import { filterList, type Entitlements } from './list-filters.ts';
import type { ListRoute } from './list-routes.ts';
import { listScopeStatement, runWebClientStatement } from './queries.ts';

export interface ListFilter {
  /**
   * Serves a list request. One without a bearer token is forwarded untouched at once, and nothing is returned:
   * most list GETs of a pass-through carry none, and they need not pay for a promise.
   */
  handle(req: IncomingMessage, res: ServerResponse, route: ListRoute, requestId: string): Promise<void> | undefined;
}

export interface ListFilterDeps {
  sql: Sql;
  config: Pick<Config, 'trustProxy' | 'librechatUrl' | 'dbStatementTimeoutMs'>;
  verifyToken: TokenVerifier;
  upstream: UpstreamProxy;
  logger: Logger;
}

/** Lists bigger than this pass unfiltered rather than being held in memory (LibreChat's are a few KB). */
const MAX_LIST_BYTES = 8 * 1024 * 1024;
const DROPPED_ANSWER_HEADERS = ['content-length', 'etag', 'last-modified', 'cache-control', 'expires', 'transfer-encoding'];

function isJsonAnswer(upstreamRes: IncomingMessage): boolean {
  const encoding = upstreamRes.headers['content-encoding'];
  return upstreamRes.statusCode === 200 && /\bjson\b/i.test(upstreamRes.headers['content-type'] ?? '')
    && (encoding === undefined || encoding === 'identity');
}

function answerFiltered(res: ServerResponse, upstreamRes: IncomingMessage, body: unknown): void {
  const text = JSON.stringify(body);
  const headers: OutgoingHttpHeaders = { ...upstreamRes.headers };
  for (const name of DROPPED_ANSWER_HEADERS) delete headers[name];
  headers['content-length'] = Buffer.byteLength(text);
  headers['cache-control'] = 'private, no-store';
  res.writeHead(200, upstreamRes.statusMessage, headers).end(text);
}

/** Reads LibreChat's answer whole (bounded) and writes it filtered, or as it came when it is not a JSON list. */
function relay(res: ServerResponse, upstreamRes: IncomingMessage, filter: (body: unknown) => Promise<unknown>): void {
  const chunks: Buffer[] = [];
  let size = 0;
  const passAsItCame = () => {
    res.writeHead(upstreamRes.statusCode ?? 502, upstreamRes.statusMessage, upstreamRes.headers);
    for (const chunk of chunks) res.write(chunk);
  };
  const onData = (chunk: Buffer) => {
    size += chunk.length;
    chunks.push(chunk);
    if (size <= MAX_LIST_BYTES) return;
    upstreamRes.off('data', onData);
    upstreamRes.pause();
    passAsItCame();
    upstreamRes.pipe(res);
    upstreamRes.resume();
  };
  upstreamRes.on('data', onData);
  upstreamRes.once('close', () => { if (!upstreamRes.complete && !res.writableEnded) res.destroy(); });
  upstreamRes.once('end', () => {
    if (size > MAX_LIST_BYTES || res.headersSent) return;
    const raw = Buffer.concat(chunks);
    let parsed: unknown;
    try {
      parsed = isJsonAnswer(upstreamRes) ? JSON.parse(raw.toString('utf8')) : undefined;
    } catch {
      parsed = undefined;
    }
    if (parsed === undefined) {
      passAsItCame();
      res.end();
      return;
    }
    filter(parsed).then((body) => answerFiltered(res, upstreamRes, body), () => res.destroy());
  });
}

export function createListFilter(deps: ListFilterDeps): ListFilter {
  const getFromLibreChat = createLibreChatGet({ target: deps.config.librechatUrl, agent: deps.upstream.agent, timeoutMs: 5_000 }, MAX_LIST_BYTES);

  /** The caller's entitlements (the request has a bearer token), or undefined when it does not resolve to a workspace. */
  async function entitlementsOf(req: IncomingMessage): Promise<Entitlements | undefined> {
    let claims;
    try {
      claims = await deps.verifyToken(req.headers.authorization);
    } catch {
      return undefined; // LibreChat answers a bad token itself
    }
    const query = listScopeStatement(deps.sql, identityInput(principalFromClaims(claims), req, deps.config.trustProxy));
    const [row] = await runWebClientStatement(query, { timeoutMs: deps.config.dbStatementTimeoutMs, logger: deps.logger, failure: 'list scope statement failed' });
    return row && row.identity_code === null ? { enabledModels: row.enabled_models, enabledMcps: row.enabled_mcps } : undefined;
  }

  /** LibreChat's models answer for this caller (the endpoints list is filtered by it); undefined when not readable. */
  async function upstreamModels(authorization: string): Promise<Record<string, unknown> | undefined> {
    const answer = await getFromLibreChat('/api/models', authorization);
    const body = answer?.status === 200 ? answer.body : undefined;
    return typeof body === 'object' && body !== null && !Array.isArray(body) ? body as Record<string, unknown> : undefined;
  }

  async function handleWithToken(req: IncomingMessage, res: ServerResponse, route: ListRoute, requestId: string): Promise<void> {
    const rights = await entitlementsOf(req);
    if (!rights) {
      deps.upstream.forward(req, res, { requestId });
      return;
    }
    delete req.headers['if-none-match'];
    delete req.headers['if-modified-since'];
    const models = route === 'endpoints' ? upstreamModels(req.headers.authorization ?? '') : Promise.resolve(undefined);
    deps.upstream.forward(req, res, {
      requestId,
      identityEncoding: true,
      selfHandleResponse: true,
      onUpstreamResponse: (upstreamRes) => relay(res, upstreamRes, async (body) => filterList(route, body, rights, await models)),
    });
  }

  return {
    handle(req, res, route, requestId) {
      if (bearerToken(req.headers.authorization)) return handleWithToken(req, res, route, requestId);
      deps.upstream.forward(req, res, { requestId });
      return undefined;
    },
  };
}
