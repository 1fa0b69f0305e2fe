// The benchmark's tenant, written with plain SQL as an operator would: one tenant and user, a main
// workspace plus 100 more for the spread scenario (the user is a member of all, limits far above what a
// run uses), and a workspace whose request quota is 0 for the denial count. Also signs the user's
// LibreChat-style access token (HS256 with the shared JWT_SECRET: id, username, provider, email).
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { Sql } from '../src/db/sql.ts';

export const BENCH_AGENT_ID = 'agent_bench';
// The prefix entry lets the OpenAI-route probe use a model id of its own (proving the answer came from the fake).
export const ENABLED_MODELS = ['gpt-4o', BENCH_AGENT_ID, `${BENCH_AGENT_ID}_probe_*`, 'claude-*'];
const BIG_LIMIT = 2_000_000_000;

export interface BenchSeed {
  tenantId: string;
  userId: string;
  email: string;
  mainWorkspace: string;
  spreadWorkspaces: string[];
  denyWorkspace: string;
}

async function addWorkspace(sql: Sql, seed: { tenantId: string; userId: string }, name: string, requestsLimit: number): Promise<string> {
  const workspaceId = randomUUID();
  await sql`INSERT INTO workspaces (workspace_id, tenant_id, name, created_by, status)
            VALUES (${workspaceId}, ${seed.tenantId}, ${name}, ${seed.userId}, 'active')`;
  await sql`INSERT INTO workspace_config (config_id, workspace_id, enabled_models, custom_settings)
            VALUES (${randomUUID()}, ${workspaceId}, ${sql.json(ENABLED_MODELS)}, ${sql.json({})})`;
  await sql`INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit, reset_at)
            VALUES (${randomUUID()}, ${workspaceId}, ${BIG_LIMIT}, ${requestsLimit}, NULL)`;
  await sql`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (${workspaceId}, ${seed.userId}, 'member')`;
  return workspaceId;
}

export async function seedBench(sql: Sql, spreadCount = 100): Promise<BenchSeed> {
  const tenantId = randomUUID();
  const userId = randomUUID();
  const email = 'bench@example.com';
  await sql`INSERT INTO tenants (tenant_id, name, status, metadata)
            VALUES (${tenantId}, 'Bench tenant', 'active', ${sql.json({ domains: [] })})`;
  await sql`INSERT INTO users (user_id, tenant_id, email, name, status)
            VALUES (${userId}, ${tenantId}, ${email}, 'Bench User', 'active')`;
  const ids = { tenantId, userId };
  const mainWorkspace = await addWorkspace(sql, ids, 'Main', BIG_LIMIT);
  const spreadWorkspaces: string[] = [];
  for (let i = 0; i < spreadCount; i += 1) spreadWorkspaces.push(await addWorkspace(sql, ids, `Spread ${i}`, BIG_LIMIT));
  const denyWorkspace = await addWorkspace(sql, ids, 'No requests left', 0);
  return { tenantId, userId, email, mainWorkspace, spreadWorkspaces, denyWorkspace };
}

/** A LibreChat access token for the bench user, valid for the whole run. */
export function benchToken(seed: BenchSeed, secret: string): Promise<string> {
  return new SignJWT({ id: '65f0c0ffee0123456789abcd', username: 'bench', provider: 'local', email: seed.email })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('3h')
    .sign(new TextEncoder().encode(secret));
}
