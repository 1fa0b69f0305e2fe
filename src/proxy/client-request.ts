// Handles one client request outside /_gateway: classify it, then pass it through, or authenticate and
// admit it before forwarding (DESIGN.md's rules in order: token, body, then the one admission
// statement), and hand LibreChat's answer to metering. Every failure answers in the one error shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Admission } from '../admission/admit.ts';
import { identityInput } from '../admission/admit.ts';
import { conversationNamedIn, readChatRequest } from '../admission/chat-request.ts';
import type { RequestFacts } from '../admission/statement.ts';
import { principalFromClaims, type Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import { findStreamHolder } from '../metering/stream-routing.ts';
import { GatewayError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ChatContext, Meter } from '../metering/meter.ts';
import type { Metrics } from '../ops/metrics.ts';
import { parseJsonObject, readClientBody } from './client-body.ts';
import { clientIp, prepareUpstreamHeaders, resolveRequestId } from './headers.ts';
import { sendError } from './respond.ts';
import { classifyRoute, type ClientRoute } from './routes.ts';
import type { UpstreamProxy } from './upstream-proxy.ts';
import type { ListFilter } from '../web-client/filtered-lists.ts';
import { classifyListRoute } from '../web-client/list-routes.ts';
import { librechatFields } from '../web-client/refusal-fields.ts';

export interface ClientHandlerDeps {
  config: Config;
  sql: Sql;
  logger: Logger;
  upstream: UpstreamProxy;
  verifyToken: TokenVerifier;
  admission: Admission;
  lookupAgentModel: (agentId: string, authorization: string) => Promise<string | undefined>;
  meter: Meter;
  metrics: Pick<Metrics, 'countRequest'>;
  /** Filters LibreChat's model and MCP lists to the caller's workspace (src/web-client/). */
  lists?: ListFilter;
}

/** What one request's log line says; filled in as the request goes (never tokens, cookies or bodies). */
interface RequestRecord {
  request_id: string;
  method: string;
  route: string;
  status?: number;
  duration_ms?: number;
  code?: string;
  tenant_id?: string;
  workspace_id?: string;
  model?: string;
  endpoint?: string;
  hold_tokens?: number;
  usage_id?: string;
}

type ChatRoute = ClientRoute & { kind: 'chat_start' | 'assistants_chat' | 'openai_chat' };
/** Routes whose refusals LibreChat's web client shows in the chat: they carry LibreChat's error fields too. */
const CHAT_KINDS = new Set(['chat_start', 'assistants_chat', 'openai_chat', 'quota_check']);

export function createClientHandler(deps: ClientHandlerDeps) {
  const { config, upstream } = deps;

  async function authenticate(req: IncomingMessage): Promise<Principal> {
    return principalFromClaims(await deps.verifyToken(req.headers.authorization));
  }

  function requestFacts(req: IncomingMessage, requestId: string, endpoint: string, model: string | null, conversationId: string | null = null): RequestFacts {
    const agent = req.headers['user-agent'];
    return { requestId, endpoint, model, conversationId, ipAddress: clientIp(req, config.trustProxy), userAgent: typeof agent === 'string' ? agent : null };
  }

  /** Headers LibreChat gets for a request the gateway resolved. */
  function identityHeaders(requestId: string, tenantId: string, workspaceId: string): Record<string, string> {
    return { 'x-request-id': requestId, 'x-tenant-id': tenantId, 'x-workspace-id': workspaceId };
  }

  async function handleChat(req: IncomingMessage, res: ServerResponse, route: ChatRoute, record: RequestRecord): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    const authorization = req.headers.authorization ?? '';
    const raw = await readClientBody(req, config.chatBodyLimit);
    const body = parseJsonObject(raw);
    const facts = await readChatRequest(route.kind, route.endpoint, body, (id) => deps.lookupAgentModel(id, authorization));
    const who = identityInput(principal, req, config.trustProxy);
    record.model = facts.model;
    record.endpoint = facts.endpoint;
    const admitted = await deps.admission.admitChat(who, requestFacts(req, requestId, facts.endpoint, facts.model, facts.conversationId), facts);
    Object.assign(record, { tenant_id: admitted.tenantId, workspace_id: admitted.workspaceId, hold_tokens: admitted.hold, usage_id: admitted.usageId });
    const upstreamHeaders = identityHeaders(requestId, admitted.tenantId, admitted.workspaceId);
    Object.assign(req.headers, upstreamHeaders);
    const ctx: ChatContext = { admitted, authorization, subjectKey: principal.subjectKey, promptText: facts.promptText, upstreamHeaders };
    const isChatStart = route.kind === 'chat_start';
    upstream.forward(req, res, {
      requestId,
      body: raw,
      identityEncoding: true,
      responseHeaders: admitted.quotaHeaders,
      selfHandleResponse: isChatStart,
      keepUpstreamOnClientClose: isChatStart,
      onUpstreamResponse: (upstreamRes) => {
        if (isChatStart) deps.meter.onChatStartResponse(ctx, upstreamRes, res);
        else deps.meter.tapResponse(ctx, upstreamRes, res);
      },
      onFailure: (failure) => void deps.meter.neverTaken(admitted, failure.message),
      describeFailure: (failure) => { failure.librechatFields = librechatFields(failure, { endpoint: facts.endpoint, now: Date.now() }); },
    });
  }

  async function handleQuotaCheck(req: IncomingMessage, res: ServerResponse, route: ClientRoute, record: RequestRecord): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    const raw = await readClientBody(req, config.chatBodyLimit);
    const who = identityInput(principal, req, config.trustProxy);
    // The body is LibreChat's to validate; the conversation it names only labels the audit row.
    const decision = await deps.admission.checkQuota(who, requestFacts(req, requestId, route.endpoint ?? 'resume', null, conversationNamedIn(raw)));
    Object.assign(req.headers, identityHeaders(requestId, decision.tenant_id!, decision.workspace_id!));
    Object.assign(record, { tenant_id: decision.tenant_id, workspace_id: decision.workspace_id });
    upstream.forward(req, res, { requestId, body: raw });
  }

  async function handleStream(req: IncomingMessage, res: ServerResponse, route: ClientRoute, requestId: string): Promise<void> {
    const principal = await authenticate(req);
    const forwardResume = () => {
      const url = new URL(req.url ?? '/', 'http://gateway.invalid');
      if (url.searchParams.get('resume') !== 'true') url.searchParams.set('resume', 'true');
      req.url = `${url.pathname}${url.search}`;
      upstream.forward(req, res, { requestId });
    };
    const streamId = route.streamId ?? '';
    if (deps.meter.serveStream(streamId, principal.subjectKey, res, requestId, forwardResume)) return;
    const holder = await flyReplayTarget(req, streamId);
    if (holder) {
      // Fly's proxy replays the request to the machine that holds the stream; this answer never reaches the client.
      res.writeHead(204, { 'fly-replay': `instance=${holder}`, 'x-request-id': requestId }).end();
      return;
    }
    forwardResume();
  }

  /** On Fly: the machine holding this stream, unless it is this one or the request was already replayed. */
  async function flyReplayTarget(req: IncomingMessage, streamId: string): Promise<string | undefined> {
    if (!config.flyMachineId || req.headers['fly-replay-src'] !== undefined) return undefined;
    const holder = await findStreamHolder(deps.sql, streamId, config.instanceStaleMs).catch(() => undefined);
    return holder && holder !== config.flyMachineId ? holder : undefined;
  }

  /** One log line and one metric per request, when its response is done (or the client left). */
  function recordWhenDone(res: ServerResponse, record: RequestRecord, started: number): void {
    res.once('close', () => {
      record.status = res.statusCode;
      record.duration_ms = Math.round((performance.now() - started) * 100) / 100;
      deps.metrics.countRequest(record.route, res.statusCode);
      deps.logger.request({ ...record });
    });
  }

  return async function handleClientRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    const requestId = resolveRequestId(req.headers);
    const route = classifyRoute(req.method ?? 'GET', req.url ?? '/');
    const record: RequestRecord = { request_id: requestId, method: req.method ?? 'GET', route: route.kind };
    recordWhenDone(res, record, started);
    prepareUpstreamHeaders(req.headers, config.trustProxy);
    req.headers['x-request-id'] = requestId;
    try {
      switch (route.kind) {
        case 'pass': {
          const list = deps.lists && classifyListRoute(req.method ?? 'GET', req.url ?? '/');
          if (list) return await deps.lists!.handle(req, res, list, requestId);
          return upstream.forward(req, res, { requestId });
        }
        case 'ambiguous_path':
          throw new GatewayError('invalid_request', 'The request path is not in canonical form.');
        case 'abort':
          await authenticate(req);
          return upstream.forward(req, res, { requestId });
        case 'stream':
          return await handleStream(req, res, route, requestId);
        case 'quota_check':
          return await handleQuotaCheck(req, res, route, record);
        default:
          return await handleChat(req, res, route as ChatRoute, record);
      }
    } catch (error) {
      const failure = error instanceof GatewayError ? error : new GatewayError('internal');
      if (!(error instanceof GatewayError)) deps.logger.error('request failed', { request_id: requestId, err: (error as Error).name });
      record.code = failure.code;
      // A body we stopped reading cannot be left on the connection.
      if (failure.code === 'payload_too_large') res.setHeader('connection', 'close');
      if (CHAT_KINDS.has(route.kind)) failure.librechatFields = librechatFields(failure, { endpoint: record.endpoint ?? route.endpoint, now: Date.now() });
      sendError(res, failure, requestId);
    }
  };
}
