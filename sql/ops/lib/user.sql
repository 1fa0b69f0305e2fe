-- Resolves -v email=<address> inside :tenant_id (lib/tenant.sql first) to :user_id, case-insensitively,
-- among users not deleted. Sets :user_found (true/false) and leaves the decision to the caller.
\if :{?email} \else \set fail_message 'set the user: psql -v email=<address>' \ir fail.sql \endif
SELECT count(*) = 1 AS user_found, min(user_id::text) AS user_id
FROM users
WHERE tenant_id = :'tenant_id' AND deleted_at IS NULL AND lower(email) = lower(:'email') \gset
