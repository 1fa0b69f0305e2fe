-- Sets a workspace's file storage limit (workspace_quotas.files_limit, in MB = MiB). What is stored stays:
-- files_used is the gateway's count of the workspace's stored bytes, rounded up, and is not changed here. The
-- next upload is held against the new limit (a limit below what is stored: every upload refused with 429
-- quota_exceeded, kind files, until files are deleted). A workspace without a quota row gets one.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v files_limit=500 -f sql/ops/set_storage_limit.sql
-- Variables: tenant (id or name), workspace (id or name), files_limit (whole MB).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?files_limit} \else \set fail_message 'set -v files_limit=<whole MB>' \ir lib/fail.sql \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
SELECT :'files_limit' ~ '^\d{1,9}$' AS limit_ok \gset
\if :limit_ok \else \set fail_message 'files_limit must be a whole number of MB' \ir lib/fail.sql \endif

WITH previous AS (
  SELECT files_limit FROM workspace_quotas WHERE workspace_id = :'workspace_id'
), changed AS (
  INSERT INTO workspace_quotas (quota_id, workspace_id, files_limit)
  VALUES (gen_random_uuid(), :'workspace_id', :'files_limit'::int)
  ON CONFLICT (workspace_id) DO UPDATE SET files_limit = EXCLUDED.files_limit, updated_at = timezone('UTC', now())
  RETURNING files_limit
)
INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
SELECT gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'storage_limit_changed', 'workspace', :'workspace_id',
       jsonb_build_object('source', 'sql/ops/set_storage_limit.sql', 'operator', current_user,
                          'files_limit', changed.files_limit, 'previous_files_limit', (SELECT files_limit FROM previous)), 'success'
FROM changed;

COMMIT;

SELECT q.workspace_id, q.files_limit, q.files_used, s.stored_bytes, s.held_bytes
FROM workspace_quotas q LEFT JOIN workspace_storage s USING (workspace_id) WHERE q.workspace_id = :'workspace_id';
