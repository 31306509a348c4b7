-- Parley's first schema. Times are integer milliseconds since the Unix
-- epoch, UTC. Keys ending in _key are the lower-case forms that uniqueness
-- and look-ups use, computed in Go so every backend folds case the same way.

-- +goose Up
CREATE TABLE users (
	id            TEXT PRIMARY KEY,
	username      TEXT NOT NULL,
	username_key  TEXT NOT NULL UNIQUE,
	display_name  TEXT NOT NULL,
	is_admin      INTEGER NOT NULL,
	password_hash TEXT NOT NULL,
	created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE tokens (
	hash       BLOB PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users (id),
	created_at INTEGER NOT NULL,
	last_used  INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX tokens_user ON tokens (user_id);

-- direct_a and direct_b hold the two users of a direct room, sorted, and
-- are NULL for other rooms: the unique pair makes the loser of two
-- concurrent creations fail. active_at is the time of the newest event and
-- orders room lists; last_seq and member_count are kept by every write.
CREATE TABLE rooms (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	name         TEXT NOT NULL,
	name_key     TEXT NOT NULL,
	topic        TEXT NOT NULL,
	direct_a     TEXT,
	direct_b     TEXT,
	created_at   INTEGER NOT NULL,
	active_at    INTEGER NOT NULL,
	last_seq     INTEGER NOT NULL DEFAULT 0,
	member_count INTEGER NOT NULL DEFAULT 0,
	UNIQUE (direct_a, direct_b)
) STRICT;

CREATE INDEX rooms_directory ON rooms (kind, name_key, id);

-- joined_seq doubles as the ordinal of a membership: within a room a later
-- join always has a larger seq, so the smallest is the longest-standing.
CREATE TABLE members (
	room_id    TEXT NOT NULL REFERENCES rooms (id),
	user_id    TEXT NOT NULL REFERENCES users (id),
	role       TEXT NOT NULL,
	joined_at  INTEGER NOT NULL,
	joined_seq INTEGER NOT NULL,
	read_seq   INTEGER NOT NULL,
	PRIMARY KEY (room_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX members_user ON members (user_id);

CREATE TABLE messages (
	id         TEXT PRIMARY KEY,
	room_id    TEXT NOT NULL REFERENCES rooms (id),
	seq        INTEGER NOT NULL,
	sender_id  TEXT NOT NULL REFERENCES users (id),
	text       TEXT NOT NULL,
	client_id  TEXT,
	created_at INTEGER NOT NULL,
	edited_at  INTEGER,
	deleted    INTEGER NOT NULL DEFAULT 0,
	UNIQUE (room_id, seq),
	UNIQUE (room_id, sender_id, client_id)
) STRICT;

-- Covers the unread count (seq past the read position, not the reader's,
-- not deleted) without touching the table.
CREATE INDEX messages_unread ON messages (room_id, seq, sender_id) WHERE deleted = 0;

-- data is the JSON of what the event carries (see eventData).
CREATE TABLE events (
	room_id    TEXT NOT NULL REFERENCES rooms (id),
	seq        INTEGER NOT NULL,
	type       TEXT NOT NULL,
	actor_id   TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	data       TEXT NOT NULL,
	PRIMARY KEY (room_id, seq)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE events;
DROP TABLE messages;
DROP TABLE members;
DROP TABLE rooms;
DROP TABLE tokens;
DROP TABLE users;
