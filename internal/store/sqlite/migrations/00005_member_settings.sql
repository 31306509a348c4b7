-- Every message reads the settings of the members of its room who set any
-- (to know whom to notify). Most members keep the defaults, so the read
-- scanned the whole room's members to find none; this index holds only
-- those who set something, and the read becomes a look-up of a few entries.
-- Updates of read positions do not touch it.

-- +goose Up
CREATE INDEX members_settings ON members (room_id)
	WHERE notify <> '' OR silenced_until IS NOT NULL;

-- +goose Down
DROP INDEX members_settings;
