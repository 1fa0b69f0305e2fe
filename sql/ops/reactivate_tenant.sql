-- Reactivates a suspended tenant (tenants.status = 'active'); its users are admitted again from the next
-- request.
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -f sql/ops/reactivate_tenant.sql
-- Variables: tenant (id or name).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';

BEGIN;
\ir lib/tenant.sql

UPDATE tenants SET status = 'active', updated_at = timezone('UTC', now()) WHERE tenant_id = :'tenant_id';
INSERT INTO audit_logs (log_id, tenant_id, user_id, action, resource, resource_id, details, status)
VALUES (gen_random_uuid(), :'tenant_id', NULL, 'tenant_reactivated', 'tenant', :'tenant_id',
        jsonb_build_object('source', 'sql/ops/reactivate_tenant.sql', 'operator', current_user), 'success');

COMMIT;

SELECT tenant_id, name, status, updated_at FROM tenants WHERE tenant_id = :'tenant_id';
