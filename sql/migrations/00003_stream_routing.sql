-- Stream routing across replicas on Fly.io: each gateway process records the Fly machine it runs on, so a
-- replica that receives a client's stream GET for a generation another replica holds can answer
-- `fly-replay: instance=<machine>` and let Fly's proxy send the request there.
ALTER TABLE gateway_instances ADD COLUMN fly_machine_id VARCHAR(64);

-- Finding the holder of a stream looks up open generations by stream id.
CREATE INDEX idx_chat_usage_stream_reserved ON chat_usage(stream_id) WHERE status = 'reserved';
