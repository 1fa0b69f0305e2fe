-- File storage accounting (DESIGN.md "The seed's other entitlements: file storage"). workspace_quotas keeps
-- files_limit and files_used in whole MB (the seed's columns, unchanged); the bytes behind them live here:
--   workspace_files    one row per upload the gateway admitted, keyed by the gateway's upload_id (LibreChat's
--                      file_id is only known from its answer, and is unique once known): who, where, the bytes
--                      held at admission (Content-Length), LibreChat's `bytes` once stored, and its status:
--                      held → stored | released (LibreChat did not store it) | expired (the sweep gave the
--                      hold back) ; stored → deleted.
--   workspace_storage  per workspace, the bytes stored and the bytes held by uploads in flight. These counters
--                      sit on one row so the admission can take a hold with a conditional write that PostgreSQL
--                      re-checks against the row's latest version (INSERT … ON CONFLICT DO UPDATE … WHERE):
--                      concurrent uploads serialise on it and none can pass the limit. Every statement that
--                      changes stored_bytes also writes files_used = ceil(stored_bytes / 1 MiB) while it holds
--                      this row's lock, so files_used follows it exactly.
-- A workspace's storage row is created by its first upload, starting from the files_used it had then (what
-- the workspace stored before the gateway counted bytes).

CREATE TABLE workspace_storage (
  workspace_id UUID PRIMARY KEY REFERENCES workspaces(workspace_id),
  stored_bytes BIGINT NOT NULL DEFAULT 0 CHECK (stored_bytes >= 0),
  held_bytes BIGINT NOT NULL DEFAULT 0 CHECK (held_bytes >= 0),
  updated_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now())
);

CREATE TABLE workspace_files (
  upload_id UUID PRIMARY KEY,
  file_id VARCHAR(255) UNIQUE,
  request_id VARCHAR(128) NOT NULL,
  tenant_id UUID NOT NULL REFERENCES tenants(tenant_id),
  workspace_id UUID NOT NULL REFERENCES workspaces(workspace_id),
  user_id UUID NOT NULL REFERENCES users(user_id),
  status VARCHAR(20) NOT NULL DEFAULT 'held' CHECK (status IN ('held', 'stored', 'released', 'expired', 'deleted')),
  hold_bytes BIGINT NOT NULL CHECK (hold_bytes >= 0),
  bytes BIGINT CHECK (bytes >= 0),
  route VARCHAR(64),
  instance_id UUID,
  ip_address VARCHAR(45),
  user_agent TEXT,
  created_at TIMESTAMP NOT NULL DEFAULT timezone('UTC', now()),
  stored_at TIMESTAMP,
  closed_at TIMESTAMP
);

-- The sweep reads only open holds; the reconciliation a user's stored files; ops a workspace's files.
CREATE INDEX idx_workspace_files_held ON workspace_files(created_at) WHERE status = 'held';
CREATE INDEX idx_workspace_files_user_stored ON workspace_files(user_id, tenant_id) WHERE status = 'stored';
CREATE INDEX idx_workspace_files_workspace ON workspace_files(workspace_id, status);
