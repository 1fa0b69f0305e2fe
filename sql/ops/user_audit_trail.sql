-- The audit trail of one user, newest first: what the user did (chat_sent, chat_denied, chat_completed,
-- user_login, ...; audit_logs.user_id) and what operators and the dashboard did to the user (rows whose
-- resource is that user: user_added, member_added, member_removed, tenant_created).
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v email=bob@acme.com -f sql/ops/user_audit_trail.sql
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v email=bob@acme.com -v since=2026-06-01 -v max_rows=1000 \
--        --csv -f sql/ops/user_audit_trail.sql > bob.csv
-- Variables: tenant (id or name), email; optional: since (UTC timestamp; default 30 days ago), max_rows
-- (default 200).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?since} \else \set since '' \endif
\if :{?max_rows} \else \set max_rows 200 \endif

\ir lib/tenant.sql
\ir lib/user.sql
\if :user_found \else \set fail_message 'no user ' :email ' in tenant "' :tenant_name '"' \ir lib/fail.sql \endif
SELECT :'max_rows' ~ '^\d{1,7}$' AS max_rows_ok \gset
\if :max_rows_ok \else \set fail_message 'max_rows must be a whole number' \ir lib/fail.sql \endif

-- tenant_id and created_at first: idx_audit_logs_tenant_created narrows the scan to the tenant and period.
SELECT a.created_at, a.action, a.status, a.error_message, w.name AS workspace, a.details->>'model' AS model,
       a.details->>'request_id' AS request_id, a.ip_address, a.user_agent,
       CASE WHEN a.user_id IS NULL THEN COALESCE(a.details->>'source', 'operator') ELSE 'user' END AS actor,
       a.details
FROM audit_logs a
LEFT JOIN workspaces w ON w.workspace_id = a.workspace_id
WHERE a.tenant_id = :'tenant_id'
  AND a.created_at >= COALESCE(NULLIF(:'since', '')::timestamp, timezone('UTC', now()) - interval '30 days')
  AND (a.user_id = :'user_id' OR (a.resource = 'user' AND a.resource_id = :'user_id'))
ORDER BY a.created_at DESC, a.log_id
LIMIT :'max_rows'::int;
