-- Changes a workspace's limits (workspace_quotas.tokens_limit / requests_limit); what was used so far and
-- the reset date stay. The next admission is checked against the new limits (lower than what is used
-- already: 429 quota_exceeded until the reset). A workspace without a quota row gets one.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v tokens_limit=2000000 -v requests_limit=5000 \
--        -f sql/ops/change_limits.sql
-- Variables: tenant (id or name), workspace (id or name), and at least one of tokens_limit, requests_limit
-- (whole numbers; one left out keeps its value).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?tokens_limit} \else \set tokens_limit '' \endif
\if :{?requests_limit} \else \set requests_limit '' \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
SELECT (:'tokens_limit' = '' OR :'tokens_limit' ~ '^\d{1,9}$') AND (:'requests_limit' = '' OR :'requests_limit' ~ '^\d{1,9}$') AS limits_ok,
       :'tokens_limit' = '' AND :'requests_limit' = '' AS nothing_given \gset
\if :nothing_given \set fail_message 'set -v tokens_limit=<n> and/or -v requests_limit=<n>' \ir lib/fail.sql \endif
\if :limits_ok \else \set fail_message 'tokens_limit and requests_limit must be whole numbers' \ir lib/fail.sql \endif

WITH previous AS (
  SELECT tokens_limit, requests_limit FROM workspace_quotas WHERE workspace_id = :'workspace_id'
), changed AS (
  INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit)
  VALUES (gen_random_uuid(), :'workspace_id', COALESCE(NULLIF(:'tokens_limit', '')::int, 100000),
          COALESCE(NULLIF(:'requests_limit', '')::int, 1000))
  ON CONFLICT (workspace_id) DO UPDATE
    SET tokens_limit = COALESCE(NULLIF(:'tokens_limit', '')::int, workspace_quotas.tokens_limit),
        requests_limit = COALESCE(NULLIF(:'requests_limit', '')::int, workspace_quotas.requests_limit),
        updated_at = timezone('UTC', now())
  RETURNING tokens_limit, requests_limit
)
INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
SELECT gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'limits_changed', 'workspace', :'workspace_id',
       jsonb_build_object('source', 'sql/ops/change_limits.sql', 'operator', current_user,
                          'tokens_limit', changed.tokens_limit, 'requests_limit', changed.requests_limit,
                          'previous_tokens_limit', (SELECT tokens_limit FROM previous),
                          'previous_requests_limit', (SELECT requests_limit FROM previous)), 'success'
FROM changed;

COMMIT;

SELECT workspace_id, tokens_limit, tokens_used, requests_limit, requests_used, reset_at
FROM workspace_quotas WHERE workspace_id = :'workspace_id';
