-- Adds a user to a workspace with a role, or changes the role of a member already there. A user not yet
-- in the tenant is created first (tenant role `user_role`, default member; with a password only if
-- password_hash is given, which the dashboard sign-in needs for owners and admins).
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v workspace=Sales -v email=bob@acme.com -v role=member \
--        -f sql/ops/add_member.sql
-- Variables: tenant (id or name), workspace (id or name), email; optional: role (owner, admin, member,
-- viewer; default member; viewers may not chat), name, user_role (owner, admin, member; only for a new
-- user), password_hash (`npm run hash-password`; only for a new user).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?role} \else \set role member \endif
\if :{?user_role} \else \set user_role member \endif
\if :{?name} \else \set name '' \endif
\if :{?password_hash} \else \set password_hash '' \endif

BEGIN;
\ir lib/tenant.sql
\ir lib/workspace.sql
\ir lib/user.sql

SELECT :'role' IN ('owner', 'admin', 'member', 'viewer') AS role_ok,
       :'user_role' IN ('owner', 'admin', 'member') AS user_role_ok,
       :'password_hash' = '' OR :'password_hash' ~ '^scrypt:([0-9a-f]{2}){8,64}:([0-9a-f]{2}){16,128}$' AS hash_ok,
       :'email' ~ '^[^@\s]+@[^@\s]+$' AS email_ok \gset
\if :role_ok \else \set fail_message 'role must be owner, admin, member or viewer' \ir lib/fail.sql \endif
\if :user_role_ok \else \set fail_message 'user_role must be owner, admin or member' \ir lib/fail.sql \endif
\if :hash_ok \else \set fail_message 'password_hash is not scrypt:<salt hex>:<key hex> (use npm run hash-password)' \ir lib/fail.sql \endif
\if :email_ok \else \set fail_message 'email is not an email address' \ir lib/fail.sql \endif

\if :user_found
\else
  INSERT INTO users (user_id, tenant_id, email, password_hash, name, role, status)
  VALUES (gen_random_uuid(), :'tenant_id', lower(trim(:'email')), NULLIF(:'password_hash', ''), NULLIF(trim(:'name'), ''),
          :'user_role', 'active')
  RETURNING user_id \gset
  -- clock_timestamp(): this row and the member_added row below share a transaction, yet keep their order.
  INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, status, created_at)
  VALUES (gen_random_uuid(), :'tenant_id', NULL, 'user_added', 'user', :'user_id',
          jsonb_build_object('source', 'sql/ops/add_member.sql', 'operator', current_user, 'email', lower(trim(:'email')),
                             'role', :'user_role'), 'success', clock_timestamp());
\endif

INSERT INTO workspace_members (workspace_id, user_id, role) VALUES (:'workspace_id', :'user_id', :'role')
ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role;

INSERT INTO audit_logs (log_id, tenant_id, workspace_id, user_id, action, resource, resource_id, details, status, created_at)
VALUES (gen_random_uuid(), :'tenant_id', :'workspace_id', NULL, 'member_added', 'user', :'user_id',
        jsonb_build_object('source', 'sql/ops/add_member.sql', 'operator', current_user, 'email', lower(trim(:'email')),
                           'role', :'role'), 'success', clock_timestamp());

COMMIT;

SELECT m.workspace_id, w.name AS workspace, u.user_id, u.email, m.role, u.role AS tenant_role
FROM workspace_members m JOIN workspaces w USING (workspace_id) JOIN users u USING (user_id)
WHERE m.workspace_id = :'workspace_id' AND m.user_id = :'user_id';
