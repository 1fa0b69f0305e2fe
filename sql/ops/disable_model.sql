-- Disables a model for a workspace: removes that exact entry from workspace_config.enabled_models. The
-- gateway answers 403 model_not_enabled from the next request. Refused (nothing changes) when the entry
-- is not there, or when a prefix entry (`claude-*`) would still enable the model: disable the prefix.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v model=gpt-4o -f sql/ops/disable_model.sql
-- Variables: tenant (id or name), workspace (id or name), model (exactly as enabled; `claude-*` for a prefix).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?model} \else \set fail_message 'set -v model=<model name, or prefix ending in *>' \ir lib/fail.sql \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql

-- FOR UPDATE: the checks below and the update see the same list even if two operators run at once.
SELECT COALESCE(bool_or(c.enabled_models ? :'model'), false) AS model_listed,
       COALESCE(string_agg(e, ', ') FILTER (WHERE e <> :'model' AND right(e, 1) = '*' AND starts_with(:'model', left(e, -1))), '')
         AS covering_prefixes
FROM (SELECT enabled_models FROM workspace_config WHERE workspace_id = :'workspace_id' FOR UPDATE) AS c
LEFT JOIN LATERAL jsonb_array_elements_text(c.enabled_models) AS e ON true \gset
SELECT :'covering_prefixes' <> '' AS still_covered \gset
\if :still_covered \set fail_message 'model "' :model '" would stay enabled through ' :covering_prefixes ': disable that entry instead' \ir lib/fail.sql \endif
\if :model_listed \else \set fail_message 'model "' :model '" is not in the enabled_models of workspace "' :workspace_name '"' \ir lib/fail.sql \endif

UPDATE workspace_config SET enabled_models = enabled_models - :'model', updated_at = timezone('UTC', now())
WHERE workspace_id = :'workspace_id';

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'model_disabled', 'workspace', :'workspace_id',
        jsonb_build_object('source', 'sql/ops/disable_model.sql', 'operator', current_user, 'model', :'model'), 'success');

COMMIT;

SELECT workspace_id, enabled_models FROM workspace_config WHERE workspace_id = :'workspace_id';
