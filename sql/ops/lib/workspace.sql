-- Resolves -v workspace=<workspace id or name> inside :tenant_id (lib/tenant.sql first) to
-- :workspace_id and :workspace_name, among workspaces not deleted. Workspace names are unique per tenant.
\if :{?workspace} \else \set fail_message 'set the workspace: psql -v workspace=<workspace id or name>' \ir fail.sql \endif
SELECT count(*) = 1 AS workspace_found, min(workspace_id::text) AS workspace_id, min(name) AS workspace_name
FROM workspaces
WHERE tenant_id = :'tenant_id' AND deleted_at IS NULL AND status IS DISTINCT FROM 'deleted'
  AND (workspace_id::text = lower(:'workspace') OR name = :'workspace') \gset
\if :workspace_found \else
  \set fail_message 'no workspace "' :workspace '" in tenant "' :tenant_name '"' \ir fail.sql
\endif
