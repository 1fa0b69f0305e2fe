// Closes holds nobody will settle, each as `expired`, charging the text part of its hold, with its
// chat_completed audit row — one statement per pass, SKIP LOCKED so it never waits on (or double-closes
// with) a settlement in flight. A hold is left alone while a live gateway process still holds its
// generation (long agent runs and tool-approval pauses outlast any TTL):
//   - this process's own holds: expired past RESERVATION_TTL only when this process no longer holds the
//     generation in memory (`heldUsageIds`: a hold it lost track of would otherwise stay open for ever);
//   - another process's holds: expired only once that process is dead (stopped, or its heartbeat older
//     than INSTANCE_STALE_AFTER), whatever their age: that process sweeps its own;
//   - holds with no process recorded: past RESERVATION_TTL.
// Should a generation still end after its hold was expired (its process only looked dead), its settlement
// corrects the row and the quota by the difference (settle.ts). Also keeps this process's heartbeat fresh.
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';

export interface SweeperDeps {
  sql: Sql;
  /** The holds whose generations this process holds right now (metering's open generations and taps). */
  heldUsageIds: () => readonly string[];
  logger: Logger;
  instanceId: string;
  reservationTtlMs: number;
  instanceStaleMs: number;
  intervalMs: number;
}

export async function registerInstance(sql: Sql, instanceId: string, flyMachineId?: string): Promise<void> {
  await sql`INSERT INTO gateway_instances (instance_id, fly_machine_id) VALUES (${instanceId}::uuid, ${flyMachineId ?? null})
            ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = timezone('UTC', now()), stopped_at = NULL`;
}

export async function markInstanceStopped(sql: Sql, instanceId: string): Promise<void> {
  await sql`UPDATE gateway_instances SET stopped_at = timezone('UTC', now()) WHERE instance_id = ${instanceId}::uuid`;
}

/** One sweep pass. Returns how many holds it closed. */
export async function expireStaleHolds(
  sql: Sql,
  opts: { instanceId: string; reservationTtlMs: number; instanceStaleMs: number; heldUsageIds?: readonly string[] },
): Promise<number> {
  const held = [...(opts.heldUsageIds ?? [])];
  const rows = await sql<{ expired: number }[]>`
    WITH beat AS (
      UPDATE gateway_instances SET heartbeat_at = timezone('UTC', now()) WHERE instance_id = ${opts.instanceId}::uuid
    ),
    stale AS (
      SELECT c.usage_id, c.quota_reset_at AS charged_period FROM chat_usage c
      WHERE c.settled_at IS NULL AND c.status = 'reserved' -- open holds, through idx_chat_usage_open
        AND CASE
          WHEN c.instance_id = ${opts.instanceId}::uuid
            THEN c.created_at < timezone('UTC', now()) - make_interval(secs => ${opts.reservationTtlMs / 1000}::float8)
                 AND c.usage_id <> ALL(${held}::uuid[])
          WHEN c.instance_id IS NULL
            THEN c.created_at < timezone('UTC', now()) - make_interval(secs => ${opts.reservationTtlMs / 1000}::float8)
          ELSE NOT EXISTS (
                 SELECT 1 FROM gateway_instances g
                 WHERE g.instance_id = c.instance_id AND g.stopped_at IS NULL
                   AND g.heartbeat_at > timezone('UTC', now()) - make_interval(secs => ${opts.instanceStaleMs / 1000}::float8))
        END
      ORDER BY c.created_at
      LIMIT 500
      FOR UPDATE SKIP LOCKED
    ),
    closed AS (
      -- quota_reset_at becomes the period the expired charge now sits in, so a late settlement knows
      -- whether that charge is still in the current period (settle.ts).
      UPDATE chat_usage c SET status = 'expired', prompt_tokens = c.hold_prompt_tokens, completion_tokens = 0,
             total_tokens = c.hold_prompt_tokens, usage_source = 'hold', settled_at = timezone('UTC', now()),
             details = jsonb_build_object('reason', 'hold expired'),
             quota_reset_at = (SELECT q.reset_at FROM workspace_quotas q WHERE q.workspace_id = c.workspace_id)
      FROM stale WHERE c.usage_id = stale.usage_id
      RETURNING c.*, stale.charged_period
    ),
    delta AS (
      SELECT q.quota_id, sum(CASE WHEN q.reset_at IS NOT DISTINCT FROM closed.charged_period
                                  THEN closed.hold_prompt_tokens - closed.hold_tokens ELSE closed.hold_prompt_tokens END) AS tokens
      FROM closed JOIN workspace_quotas q ON q.workspace_id = closed.workspace_id
      GROUP BY q.quota_id
    ),
    quota AS (
      UPDATE workspace_quotas q SET tokens_used = GREATEST(0, q.tokens_used::bigint + delta.tokens), updated_at = timezone('UTC', now())
      FROM delta WHERE q.quota_id = delta.quota_id
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), closed.tenant_id, closed.workspace_id, closed.user_id, 'chat_completed', 'conversation',
             closed.conversation_id,
             jsonb_build_object('request_id', closed.request_id, 'usage_id', closed.usage_id, 'outcome', 'expired',
                                'endpoint', closed.endpoint, 'model', closed.model,
                                'prompt_tokens', closed.prompt_tokens, 'completion_tokens', 0,
                                'total_tokens', closed.total_tokens, 'usage_source', 'hold',
                                'hold_tokens', closed.hold_tokens, 'per_model', '{}'::jsonb),
             closed.ip_address, closed.user_agent, 'failed', 'expired'
      FROM closed
    )
    SELECT count(*)::int AS expired FROM closed`;
  return rows[0]?.expired ?? 0;
}

export function startSweeper(deps: SweeperDeps): { stop(): void; sweepNow(): Promise<number> } {
  let running: Promise<number> | undefined;
  const sweepNow = async () => {
    if (running) return running;
    running = expireStaleHolds(deps.sql, { ...deps, heldUsageIds: deps.heldUsageIds() }).finally(() => { running = undefined; });
    return running;
  };
  const tick = () => {
    sweepNow()
      .then((n) => { if (n > 0) deps.logger.info('expired stale holds', { count: n }); })
      .catch((error: { code?: string }) => deps.logger.warn('sweep failed', { err_code: error.code }));
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  setImmediate(tick);
  return { stop: () => clearInterval(timer), sweepNow };
}
