-- Metering: one row per admitted generation. Written as 'reserved' by the admission statement (with the
-- quota hold), then settled exactly once by the settlement statement. request_id correlates it with the
-- chat's audit rows; conversation_id and stream_id are often only known at settlement.
-- Beyond DESIGN.md's columns it keeps what settlement needs without another read:
--   hold_prompt_tokens  the text part of the hold (what an expired hold is charged),
--   quota_reset_at      the quota period at admission (to tell whether the quota was reset since),
--   instance_id         the gateway process that holds the generation's subscription,
--   ip_address, user_agent  the client's, for the chat_completed audit row written at settlement.

CREATE TABLE chat_usage (
  usage_id UUID PRIMARY KEY,
  request_id VARCHAR(128) NOT NULL,
  tenant_id UUID NOT NULL REFERENCES tenants(tenant_id),
  workspace_id UUID NOT NULL REFERENCES workspaces(workspace_id),
  user_id UUID NOT NULL REFERENCES users(user_id),
  endpoint VARCHAR(255),
  model VARCHAR(255),
  conversation_id VARCHAR(255),
  stream_id VARCHAR(255),
  hold_tokens INTEGER NOT NULL DEFAULT 0,
  hold_prompt_tokens INTEGER NOT NULL DEFAULT 0,
  prompt_tokens INTEGER NOT NULL DEFAULT 0,
  completion_tokens INTEGER NOT NULL DEFAULT 0,
  total_tokens INTEGER NOT NULL DEFAULT 0,
  usage_source VARCHAR(50),
  status VARCHAR(20) NOT NULL DEFAULT 'reserved'
    CHECK (status IN ('reserved', 'settled', 'aborted', 'failed', 'expired')),
  details JSONB NOT NULL DEFAULT '{}',
  quota_reset_at TIMESTAMP,
  instance_id UUID,
  ip_address VARCHAR(45),
  user_agent TEXT,
  created_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now()),
  settled_at TIMESTAMP
);

CREATE INDEX idx_chat_usage_request ON chat_usage(request_id);
CREATE INDEX idx_chat_usage_workspace_created ON chat_usage(workspace_id, created_at);
-- The sweeper scans only open holds: a partial index keeps that cheap however long the history grows.
CREATE INDEX idx_chat_usage_reserved ON chat_usage(created_at) WHERE status = 'reserved';

-- Tenant resolution by email (no tid claim) looks users up across tenants, case-insensitively.
CREATE INDEX idx_users_email_lower ON users(lower(email));

-- Gateway processes announce themselves here; a process whose heartbeat stopped is dead, and the
-- sweeper closes the holds it left behind without waiting for RESERVATION_TTL.
CREATE TABLE gateway_instances (
  instance_id UUID PRIMARY KEY,
  started_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now()),
  heartbeat_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now()),
  stopped_at TIMESTAMP
);

-- The next reset time of a quota period: reset_at plus the fewest whole months (PostgreSQL interval
-- arithmetic from the original anchor, so a period anchored on the 31st stays on month ends) that put it
-- after now. Used by the admission statement's lazy reset; handy for ops SQL too.
CREATE FUNCTION geko_next_reset(reset_at TIMESTAMP, now_utc TIMESTAMP) RETURNS TIMESTAMP
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT CASE
    WHEN reset_at + make_interval(months => m) > now_utc THEN reset_at + make_interval(months => m)
    ELSE reset_at + make_interval(months => m + 1)
  END
  FROM (SELECT GREATEST(1, ((extract(year FROM now_utc) - extract(year FROM reset_at)) * 12
                            + extract(month FROM now_utc) - extract(month FROM reset_at))::int) AS m) AS months
$$;
