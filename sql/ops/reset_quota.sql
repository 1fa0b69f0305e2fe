-- Resets a workspace's quota now: tokens_used and requests_used go to 0 and the period moves on with
-- geko_next_reset(reset_at, now) (sql/migrations/00002), the same rule as the gateway's lazy monthly
-- reset: the next reset is the first monthly anniversary of reset_at that is after now, and never the
-- one already scheduled (so a reset on the 15th of a period ending on the 1st next resets a month
-- after that 1st). Changing reset_at is also how generations still running at the reset know to charge
-- their whole usage to the new period. A quota without reset_at keeps none.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -f sql/ops/reset_quota.sql
-- Variables: tenant (id or name), workspace (id or name); optional: next_reset (UTC timestamp to use
-- instead of geko_next_reset, e.g. '2026-07-01 00:00').
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?next_reset} \else \set next_reset '' \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql

WITH previous AS (
  SELECT tokens_used, requests_used, reset_at FROM workspace_quotas WHERE workspace_id = :'workspace_id'
), reset AS (
  UPDATE workspace_quotas q
  SET tokens_used = 0, requests_used = 0,
      reset_at = COALESCE(NULLIF(:'next_reset', '')::timestamp, geko_next_reset(q.reset_at, timezone('UTC', now()))),
      updated_at = timezone('UTC', now())
  WHERE q.workspace_id = :'workspace_id'
  RETURNING q.reset_at
), audit AS (
  INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
  SELECT gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'quota_reset', 'workspace', :'workspace_id',
         jsonb_build_object('source', 'sql/ops/reset_quota.sql', 'operator', current_user,
                            'previous_tokens_used', p.tokens_used, 'previous_requests_used', p.requests_used,
                            'previous_reset_at', p.reset_at, 'reset_at', r.reset_at), 'success'
  FROM reset r CROSS JOIN previous p
)
SELECT count(*) = 0 AS no_quota FROM reset \gset
\if :no_quota \set fail_message 'workspace "' :workspace_name '" has no quota row (create one with change_limits.sql)' \ir lib/fail.sql \endif

COMMIT;

SELECT workspace_id, tokens_limit, tokens_used, requests_limit, requests_used, reset_at
FROM workspace_quotas WHERE workspace_id = :'workspace_id';
