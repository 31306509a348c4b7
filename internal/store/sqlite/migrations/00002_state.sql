-- Conversation state: delivered positions and per-room settings of
-- members, user settings, and the mentions of messages.

-- +goose Up
-- notify is '' for the default; silenced_until is NULL when not silenced.
ALTER TABLE members ADD COLUMN delivered_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE members ADD COLUMN notify TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN silenced_until INTEGER;

-- settings is the JSON of chat.UserSettings.
ALTER TABLE users ADD COLUMN settings TEXT NOT NULL DEFAULT '{}';

-- mentions is the space-separated user ids a message mentions, as sent.
ALTER TABLE messages ADD COLUMN mentions TEXT;

-- One row per member a message mentions: the mention count is a range of
-- this table past the read position.
CREATE TABLE mentions (
	room_id TEXT NOT NULL,
	user_id TEXT NOT NULL,
	seq     INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id, seq)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE mentions;
ALTER TABLE messages DROP COLUMN mentions;
ALTER TABLE users DROP COLUMN settings;
ALTER TABLE members DROP COLUMN silenced_until;
ALTER TABLE members DROP COLUMN notify;
ALTER TABLE members DROP COLUMN delivered_seq;
