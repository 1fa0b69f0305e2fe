-- Enables a model for a workspace: appends it to workspace_config.enabled_models (nothing changes when it
-- is there already; a workspace without a config row gets one). A trailing * enables a family by prefix
-- (`claude-*`). The gateway admits the model from the next request.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v model=gpt-4o -f sql/ops/enable_model.sql
-- Variables: tenant (id or name), workspace (id or name), model.
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?model} \else \set fail_message 'set -v model=<model name, or prefix ending in *>' \ir lib/fail.sql \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
SELECT length(trim(:'model')) > 0 AS model_ok \gset
\if :model_ok \else \set fail_message 'model is empty' \ir lib/fail.sql \endif

INSERT INTO workspace_config (config_id, workspace_id, enabled_models)
VALUES (gen_random_uuid(), :'workspace_id', jsonb_build_array(trim(:'model')))
ON CONFLICT (workspace_id) DO UPDATE
  SET enabled_models = CASE WHEN COALESCE(workspace_config.enabled_models, '[]') ? trim(:'model')
                            THEN workspace_config.enabled_models
                            ELSE COALESCE(workspace_config.enabled_models, '[]') || jsonb_build_array(trim(:'model')) END,
      updated_at = timezone('UTC', now());

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'model_enabled', 'workspace', :'workspace_id',
        jsonb_build_object('source', 'sql/ops/enable_model.sql', 'operator', current_user, 'model', trim(:'model')), 'success');

COMMIT;

SELECT workspace_id, enabled_models FROM workspace_config WHERE workspace_id = :'workspace_id';
