-- Who each message has ever mentioned, in any of its versions, so that an
-- edit notifies only members no earlier version named: removing a mention
-- and putting it back must not notify twice.

-- +goose Up
-- mentioned is space-separated user ids, as mentions is. Earlier edits
-- left no trace, so existing messages start from their current mentions.
ALTER TABLE messages ADD COLUMN mentioned TEXT;
UPDATE messages SET mentioned = mentions;

-- +goose Down
ALTER TABLE messages DROP COLUMN mentioned;
