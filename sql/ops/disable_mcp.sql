-- Disables an MCP server or built-in tool for a workspace: removes that exact entry from
-- workspace_config.enabled_mcps. The gateway answers a chat that asks for it 403 mcp_not_enabled from the next
-- request. Refused (nothing changes) when the entry is not there, or when a prefix entry (`github-*`, `*`)
-- would still enable the name: disable the prefix.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v mcp=github -f sql/ops/disable_mcp.sql
-- Variables: tenant (id or name), workspace (id or name), mcp (exactly as enabled; `github-*` for a prefix).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?mcp} \else \set fail_message 'set -v mcp=<MCP server or built-in tool name, or prefix ending in *>' \ir lib/fail.sql \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql

-- FOR UPDATE: the checks below and the update see the same list even if two operators run at once.
SELECT COALESCE(bool_or(jsonb_typeof(c.enabled_mcps) = 'array' AND c.enabled_mcps ? :'mcp'), false) AS mcp_listed,
       COALESCE(string_agg(e, ', ') FILTER (WHERE e <> :'mcp' AND right(e, 1) = '*' AND starts_with(:'mcp', left(e, -1))), '')
         AS covering_prefixes
FROM (SELECT enabled_mcps FROM workspace_config WHERE workspace_id = :'workspace_id' FOR UPDATE) AS c
LEFT JOIN LATERAL jsonb_array_elements_text(CASE WHEN jsonb_typeof(c.enabled_mcps) = 'array' THEN c.enabled_mcps ELSE '[]' END) AS e ON true \gset
SELECT :'covering_prefixes' <> '' AS still_covered \gset
\if :still_covered \set fail_message '"' :mcp '" would stay enabled through ' :covering_prefixes ': disable that entry instead' \ir lib/fail.sql \endif
\if :mcp_listed \else \set fail_message '"' :mcp '" is not in the enabled_mcps of workspace "' :workspace_name '"' \ir lib/fail.sql \endif

UPDATE workspace_config SET enabled_mcps = enabled_mcps - :'mcp', updated_at = timezone('UTC', now())
WHERE workspace_id = :'workspace_id';

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'mcp_disabled', 'workspace', :'workspace_id',
        jsonb_build_object('source', 'sql/ops/disable_mcp.sql', 'operator', current_user, 'mcp', :'mcp'), 'success');

COMMIT;

SELECT workspace_id, enabled_mcps FROM workspace_config WHERE workspace_id = :'workspace_id';
