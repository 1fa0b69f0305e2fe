// What LibreChat's web client reads besides chats, in LibreChat's shapes: the lists its model and MCP menus are
// built from, the startup config with model specs, and the session routes (sign-in sets the refreshToken
// cookie; refresh answers {token, user} and rotates it), as api/server/controllers/AuthController.js and
// api/server/services/AuthService.js setAuthTokens do.
import { createHash, randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { readJsonBody, type Ctx } from './context.ts';
import { sendJson, str } from './http-util.ts';

/** GET /api/endpoints: the endpoints config (api/server/services/Config/getEndpointsConfig.js). */
const ENDPOINTS = {
  openAI: { order: 0, userProvide: false, userProvideURL: false },
  agents: { order: 1, userProvide: false, capabilities: ['execute_code', 'file_search', 'tools'] },
  anthropic: { order: 2, userProvide: false },
  google: { order: 3, userProvide: false },
};

/** The `modelSpecs` block of GET /api/config (librechat.yaml `modelSpecs`); the endpoints list's models are server.ts's MODELS. */
export const MODEL_SPECS = {
  enforce: false,
  prioritize: true,
  list: [
    { name: 'daily-gpt', label: 'Daily GPT', preset: { endpoint: 'openAI', model: 'gpt-4o' } },
    { name: 'deep-gemini', label: 'Deep Gemini', preset: { endpoint: 'google', model: 'gemini-2.5-pro' } },
    { name: 'support-agent', label: 'Support agent', preset: { endpoint: 'agents', agent_id: 'agent_support' } },
  ],
};

const MCP_SERVERS = ['google_search', 'github', 'filesystem'];

/** Express's res.json: a weak ETag of the body, and 304 when the request's If-None-Match names it. */
export function sendExpressJson(ctx: Ctx, body: unknown): void {
  const text = JSON.stringify(body);
  const etag = `W/"${Buffer.byteLength(text).toString(16)}-${createHash('sha1').update(text).digest('base64').slice(0, 27)}"`;
  if (ctx.req.headers['if-none-match'] === etag) {
    ctx.res.writeHead(304, { ETag: etag }).end();
    return;
  }
  sendJson(ctx.res, 200, body, { ETag: etag });
}

export function endpointsConfig(ctx: Ctx): void {
  sendExpressJson(ctx, ENDPOINTS);
}

/** GET /api/agents: the list envelope of getListAgentsByAccess (packages/data-schemas/src/methods/agent.ts). */
export function listAgents(ctx: Ctx): void {
  const data = [...ctx.state.agents.values()];
  sendExpressJson(ctx, {
    object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: false, after: null,
  });
}

export function mcpTools(ctx: Ctx): void {
  const servers = Object.fromEntries(MCP_SERVERS.map((name) => [name, {
    name, icon: '', authenticated: true, authConfig: [],
    tools: [{ name: 'search', pluginKey: `search_mcp_${name}`, description: `Search with ${name}` }],
  }]));
  sendExpressJson(ctx, { servers });
}

export function mcpServers(ctx: Ctx): void {
  sendExpressJson(ctx, Object.fromEntries(MCP_SERVERS.map((name) => [name, { type: 'streamable-http', url: `https://mcp.example/${name}`, title: name }])));
}

export function mcpConnectionStatus(ctx: Ctx): void {
  const connectionStatus = Object.fromEntries(MCP_SERVERS.map((name) => [name, { requiresOAuth: false, connectionState: 'connected' }]));
  sendExpressJson(ctx, { success: true, connectionStatus });
}

interface SessionUser {
  id: string;
  email: string;
  username: string;
}

const REFRESH_COOKIE = 'refreshToken';
const REFRESH_MAX_AGE = 7 * 24 * 3600;

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq !== -1 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

async function issueSession(ctx: Ctx, user: SessionUser): Promise<void> {
  const secret = new TextEncoder().encode(ctx.state.jwtSecret ?? randomBytes(32).toString('hex'));
  const token = await new SignJWT({ id: user.id, username: user.username, provider: 'local', email: user.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' }).setIssuedAt().setExpirationTime('15m').sign(secret);
  const refresh = randomBytes(24).toString('base64url');
  ctx.state.sessions.set(refresh, user);
  ctx.res.setHeader('Set-Cookie', `${REFRESH_COOKIE}=${refresh}; Path=/; Max-Age=${REFRESH_MAX_AGE}; HttpOnly; SameSite=Strict`);
  sendJson(ctx.res, 200, { token, user: { ...user, _id: user.id, name: user.username, provider: 'local', role: 'USER' } });
}

/** POST /api/auth/login `{email, password}`: any non-empty password signs in (the fake keeps no passwords). */
export async function login(ctx: Ctx): Promise<void> {
  const body = await readJsonBody(ctx, 64 * 1024);
  if (!body) return;
  const email = str(body.email)?.toLowerCase();
  if (!email || !str(body.password)) {
    sendJson(ctx.res, 422, { message: 'Email and password are required' });
    return;
  }
  const id = createHash('sha256').update(email).digest('hex').slice(0, 24);
  await issueSession(ctx, { id, email, username: email.split('@')[0] ?? email });
}

/** POST /api/auth/refresh: the refresh cookie gives a new access token and a rotated cookie. */
export async function refresh(ctx: Ctx): Promise<void> {
  const presented = cookieValue(ctx.req.headers.cookie, REFRESH_COOKIE);
  if (!presented) {
    ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end('Refresh token not provided');
    return;
  }
  const user = ctx.state.sessions.get(presented);
  if (!user) {
    sendJson(ctx.res, 403, { message: 'Invalid refresh token' });
    return;
  }
  ctx.state.sessions.delete(presented);
  await issueSession(ctx, user);
}

/** GET /login: LibreChat's sign-in page, reduced to a form that posts to /api/auth/login (for the demo's browser). */
export function loginPage(ctx: Ctx): void {
  ctx.res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-cache' });
  ctx.res.end(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>LibreChat</title></head>
<body style="font-family:system-ui,sans-serif;max-width:360px;margin:64px auto">
<h2>Welcome back</h2><p>The fake LibreChat: any password signs in.</p>
<form id="f"><p><input name="email" type="email" placeholder="Email address" required style="width:100%;padding:8px"></p>
<p><input name="password" type="password" placeholder="Password" required style="width:100%;padding:8px"></p>
<p><button type="submit">Continue</button></p></form><p id="out"></p>
<script>document.getElementById('f').addEventListener('submit', async (e) => {
  e.preventDefault();
  const form = new FormData(e.target);
  const res = await fetch('/api/auth/login', { method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: form.get('email'), password: form.get('password') }) });
  document.getElementById('out').textContent = res.ok ? 'Signed in to LibreChat.' : 'Sign-in failed (' + res.status + ').';
});</script></body></html>`);
}
