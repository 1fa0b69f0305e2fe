-- Resolves -v tenant=<tenant id or name> (a name matches case-insensitively) to :tenant_id and
-- :tenant_name, among tenants not deleted. Fails unless exactly one tenant matches: when two tenants
-- share a name, pass the id.
\if :{?tenant} \else \set fail_message 'set the tenant: psql -v tenant=<tenant id or name>' \ir fail.sql \endif
SELECT count(*) AS tenant_matches, min(tenant_id::text) AS tenant_id, min(name) AS tenant_name
FROM tenants
WHERE deleted_at IS NULL AND status IS DISTINCT FROM 'deleted'
  AND (tenant_id::text = lower(:'tenant') OR lower(name) = lower(:'tenant')) \gset
SELECT :tenant_matches = 1 AS tenant_found, :tenant_matches > 1 AS tenant_ambiguous \gset
\if :tenant_ambiguous
  \set fail_message 'several tenants are named "' :tenant '": pass -v tenant=<tenant id>' \ir fail.sql
\elif :tenant_found
\else
  \set fail_message 'no tenant "' :tenant '" (id or name; deleted tenants are not matched)' \ir fail.sql
\endif
