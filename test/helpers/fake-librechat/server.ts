// The fake LibreChat's node:http server: routing with each route's auth (public, LibreChat JWT, remote-API
// key), the small public routes, and a close() that drops every open socket so tests end fast.
import http from 'node:http';
import type { Socket } from 'node:net';
import { abortChat, activeJobs, chatStatus, getAgent, getAgentExpanded, startChat, streamChat } from './agents-routes.ts';
import { assistantsChat } from './assistants.ts';
import type { Ctx, FakeState } from './context.ts';
import { JobManager } from './job-manager.ts';
import { authenticate, authenticateApiKey, sendJson } from './http-util.ts';
import { chatCompletions, remoteModels, responses } from './openai.ts';
import { RequestLog } from './request-log.ts';
import type { Scenario } from './scenario.ts';
import { deleteFiles, listFiles, uploadFile } from './files.ts';
import { control, echo, garbage, resetSocket, timedSse } from './test-routes.ts';
import {
  endpointsConfig, listAgents, login, loginPage, mcpConnectionStatus, mcpServers, mcpTools, MODEL_SPECS, refresh, sendExpressJson,
} from './web-client.ts';

export interface FakeLibreChatOptions {
  /** HS256 secret to verify Bearer tokens with; without it tokens are only decoded. */
  jwtSecret?: string;
  port?: number;
  host?: string;
  defaults?: Partial<Scenario>;
}

export interface FakeLibreChat {
  url: string;
  port: number;
  server: http.Server;
  close(): Promise<void>;
}

type Auth = 'public' | 'jwt' | 'apikey';
type Handler = (ctx: Ctx, params: string[]) => void | Promise<void>;
interface Route {
  method: string;
  pattern: RegExp;
  auth: Auth;
  handler: Handler;
}

const MODELS = {
  openAI: ['gpt-4o', 'gpt-4o-mini', 'gpt-4.1', 'o3-mini'],
  anthropic: ['claude-sonnet-4-5', 'claude-3-5-haiku-20241022'],
  google: ['gemini-2.5-pro', 'gemini-2.5-flash'],
};

const CONFIG = { appTitle: 'LibreChat', emailLoginEnabled: true, registrationEnabled: true, socialLogins: [], interface: {}, modelSpecs: MODEL_SPECS };

// Express routes match case-insensitively and ignore one trailing slash (its defaults); so does the fake.
const route = (method: string, pattern: RegExp, auth: Auth, handler: Handler): Route => ({ method, pattern: new RegExp(pattern.source, 'i'), auth, handler });
const param = (params: string[], index: number): string => params[index] ?? '';

/**
 * First match wins, as in LibreChat's Express routers. `chat/stream|active|status` are GET routes only, so
 * a POST to them falls through to `chat/:endpoint` and starts a chat (api/server/routes/agents/index.js
 * registers them with router.get; chat.js's router.post('/:endpoint') takes every other one-segment POST).
 */
const ROUTES: Route[] = [
  route('GET', /^\/health$/, 'public', (ctx) => {
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('OK');
  }),
  route('GET', /^\/api\/config$/, 'public', (ctx) => sendExpressJson(ctx, ctx.state.modelSpecs === null ? CONFIG : { ...CONFIG, modelSpecs: ctx.state.modelSpecs })),
  route('GET', /^\/api\/models$/, 'jwt', (ctx) => sendExpressJson(ctx, MODELS)),
  route('GET', /^\/api\/endpoints$/, 'jwt', (ctx) => endpointsConfig(ctx)),
  route('GET', /^\/api\/agents$/, 'jwt', (ctx) => listAgents(ctx)),
  route('GET', /^\/api\/mcp\/tools$/, 'jwt', (ctx) => mcpTools(ctx)),
  route('GET', /^\/api\/mcp\/servers$/, 'jwt', (ctx) => mcpServers(ctx)),
  route('GET', /^\/api\/mcp\/connection\/status$/, 'jwt', (ctx) => mcpConnectionStatus(ctx)),
  route('GET', /^\/login$/, 'public', (ctx) => loginPage(ctx)),
  route('POST', /^\/api\/auth\/login$/, 'public', (ctx) => login(ctx)),
  route('POST', /^\/api\/auth\/refresh$/, 'public', (ctx) => refresh(ctx)),
  route('POST', /^\/api\/agents\/chat\/abort$/, 'jwt', (ctx) => abortChat(ctx)),
  route('GET', /^\/api\/agents\/chat\/active$/, 'jwt', (ctx) => activeJobs(ctx)),
  route('GET', /^\/api\/agents\/chat\/stream\/([^/]+)$/, 'jwt', (ctx, p) => streamChat(ctx, param(p, 0))),
  route('GET', /^\/api\/agents\/chat\/status\/([^/]+)$/, 'jwt', (ctx, p) => chatStatus(ctx, param(p, 0))),
  route('POST', /^\/api\/agents\/chat$/, 'jwt', (ctx) => startChat(ctx, undefined)),
  route('POST', /^\/api\/agents\/chat\/(?!(?:abort|resume|steer)$)([^/]+)$/, 'jwt',
    (ctx, p) => startChat(ctx, param(p, 0))),
  route('POST', /^\/api\/agents\/v1\/chat\/completions$/, 'apikey', (ctx) => chatCompletions(ctx)),
  route('POST', /^\/api\/agents\/v1\/responses$/, 'apikey', (ctx) => responses(ctx)),
  route('GET', /^\/api\/agents\/v1\/models$/, 'apikey', (ctx) => remoteModels(ctx)),
  route('GET', /^\/api\/agents\/([^/]+)$/, 'jwt', (ctx, p) => getAgent(ctx, param(p, 0))),
  route('GET', /^\/api\/agents\/([^/]+)\/expanded$/, 'jwt', (ctx, p) => getAgentExpanded(ctx, param(p, 0))),
  route('POST', /^\/api\/assistants\/(v1|v2)\/chat$/, 'jwt', (ctx, p) => assistantsChat(ctx, param(p, 0))),
  route('POST', /^\/api\/files$/, 'jwt', (ctx) => uploadFile(ctx, ctx.state.files, false)),
  route('POST', /^\/api\/files\/images$/, 'jwt', (ctx) => uploadFile(ctx, ctx.state.files, true)),
  route('GET', /^\/api\/files$/, 'jwt', (ctx) => listFiles(ctx, ctx.state.files)),
  route('DELETE', /^\/api\/files$/, 'jwt', (ctx) => deleteFiles(ctx, ctx.state.files)),
  route('GET', /^\/__fake\/sse$/, 'public', (ctx) => timedSse(ctx)),
  route('GET', /^\/__fake\/garbage$/, 'public', (ctx) => garbage(ctx)),
  route('GET', /^\/__fake\/reset-socket$/, 'public', (ctx) => resetSocket(ctx)),
];

/** Express routes a HEAD to the GET route; a :param it cannot decode is its 400 (`'bad_param'`). */
function match(method: string, pathname: string): { route: Route; params: string[] } | 'bad_param' | undefined {
  const routedAs = method === 'HEAD' ? 'GET' : method;
  for (const candidate of ROUTES) {
    if (candidate.method !== routedAs) continue;
    const found = candidate.pattern.exec(pathname.length > 1 ? pathname.replace(/\/$/, '') : pathname);
    if (!found) continue;
    try {
      return { route: candidate, params: found.slice(1).map((p) => decodeURIComponent(p)) };
    } catch {
      return 'bad_param';
    }
  }
  return undefined;
}

/** Answers 401 itself when the route's credential is missing or wrong. */
async function authorize(ctx: Ctx, auth: Auth): Promise<boolean> {
  if (auth === 'public') return true;
  if (auth === 'apikey') {
    const result = authenticateApiKey(ctx.req);
    if (result.user) ctx.user = result.user;
    else {
      const message = result.error === 'missing_api_key' ? 'Missing API key' : 'Invalid API key';
      sendJson(ctx.res, 401, { error: { message, type: 'invalid_request_error', code: result.error } });
    }
    return result.user !== undefined;
  }
  const user = await authenticate(ctx.req, ctx.state.jwtSecret);
  if (!user) sendJson(ctx.res, 401, { message: 'Unauthorized' });
  else ctx.user = user;
  return user !== undefined;
}

/** Unmatched paths: LibreChat's 404 JSON under /api, its SPA index.html elsewhere. */
function notFound(ctx: Ctx, pathname: string): void {
  if (pathname.startsWith('/api/') || pathname === '/api' || ctx.req.method !== 'GET') {
    sendJson(ctx.res, 404, { message: 'Endpoint not found' });
    return;
  }
  ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
  ctx.res.end('<!DOCTYPE html><html><head><title>LibreChat</title></head><body><div id="root"></div></body></html>');
}

async function handle(state: FakeState, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  // As Express (parseurl): an absolute-form target is routed by its path, and a #fragment is dropped.
  const url = new URL(req.url ?? '/', 'http://fake-librechat.local');
  const { pathname } = url;
  const entry = state.log.track(req, res, pathname);
  const ctx: Ctx = { req, res, url, entry, state, user: '' };
  if (pathname.startsWith('/__fake/echo/') || pathname === '/__fake/echo') return echo(ctx);
  if (await control(ctx, pathname)) return;
  const found = match(req.method ?? 'GET', pathname);
  if (found === 'bad_param') return sendJson(ctx.res, 400, { message: 'Bad Request' });
  if (!found) return notFound(ctx, pathname);
  if (!(await authorize(ctx, found.route.auth))) return;
  if (entry && ctx.user) entry.user = ctx.user;
  await found.route.handler(ctx, found.params);
}

function listen(server: http.Server, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const address = server.address();
      resolve(typeof address === 'object' && address ? address.port : port);
    });
  });
}

export async function createFakeLibreChat(options: FakeLibreChatOptions = {}): Promise<FakeLibreChat> {
  const baseDefaults = { ...options.defaults };
  const state: FakeState = {
    jwtSecret: options.jwtSecret,
    baseDefaults,
    defaults: { ...baseDefaults },
    agents: new Map(),
    sessions: new Map(),
    modelSpecs: null,
    files: new Map(),
    jobs: new JobManager(),
    log: new RequestLog(),
  };
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    handle(state, req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { message: error instanceof Error ? error.message : String(error) });
      else res.destroy();
    });
  });
  // Uploads of hundreds of MB must not hit Node's default 5-minute request timeout.
  server.requestTimeout = 0;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const host = options.host ?? '127.0.0.1';
  const port = await listen(server, options.port ?? 0, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      state.jobs.reset();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
    });
    return closing;
  };
  return { url: `http://${urlHost}:${port}`, port, server, close };
}
