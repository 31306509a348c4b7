package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/parley-chat/parley/internal/chat"
)

// viewSQL selects rooms as member m sees them: the unread count (messages
// past m's read position, sent by others, not deleted; answered from the
// partial index messages_unread), the newest message (a tombstone if it was
// deleted) and, for a direct room, the other user of the pair.
const viewSQL = `SELECT ` + roomCols + `,
	(SELECT count(*) FROM messages x WHERE x.room_id = r.id AND x.seq > m.read_seq
		AND x.deleted = 0 AND x.sender_id <> m.user_id),
	l.id, l.seq, l.sender_id, l.text, l.client_id, l.created_at, l.edited_at, l.deleted, l.mentions,
	p.id, p.username, p.display_name, p.is_admin, p.created_at
FROM members m
JOIN rooms r ON r.id = m.room_id
LEFT JOIN messages l ON l.rowid =
	(SELECT rowid FROM messages WHERE room_id = r.id ORDER BY seq DESC LIMIT 1)
LEFT JOIN users p ON p.id = CASE m.user_id WHEN r.direct_a THEN r.direct_b ELSE r.direct_a END
WHERE m.user_id = ?`

// RoomView returns roomID as member userID sees it.
func (s *Store) RoomView(ctx context.Context, roomID, userID string) (chat.RoomView, error) {
	v, err := scanView(s.rq.queryRow(ctx, viewSQL+` AND m.room_id = ?`, userID, roomID))
	return v, rowErr(err, "user %s in room %s", userID, roomID)
}

// RoomViews returns userID's rooms, most recently active first.
func (s *Store) RoomViews(ctx context.Context, userID string) ([]chat.RoomView, error) {
	rows, err := s.rq.query(ctx, viewSQL+` ORDER BY r.active_at DESC, r.id DESC`, userID)
	views, err := collect(rows, err, scanView)
	if err != nil {
		return nil, fmt.Errorf("sqlite: rooms of %s: %w", userID, err)
	}
	if len(views) == 0 {
		if err := s.exists(ctx, "users", "user", userID); err != nil {
			return nil, err
		}
	}
	return views, nil
}

func scanView(sc scanner) (chat.RoomView, error) {
	var v chat.RoomView
	var l nullMessage
	var p nullUser
	more := append(append([]any{&v.UnreadCount}, l.dest()...), p.dest()...)
	r, err := scanRoom(sc, more...)
	if err != nil {
		return chat.RoomView{}, err
	}
	v.Room, v.LastMessage, v.Peer = r, l.message(), p.user()
	if v.LastMessage != nil {
		v.LastMessage.RoomID = r.ID
	}
	return v, nil
}

// nullMessage scans a message from a LEFT JOIN that may have found none.
type nullMessage struct {
	id, sender, text, clientID sql.NullString
	mentions                   sql.NullString
	seq, created, edited       sql.NullInt64
	deleted                    sql.NullBool
}

func (n *nullMessage) dest() []any {
	return []any{&n.id, &n.seq, &n.sender, &n.text, &n.clientID, &n.created, &n.edited, &n.deleted, &n.mentions}
}

func (n *nullMessage) message() *chat.Message {
	if !n.id.Valid {
		return nil
	}
	m := &chat.Message{
		ID: n.id.String, Seq: n.seq.Int64, SenderID: n.sender.String,
		Text: n.text.String, ClientID: n.clientID.String,
		CreatedAt: fromMS(n.created.Int64), Deleted: n.deleted.Bool,
		Mentions: splitIDs(n.mentions.String),
	}
	if n.edited.Valid {
		at := fromMS(n.edited.Int64)
		m.EditedAt = &at
	}
	return m
}

// nullUser scans a user from a LEFT JOIN that may have found none.
type nullUser struct {
	id, username, displayName sql.NullString
	admin                     sql.NullBool
	created                   sql.NullInt64
}

func (n *nullUser) dest() []any {
	return []any{&n.id, &n.username, &n.displayName, &n.admin, &n.created}
}

func (n *nullUser) user() *chat.User {
	if !n.id.Valid {
		return nil
	}
	return &chat.User{
		ID: n.id.String, Username: n.username.String, DisplayName: n.displayName.String,
		IsAdmin: n.admin.Bool, CreatedAt: fromMS(n.created.Int64),
	}
}
