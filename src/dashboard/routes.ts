// The usage dashboard's routes under /_gateway/dashboard: sign-in (Origin-checked), the usage page,
// sign-out (CSRF token), and the stylesheet. HTML answers only; registered before /_gateway/*'s 404.
import type { IncomingMessage } from 'node:http';
import type { Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Config } from '../config.ts';
import { isDatabaseUnavailable, type Sql } from '../db/sql.ts';
import type { AppEnv } from '../http/app-env.ts';
import { setPageHeaders } from '../http/page-headers.ts';
import type { Logger } from '../log.ts';
import { clientAuthority, clientIp, type TrustProxy } from '../http/client-address.ts';
import type { SafeHtml } from './html.ts';
import { loadAuditRows, loadSessionUser, loadWorkspaceUsage, recordLogout } from './queries.ts';
import { createLoginLimiter, DEFAULT_LOGIN_LIMITS, type LoginLimiter, type LoginLimits } from './rate-limit.ts';
import { createSessionCodec, csrfMatches, DASHBOARD_PATH, deriveSessionKey, SESSION_COOKIE, type SessionCodec } from './session.ts';
import { signIn, type SignInForm } from './sign-in.ts';
import { dashboardPage, messagePage, signInPage, STYLESHEET } from './views.ts';

export interface DashboardDeps {
  sql: Sql;
  config: Config;
  logger: Logger;
  now?: () => number;
  limits?: LoginLimits;
}

type Ctx = Context<AppEnv>;

const SIGN_IN = `${DASHBOARD_PATH}/sign-in`;
const FORM_LIMIT_BYTES = 8 * 1024;
// No script at all; styles only from our own stylesheet; forms post only to us; never framed.
const CSP = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

function page(c: Ctx, status: ContentfulStatusCode, body: SafeHtml): Response {
  return c.html(body.text, status);
}

/** Origin (else Referer) names this host: a form posted from any other site is refused. */
function sameOrigin(req: IncomingMessage, trustProxy: TrustProxy, required: boolean): boolean {
  const given = req.headers.origin ?? req.headers.referer;
  if (typeof given !== 'string' || given === 'null') return !required;
  try {
    const origin = new URL(given);
    return origin.host === new URL(`${origin.protocol}//${clientAuthority(req, trustProxy)}`).host;
  } catch {
    return false;
  }
}

function readSignInForm(body: Record<string, unknown>): SignInForm | undefined {
  const { tenant, email, password } = body;
  if (typeof tenant !== 'string' || typeof email !== 'string' || typeof password !== 'string') return undefined;
  const form = { tenant: tenant.trim(), email: email.trim(), password };
  const bounded = form.tenant.length <= 255 && form.email.length <= 255 && password.length <= 1024 && !`${tenant}${email}${password}`.includes('\u0000');
  return form.tenant && form.email && password && bounded ? form : undefined;
}

function setSessionCookie(c: Ctx, token: string, maxAge: number): void {
  // Secure even on http://localhost: browsers accept Secure cookies from localhost and 127.0.0.1.
  setCookie(c, SESSION_COOKIE, token, { path: DASHBOARD_PATH, httpOnly: true, secure: true, sameSite: 'Strict', maxAge });
}

function clearSessionCookie(c: Ctx): void {
  deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD_PATH, httpOnly: true, secure: true, sameSite: 'Strict' });
}

/** A database outage is a page that says so (503), not the JSON 500 of the gateway's onError. */
async function withOutagePage(c: Ctx, handler: () => Promise<Response>): Promise<Response> {
  try {
    return await handler();
  } catch (error) {
    if (!isDatabaseUnavailable(error)) throw error;
    c.header('retry-after', '5');
    return page(c, 503, messagePage('Unavailable', 'The database is not reachable right now; try again in a moment.'));
  }
}

function client(c: Ctx, trustProxy: TrustProxy) {
  const agent = c.env.incoming.headers['user-agent'];
  return { ipAddress: clientIp(c.env.incoming, trustProxy), userAgent: typeof agent === 'string' ? agent.slice(0, 512) : null };
}

/** What the handlers share, built once per gateway. */
interface Runtime {
  sql: Sql;
  logger: Logger;
  codec: SessionCodec;
  limiter: LoginLimiter;
  trustProxy: TrustProxy;
}

async function dashboardHeaders(c: Ctx, next: () => Promise<void>): Promise<void> {
  await next();
  setPageHeaders(c, CSP);
}

export function registerDashboardRoutes(app: Hono<AppEnv>, deps: DashboardDeps): void {
  const key = deriveSessionKey({ dashboardSecret: deps.config.dashboardSecret, jwtSecret: deps.config.jwtSecret });
  if (!key) {
    deps.logger.warn('dashboard disabled: set DASHBOARD_SECRET (or JWT_SECRET) to enable /_gateway/dashboard');
    return;
  }
  const now = deps.now ?? Date.now;
  const rt: Runtime = {
    sql: deps.sql,
    logger: deps.logger,
    codec: createSessionCodec({ key, ttlMs: deps.config.dashboardSessionTtlMs, now }),
    limiter: createLoginLimiter(deps.limits ?? DEFAULT_LOGIN_LIMITS, now),
    trustProxy: deps.config.trustProxy,
  };
  const formLimit = bodyLimit({ maxSize: FORM_LIMIT_BYTES, onError: (c) => c.html(messagePage('Too large', 'The form is too large.').text, 413) });

  app.use(DASHBOARD_PATH, dashboardHeaders);
  app.use(`${DASHBOARD_PATH}/*`, dashboardHeaders);
  app.get(`${DASHBOARD_PATH}/style.css`, (c) => {
    c.header('content-type', 'text/css; charset=utf-8');
    return c.body(STYLESHEET);
  });
  app.get(SIGN_IN, async (c) => {
    if (await rt.codec.verify(getCookie(c, SESSION_COOKIE))) return c.redirect(DASHBOARD_PATH, 303);
    const note = c.req.query('ended') !== undefined ? 'Your session ended; sign in again.' : undefined;
    return page(c, 200, signInPage({ error: note }));
  });
  app.post(SIGN_IN, formLimit, (c) => withOutagePage(c, () => handleSignIn(rt, c)));
  app.get(DASHBOARD_PATH, (c) => withOutagePage(c, () => handleDashboard(rt, c)));
  app.post(`${DASHBOARD_PATH}/sign-out`, formLimit, (c) => withOutagePage(c, () => handleSignOut(rt, c)));
}

async function handleSignIn(rt: Runtime, c: Ctx): Promise<Response> {
  if (!sameOrigin(c.env.incoming, rt.trustProxy, true)) {
    return page(c, 403, messagePage('Sign-in refused', 'Sign in from the dashboard\'s own page.', { href: SIGN_IN, text: 'Sign in' }));
  }
  const form = readSignInForm(await c.req.parseBody());
  if (!form) return page(c, 400, signInPage({ error: 'Enter your organisation, email and password.' }));
  const outcome = await signIn({ sql: rt.sql, logger: rt.logger, limiter: rt.limiter }, form, client(c, rt.trustProxy));
  switch (outcome.kind) {
    case 'rate_limited':
      c.header('retry-after', String(outcome.retryAfterSeconds));
      return page(c, 429, messagePage('Too many attempts', `Too many failed sign-ins. Try again in ${Math.ceil(outcome.retryAfterSeconds / 60)} minutes.`));
    case 'forbidden':
      return page(c, 403, messagePage('Not allowed', 'Only owners and admins of an organisation can use the usage dashboard.', { href: SIGN_IN, text: 'Sign in as someone else' }));
    case 'invalid':
      return page(c, 401, signInPage({ error: 'Wrong organisation, email or password.', tenant: form.tenant, email: form.email }));
    case 'ok': {
      const { token } = await rt.codec.issue({ userId: outcome.userId, tenantId: outcome.tenantId, sessionId: outcome.sessionId });
      setSessionCookie(c, token, rt.codec.ttlSeconds);
      return c.redirect(DASHBOARD_PATH, 303);
    }
  }
}

async function handleDashboard(rt: Runtime, c: Ctx): Promise<Response> {
  const session = await rt.codec.verify(getCookie(c, SESSION_COOKIE));
  if (!session) return c.redirect(SIGN_IN, 303);
  const user = await loadSessionUser(rt.sql, session);
  if (!user) {
    clearSessionCookie(c);
    return c.redirect(`${SIGN_IN}?ended`, 303);
  }
  // Every query is bounded by the session's tenant, never by anything the request says.
  const [workspaces, audit] = await Promise.all([loadWorkspaceUsage(rt.sql, session.tenantId), loadAuditRows(rt.sql, session.tenantId, 50)]);
  return page(c, 200, dashboardPage({ user, csrf: session.csrf, workspaces, audit }));
}

async function handleSignOut(rt: Runtime, c: Ctx): Promise<Response> {
  const session = await rt.codec.verify(getCookie(c, SESSION_COOKIE));
  if (!session) {
    clearSessionCookie(c);
    return c.redirect(SIGN_IN, 303);
  }
  const form = await c.req.parseBody();
  if (!csrfMatches(session, form.csrf) || !sameOrigin(c.env.incoming, rt.trustProxy, false)) {
    return page(c, 403, messagePage('Sign-out refused', 'The form is stale or came from another site; reload the dashboard and try again.', { href: DASHBOARD_PATH, text: 'Back to the dashboard' }));
  }
  await recordLogout(rt.sql, { tenantId: session.tenantId, userId: session.userId, sessionId: session.sessionId, ...client(c, rt.trustProxy) });
  clearSessionCookie(c);
  return c.redirect(SIGN_IN, 303);
}
