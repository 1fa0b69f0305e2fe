// Handles one client request outside /_gateway: classify it, then pass it through, or authenticate and
// admit it before forwarding (DESIGN.md's rules in order: token, body, then the one admission
// statement), and hand LibreChat's answer to metering. Every failure answers in the one error shape.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Admission } from '../admission/admit.ts';
import { identityInput } from '../admission/admit.ts';
import { assertJsonChatBody } from '../admission/body-media-type.ts';
import type { ChatLookupSources } from '../admission/chat-lookups.ts';
import { conversationNamedIn, readChatRequest } from '../admission/chat-request.ts';
import { readChatTools, specToolsLookup } from '../admission/chat-tools.ts';
import type { RequestFacts } from '../admission/statement.ts';
import { principalFromClaims, type Principal } from '../auth/principal.ts';
import type { TokenVerifier } from '../auth/verify-token.ts';
import type { Config } from '../config.ts';
import type { Sql } from '../db/sql.ts';
import type { FileRequests } from '../files/file-requests.ts';
import { classifyFileRoute } from '../files/file-routes.ts';
import { findStreamHolder } from '../metering/stream-routing.ts';
import { GatewayError } from '../errors.ts';
import { sendError } from '../http/respond.ts';
import { resolveRequestId } from '../http/request-id.ts';
import type { Logger } from '../log.ts';
import type { ChatContext, Meter } from '../metering/meter.ts';
import type { Metrics } from '../ops/metrics.ts';
import { parseJsonObject, readClientBody } from './client-body.ts';
import { clientFacts } from '../http/client-address.ts';
import { prepareUpstreamHeaders } from './headers.ts';
import type { RequestTarget } from './request-target.ts';
import { withResumeQuery } from './request-target.ts';
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
  chatLookups: Pick<ChatLookupSources, 'forCaller'>;
  meter: Meter;
  metrics: Pick<Metrics, 'countRequest'>;
  /** Filters LibreChat's model and MCP lists to the caller's workspace (src/web-client/). */
  lists?: ListFilter;
  /** Uploads that store a file and file deletes (src/files/); without it they pass through. */
  files?: FileRequests;
}

/**
 * What one request's log line says; filled in as the request goes (never tokens, cookies or bodies). A type,
 * not an interface, so it is a RequestLogFields as it stands and is logged without a copy.
 */
type RequestRecord = {
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
};

type ChatRoute = ClientRoute & { kind: 'chat_start' | 'assistants_chat' | 'openai_chat' };
/** Routes whose refusals LibreChat's web client shows in the chat: they carry LibreChat's error fields too. */
const CHAT_KINDS = new Set(['chat_start', 'assistants_chat', 'openai_chat', 'quota_check']);

export function createClientHandler(deps: ClientHandlerDeps) {
  const { config, upstream } = deps;
  const bodyBounds = { idleTimeoutMs: config.chatBodyIdleTimeoutMs, totalTimeoutMs: config.chatBodyTimeoutMs };

  async function authenticate(req: IncomingMessage): Promise<Principal> {
    return principalFromClaims(await deps.verifyToken(req.headers.authorization));
  }

  function requestFacts(req: IncomingMessage, requestId: string, endpoint: string, model: string | null, conversationId: string | null = null): RequestFacts {
    return { requestId, endpoint, model, conversationId, ...clientFacts(req, config.trustProxy) };
  }

  /** Headers LibreChat gets for a request the gateway resolved. */
  function identityHeaders(requestId: string, tenantId: string, workspaceId: string): Record<string, string> {
    return { 'x-request-id': requestId, 'x-tenant-id': tenantId, 'x-workspace-id': workspaceId };
  }

  async function handleChat(req: IncomingMessage, res: ServerResponse, route: ChatRoute, record: RequestRecord): Promise<void> {
    const requestId = record.request_id;
    const principal = await authenticate(req);
    const authorization = req.headers.authorization ?? '';
    // Only a body LibreChat would read exactly as the gateway does (UTF-8 JSON) is read at all.
    assertJsonChatBody(req.headers);
    const raw = await readClientBody(req, config.chatBodyLimit, bodyBounds);
    const body = parseJsonObject(raw);
    const lookups = deps.chatLookups.forCaller({ authorization, key: principal.subjectKey });
    const facts = await readChatRequest(route.kind, route.endpoint, body, lookups);
    // The MCP servers and tools the chat asks for, a named model spec's among them (chat starts: the assistants
    // and OpenAI-compatible routes carry no ephemeralAgent or spec).
    const tools = route.kind === 'chat_start' ? readChatTools(body, await specToolsLookup(body, lookups.modelSpecs)) : [];
    const who = identityInput(principal, req, config.trustProxy);
    record.model = facts.model;
    record.endpoint = facts.endpoint;
    const admitted = await deps.admission.admitChat(who, requestFacts(req, requestId, facts.endpoint, facts.model, facts.conversationId), facts, tools);
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
    const raw = await readClientBody(req, config.chatBodyLimit, bodyBounds);
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
      // Only the query changes: the path stays the one that was classified.
      req.url = withResumeQuery(req.url ?? '/');
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
      deps.logger.request(record);
    });
  }

  /**
   * `target` is the request target request-target.ts decided, which `req.url` already carries: the one
   * string that is classified here and forwarded by http-proxy. A target it refused is answered 400.
   */
  return async function handleClientRequest(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const started = performance.now();
    const requestId = resolveRequestId(req.headers);
    const route: ClientRoute = target.ok ? classifyRoute(req.method ?? 'GET', target.path) : { kind: 'invalid_target' };
    const record: RequestRecord = { request_id: requestId, method: req.method ?? 'GET', route: route.kind };
    recordWhenDone(res, record, started);
    prepareUpstreamHeaders(req.headers, config.trustProxy);
    req.headers['x-request-id'] = requestId;
    try {
      switch (route.kind) {
        case 'invalid_target':
          throw new GatewayError('invalid_request', target.ok ? undefined : target.reason);
        case 'pass': {
          // The classified path is the forwarded one (req.url was set from the same decided target).
          const path = target.ok ? target.path : '/';
          const fileRoute = deps.files ? classifyFileRoute(req.method ?? 'GET', path) : undefined;
          if (fileRoute) {
            record.route = fileRoute.kind;
            return await deps.files!(fileRoute, req, res, record);
          }
          const list = deps.lists ? classifyListRoute(req.method ?? 'GET', path) : undefined;
          if (list) {
            // Without a token the list is forwarded at once and nothing is returned to wait for.
            const filtering = deps.lists!.handle(req, res, list, requestId);
            if (filtering) await filtering;
            return;
          }
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
