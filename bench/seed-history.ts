// Seeds a long history for the "cost must not grow with history" scenario: audit_logs and chat_usage
// rows of the bench tenant's workspaces with INSERT … SELECT generate_series, in batches of a million,
// shaped like the gateway's own rows (chat_sent / chat_completed / chat_denied with their details;
// settled and failed usage rows, never 'reserved', so the sweeper leaves them alone). Foreign-key
// triggers are skipped per batch (session_replication_role = replica, a bulk-load setting): every
// referenced tenant, workspace and user exists. Then VACUUM ANALYZE, as after any bulk load.
import type { Sql } from '../src/db/sql.ts';
import type { BenchSeed } from './seed.ts';

const BATCH = 1_000_000;

async function auditBatch(sql: Sql, seed: BenchSeed, workspaces: string[], from: number, to: number, total: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message, created_at)
      SELECT gen_random_uuid(), ${seed.tenantId}::uuid, (${workspaces}::uuid[])[1 + g % ${workspaces.length}], ${seed.userId}::uuid,
             CASE g % 3 WHEN 0 THEN 'chat_sent' WHEN 1 THEN 'chat_completed' ELSE 'chat_denied' END,
             'conversation', 'conv-' || (g / 2),
             jsonb_build_object('request_id', md5(g::text), 'endpoint', 'openAI', 'model', 'gpt-4o', 'hold_tokens', 100,
                                'outcome', 'completed', 'total_tokens', 821),
             '10.0.' || (g % 250) || '.' || (g % 200), 'Mozilla/5.0 (bench history)',
             CASE g % 3 WHEN 2 THEN 'failed' ELSE 'success' END,
             CASE g % 3 WHEN 2 THEN 'quota_exceeded' END,
             timezone('UTC', now()) - make_interval(secs => (${total} - g) * 0.25)
      FROM generate_series(${from}::bigint, ${to}::bigint) g`;
  });
}

async function usageBatch(sql: Sql, seed: BenchSeed, workspaces: string[], from: number, to: number, total: number): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`SET LOCAL session_replication_role = replica`;
    await tx`
      INSERT INTO chat_usage (usage_id, request_id, tenant_id, workspace_id, user_id, endpoint, model, conversation_id,
                              stream_id, hold_tokens, hold_prompt_tokens, prompt_tokens, completion_tokens, total_tokens,
                              usage_source, status, details, ip_address, user_agent, created_at, settled_at)
      SELECT gen_random_uuid(), md5(g::text), ${seed.tenantId}::uuid, (${workspaces}::uuid[])[1 + g % ${workspaces.length}],
             ${seed.userId}::uuid, 'openAI', 'gpt-4o', 'conv-' || g, 'conv-' || g, 101, 1, 812, 9, 821,
             'on_token_usage', CASE WHEN g % 50 = 0 THEN 'failed' ELSE 'settled' END,
             '{"per_model":{"gpt-4o":{"prompt_tokens":812,"completion_tokens":9,"calls":1}}}'::jsonb,
             '10.0.' || (g % 250) || '.' || (g % 200), 'Mozilla/5.0 (bench history)',
             timezone('UTC', now()) - make_interval(secs => (${total} - g) * 2.5),
             timezone('UTC', now()) - make_interval(secs => (${total} - g) * 2.5 - 2)
      FROM generate_series(${from}::bigint, ${to}::bigint) g`;
  });
}

async function inBatches(total: number, label: string, log: (line: string) => void, run: (from: number, to: number) => Promise<void>): Promise<void> {
  for (let from = 1; from <= total; from += BATCH) {
    const to = Math.min(total, from + BATCH - 1);
    const t0 = Date.now();
    await run(from, to);
    log(`  ${label}: ${to.toLocaleString('en-US')} / ${total.toLocaleString('en-US')} rows (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
}

export async function seedHistory(
  sql: Sql, seed: BenchSeed, rows: { audit: number; usage: number }, log: (line: string) => void,
): Promise<void> {
  const workspaces = [seed.mainWorkspace, ...seed.spreadWorkspaces];
  await inBatches(rows.audit, 'audit_logs', log, (from, to) => auditBatch(sql, seed, workspaces, from, to, rows.audit));
  await inBatches(rows.usage, 'chat_usage', log, (from, to) => usageBatch(sql, seed, workspaces, from, to, rows.usage));
  const t0 = Date.now();
  await sql`VACUUM ANALYZE audit_logs`.simple();
  await sql`VACUUM ANALYZE chat_usage`.simple();
  log(`  VACUUM ANALYZE: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}
