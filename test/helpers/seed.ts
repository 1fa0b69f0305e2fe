// Test fixtures written with plain SQL, as an operator would: tenants, users, workspaces, members,
// config and quota.
import { randomUUID } from 'node:crypto';
import type { IdentityInput } from '../../src/admission/identity-ctes.ts';
import type { Sql } from '../../src/db/sql.ts';

export interface SeededWorkspace {
  tenantId: string;
  userId: string;
  email: string;
  workspaceId: string;
}

/**
 * The identity the admission statements get for the seeded user's verified token that claims its tenant and
 * names its workspace (Host localhost), for tests that run a statement without the gateway.
 */
export function claimedIdentity(ws: SeededWorkspace): IdentityInput {
  return { tenantClaimed: true, tenantId: ws.tenantId, userId: ws.userId, email: null, host: 'localhost', workspaceGiven: true, workspaceId: ws.workspaceId };
}

export interface SeedOptions {
  email?: string;
  tenantStatus?: string;
  domains?: string[];
  role?: string;
  models?: string[];
  customSettings?: Record<string, unknown>;
  tokensLimit?: number;
  requestsLimit?: number;
  resetAt?: string | null;
  noQuota?: boolean;
  noConfig?: boolean;
}

export async function createTenant(sql: Sql, opts: { status?: string; domains?: string[]; name?: string } = {}): Promise<string> {
  const tenantId = randomUUID();
  await sql`INSERT INTO tenants (tenant_id, name, status, metadata)
            VALUES (${tenantId}, ${opts.name ?? `Tenant ${tenantId.slice(0, 8)}`}, ${opts.status ?? 'active'},
                    ${sql.json({ domains: opts.domains ?? [] })})`;
  return tenantId;
}

export async function createUser(sql: Sql, tenantId: string, email: string, opts: { status?: string; deleted?: boolean } = {}): Promise<string> {
  const userId = randomUUID();
  await sql`INSERT INTO users (user_id, tenant_id, email, name, status, deleted_at)
            VALUES (${userId}, ${tenantId}, ${email}, 'Test User', ${opts.status ?? 'active'}, ${opts.deleted ? sql`now()` : null})`;
  return userId;
}

export async function createWorkspace(sql: Sql, tenantId: string, createdBy: string, opts: SeedOptions & { status?: string } = {}): Promise<string> {
  const workspaceId = randomUUID();
  await sql`INSERT INTO workspaces (workspace_id, tenant_id, name, created_by, status)
            VALUES (${workspaceId}, ${tenantId}, ${`WS ${workspaceId.slice(0, 8)}`}, ${createdBy}, ${opts.status ?? 'active'})`;
  if (!opts.noConfig) {
    await sql`INSERT INTO workspace_config (config_id, workspace_id, enabled_models, custom_settings)
              VALUES (${randomUUID()}, ${workspaceId}, ${sql.json(opts.models ?? ['gpt-4o', 'claude-*'])}, ${sql.json((opts.customSettings ?? {}) as Record<string, string>)})`;
  }
  if (!opts.noQuota) {
    await sql`INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit, reset_at)
              VALUES (${randomUUID()}, ${workspaceId}, ${opts.tokensLimit ?? 100000}, ${opts.requestsLimit ?? 1000}, ${opts.resetAt ?? null})`;
  }
  return workspaceId;
}

export async function addMember(sql: Sql, workspaceId: string, userId: string, role = 'member'): Promise<void> {
  await sql`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (${workspaceId}, ${userId}, ${role})`;
}

/** A tenant with one user who is a member of one workspace with config and quota. */
export async function seedWorkspace(sql: Sql, opts: SeedOptions = {}): Promise<SeededWorkspace> {
  const email = opts.email ?? `user-${randomUUID().slice(0, 8)}@example.com`;
  const tenantId = await createTenant(sql, { status: opts.tenantStatus ?? 'active', domains: opts.domains ?? [] });
  const userId = await createUser(sql, tenantId, email);
  const workspaceId = await createWorkspace(sql, tenantId, userId, opts);
  await addMember(sql, workspaceId, userId, opts.role ?? 'member');
  return { tenantId, userId, email, workspaceId };
}

export async function quotaRow(sql: Sql, workspaceId: string) {
  const [row] = await sql<{ tokens_used: number; requests_used: number; tokens_limit: number; requests_limit: number; reset_at: Date | null }[]>`
    SELECT tokens_used, requests_used, tokens_limit, requests_limit, reset_at FROM workspace_quotas WHERE workspace_id = ${workspaceId}`;
  return row!;
}
