// The demo's rows, written with plain SQL as an operator would: one tenant, one user, and two workspaces
// (different models) with their config, membership and quota. Fixed ids make it idempotent: a second run finds the same rows and
// refreshes them (active again, the demo's models and limits) instead of adding new ones. Usage counters
// are kept across runs, unless the quota period they belong to has ended (then they start at 0, as the
// admission statement's own reset would do).
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Sql } from '../src/db/sql.ts';

export const DEMO_EMAIL = 'demo@example.com';
export const DEMO_MODELS = ['gpt-4o', 'gpt-4o-mini', 'claude-*'];
export const DEMO_MAX_TOKENS = 1024;
/** The demo user's second workspace, with other models: chats need a choice (header, or the chooser's cookie). */
export const DEMO_RESEARCH_MODELS = ['claude-*', 'gemini-*'];
/** The MCP servers and built-in tools the demo workspace enables (enabled_mcps); any other is refused. */
export const DEMO_MCPS = ['github'];
export const DEMO_FILES_LIMIT_MB = 100;

const TENANT_ID = '6e6f6d65-0000-4000-8000-000000000001';
const USER_ID = '6e6f6d65-0000-4000-8000-000000000002';
const WORKSPACE_ID = '6e6f6d65-0000-4000-8000-000000000003';
const CONFIG_ID = '6e6f6d65-0000-4000-8000-000000000004';
const QUOTA_ID = '6e6f6d65-0000-4000-8000-000000000005';
const RESEARCH_ID = '6e6f6d65-0000-4000-8000-000000000006';
const RESEARCH_CONFIG_ID = '6e6f6d65-0000-4000-8000-000000000007';
const RESEARCH_QUOTA_ID = '6e6f6d65-0000-4000-8000-000000000008';

export interface DemoRows {
  tenantId: string;
  userId: string;
  workspaceId: string;
  researchWorkspaceId: string;
}

export async function seedDemo(sql: Sql): Promise<DemoRows> {
  await sql.begin(async (tx) => {
    await tx`
      INSERT INTO tenants (tenant_id, name, plan, status, metadata)
      VALUES (${TENANT_ID}, 'Demo Co', 'free', 'active', ${tx.json({ domains: ['localhost'] })})
      ON CONFLICT (tenant_id) DO UPDATE SET name = EXCLUDED.name, status = 'active', deleted_at = NULL,
        metadata = coalesce(tenants.metadata, '{}'::jsonb) || EXCLUDED.metadata, updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO users (user_id, tenant_id, email, name, role, status)
      VALUES (${USER_ID}, ${TENANT_ID}, ${DEMO_EMAIL}, 'Demo User', 'owner', 'active')
      ON CONFLICT (user_id) DO UPDATE SET email = EXCLUDED.email, role = 'owner', status = 'active',
        deleted_at = NULL, updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO workspaces (workspace_id, tenant_id, name, description, created_by, status)
      VALUES (${WORKSPACE_ID}, ${TENANT_ID}, 'Demo workspace', 'Created by npm run demo', ${USER_ID}, 'active')
      ON CONFLICT (workspace_id) DO UPDATE SET name = EXCLUDED.name, status = 'active', deleted_at = NULL,
        updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (${WORKSPACE_ID}, ${USER_ID}, 'owner')
      ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'owner'`;
    await tx`
      INSERT INTO workspace_config (config_id, workspace_id, enabled_models, enabled_mcps, custom_settings)
      VALUES (${CONFIG_ID}, ${WORKSPACE_ID}, ${tx.json(DEMO_MODELS)}, ${tx.json(DEMO_MCPS)}, ${tx.json({ maxTokens: DEMO_MAX_TOKENS })})
      ON CONFLICT (workspace_id) DO UPDATE SET enabled_models = EXCLUDED.enabled_models, enabled_mcps = EXCLUDED.enabled_mcps,
        custom_settings = EXCLUDED.custom_settings, updated_at = CURRENT_TIMESTAMP`;
    // reset_at: the first day of next month, 00:00 UTC (TIMESTAMP columns hold UTC wall-clock times).
    await tx`
      INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit, files_limit, reset_at)
      VALUES (${QUOTA_ID}, ${WORKSPACE_ID}, 200000, 1000, ${DEMO_FILES_LIMIT_MB},
              date_trunc('month', timezone('UTC', now())) + interval '1 month')
      ON CONFLICT (workspace_id) DO UPDATE SET
        tokens_limit = EXCLUDED.tokens_limit, requests_limit = EXCLUDED.requests_limit, files_limit = EXCLUDED.files_limit,
        tokens_used = CASE WHEN workspace_quotas.reset_at <= timezone('UTC', now()) THEN 0 ELSE workspace_quotas.tokens_used END,
        requests_used = CASE WHEN workspace_quotas.reset_at <= timezone('UTC', now()) THEN 0 ELSE workspace_quotas.requests_used END,
        reset_at = EXCLUDED.reset_at, updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO workspaces (workspace_id, tenant_id, name, description, created_by, status)
      VALUES (${RESEARCH_ID}, ${TENANT_ID}, 'Research', 'Created by npm run demo: other models', ${USER_ID}, 'active')
      ON CONFLICT (workspace_id) DO UPDATE SET name = EXCLUDED.name, status = 'active', deleted_at = NULL,
        updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (${RESEARCH_ID}, ${USER_ID}, 'member')
      ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = 'member'`;
    await tx`
      INSERT INTO workspace_config (config_id, workspace_id, enabled_models, custom_settings)
      VALUES (${RESEARCH_CONFIG_ID}, ${RESEARCH_ID}, ${tx.json(DEMO_RESEARCH_MODELS)}, ${tx.json({ maxTokens: DEMO_MAX_TOKENS })})
      ON CONFLICT (workspace_id) DO UPDATE SET enabled_models = EXCLUDED.enabled_models,
        custom_settings = EXCLUDED.custom_settings, updated_at = CURRENT_TIMESTAMP`;
    await tx`
      INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit, reset_at)
      VALUES (${RESEARCH_QUOTA_ID}, ${RESEARCH_ID}, 50000, 200,
              date_trunc('month', timezone('UTC', now())) + interval '1 month')
      ON CONFLICT (workspace_id) DO UPDATE SET
        tokens_limit = EXCLUDED.tokens_limit, requests_limit = EXCLUDED.requests_limit,
        tokens_used = CASE WHEN workspace_quotas.reset_at <= timezone('UTC', now()) THEN 0 ELSE workspace_quotas.tokens_used END,
        requests_used = CASE WHEN workspace_quotas.reset_at <= timezone('UTC', now()) THEN 0 ELSE workspace_quotas.requests_used END,
        reset_at = EXCLUDED.reset_at, updated_at = CURRENT_TIMESTAMP`;
  });
  return { tenantId: TENANT_ID, userId: USER_ID, workspaceId: WORKSPACE_ID, researchWorkspaceId: RESEARCH_ID };
}

/** The demo's HS256 secret: made once and kept in the data folder, so tokens stay valid across runs. */
export async function demoJwtSecret(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'demo-jwt-secret');
  if (existsSync(file)) {
    const stored = (await readFile(file, 'utf8')).trim();
    if (stored.length >= 32) return stored;
  }
  const secret = randomBytes(32).toString('base64url');
  await mkdir(dataDir, { recursive: true });
  await writeFile(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
