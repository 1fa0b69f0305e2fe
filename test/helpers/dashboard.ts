// Fixtures and HTTP helpers for the dashboard tests: a tenant with an owner, an admin and a member who all
// have passwords, workspaces with quotas and chat_usage over the current period, and form posts with
// the cookie jar a browser would keep.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { Sql } from '../../src/db/sql.ts';
import { hashPassword } from '../../src/dashboard/password.ts';
import { addMember, createTenant, createWorkspace } from './seed.ts';

export const PASSWORD = 'a long dashboard password';
let passwordHash: Promise<string> | undefined;

export interface DashboardTenant {
  tenantId: string;
  name: string;
  owner: string;
  admin: string;
  member: string;
  workspaces: { id: string; name: string }[];
}

async function user(sql: Sql, tenantId: string, role: string, hash: string | null, domain: string): Promise<{ id: string; email: string }> {
  const id = randomUUID();
  const email = `${role}@${domain}`;
  await sql`INSERT INTO users (user_id, tenant_id, email, password_hash, name, role, status)
            VALUES (${id}, ${tenantId}, ${email}, ${hash}, ${`The ${role}`}, ${role}, 'active')`;
  return { id, email };
}

export interface DashboardSeedOptions {
  name?: string;
  workspaceNames?: string[];
  models?: string[];
  days?: number;
}

/** A tenant for the dashboard: reset in 10 days, usage on each of the last `days` days for each model. */
export async function seedDashboardTenant(sql: Sql, opts: DashboardSeedOptions = {}): Promise<DashboardTenant> {
  passwordHash ??= hashPassword(PASSWORD);
  const hash = await passwordHash;
  const name = opts.name ?? `Tenant ${randomUUID().slice(0, 8)}`;
  const tenantId = await createTenant(sql, { name });
  // Tenant names are unique within a test database, so are these domains (and so emails across tenants).
  const domain = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'tenant'}.example`;
  const [owner, admin, member] = [
    await user(sql, tenantId, 'owner', hash, domain), await user(sql, tenantId, 'admin', hash, domain), await user(sql, tenantId, 'member', hash, domain),
  ];
  const models = opts.models ?? ['gpt-4o', 'claude-sonnet-4'];
  const workspaces: { id: string; name: string }[] = [];
  for (const [i, wsName] of (opts.workspaceNames ?? ['Sales', 'Support']).entries()) {
    const id = await createWorkspace(sql, tenantId, owner.id, { models, tokensLimit: 200_000 * (i + 1), requestsLimit: 500 * (i + 1) });
    await sql`UPDATE workspaces SET name = ${wsName} WHERE workspace_id = ${id}`;
    await sql`UPDATE workspace_quotas SET reset_at = date_trunc('day', timezone('UTC', now())) + interval '10 days' WHERE workspace_id = ${id}`;
    await addMember(sql, id, member.id, 'member');
    await sql`
      INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, model, prompt_tokens, completion_tokens, total_tokens, status, created_at)
      SELECT gen_random_uuid(), 'seed-' || gen_random_uuid(), ${tenantId}, ${id}, ${member.id}, m.model,
             t.prompt, t.completion, t.prompt + t.completion, 'settled',
             date_trunc('day', timezone('UTC', now())) - make_interval(days => d) + interval '9 hours'
      FROM generate_series(0, ${(opts.days ?? 12) - 1}) AS d,
           unnest(${models}::text[]) WITH ORDINALITY AS m(model, n),
           -- Uneven but deterministic days, so the chart looks like traffic; never zero.
           LATERAL (SELECT (300 + (d * 7919 + m.n * 104729) % 17 * 90) * ${i + 1} AS prompt, (40 + (d * 31 + m.n * 7) % 9 * 25) * m.n AS completion) AS t`;
    // The quota agrees with the usage rows, as it would after real traffic.
    await sql`UPDATE workspace_quotas SET tokens_used = u.tokens, requests_used = u.requests
              FROM (SELECT sum(total_tokens)::int AS tokens, count(*)::int AS requests FROM chat_usage WHERE workspace_id = ${id}) AS u
              WHERE workspace_id = ${id}`;
    workspaces.push({ id, name: wsName });
  }
  return { tenantId, name, owner: owner.email, admin: admin.email, member: member.email, workspaces };
}

export interface FormReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  cookies: Record<string, string>;
}

export interface RequestOptions {
  method?: 'GET' | 'POST';
  form?: Record<string, string>;
  cookie?: string;
  headers?: Record<string, string>;
  /** Defaults to the gateway's own origin on POSTs; null sends none. */
  origin?: string | null;
}

/** One request over node:http (so Origin and Cookie go out exactly as given); Set-Cookie values parsed. */
export function request(base: string, path: string, opts: RequestOptions = {}): Promise<FormReply> {
  const method = opts.method ?? (opts.form ? 'POST' : 'GET');
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) headers['content-type'] = 'application/x-www-form-urlencoded';
  if (opts.cookie) headers.cookie = opts.cookie;
  const origin = opts.origin === undefined ? (method === 'POST' ? base : null) : opts.origin;
  if (origin !== null) headers.origin = origin;
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const req = http.request({ hostname, port, path, method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const cookies: Record<string, string> = {};
        for (const line of res.headers['set-cookie'] ?? []) {
          const [pair] = line.split(';');
          const eq = pair!.indexOf('=');
          cookies[pair!.slice(0, eq)] = line;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), cookies });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The `name=value` part of a Set-Cookie line, for the Cookie header. */
export function cookiePair(setCookie: string | undefined): string {
  return (setCookie ?? '').split(';')[0] ?? '';
}

/** Signs in and returns the session cookie (`geko_dashboard=…`). */
export async function signInCookie(base: string, form: { tenant: string; email: string; password?: string }, headers: Record<string, string> = {}): Promise<string> {
  const reply = await request(base, '/_gateway/dashboard/sign-in', { form: { tenant: form.tenant, email: form.email, password: form.password ?? PASSWORD }, headers });
  if (reply.status !== 303) throw new Error(`sign-in answered ${reply.status}: ${reply.text.slice(0, 300)}`);
  return cookiePair(reply.cookies.geko_dashboard);
}
