// Gives back upload holds whose answer will never come. A live gateway process settles every upload it
// forwarded when LibreChat answers, fails, or the client leaves, so a hold stays open only when the process
// that took it is gone (stopped, or its heartbeat stale: killed, crashed) or, as a backstop, after
// UPLOAD_HOLD_MAX_MS. Such a hold is closed as `expired` and its bytes leave held_bytes; stored_bytes and
// files_used do not change. If LibreChat did store that file, a late answer still records it (settle.ts
// accepts an expired hold), and otherwise the file is LibreChat's alone until a reconciliation counts it.
// One statement per pass, SKIP LOCKED, so it never waits on or double-closes with a settlement in flight.
import type { Sql } from '../db/sql.ts';
import type { Logger } from '../log.ts';

/** Longer than any upload a live process could still be streaming (a few GB over a slow link). */
export const UPLOAD_HOLD_MAX_MS = 24 * 60 * 60 * 1000;

export interface UploadSweepOptions {
  instanceId: string;
  instanceStaleMs: number;
  maxHoldMs?: number;
}

export async function expireUploadHolds(sql: Sql, opts: UploadSweepOptions): Promise<number> {
  const maxHoldSeconds = (opts.maxHoldMs ?? UPLOAD_HOLD_MAX_MS) / 1000;
  const rows = await sql<{ expired: number }[]>`
    WITH stale AS (
      SELECT f.upload_id FROM workspace_files f
      WHERE f.status = 'held'
        AND (f.created_at < timezone('UTC', now()) - make_interval(secs => ${maxHoldSeconds}::float8)
             OR (f.instance_id IS DISTINCT FROM ${opts.instanceId}::uuid AND NOT EXISTS (
                   SELECT 1 FROM gateway_instances g
                   WHERE g.instance_id = f.instance_id AND g.stopped_at IS NULL
                     AND g.heartbeat_at > timezone('UTC', now()) - make_interval(secs => ${opts.instanceStaleMs / 1000}::float8))))
      ORDER BY f.created_at
      LIMIT 500
      FOR UPDATE SKIP LOCKED
    ),
    closed AS (
      UPDATE workspace_files f SET status = 'expired', closed_at = timezone('UTC', now())
      FROM stale WHERE f.upload_id = stale.upload_id
      RETURNING f.workspace_id, f.hold_bytes
    ),
    freed AS (SELECT workspace_id, sum(hold_bytes)::bigint AS bytes FROM closed GROUP BY workspace_id),
    storage AS (
      UPDATE workspace_storage st SET held_bytes = GREATEST(0, st.held_bytes - freed.bytes), updated_at = timezone('UTC', now())
      FROM freed WHERE st.workspace_id = freed.workspace_id
    )
    SELECT count(*)::int AS expired FROM closed`;
  return rows[0]?.expired ?? 0;
}

/** Runs expireUploadHolds every `intervalMs` (and once at start); beside the chat hold sweeper in main.ts. */
export function startUploadHoldSweep(deps: UploadSweepOptions & { sql: Sql; logger: Logger; intervalMs: number }): { stop(): void } {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    expireUploadHolds(deps.sql, deps)
      .then((n) => { if (n > 0) deps.logger.info('expired upload holds', { count: n }); })
      .catch((error: { code?: string }) => deps.logger.warn('upload hold sweep failed', { err_code: error.code }))
      .finally(() => { running = false; });
  };
  const timer = setInterval(tick, deps.intervalMs);
  timer.unref();
  setImmediate(tick);
  return { stop: () => clearInterval(timer) };
}
