-- Usage per workspace and model for a period, from chat_usage (one row per admitted generation; see the
-- README "Where the numbers come from"): generations, prompt/completion/total tokens as settled, and how
-- many are still open (reserved: their tokens are not known yet). Times are UTC; the period is
-- [period_start, period_end).
--   psql "$DATABASE_URL" -v tenant='Acme Corp' -v period_start=2026-06-01 -v period_end=2026-07-01 \
--        -f sql/ops/usage_by_workspace_model.sql
--   psql "$DATABASE_URL" -v tenant=all --csv -f sql/ops/usage_by_workspace_model.sql > usage.csv
-- Variables: tenant (id or name, or `all`); optional: period_start (default the 1st of this month UTC),
-- period_end (default one month after period_start).
\set ON_ERROR_STOP on
-- The gateway's TIMESTAMP columns hold UTC wall-clock times; so do this session's defaults and output.
SET TIME ZONE 'UTC';
\if :{?period_start} \else \set period_start '' \endif
\if :{?period_end} \else \set period_end '' \endif
\if :{?tenant} \else \set fail_message 'set the tenant: psql -v tenant=<tenant id or name, or all>' \ir lib/fail.sql \endif
SELECT :'tenant' = 'all' AS all_tenants \gset
\if :all_tenants
  \set tenant_id ''
\else
  \ir lib/tenant.sql
\endif

WITH period AS (
  SELECT start_at, COALESCE(NULLIF(:'period_end', '')::timestamp, start_at + interval '1 month') AS end_at
  FROM (SELECT COALESCE(NULLIF(:'period_start', '')::timestamp, date_trunc('month', timezone('UTC', now()))) AS start_at) AS s
)
SELECT t.name AS tenant, w.name AS workspace, COALESCE(u.model, '(none)') AS model,
       count(*) AS generations,
       count(*) FILTER (WHERE u.status = 'reserved') AS open,
       count(*) FILTER (WHERE u.status IN ('failed', 'expired')) AS failed_or_expired,
       sum(u.prompt_tokens) AS prompt_tokens,
       sum(u.completion_tokens) AS completion_tokens,
       sum(u.total_tokens) AS total_tokens,
       min(p.start_at) AS period_start, min(p.end_at) AS period_end
FROM period p
JOIN chat_usage u ON u.created_at >= p.start_at AND u.created_at < p.end_at
JOIN tenants t ON t.tenant_id = u.tenant_id
JOIN workspaces w ON w.workspace_id = u.workspace_id
WHERE :'tenant_id' = '' OR u.tenant_id = NULLIF(:'tenant_id', '')::uuid
GROUP BY t.name, w.name, u.tenant_id, u.workspace_id, u.model
ORDER BY t.name, w.name, total_tokens DESC, model;
