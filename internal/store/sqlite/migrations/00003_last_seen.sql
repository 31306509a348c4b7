-- When each person was last connected, kept so that presence survives a
-- restart: milliseconds since the epoch, NULL if never recorded.

-- +goose Up
ALTER TABLE users ADD COLUMN last_seen_at INTEGER;

-- +goose Down
ALTER TABLE users DROP COLUMN last_seen_at;
