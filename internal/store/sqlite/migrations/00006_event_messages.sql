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
-- The copies come back as the messages are now, in the shape the previous
-- version reads (messageData in codec.go of that version).
UPDATE events SET data = json_set(data, '$.message', json((
		SELECT json_object('id', m.id, 'room_id', m.room_id, 'seq', m.seq,
			'sender_id', m.sender_id, 'text', m.text, 'client_id', m.client_id,
			'created_at', m.created_at, 'edited_at', m.edited_at,
			'deleted', json(CASE WHEN m.deleted THEN 'true' ELSE 'false' END),
			'mentions', json(CASE WHEN m.mentions IS NULL OR m.mentions = '' THEN 'null'
				ELSE '["' || replace(m.mentions, ' ', '","') || '"]' END))
		FROM messages m WHERE m.room_id = events.room_id AND m.seq = events.message_seq)))
	WHERE message_seq IS NOT NULL;
ALTER TABLE events DROP COLUMN message_seq;
