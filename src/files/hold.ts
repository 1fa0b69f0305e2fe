// The upload admission: ONE statement (data-modifying CTEs, no BEGIN/COMMIT) that resolves the caller with
// the chats' identity and workspace rules, checks the quota row, and holds the upload's Content-Length
// against files_limit. Race-freedom: the hold is taken by INSERT … ON CONFLICT DO UPDATE … WHERE on the
// workspace's storage row, and PostgreSQL evaluates that WHERE against the row's latest committed version
// after locking it, so concurrent uploads (from any number of gateway processes) serialise there and their
// held plus stored bytes never pass the limit. The file row and the refusal's audit row read the write's
// RETURNING, so they exist exactly when the hold was (or was not) taken.
import type { PendingQuery } from 'postgres';
import { identityCtes, type IdentityInput } from '../admission/identity-ctes.ts';
import type { Sql } from '../db/sql.ts';

export const MIB = 1_048_576;

export interface UploadFacts {
  uploadId: string;
  requestId: string;
  route: string;
  /** The request's Content-Length: what is held until LibreChat answers. */
  holdBytes: number;
  instanceId: string;
  ipAddress: string | null;
  userAgent: string | null;
}

export interface UploadDecision {
  code: string | null;
  tenant_id: string | null;
  workspace_id: string | null;
  user_id: string | null;
  files_limit: number | null;
  /** Bytes stored and held in the workspace as this decision saw them (after its own hold, when admitted). */
  stored_bytes: string | null;
  held_bytes: string | null;
}

export function holdUploadStatement(sql: Sql, input: { who: IdentityInput; upload: UploadFacts }): PendingQuery<UploadDecision[]> {
  const { who, upload } = input;
  return sql<UploadDecision[]>`
    WITH ${identityCtes(sql, who, false)}, -- the chats' rules: a viewer may not upload either
    seen AS (
      SELECT decided.*, GREATEST(0, COALESCE(decided.files_limit, 0))::bigint * ${MIB}::bigint AS limit_bytes,
             COALESCE(st.stored_bytes, GREATEST(0, COALESCE(decided.files_used, 0))::bigint * ${MIB}::bigint) AS seen_stored,
             COALESCE(st.held_bytes, 0) AS seen_held
      FROM decided LEFT JOIN workspace_storage st ON st.workspace_id = decided.workspace_id
    ),
    decision AS (
      SELECT seen.*, CASE
        WHEN identity_code IS NOT NULL THEN identity_code
        WHEN quota_id IS NULL THEN 'quota_not_configured'
        WHEN seen_stored + seen_held + ${upload.holdBytes}::bigint > limit_bytes THEN 'quota_exceeded'
      END AS code
      FROM seen
    ),
    took AS (
      INSERT INTO workspace_storage AS s (workspace_id, stored_bytes, held_bytes, updated_at)
      SELECT d.workspace_id, d.seen_stored, ${upload.holdBytes}::bigint, d.now_utc FROM decision d WHERE d.code IS NULL
      ON CONFLICT (workspace_id) DO UPDATE
        SET held_bytes = s.held_bytes + EXCLUDED.held_bytes, updated_at = EXCLUDED.updated_at
        WHERE s.stored_bytes + s.held_bytes + EXCLUDED.held_bytes <= (SELECT limit_bytes FROM decision)
      RETURNING s.stored_bytes, s.held_bytes
    ),
    file_row AS (
      INSERT INTO workspace_files (upload_id, request_id, tenant_id, workspace_id, user_id, status, hold_bytes, route,
                                   instance_id, ip_address, user_agent, created_at)
      SELECT ${upload.uploadId}::uuid, ${upload.requestId}, d.tenant_id, d.workspace_id, d.user_id, 'held', ${upload.holdBytes}::bigint,
             ${upload.route}, ${upload.instanceId}::uuid, ${upload.ipAddress}, ${upload.userAgent}, d.now_utc
      FROM decision d CROSS JOIN took
      RETURNING upload_id
    ),
    outcome AS (
      SELECT d.*, took.stored_bytes AS new_stored, took.held_bytes AS new_held,
             CASE WHEN d.code IS NULL AND took.held_bytes IS NULL THEN 'quota_exceeded' ELSE d.code END AS final_code
      FROM decision d LEFT JOIN took ON true
    ),
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status, error_message)
      SELECT gen_random_uuid(), f.tenant_id, f.workspace_id, f.user_id, 'file_denied', 'file', NULL,
             jsonb_strip_nulls(jsonb_build_object('request_id', ${upload.requestId}::text, 'route', ${upload.route}::text,
                               'code', f.final_code, 'kind', CASE WHEN f.final_code = 'quota_exceeded' THEN 'files' END,
                               'bytes', ${upload.holdBytes}::bigint)),
             ${upload.ipAddress}, ${upload.userAgent}, 'failed', f.final_code
      FROM outcome f
      WHERE f.final_code IS NOT NULL AND f.tenant_id IS NOT NULL
    )
    SELECT f.final_code AS code, f.tenant_id, f.workspace_id, f.user_id, f.files_limit,
           COALESCE(f.new_stored, f.seen_stored)::text AS stored_bytes,
           COALESCE(f.new_held, f.seen_held)::text AS held_bytes
    FROM outcome f`;
}
