-- Suspends a tenant (tenants.status = 'suspended'): from the next request its users get 403
-- tenant_inactive on every metered route and its owners and admins can no longer use the dashboard.
-- Generations already running finish and are metered. Undo with reactivate_tenant.sql.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v reason='unpaid invoice' -f sql/ops/suspend_tenant.sql
-- Variables: tenant (id or name); optional: reason (kept in the audit row).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?reason} \else \set reason '' \endif

BEGIN;
\ir lib/tenant.sql

UPDATE tenants SET status = 'suspended', updated_at = timezone('UTC', now()) WHERE tenant_id = :'tenant_id';
INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', NULL, 'tenant_suspended', 'tenant', :'tenant_id',
        jsonb_strip_nulls(jsonb_build_object('source', 'sql/ops/suspend_tenant.sql', 'operator', current_user,
                                             'reason', NULLIF(:'reason', ''))), 'success');

COMMIT;

SELECT tenant_id, name, status, updated_at FROM tenants WHERE tenant_id = :'tenant_id';
