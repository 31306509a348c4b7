package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// splitIDs reads the space-separated ids of messages.mentions.
func splitIDs(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// insertMentions records the members m mentions, for their mention counts.
func insertMentions(ctx context.Context, tx *wtx, m chat.Message) error {
	for _, id := range m.Mentions {
		_, err := tx.exec(ctx, `INSERT OR IGNORE INTO mentions (room_id, user_id, seq) VALUES (?, ?, ?)`,
			m.RoomID, id, m.Seq)
		if err != nil {
			return fmt.Errorf("sqlite: mention of %s: %w", id, err)
		}
	}
	return nil
}

// MarkDelivered moves delivered positions forward, in one transaction.
func (s *Store) MarkDelivered(ctx context.Context, ps []chat.Position) ([]chat.Position, error) {
	var moved []chat.Position
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		moved = moved[:0]
		for _, p := range ps {
			res, err := tx.exec(ctx, `UPDATE members SET delivered_seq = min(?,
					(SELECT last_seq FROM rooms WHERE id = members.room_id))
				WHERE room_id = ? AND user_id = ? AND delivered_seq < ?`,
				p.Seq, p.RoomID, p.UserID, p.Seq)
			if err != nil {
				return fmt.Errorf("sqlite: delivered position: %w", err)
			}
			if n, _ := res.RowsAffected(); n > 0 {
				moved = append(moved, p)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return moved, nil
}

// MarkRead moves userID's read position in roomID forward to seq, capped
// at the room's last seq, and returns where it is after.
func (s *Store) MarkRead(ctx context.Context, roomID, userID string, seq int64) (int64, bool, error) {
	var pos int64
	var moved bool
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var last int64
		err := tx.queryRow(ctx, `SELECT m.read_seq, r.last_seq FROM members m
			JOIN rooms r ON r.id = m.room_id WHERE m.room_id = ? AND m.user_id = ?`,
			roomID, userID).Scan(&pos, &last)
		if err != nil {
			return rowErr(err, "user %s in room %s", userID, roomID)
		}
		seq = min(seq, last)
		if seq <= pos {
			return nil
		}
		_, err = tx.exec(ctx, `UPDATE members SET read_seq = ? WHERE room_id = ? AND user_id = ?`,
			seq, roomID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: read position: %w", err)
		}
		pos, moved = seq, true
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return pos, moved, nil
}

// Receipts returns a page of the positions of roomID's members.
func (s *Store) Receipts(ctx context.Context, roomID, after string, limit int) ([]chat.Receipt, error) {
	rows, err := s.rq.query(ctx, `SELECT user_id, read_seq, max(read_seq, delivered_seq)
		FROM members WHERE room_id = ? AND user_id > ? ORDER BY user_id LIMIT ?`,
		roomID, after, limit)
	rcs, err := collect(rows, err, func(sc scanner) (chat.Receipt, error) {
		var rc chat.Receipt
		return rc, sc.Scan(&rc.UserID, &rc.ReadSeq, &rc.DeliveredSeq)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: receipts of %s: %w", roomID, err)
	}
	if len(rcs) == 0 {
		if err := s.exists(ctx, "rooms", "room", roomID); err != nil {
			return nil, err
		}
	}
	return rcs, nil
}

// unreadSQL computes a member m's unread and mention counts.
const unreadSQL = `(SELECT count(*) FROM messages x WHERE x.room_id = m.room_id
		AND x.seq > m.read_seq AND x.deleted = 0 AND x.sender_id <> m.user_id),
	(SELECT count(*) FROM mentions n JOIN messages x ON x.room_id = n.room_id AND x.seq = n.seq
		WHERE n.room_id = m.room_id AND n.user_id = m.user_id AND n.seq > m.read_seq
		AND x.deleted = 0)`

// Unreads returns the unread state of the members of roomID who have not
// read up to seq, except exceptID.
func (s *Store) Unreads(ctx context.Context, roomID string, seq int64, exceptID string) ([]chat.Unread, error) {
	rows, err := s.rq.query(ctx, `SELECT m.user_id, m.read_seq, `+unreadSQL+`
		FROM members m WHERE m.room_id = ? AND m.read_seq < ? AND m.user_id <> ?`,
		roomID, seq, exceptID)
	us, err := collect(rows, err, func(sc scanner) (chat.Unread, error) {
		u := chat.Unread{RoomID: roomID}
		return u, sc.Scan(&u.UserID, &u.ReadSeq, &u.UnreadCount, &u.MentionCount)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: unreads of %s: %w", roomID, err)
	}
	return us, nil
}

// RoomStates returns userID's unread state and settings of roomID, or of
// all their rooms when roomID is "".
func (s *Store) RoomStates(ctx context.Context, userID, roomID string) ([]chat.MemberState, error) {
	q := `SELECT m.room_id, m.read_seq, ` + unreadSQL + `, m.notify, m.silenced_until
		FROM members m WHERE m.user_id = ?`
	args := []any{userID}
	if roomID != "" {
		q += ` AND m.room_id = ?`
		args = append(args, roomID)
	}
	rows, err := s.rq.query(ctx, q, args...)
	states, err := collect(rows, err, func(sc scanner) (chat.MemberState, error) {
		st := chat.MemberState{Unread: chat.Unread{UserID: userID}}
		var until sql.NullInt64
		err := sc.Scan(&st.RoomID, &st.ReadSeq, &st.UnreadCount, &st.MentionCount,
			&st.Settings.Notify, &until)
		st.Settings.SilencedUntil = nullTime(until)
		return st, err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: room states of %s: %w", userID, err)
	}
	return states, nil
}

// nullTime reads a nullable time column.
func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// SetRoomSettings stores userID's settings for roomID.
func (s *Store) SetRoomSettings(ctx context.Context, roomID, userID string, rs chat.RoomSettings) error {
	var until any
	if rs.SilencedUntil != nil {
		until = ms(*rs.SilencedUntil)
	}
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE members SET notify = ?, silenced_until = ?
			WHERE room_id = ? AND user_id = ?`, rs.Notify, until, roomID, userID)
		if err != nil {
			return fmt.Errorf("sqlite: room settings: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user %s in room %s", userID, roomID)
		}
		return nil
	})
}

// RoomSettings returns the settings of the members of roomID who set any.
func (s *Store) RoomSettings(ctx context.Context, roomID string) (map[string]chat.RoomSettings, error) {
	// Every send reads this; the partial index holds only the members who
	// set something, where the primary key would visit every member.
	rows, err := s.rq.query(ctx, `SELECT user_id, notify, silenced_until
		FROM members INDEXED BY members_settings
		WHERE room_id = ? AND (notify <> '' OR silenced_until IS NOT NULL)`, roomID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: room settings of %s: %w", roomID, err)
	}
	defer rows.Close()
	out := map[string]chat.RoomSettings{}
	for rows.Next() {
		var id string
		var rs chat.RoomSettings
		var until sql.NullInt64
		if err := rows.Scan(&id, &rs.Notify, &until); err != nil {
			return nil, fmt.Errorf("sqlite: room settings of %s: %w", roomID, err)
		}
		rs.SilencedUntil = nullTime(until)
		out[id] = rs
	}
	return out, rows.Err()
}

// UserSettings returns the settings of userID.
func (s *Store) UserSettings(ctx context.Context, userID string) (chat.UserSettings, error) {
	var data string
	err := s.rq.queryRow(ctx, `SELECT settings FROM users WHERE id = ?`, userID).Scan(&data)
	if err != nil {
		return chat.UserSettings{}, rowErr(err, "user %s", userID)
	}
	return decodeSettings(userID, data)
}

// decodeSettings reads the JSON of users.settings.
func decodeSettings(userID, data string) (chat.UserSettings, error) {
	var us chat.UserSettings
	if data == "{}" {
		return us, nil
	}
	if err := json.Unmarshal([]byte(data), &us); err != nil {
		return chat.UserSettings{}, fmt.Errorf("sqlite: settings of %s: %w", userID, err)
	}
	return us, nil
}

// SetUserSettings replaces the settings of userID.
func (s *Store) SetUserSettings(ctx context.Context, userID string, us chat.UserSettings) error {
	data, err := json.Marshal(us)
	if err != nil {
		return fmt.Errorf("sqlite: settings of %s: %w", userID, err)
	}
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE users SET settings = ? WHERE id = ?`, string(data), userID)
		if err != nil {
			return fmt.Errorf("sqlite: settings of %s: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user %s", userID)
		}
		return nil
	})
}

// SetLastSeen records when userID was last connected.
func (s *Store) SetLastSeen(ctx context.Context, userID string, at time.Time) error {
	return s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		res, err := tx.exec(ctx, `UPDATE users SET last_seen_at = ? WHERE id = ?`, ms(norm(at)), userID)
		if err != nil {
			return fmt.Errorf("sqlite: last seen of %s: %w", userID, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("user %s", userID)
		}
		return nil
	})
}

// LastSeen returns when userID was last connected, zero if never recorded.
func (s *Store) LastSeen(ctx context.Context, userID string) (time.Time, error) {
	var at sql.NullInt64
	err := s.rq.queryRow(ctx, `SELECT last_seen_at FROM users WHERE id = ?`, userID).Scan(&at)
	if err != nil {
		return time.Time{}, rowErr(err, "user %s", userID)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return fromMS(at.Int64), nil
}
