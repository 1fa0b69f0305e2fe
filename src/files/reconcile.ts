// Reconciliation: LibreChat creates and removes files on its own (tool and code outputs; the `expiresAt` TTL
// of temporary files, retention sweeps), which the upload and delete routes never see. Its own list of a
// user's files (`GET /api/files`: the caller's File records with `bytes`, api/server/routes/files/files.js) is
// the truth for that user, so when a client asks for it through the gateway the answer corrects the count,
// in ONE statement, before the client gets it:
//   - a file the gateway counts as stored for this user (in this tenant), stored before the list was asked
//     for, that LibreChat no longer lists: deleted, its bytes given back (`file_deleted`, source reconciliation);
//   - a file LibreChat lists that the gateway has never seen: stored, counted in the workspace the request
//     resolves to (`file_uploaded`, source reconciliation).
// Bounded: an answer of at most LIST_ANSWER_LIMIT bytes and MAX_LISTED_FILES files (past either, nothing is
// reconciled, since a partial list would look like deletions), once per user per RECONCILE_EVERY_MS in a process.
import type { PendingQuery } from 'postgres';
import { identityCtes, type IdentityInput } from '../admission/identity-ctes.ts';
import type { Sql } from '../db/sql.ts';
import { MIB } from './hold.ts';
import { filesUsedFollows } from './settle.ts';

export const LIST_ANSWER_LIMIT = 8 * 1024 * 1024;
export const MAX_LISTED_FILES = 5_000;
export const RECONCILE_EVERY_MS = 60_000;
/**
 * Only files stored at least this long before the list was asked for can be found missing from it: one stored
 * while LibreChat was answering is not in the list yet, and the gateway's and the database's clocks may differ.
 */
export const SETTLED_MARGIN_MS = 60_000;

export interface ListedFiles {
  fileIds: string[];
  bytes: number[];
}

/** LibreChat's list, or undefined when it is not one the gateway can trust to be whole. */
export function readFileList(raw: Buffer | undefined): ListedFiles | undefined {
  if (!raw) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || value.length > MAX_LISTED_FILES) return undefined;
  const listed: ListedFiles = { fileIds: [], bytes: [] };
  const seen = new Set<string>();
  for (const file of value) {
    if (typeof file !== 'object' || file === null) return undefined;
    const { file_id: fileId, bytes } = file as { file_id?: unknown; bytes?: unknown };
    if (typeof fileId !== 'string' || fileId.length === 0 || fileId.length > 255 || fileId.includes('\u0000')) return undefined;
    if (seen.has(fileId)) continue;
    seen.add(fileId);
    listed.fileIds.push(fileId);
    listed.bytes.push(typeof bytes === 'number' && Number.isSafeInteger(bytes) && bytes >= 0 ? bytes : 0);
  }
  return listed;
}

export function reconcileFilesStatement(
  sql: Sql,
  input: { who: IdentityInput; requestId: string; listed: ListedFiles; askedAt: Date; ipAddress: string | null; userAgent: string | null },
): PendingQuery<{ removed: number; added: number }[]> {
  const { listed } = input;
  return sql<{ removed: number; added: number }[]>`
    WITH ${identityCtes(sql, input.who, true)},
    listed AS (SELECT l.file_id, l.bytes FROM unnest(${listed.fileIds}::text[], ${listed.bytes}::bigint[]) AS l(file_id, bytes)),
    gone AS (
      UPDATE workspace_files f SET status = 'deleted', closed_at = timezone('UTC', now())
      FROM decided d
      WHERE d.tenant_id IS NOT NULL AND d.user_id IS NOT NULL AND f.tenant_id = d.tenant_id AND f.user_id = d.user_id
        AND f.status = 'stored' AND f.stored_at < (${new Date(input.askedAt.getTime() - SETTLED_MARGIN_MS).toISOString()}::timestamptz AT TIME ZONE 'UTC')
        AND (f.file_id IS NULL OR NOT EXISTS (SELECT 1 FROM listed WHERE listed.file_id = f.file_id))
      RETURNING f.file_id, f.bytes, f.tenant_id, f.workspace_id
    ),
    added AS (
      INSERT INTO workspace_files (upload_id, file_id, request_id, tenant_id, workspace_id, user_id, status, hold_bytes, bytes,
                                   route, created_at, stored_at)
      SELECT gen_random_uuid(), l.file_id, ${input.requestId}, d.tenant_id, d.workspace_id, d.user_id, 'stored', 0, l.bytes,
             'reconciliation', d.now_utc, d.now_utc
      FROM listed l CROSS JOIN decided d
      WHERE d.identity_code IS NULL AND NOT EXISTS (SELECT 1 FROM workspace_files o WHERE o.file_id = l.file_id)
      ON CONFLICT (file_id) DO NOTHING
      RETURNING file_id, bytes, tenant_id, workspace_id
    ),
    delta AS (
      SELECT workspace_id, sum(change)::bigint AS bytes
      FROM (SELECT workspace_id, -bytes AS change FROM gone UNION ALL SELECT workspace_id, bytes FROM added) AS changes
      GROUP BY workspace_id
    ),
    existing AS (
      UPDATE workspace_storage st SET stored_bytes = GREATEST(0, st.stored_bytes + delta.bytes), updated_at = timezone('UTC', now())
      FROM delta WHERE st.workspace_id = delta.workspace_id
      RETURNING st.workspace_id, st.stored_bytes
    ),
    fresh AS (
      INSERT INTO workspace_storage (workspace_id, stored_bytes, held_bytes)
      SELECT delta.workspace_id, GREATEST(0, GREATEST(0, COALESCE(q.files_used, 0))::bigint * ${MIB}::bigint + delta.bytes), 0
      FROM delta LEFT JOIN workspace_quotas q ON q.workspace_id = delta.workspace_id
      WHERE NOT EXISTS (SELECT 1 FROM workspace_storage st WHERE st.workspace_id = delta.workspace_id)
      ON CONFLICT (workspace_id) DO NOTHING
      RETURNING workspace_id, stored_bytes
    ),
    storage AS (SELECT workspace_id, stored_bytes FROM existing UNION ALL SELECT workspace_id, stored_bytes FROM fresh),
    ${filesUsedFollows(sql)},
    audit AS (
      INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details,
                              ip_address, user_agent, status)
      SELECT gen_random_uuid(), c.tenant_id, c.workspace_id, d.user_id, c.action, 'file', c.file_id,
             jsonb_build_object('request_id', ${input.requestId}::text, 'file_id', c.file_id, 'bytes', c.bytes, 'source', 'reconciliation'),
             ${input.ipAddress}, ${input.userAgent}, 'success'
      FROM (SELECT 'file_deleted' AS action, * FROM gone UNION ALL SELECT 'file_uploaded' AS action, * FROM added) AS c CROSS JOIN decided d
    )
    SELECT (SELECT count(*)::int FROM gone) AS removed, (SELECT count(*)::int FROM added) AS added`;
}
