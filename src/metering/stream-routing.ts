// Which replica holds a generation's subscription, for Fly.io deployments (FLY_MACHINE_ID set). When a
// chat starts, the holder writes the stream id on its chat_usage row; another replica that receives the
// client's stream GET finds the holder's machine and answers `fly-replay: instance=<machine>`. Off Fly
// none of this runs: the admission and settlement statements stay the only SQL of a chat.
import type { Sql } from '../db/sql.ts';

export async function recordStreamHolder(sql: Sql, usageId: string, streamId: string, conversationId: string | undefined): Promise<void> {
  await sql`UPDATE chat_usage SET stream_id = ${streamId}, conversation_id = COALESCE(${conversationId ?? null}::text, conversation_id)
            WHERE usage_id = ${usageId}::uuid AND status = 'reserved'`;
}

/** The Fly machine of the live process holding the stream's open generation, if any. */
export async function findStreamHolder(sql: Sql, streamId: string, staleMs: number): Promise<string | undefined> {
  const [row] = await sql<{ fly_machine_id: string | null }[]>`
    SELECT g.fly_machine_id FROM chat_usage c JOIN gateway_instances g ON g.instance_id = c.instance_id
    WHERE c.stream_id = ${streamId} AND c.settled_at IS NULL AND c.status = 'reserved' AND g.stopped_at IS NULL
      AND g.heartbeat_at > timezone('UTC', now()) - make_interval(secs => ${staleMs / 1000}::float8)
    ORDER BY c.created_at DESC LIMIT 1`;
  return row?.fly_machine_id ?? undefined;
}
