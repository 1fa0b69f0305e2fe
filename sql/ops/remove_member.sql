-- Removes a user from a workspace (the user stays in the tenant and in other workspaces). The gateway
-- answers 403 not_a_member from the next request; generations already running finish and are metered.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v email=bob@acme.com -f sql/ops/remove_member.sql
-- Variables: tenant (id or name), workspace (id or name), email.
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
\ir lib/user.sql
\if :user_found \else \set fail_message 'no user ' :email ' in tenant "' :tenant_name '"' \ir lib/fail.sql \endif

WITH removed AS (
  DELETE FROM workspace_members WHERE workspace_id = :'workspace_id' AND user_id = :'user_id' RETURNING role
)
SELECT count(*) = 0 AS not_a_member, COALESCE(min(role), '') AS removed_role FROM removed \gset
\if :not_a_member \set fail_message :email ' is not a member of workspace "' :workspace_name '"' \ir lib/fail.sql \endif

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'member_removed', 'user', :'user_id',
        jsonb_build_object('source', 'sql/ops/remove_member.sql', 'operator', current_user, 'email', lower(:'email'),
                           'role', :'removed_role'), 'success');

COMMIT;

\echo removed :email (role :removed_role) from workspace :workspace_name
