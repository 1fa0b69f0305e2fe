-- Creates a tenant and its first user, the tenant owner (users.role = 'owner'), who can then sign in to
-- the usage dashboard (/_gateway/dashboard). Refuses a name another live tenant already has (any case).
--   psql "$DATABASE_URL" -v tenant_name='Acme Corp' -v owner_email=alice@acme.com \
--        -v owner_password_hash="$(npm run -s hash-password)" -f sql/ops/create_tenant.sql
-- Variables: tenant_name, owner_email, owner_password_hash (`scrypt:<salt hex>:<key hex>` from
-- `npm run hash-password`); optional: owner_name, plan (default free), domains (comma-separated hosts
-- the tenant is reached on, stored in tenants.metadata.domains for tenant resolution by email).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?tenant_name} \else \set fail_message 'set -v tenant_name=<name>' \ir lib/fail.sql \endif
\if :{?owner_email} \else \set fail_message 'set -v owner_email=<address>' \ir lib/fail.sql \endif
\if :{?owner_password_hash} \else \set fail_message 'set -v owner_password_hash=<output of npm run hash-password>' \ir lib/fail.sql \endif
\if :{?owner_name} \else \set owner_name '' \endif
\if :{?plan} \else \set plan free \endif
\if :{?domains} \else \set domains '' \endif

BEGIN;

SELECT :'owner_password_hash' ~ '^scrypt:([0-9a-f]{2}){8,64}:([0-9a-f]{2}){16,128}$' AS hash_ok,
       :'owner_email' ~ '^[^@\s]+@[^@\s]+$' AS email_ok,
       length(trim(:'tenant_name')) > 0 AS name_ok,
       EXISTS (SELECT 1 FROM tenants WHERE lower(name) = lower(trim(:'tenant_name'))
                 AND deleted_at IS NULL AND status IS DISTINCT FROM 'deleted') AS name_taken \gset
\if :hash_ok \else \set fail_message 'owner_password_hash is not scrypt:<salt hex>:<key hex> (use npm run hash-password)' \ir lib/fail.sql \endif
\if :email_ok \else \set fail_message 'owner_email is not an email address' \ir lib/fail.sql \endif
\if :name_ok \else \set fail_message 'tenant_name is empty' \ir lib/fail.sql \endif
\if :name_taken \set fail_message 'a tenant named "' :tenant_name '" exists already' \ir lib/fail.sql \endif

WITH tenant AS (
  INSERT INTO tenants (tenant_id, name, plan, status, metadata)
  VALUES (gen_random_uuid(), trim(:'tenant_name'), :'plan', 'active',
          jsonb_build_object('domains', COALESCE((SELECT jsonb_agg(lower(trim(d))) FROM unnest(string_to_array(:'domains', ',')) AS d
                                                  WHERE trim(d) <> ''), '[]'::jsonb)))
  RETURNING tenant_id
), owner AS (
  INSERT INTO users (user_id, tenant_id, email, password_hash, name, role, status)
  SELECT gen_random_uuid(), tenant.tenant_id, lower(trim(:'owner_email')), :'owner_password_hash',
         NULLIF(trim(:'owner_name'), ''), 'owner', 'active'
  FROM tenant
  RETURNING user_id, tenant_id
), audit AS (
  INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, status)
  SELECT gen_random_uuid(), owner.tenant_id, NULL, 'tenant_created', 'user', owner.user_id::text,
         jsonb_build_object('source', 'sql/ops/create_tenant.sql', 'operator', current_user, 'tenant_name', trim(:'tenant_name'),
                            'owner_email', lower(trim(:'owner_email')), 'plan', :'plan'), 'success'
  FROM owner
)
SELECT owner.tenant_id, owner.user_id AS owner_user_id FROM owner \gset

COMMIT;

SELECT t.tenant_id, t.name, t.plan, t.status, t.metadata, u.user_id AS owner_user_id, u.email AS owner_email
FROM tenants t JOIN users u ON u.tenant_id = t.tenant_id
WHERE t.tenant_id = :'tenant_id';
