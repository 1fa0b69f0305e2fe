-- The indexes over open holds key on settled_at instead of status. With `WHERE status = 'reserved'` they
-- matched the settlement's own guard (`usage_id = $1 AND status = 'reserved'`), and a generic plan cached
-- while the table was small walked the whole open-holds index on every settlement instead of using the
-- primary key: cost grew with the number of open streams. Nothing that looks a row up by usage_id names
-- settled_at, so these can only serve the sweeper and the stream-holder lookup they are for. Those test
-- `settled_at IS NULL AND status = 'reserved'`: the gateway always sets both together, and a row written
-- some other way (an import, ops SQL) with one but not the other is left alone rather than swept.

DROP INDEX idx_chat_usage_reserved;
DROP INDEX idx_chat_usage_stream_reserved;
CREATE INDEX idx_chat_usage_open ON chat_usage(created_at) WHERE settled_at IS NULL;
CREATE INDEX idx_chat_usage_stream_open ON chat_usage(stream_id, created_at) WHERE settled_at IS NULL AND stream_id IS NOT NULL;
