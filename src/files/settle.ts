// What happens to an upload's hold and a file's bytes once LibreChat has answered: each is ONE statement
// that changes the file rows, the workspace's storage row and, while it holds that row's lock, files_used
// (whole MB, rounded up), plus the audit rows. Lock order is always storage row, then quota row (nothing
// locks them the other way round), so these never deadlock with each other or with chat admissions, which
// lock the quota row alone.
import type { PendingQuery, Row } from 'postgres';
import type { IdentityInput } from '../admission/identity-ctes.ts';
import { identityCtes } from '../admission/identity-ctes.ts';
import type { Sql } from '../db/sql.ts';
import { MIB } from './hold.ts';

/** `quota AS (…)`: files_used of each workspace in `storage` (a CTE returning workspace_id, stored_bytes). */
export function filesUsedFollows(sql: Sql): PendingQuery<Row[]> {
  return sql`quota AS (
      UPDATE workspace_quotas q SET files_used = LEAST(2147483647, ceil(storage.stored_bytes::numeric / ${MIB}))::int,
             updated_at = timezone('UTC', now())
      FROM storage WHERE q.workspace_id = storage.workspace_id
    )`;
}

/**
 * LibreChat stored the upload (200): the hold becomes the answer's bytes, under LibreChat's file_id (null
 * when its answer could not be read: the file then counts with its held bytes and cannot be named by a
 * delete). A hold the sweep already gave back (an answer that came after the process was thought gone)
 * still records the file. A file_id the table knows already is not counted twice: the hold is released.
 */
export async function settleStoredUpload(sql: Sql, s: { uploadId: string; fileId: string | null; bytes: number | null }): Promise<boolean> {
  const rows = await sql<{ settled: number }[]>`
    WITH prior AS (
      SELECT f.upload_id, f.status AS was, f.hold_bytes,
             (${s.fileId}::text IS NOT NULL AND EXISTS (SELECT 1 FROM workspace_files o WHERE o.file_id = ${s.fileId}::text)) AS duplicate
      FROM workspace_files f WHERE f.upload_id = ${s.uploadId}::uuid AND f.status IN ('held', 'expired')
      FOR UPDATE
    ),
    closed AS (
      UPDATE workspace_files f SET
        status = CASE WHEN prior.duplicate THEN 'released' ELSE 'stored' END,
        file_id = CASE WHEN prior.duplicate THEN NULL ELSE ${s.fileId}::text END,
        bytes = CASE WHEN prior.duplicate THEN 0 ELSE COALESCE(${s.bytes}::bigint, f.hold_bytes) END,
        stored_at = timezone('UTC', now()), closed_at = CASE WHEN prior.duplicate THEN timezone('UTC', now()) END
      FROM prior WHERE f.upload_id = prior.upload_id
      RETURNING f.*, prior.was, prior.duplicate
    ),
    storage AS (
      UPDATE workspace_storage st SET
        held_bytes = GREATEST(0, st.held_bytes - CASE WHEN closed.was = 'held' THEN closed.hold_bytes ELSE 0 END),
        stored_bytes = st.stored_bytes + closed.bytes, updated_at = timezone('UTC', now())
      FROM closed WHERE st.workspace_id = closed.workspace_id
      RETURNING st.workspace_id, st.stored_bytes
    ),
    ${filesUsedFollows(sql)},
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status)
      SELECT gen_random_uuid(), closed.tenant_id, closed.workspace_id, closed.user_id, 'file_uploaded', 'file', closed.file_id,
             jsonb_build_object('request_id', closed.request_id, 'file_id', closed.file_id, 'bytes', closed.bytes,
                                'hold_bytes', closed.hold_bytes, 'route', closed.route),
             closed.ip_address, closed.user_agent, 'success'
      FROM closed WHERE NOT closed.duplicate
    )
    SELECT count(*)::int AS settled FROM closed`;
  return (rows[0]?.settled ?? 0) > 0;
}

/** LibreChat did not store the upload (any answer but 200, or none): the hold is given back. */
export async function releaseUploadHold(sql: Sql, uploadId: string): Promise<boolean> {
  const rows = await sql<{ released: number }[]>`
    WITH closed AS (
      UPDATE workspace_files f SET status = 'released', bytes = 0, closed_at = timezone('UTC', now())
      WHERE f.upload_id = ${uploadId}::uuid AND f.status = 'held'
      RETURNING f.workspace_id, f.hold_bytes
    ),
    storage AS (
      UPDATE workspace_storage st SET held_bytes = GREATEST(0, st.held_bytes - closed.hold_bytes), updated_at = timezone('UTC', now())
      FROM closed WHERE st.workspace_id = closed.workspace_id
    )
    SELECT count(*)::int AS released FROM closed`;
  return (rows[0]?.released ?? 0) > 0;
}

/**
 * LibreChat answered 200 to `DELETE /api/files`: the named files of the caller's tenant give their bytes back
 * to the workspaces that stored them (LibreChat lets an agent's editors delete its files, so the uploader
 * may be someone else). The caller's tenant comes from the chats' identity rules; the workspace's need not
 * hold, since a delete only frees space.
 */
export function deleteFilesStatement(
  sql: Sql,
  input: { who: IdentityInput; requestId: string; fileIds: string[]; ipAddress: string | null; userAgent: string | null },
): PendingQuery<{ file_id: string; bytes: string }[]> {
  return sql<{ file_id: string; bytes: string }[]>`
    WITH ${identityCtes(sql, input.who, true)},
    closed AS (
      UPDATE workspace_files f SET status = 'deleted', closed_at = timezone('UTC', now())
      FROM decided d
      WHERE f.file_id = ANY(${input.fileIds}::text[]) AND f.tenant_id = d.tenant_id AND f.status = 'stored'
      RETURNING f.file_id, f.bytes, f.tenant_id, f.workspace_id, d.user_id AS deleted_by
    ),
    freed AS (SELECT workspace_id, sum(bytes)::bigint AS bytes FROM closed GROUP BY workspace_id),
    storage AS (
      UPDATE workspace_storage st SET stored_bytes = GREATEST(0, st.stored_bytes - freed.bytes), updated_at = timezone('UTC', now())
      FROM freed WHERE st.workspace_id = freed.workspace_id
      RETURNING st.workspace_id, st.stored_bytes
    ),
    ${filesUsedFollows(sql)},
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status)
      SELECT gen_random_uuid(), closed.tenant_id, closed.workspace_id, closed.deleted_by, 'file_deleted', 'file', closed.file_id,
             jsonb_build_object('request_id', ${input.requestId}::text, 'file_id', closed.file_id, 'bytes', closed.bytes),
             ${input.ipAddress}, ${input.userAgent}, 'success'
      FROM closed
    )
    SELECT file_id, bytes::text AS bytes FROM closed`;
}
