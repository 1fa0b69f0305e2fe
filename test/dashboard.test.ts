// The usage dashboard over HTTP: sign-in (audit rows, last_login_at, cookie flags, Origin check), the
// failure limits, members refused, tenant isolation, the page's numbers against the database, the CSRF
// token on sign-out, and sessions that end (sign-out, suspension, expiry, forgery).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { deriveSessionKey } from '../src/dashboard/session.ts';
import { cookiePair, PASSWORD, request, seedDashboardTenant, signInCookie, type DashboardTenant } from './helpers/dashboard.ts';
import { startGateway } from './helpers/gateway.ts';
import { startHarness, type Harness } from './helpers/harness.ts';
import { librechatToken, TEST_JWT_SECRET } from './helpers/jwt.ts';

const DASHBOARD = '/_gateway/dashboard';
const SIGN_IN = `${DASHBOARD}/sign-in`;

let h: Harness;
let acme: DashboardTenant;
let globex: DashboardTenant;
beforeAll(async () => {
  // TRUST_PROXY (one proxy hop): each test signs in from an X-Forwarded-For address of its own, so the
  // per-IP failure limit of one test does not leak into the next.
  h = await startHarness({ TRUST_PROXY: 'true' });
  acme = await seedDashboardTenant(h.db.sql, { workspaceNames: ['Acme Sales', 'Acme Support'] });
  globex = await seedDashboardTenant(h.db.sql, { workspaceNames: ['Globex Secret Lab'], models: ['globex-private-model'] });
  await h.db.sql`INSERT INTO audit_logs (log_id, tenant_id, action, status, error_message, details)
                 VALUES (gen_random_uuid(), ${globex.tenantId}, 'globex_only_action', 'failed', 'globex-error-text', '{}')`;
});
afterAll(async () => { await h?.close(); });

let lastIp = 0;
// What the one trusted proxy appends: the address it saw (a client-sent list would sit left of it).
const fromIp = () => ({ 'x-forwarded-for': `203.0.113.${(lastIp += 1)}` });

async function loginRows(tenantId: string, since: Date) {
  return h.db.sql<{ user_id: string | null; status: string; error_message: string | null; ip_address: string | null; resource_id: string | null; details: Record<string, unknown> }[]>`
    SELECT user_id, status, error_message, ip_address, resource_id, details FROM audit_logs
    WHERE tenant_id = ${tenantId} AND action = 'user_login' AND created_at >= ${since.toISOString()}::timestamp ORDER BY created_at`;
}

describe('dashboard sign-in', () => {
  it('signs an owner in: session cookie flags, last_login_at, a success audit row, then the page', async () => {
    const since = new Date();
    const ip = fromIp();
    const reply = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name.toUpperCase(), email: acme.owner.toUpperCase(), password: PASSWORD }, headers: { ...ip, 'user-agent': 'dashboard-test' } });
    expect(reply.status, reply.text).toBe(303);
    expect(reply.headers.location).toBe(DASHBOARD);
    const setCookie = reply.cookies.geko_dashboard!;
    expect(setCookie).toMatch(/; HttpOnly/);
    expect(setCookie).toMatch(/; Secure/);
    expect(setCookie).toMatch(/; SameSite=Strict/);
    expect(setCookie).toMatch(/; Path=\/_gateway\/dashboard/);
    expect(setCookie).toMatch(/; Max-Age=1800/);
    const [owner] = await h.db.sql`SELECT user_id, last_login_at FROM users WHERE email = ${acme.owner}`;
    expect((owner!.last_login_at as Date).getTime()).toBeGreaterThan(since.getTime() - 2_000);
    const rows = await loginRows(acme.tenantId, since);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ user_id: owner!.user_id, status: 'success', error_message: null, ip_address: ip['x-forwarded-for'].split(',')[0] });
    expect(rows[0]!.details).toMatchObject({ email: acme.owner, session_id: rows[0]!.resource_id });

    const page = await request(h.gw.url, DASHBOARD, { cookie: cookiePair(setCookie) });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['cache-control']).toBe('no-store');
    expect(page.headers['content-security-policy']).toContain("default-src 'none'");
    expect(page.text).toContain(`GEKO usage · ${acme.name}`);
  });

  it('signs an admin in by tenant id', async () => {
    const cookie = await signInCookie(h.gw.url, { tenant: acme.tenantId, email: acme.admin }, fromIp());
    expect((await request(h.gw.url, DASHBOARD, { cookie })).status).toBe(200);
  });

  it('refuses wrong passwords, unknown users and unknown tenants alike, with failed audit rows where the tenant is known', async () => {
    const since = new Date();
    const ip = fromIp();
    const wrong = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: acme.owner, password: 'not it' }, headers: ip });
    const unknownUser = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: 'nobody@example.com', password: PASSWORD }, headers: ip });
    const unknownTenant = await request(h.gw.url, SIGN_IN, { form: { tenant: 'No Such Tenant', email: acme.owner, password: PASSWORD }, headers: ip });
    const otherTenant = await request(h.gw.url, SIGN_IN, { form: { tenant: globex.name, email: acme.owner, password: PASSWORD }, headers: ip });
    for (const reply of [wrong, unknownUser, unknownTenant, otherTenant]) {
      expect(reply.status).toBe(401);
      expect(reply.cookies.geko_dashboard).toBeUndefined();
      expect(reply.text).toContain('Wrong organisation, email or password.');
    }
    expect(wrong.text).toContain(`value="${acme.owner}"`);
    const [owner] = await h.db.sql`SELECT user_id FROM users WHERE email = ${acme.owner}`;
    const rows = await loginRows(acme.tenantId, since);
    expect(rows.map((r) => [r.user_id, r.status, r.error_message])).toEqual([[owner!.user_id, 'failed', 'bad_password'], [null, 'failed', 'unknown_user']]);
    expect((await loginRows(globex.tenantId, since)).map((r) => r.error_message)).toEqual(['unknown_user']);
    const bad = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: acme.owner }, headers: ip });
    expect(bad.status).toBe(400);
  });

  it('refuses a member with the right password (403, audited role_forbidden, no cookie)', async () => {
    const since = new Date();
    const reply = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: acme.member, password: PASSWORD }, headers: fromIp() });
    expect(reply.status).toBe(403);
    expect(reply.text).toContain('Only owners and admins');
    expect(reply.cookies.geko_dashboard).toBeUndefined();
    expect((await loginRows(acme.tenantId, since)).map((r) => [r.status, r.error_message])).toEqual([['failed', 'role_forbidden']]);
  });

  it('refuses a suspended tenant and a suspended user like a wrong password', async () => {
    const t = await seedDashboardTenant(h.db.sql);
    await h.db.sql`UPDATE users SET status = 'suspended' WHERE email = ${t.admin}`;
    const since = new Date();
    expect((await request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.admin, password: PASSWORD }, headers: fromIp() })).status).toBe(401);
    await h.db.sql`UPDATE tenants SET status = 'suspended' WHERE tenant_id = ${t.tenantId}`;
    expect((await request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.owner, password: PASSWORD }, headers: fromIp() })).status).toBe(401);
    expect((await loginRows(t.tenantId, since)).map((r) => r.error_message)).toEqual(['user_inactive', 'tenant_inactive']);
  });

  it('refuses a sign-in form posted from another origin, or with no Origin or Referer', async () => {
    const since = new Date();
    const form = { tenant: acme.name, email: acme.owner, password: PASSWORD };
    const crossSite = await request(h.gw.url, SIGN_IN, { form, origin: 'https://evil.example', headers: fromIp() });
    expect(crossSite.status).toBe(403);
    expect(crossSite.cookies.geko_dashboard).toBeUndefined();
    expect((await request(h.gw.url, SIGN_IN, { form, origin: null, headers: fromIp() })).status).toBe(403);
    const referer = await request(h.gw.url, SIGN_IN, { form, origin: null, headers: { ...fromIp(), referer: `${h.gw.url}${SIGN_IN}` } });
    expect(referer.status).toBe(303);
    expect(await loginRows(acme.tenantId, since)).toHaveLength(1);
  });
});

describe('dashboard failure limits', () => {
  it('refuses an account after 5 failures in the window, even with the right password, without checking or auditing it', async () => {
    const t = await seedDashboardTenant(h.db.sql);
    const since = new Date();
    for (let i = 0; i < 5; i += 1) {
      const reply = await request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.owner, password: `guess ${i}` }, headers: fromIp() });
      expect(reply.status).toBe(401);
    }
    const blocked = await request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.owner, password: PASSWORD }, headers: fromIp() });
    expect(blocked.status).toBe(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(800);
    expect(blocked.text).toContain('Too many failed sign-ins');
    expect(blocked.cookies.geko_dashboard).toBeUndefined();
    expect((await loginRows(t.tenantId, since)).map((r) => r.error_message)).toEqual(Array(5).fill('bad_password'));
    // Another account of the same tenant is not affected.
    await signInCookie(h.gw.url, { tenant: t.name, email: t.admin }, fromIp());
  });

  it('counts an attempt before checking it: 12 parallel wrong passwords for one account get 5 × 401 and 7 × 429', async () => {
    const t = await seedDashboardTenant(h.db.sql);
    const since = new Date();
    const replies = await Promise.all(Array.from({ length: 12 }, (_, i) =>
      request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.owner, password: `parallel guess ${i}` }, headers: fromIp() })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(5).fill(401), ...Array(7).fill(429)]);
    // Only the attempts that were checked are audited; the refused ones never reached the password.
    expect((await loginRows(t.tenantId, since)).map((r) => r.error_message)).toEqual(Array(5).fill('bad_password'));
    const blocked = await request(h.gw.url, SIGN_IN, { form: { tenant: t.name, email: t.owner, password: PASSWORD }, headers: fromIp() });
    expect(blocked.status).toBe(429);
  });

  it('counts parallel attempts from one IP across accounts the same way: at most 20 checked', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.88' };
    const replies = await Promise.all(Array.from({ length: 26 }, (_, i) =>
      request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: `parallel-spray-${i}@example.com`, password: 'x' }, headers: ip })));
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([...Array(20).fill(401), ...Array(6).fill(429)]);
  });

  it('does not count a right password against the IP: a member refused (403) and an admin signed in leave the IP\'s 20 intact', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.99' };
    await signInCookie(h.gw.url, { tenant: acme.name, email: acme.admin }, ip);
    const member = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: acme.member, password: PASSWORD }, headers: ip });
    expect(member.status).toBe(403);
    for (let i = 0; i < 20; i += 1) {
      const reply = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: `after-success-${i}@example.com`, password: 'x' }, headers: ip });
      expect(reply.status).toBe(401);
    }
    const blocked = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: 'one-more@example.com', password: 'x' }, headers: ip });
    expect(blocked.status).toBe(429);
  });

  it('refuses an IP after 20 failures across accounts', async () => {
    const ip = { 'x-forwarded-for': '198.51.100.77' };
    for (let i = 0; i < 20; i += 1) {
      const reply = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: `spray-${i}@example.com`, password: 'x' }, headers: ip });
      expect(reply.status).toBe(401);
    }
    const blocked = await request(h.gw.url, SIGN_IN, { form: { tenant: acme.name, email: acme.admin, password: PASSWORD }, headers: ip });
    expect(blocked.status).toBe(429);
    await signInCookie(h.gw.url, { tenant: acme.name, email: acme.admin }, fromIp());
  });
});

describe('dashboard page', () => {
  it('shows each workspace\'s quota, reset date and period usage exactly as the database has them', async () => {
    const cookie = await signInCookie(h.gw.url, { tenant: acme.name, email: acme.owner }, fromIp());
    const page = await request(h.gw.url, DASHBOARD, { cookie });
    expect(page.status).toBe(200);
    for (const ws of acme.workspaces) {
      const [q] = await h.db.sql<{ tokens_used: number; tokens_limit: number; requests_used: number; requests_limit: number; reset_at: Date; period_tokens: string }[]>`
        SELECT q.tokens_used, q.tokens_limit, q.requests_used, q.requests_limit, q.reset_at,
               (SELECT COALESCE(sum(total_tokens), 0) FROM chat_usage u WHERE u.workspace_id = q.workspace_id
                  AND u.created_at >= q.reset_at - interval '1 month' AND u.created_at < q.reset_at) AS period_tokens
        FROM workspace_quotas q WHERE q.workspace_id = ${ws.id}`;
      const section = page.text.slice(page.text.indexOf(`data-workspace-id="${ws.id}"`));
      const part = section.slice(0, section.indexOf('</section>'));
      expect(part).toContain(`<h2>${ws.name}</h2>`);
      expect(part).toContain(`data-field="tokens" data-used="${q!.tokens_used}" data-limit="${q!.tokens_limit}"`);
      expect(part).toContain(`data-field="requests" data-used="${q!.requests_used}" data-limit="${q!.requests_limit}"`);
      expect(part).toContain(`<strong class="used">${q!.tokens_used.toLocaleString('en-US')}</strong> / <span class="limit">${q!.tokens_limit.toLocaleString('en-US')}</span>`);
      expect(part).toContain(`data-reset-at="${q!.reset_at.toISOString()}"`);
      expect(part).toContain(`data-chart-total="${Number(q!.period_tokens)}"`);
      expect(Number(q!.period_tokens)).toBeGreaterThan(0);
      // One bar segment per day and model that has usage: 12 days × 2 models.
      expect(part.match(/<rect /g)).toHaveLength(24);
      expect(part).toContain('gpt-4o');
      expect(part).toContain('claude-sonnet-4');
    }
  });

  it('lists the tenant\'s latest 50 audit rows, newest first', async () => {
    await h.db.sql`INSERT INTO audit_logs (log_id, tenant_id, action, status, created_at)
                   SELECT gen_random_uuid(), ${acme.tenantId}, 'bulk_row_' || g, 'success', timezone('UTC', now()) - make_interval(mins => g)
                   FROM generate_series(1, 60) g`;
    const cookie = await signInCookie(h.gw.url, { tenant: acme.name, email: acme.owner }, fromIp());
    const page = await request(h.gw.url, DASHBOARD, { cookie });
    const table = page.text.slice(page.text.indexOf('<section class="audit">'));
    const actions = [...table.matchAll(/<tr>\s*<td>[^<]*<\/td><td>([^<]*)<\/td>/g)].map((m) => m[1]);
    const expected = await h.db.sql<{ action: string }[]>`SELECT action FROM audit_logs WHERE tenant_id = ${acme.tenantId} ORDER BY created_at DESC, log_id LIMIT 50`;
    expect(actions).toEqual(expected.map((r) => r.action));
    expect(actions[0]).toBe('user_login');
  });

  it('never shows another tenant\'s workspaces, models, users or audit rows', async () => {
    const cookie = await signInCookie(h.gw.url, { tenant: acme.name, email: acme.admin }, fromIp());
    const page = await request(h.gw.url, DASHBOARD, { cookie });
    expect(page.status).toBe(200);
    for (const secret of ['Globex Secret Lab', 'globex-private-model', 'globex_only_action', 'globex-error-text', globex.owner, globex.member, globex.name, ...globex.workspaces.map((w) => w.id)]) {
      expect(page.text).not.toContain(secret);
    }
    const globexPage = await request(h.gw.url, DASHBOARD, { cookie: await signInCookie(h.gw.url, { tenant: globex.name, email: globex.owner }, fromIp()) });
    expect(globexPage.text).toContain('Globex Secret Lab');
    for (const secret of ['Acme Sales', acme.owner, acme.name]) expect(globexPage.text).not.toContain(secret);
  });

  it('escapes what the database holds', async () => {
    const t = await seedDashboardTenant(h.db.sql, { workspaceNames: ['<script>alert(1)</script>'], models: ['"><img src=x>'], days: 1 });
    const page = await request(h.gw.url, DASHBOARD, { cookie: await signInCookie(h.gw.url, { tenant: t.name, email: t.owner }, fromIp()) });
    expect(page.text).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(page.text).not.toContain('<script>');
    expect(page.text).not.toContain('<img');
  });
});

describe('dashboard sessions', () => {
  it('requires the session\'s CSRF token to sign out; signing out ends the session for good', async () => {
    const cookie = await signInCookie(h.gw.url, { tenant: acme.name, email: acme.owner }, fromIp());
    const page = await request(h.gw.url, DASHBOARD, { cookie });
    const csrf = /name="csrf" value="([^"]+)"/.exec(page.text)![1]!;
    const other = await signInCookie(h.gw.url, { tenant: acme.name, email: acme.admin }, fromIp());
    const otherCsrf = /name="csrf" value="([^"]+)"/.exec((await request(h.gw.url, DASHBOARD, { cookie: other })).text)![1]!;

    for (const form of [{}, { csrf: '' }, { csrf: otherCsrf }, { csrf: csrf.slice(1) }] as Record<string, string>[]) {
      const refused = await request(h.gw.url, `${DASHBOARD}/sign-out`, { form, cookie });
      expect(refused.status).toBe(403);
    }
    const crossSite = await request(h.gw.url, `${DASHBOARD}/sign-out`, { form: { csrf }, cookie, origin: 'https://evil.example' });
    expect(crossSite.status).toBe(403);
    expect((await request(h.gw.url, DASHBOARD, { cookie })).status).toBe(200);

    const out = await request(h.gw.url, `${DASHBOARD}/sign-out`, { form: { csrf }, cookie });
    expect(out.status).toBe(303);
    expect(out.headers.location).toBe(SIGN_IN);
    expect(out.cookies.geko_dashboard).toMatch(/Max-Age=0/);
    // The old cookie, replayed, is dead on every replica: the user_logout row says so.
    const replay = await request(h.gw.url, DASHBOARD, { cookie });
    expect(replay.status).toBe(303);
    expect(replay.headers.location).toBe(`${SIGN_IN}?ended`);
    expect((await request(h.gw.url, DASHBOARD, { cookie: other })).status).toBe(200);
    const [logout] = await h.db.sql`SELECT count(*)::int AS n FROM audit_logs WHERE tenant_id = ${acme.tenantId} AND action = 'user_logout'`;
    expect(logout!.n).toBe(1);
  });

  it('sends a visitor without a session to the sign-in page', async () => {
    const page = await request(h.gw.url, DASHBOARD);
    expect(page.status).toBe(303);
    expect(page.headers.location).toBe(SIGN_IN);
    const form = await request(h.gw.url, SIGN_IN);
    expect(form.status).toBe(200);
    expect(form.text).toContain('<form class="sign-in" method="post" action="/_gateway/dashboard/sign-in">');
    const css = await request(h.gw.url, `${DASHBOARD}/style.css`);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
  });

  it('ends a session when the tenant is suspended or the user demoted', async () => {
    const t = await seedDashboardTenant(h.db.sql);
    const owner = await signInCookie(h.gw.url, { tenant: t.name, email: t.owner }, fromIp());
    const admin = await signInCookie(h.gw.url, { tenant: t.name, email: t.admin }, fromIp());
    await h.db.sql`UPDATE users SET role = 'member' WHERE email = ${t.admin}`;
    expect((await request(h.gw.url, DASHBOARD, { cookie: admin })).status).toBe(303);
    expect((await request(h.gw.url, DASHBOARD, { cookie: owner })).status).toBe(200);
    await h.db.sql`UPDATE tenants SET status = 'suspended' WHERE tenant_id = ${t.tenantId}`;
    expect((await request(h.gw.url, DASHBOARD, { cookie: owner })).status).toBe(303);
  });

  it('accepts no forged, expired, cross-tenant or LibreChat token as a session', async () => {
    const key = deriveSessionKey({ dashboardSecret: undefined, jwtSecret: TEST_JWT_SECRET })!;
    const [owner] = await h.db.sql<{ user_id: string }[]>`SELECT user_id FROM users WHERE email = ${acme.owner}`;
    const sign = (claims: Record<string, unknown>, exp: number, signingKey: Uint8Array = key) => new SignJWT({ csrf: 'x', ...claims })
      .setProtectedHeader({ alg: 'HS256' }).setSubject(owner!.user_id).setJti(randomUUID()).setIssuer('geko-gateway')
      .setAudience('geko-dashboard').setIssuedAt().setExpirationTime(exp).sign(signingKey);
    const now = Math.floor(Date.now() / 1000);
    const valid = await sign({ tid: acme.tenantId }, now + 600);
    expect((await request(h.gw.url, DASHBOARD, { cookie: `geko_dashboard=${valid}` })).status).toBe(200);
    const tokens = [
      await sign({ tid: acme.tenantId }, now - 10),
      await sign({ tid: globex.tenantId }, now + 600),
      await sign({ tid: acme.tenantId }, now + 600, new TextEncoder().encode(TEST_JWT_SECRET)),
      await librechatToken(acme.owner, { tid: acme.tenantId, sub: owner!.user_id }),
      `${valid.slice(0, -2)}AA`,
    ];
    for (const token of tokens) {
      const reply = await request(h.gw.url, DASHBOARD, { cookie: `geko_dashboard=${token}` });
      expect(reply.status).toBe(303);
      expect(reply.text).not.toContain(acme.name);
    }
  });
});

describe('dashboard configuration', () => {
  const base = { LIBRECHAT_URL: 'http://lc:3080', JWT_SECRET: 'x'.repeat(32) };

  it('defaults to 30-minute sessions and checks DASHBOARD_SECRET and DASHBOARD_SESSION_TTL', () => {
    expect(loadConfig(base)).toMatchObject({ dashboardSecret: undefined, dashboardSessionTtlMs: 30 * 60_000 });
    expect(loadConfig({ ...base, DASHBOARD_SECRET: 'd'.repeat(32), DASHBOARD_SESSION_TTL: '2h' })).toMatchObject({ dashboardSecret: 'd'.repeat(32), dashboardSessionTtlMs: 7_200_000 });
    expect(() => loadConfig({ ...base, DASHBOARD_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, DASHBOARD_SESSION_TTL: '13h' })).toThrow(/DASHBOARD_SESSION_TTL must be at most 12h/);
    expect(() => loadConfig({ ...base, DASHBOARD_SESSION_TTL: 'soon' })).toThrow(/DASHBOARD_SESSION_TTL/);
  });

  it('is off (404 not_found) with JWKS_URL and no secret, and on again with DASHBOARD_SECRET', async () => {
    const jwksOnly = await startGateway(h.db.url, h.upstream.url, { JWT_SECRET: '', JWKS_URL: 'http://127.0.0.1:9/jwks.json' });
    try {
      const reply = await request(jwksOnly.url, DASHBOARD);
      expect(reply.status).toBe(404);
      expect(JSON.parse(reply.text).error.code).toBe('not_found');
    } finally {
      await jwksOnly.close();
    }
    const withSecret = await startGateway(h.db.url, h.upstream.url, { JWT_SECRET: '', JWKS_URL: 'http://127.0.0.1:9/jwks.json', DASHBOARD_SECRET: 's'.repeat(40) });
    try {
      const cookie = await signInCookie(withSecret.url, { tenant: acme.name, email: acme.owner });
      expect((await request(withSecret.url, DASHBOARD, { cookie })).status).toBe(200);
      // Another key: the main gateway's sessions are not valid here, nor the other way round.
      expect((await request(h.gw.url, DASHBOARD, { cookie })).status).toBe(303);
    } finally {
      await withSecret.close();
    }
  });
});
