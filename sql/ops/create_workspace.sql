-- Creates a workspace in a tenant with its config (enabled models) and quota, and makes its creator a
-- member with role owner. The gateway admits chats in it from the next request.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace_name=Sales \
--        -v models='["gpt-4o","claude-*"]' -v tokens_limit=1000000 -v requests_limit=5000 \
--        -f sql/ops/create_workspace.sql
-- Variables: tenant (id or name), workspace_name; optional: models (JSON array of model names, a
-- trailing * is a prefix; default []), tokens_limit (default 100000), requests_limit (default 1000),
-- reset_at (UTC timestamp of the first monthly reset; default the 1st of next month 00:00 UTC; `none`
-- for a quota that never resets), custom_settings (JSON object, e.g. '{"maxTokens":2000}'; default {}),
-- description, created_by (email of a tenant user; default the tenant's first owner).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?workspace_name} \else \set fail_message 'set -v workspace_name=<name>' \ir lib/fail.sql \endif
\if :{?models} \else \set models '[]' \endif
\if :{?tokens_limit} \else \set tokens_limit 100000 \endif
\if :{?requests_limit} \else \set requests_limit 1000 \endif
\if :{?reset_at} \else \set reset_at '' \endif
\if :{?custom_settings} \else \set custom_settings '{}' \endif
\if :{?description} \else \set description '' \endif
\if :{?created_by} \else \set created_by '' \endif

BEGIN;
\ir lib/tenant.sql

SELECT COALESCE(jsonb_typeof(:'models'::jsonb) = 'array'
                AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(:'models'::jsonb) AS m WHERE jsonb_typeof(m) <> 'string'), false) AS models_ok,
       jsonb_typeof(:'custom_settings'::jsonb) = 'object' AS settings_ok,
       :'tokens_limit' ~ '^\d{1,9}$' AND :'requests_limit' ~ '^\d{1,9}$' AS limits_ok,
       length(trim(:'workspace_name')) > 0 AS name_ok,
       EXISTS (SELECT 1 FROM workspaces WHERE tenant_id = :'tenant_id' AND name = trim(:'workspace_name')) AS name_taken,
       COALESCE((SELECT user_id::text FROM users
                  WHERE tenant_id = :'tenant_id' AND deleted_at IS NULL
                    AND CASE WHEN :'created_by' = '' THEN role = 'owner' ELSE lower(email) = lower(:'created_by') END
                  ORDER BY created_at, user_id LIMIT 1), '') AS creator_id \gset
\if :models_ok \else \set fail_message 'models must be a JSON array of strings, e.g. ["gpt-4o","claude-*"]' \ir lib/fail.sql \endif
\if :settings_ok \else \set fail_message 'custom_settings must be a JSON object' \ir lib/fail.sql \endif
\if :limits_ok \else \set fail_message 'tokens_limit and requests_limit must be whole numbers' \ir lib/fail.sql \endif
\if :name_ok \else \set fail_message 'workspace_name is empty' \ir lib/fail.sql \endif
\if :name_taken \set fail_message 'tenant "' :tenant_name '" already has a workspace named "' :workspace_name '"' \ir lib/fail.sql \endif
SELECT :'creator_id' = '' AS no_creator \gset
\if :no_creator \set fail_message 'no creator: the tenant has no owner, or created_by names no user of the tenant' \ir lib/fail.sql \endif

WITH workspace AS (
  INSERT INTO workspaces (workspace_id, tenant_id, name, description, created_by, status)
  VALUES (gen_random_uuid(), :'tenant_id', trim(:'workspace_name'), NULLIF(:'description', ''), :'creator_id', 'active')
  RETURNING workspace_id
), config AS (
  INSERT INTO workspace_config (config_id, workspace_id, enabled_models, custom_settings)
  SELECT gen_random_uuid(), workspace_id, :'models'::jsonb, :'custom_settings'::jsonb FROM workspace
), quota AS (
  INSERT INTO workspace_quotas (quota_id, workspace_id, tokens_limit, requests_limit, reset_at)
  SELECT gen_random_uuid(), workspace_id, :'tokens_limit'::int, :'requests_limit'::int,
         CASE WHEN :'reset_at' = 'none' THEN NULL
              WHEN :'reset_at' = '' THEN date_trunc('month', timezone('UTC', now())) + interval '1 month'
              ELSE (:'reset_at'::text)::timestamp END
  FROM workspace
), member AS (
  INSERT INTO workspace_members (workspace_id, user_id, role) SELECT workspace_id, :'creator_id', 'owner' FROM workspace
), audit AS (
  INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
  SELECT gen_random_uuid(), :'tenant_id', workspace_id, NULL, 'workspace_created', 'workspace', workspace_id::text,
         jsonb_build_object('source', 'sql/ops/create_workspace.sql', 'operator', current_user, 'name', trim(:'workspace_name'),
                            'models', :'models'::jsonb, 'tokens_limit', :'tokens_limit'::int, 'requests_limit', :'requests_limit'::int),
         'success'
  FROM workspace
)
SELECT workspace_id FROM workspace \gset

COMMIT;

SELECT w.workspace_id, w.name, c.enabled_models, q.tokens_limit, q.requests_limit, q.reset_at
FROM workspaces w JOIN workspace_config c USING (workspace_id) JOIN workspace_quotas q USING (workspace_id)
WHERE w.workspace_id = :'workspace_id';
