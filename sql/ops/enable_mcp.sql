-- Enables an MCP server or built-in tool for a workspace: appends it to workspace_config.enabled_mcps (nothing
-- changes when it is there already; a workspace without a config row gets one). Names are LibreChat's: an MCP
-- server as named in librechat.yaml `mcpServers`, or a built-in tool (`web_search`, `execute_code`,
-- `file_search`). A trailing * enables by prefix (`github-*`), `*` alone everything. The gateway admits chats
-- that ask for it from the next request.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v mcp=github -f sql/ops/enable_mcp.sql
-- Variables: tenant (id or name), workspace (id or name), mcp.
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?mcp} \else \set fail_message 'set -v mcp=<MCP server or built-in tool name, or prefix ending in *>' \ir lib/fail.sql \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
SELECT length(trim(:'mcp')) > 0 AS mcp_ok \gset
\if :mcp_ok \else \set fail_message 'mcp is empty' \ir lib/fail.sql \endif

-- A column that is not a JSON array enables nothing (the gateway reads arrays only): it starts over as one.
INSERT INTO workspace_config (config_id, workspace_id, enabled_mcps)
VALUES (gen_random_uuid(), :'workspace_id', jsonb_build_array(trim(:'mcp')))
ON CONFLICT (workspace_id) DO UPDATE
  SET enabled_mcps = CASE WHEN jsonb_typeof(workspace_config.enabled_mcps) IS DISTINCT FROM 'array'
                            THEN jsonb_build_array(trim(:'mcp'))
                          WHEN workspace_config.enabled_mcps ? trim(:'mcp') THEN workspace_config.enabled_mcps
                          ELSE workspace_config.enabled_mcps || jsonb_build_array(trim(:'mcp')) END,
      updated_at = timezone('UTC', now());

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'mcp_enabled', 'workspace', :'workspace_id',
        jsonb_build_object('source', 'sql/ops/enable_mcp.sql', 'operator', current_user, 'mcp', trim(:'mcp')), 'success');

COMMIT;

SELECT workspace_id, enabled_mcps FROM workspace_config WHERE workspace_id = :'workspace_id';
