-- A message event keeps the seq of its message instead of a copy of it:
-- events read the message as it is now, so deleting a message removes its
-- text from every event of it (the copies kept it, readable through the
-- events of the room), and a send writes its text once.

-- +goose Up
ALTER TABLE events ADD COLUMN message_seq INTEGER;
UPDATE events SET message_seq = json_extract(data, '$.message.seq'),
	data = json_remove(data, '$.message')
	WHERE json_type(data, '$.message') IS NOT NULL;

-- +goose Down
UPDATE events SET data = json_set(data, '$.message', json((
		SELECT json_object('id', m.id, 'room_id', m.room_id, 'seq', m.seq,
			'sender_id', m.sender_id, 'text', m.text, 'created_at', m.created_at)
		FROM messages m WHERE m.room_id = events.room_id AND m.seq = events.message_seq)))
	WHERE message_seq IS NOT NULL;
ALTER TABLE events DROP COLUMN message_seq;
