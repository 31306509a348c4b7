package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// roomCols are the columns scanRoom reads, from rooms aliased r.
const roomCols = `r.id, r.kind, r.name, r.topic, r.created_at, r.last_seq, r.member_count`

// scanRoom reads roomCols, then the rest of the row into more.
func scanRoom(sc scanner, more ...any) (chat.Room, error) {
	var r chat.Room
	var created int64
	dest := append([]any{&r.ID, &r.Kind, &r.Name, &r.Topic, &created, &r.LastSeq, &r.MemberCount}, more...)
	if err := sc.Scan(dest...); err != nil {
		return chat.Room{}, err
	}
	r.CreatedAt = fromMS(created)
	return r, nil
}

// memberCols are the columns scanMember reads, from members m joined with
// users u.
const memberCols = userCols + `, m.room_id, m.role, m.joined_at, m.joined_seq, m.read_seq`

func scanMember(sc scanner) (chat.Member, error) {
	var m chat.Member
	var joined int64
	u, err := scanUser(sc, &m.RoomID, &m.Role, &joined, &m.JoinedSeq, &m.ReadSeq)
	if err != nil {
		return chat.Member{}, err
	}
	m.User, m.JoinedAt = u, fromMS(joined)
	return m, nil
}

// collect scans every row with scan; an empty result is an empty slice.
func collect[T any](rows *sql.Rows, err error, scan func(scanner) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// nextSeq takes the next seq of roomID for an event at at, marks the room
// active then, and adds dMembers to its member count. Taking the seq from
// the room row inside the transaction is what makes seqs gapless and in
// commit order.
func nextSeq(ctx context.Context, tx *wtx, roomID string, at time.Time, dMembers int) (int64, error) {
	var seq int64
	err := tx.queryRow(ctx, `UPDATE rooms
		SET last_seq = last_seq + 1, active_at = max(active_at, ?),
			member_count = member_count + ?
		WHERE id = ? RETURNING last_seq`, ms(at), dMembers, roomID).Scan(&seq)
	return seq, rowErr(err, "room %s", roomID)
}

// insertEvent stores e, whose seq came from nextSeq. Of a message, it
// stores only the seq (see eventCols).
func insertEvent(ctx context.Context, tx *wtx, e chat.Event) error {
	data, err := encodeEvent(e)
	var msgSeq any
	if e.Message != nil {
		msgSeq = e.Message.Seq
	}
	if err == nil {
		_, err = tx.exec(ctx, `INSERT INTO events
			(room_id, seq, type, actor_id, created_at, data, message_seq) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			e.RoomID, e.Seq, e.Type, e.ActorID, ms(e.CreatedAt), string(data), msgSeq)
	}
	if err != nil {
		return fmt.Errorf("sqlite: event %s/%d: %w", e.RoomID, e.Seq, err)
	}
	return nil
}

// memberEvent appends e, an event about e.UserID, with the user as it is
// now, and adds dMembers to the room's member count.
func memberEvent(ctx context.Context, tx *wtx, e chat.Event, dMembers int) (chat.Event, error) {
	u, err := loadUser(ctx, tx, e.UserID)
	if err != nil {
		return chat.Event{}, err
	}
	e.User = &u
	if e.Seq, err = nextSeq(ctx, tx, e.RoomID, e.CreatedAt, dMembers); err != nil {
		return chat.Event{}, err
	}
	return e, insertEvent(ctx, tx, e)
}

// CreateRoom stores r, its members and their member.joined events in one
// transaction.
func (s *Store) CreateRoom(ctx context.Context, r chat.Room, members []chat.Member) (chat.Room, []chat.Event, error) {
	r.CreatedAt = norm(r.CreatedAt)
	a, b, err := directPair(r, members)
	if err != nil {
		return chat.Room{}, nil, err
	}
	var actor string
	if len(members) > 0 {
		actor = members[0].User.ID
	}
	var evs []chat.Event
	err = s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		if err := insertRoom(ctx, tx, r, a, b); err != nil {
			return err
		}
		evs = make([]chat.Event, 0, len(members))
		for _, m := range members {
			m.RoomID = r.ID
			if m.JoinedAt.IsZero() {
				m.JoinedAt = r.CreatedAt
			}
			ev, err := join(ctx, tx, m, actor)
			if err != nil {
				return err
			}
			evs = append(evs, ev)
		}
		return nil
	})
	if err != nil {
		return chat.Room{}, nil, err
	}
	r.LastSeq, r.MemberCount = int64(len(members)), len(members)
	return r, evs, nil
}

// directPair returns the users of a direct room in sorted order, or nils
// for other rooms.
func directPair(r chat.Room, members []chat.Member) (a, b any, err error) {
	if r.Kind != chat.KindDirect {
		return nil, nil, nil
	}
	if len(members) != 2 || members[0].User.ID == members[1].User.ID {
		return nil, nil, fmt.Errorf("sqlite: direct room %s needs two distinct members", r.ID)
	}
	x, y := sortPair(members[0].User.ID, members[1].User.ID)
	return x, y, nil
}

func sortPair(a, b string) (string, string) {
	if b < a {
		return b, a
	}
	return a, b
}

func insertRoom(ctx context.Context, tx *wtx, r chat.Room, a, b any) error {
	_, err := tx.exec(ctx, `INSERT INTO rooms
		(id, kind, name, name_key, topic, direct_a, direct_b, created_at, active_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Kind, r.Name, key(r.Name), r.Topic, a, b, ms(r.CreatedAt), ms(r.CreatedAt))
	switch {
	case isUnique(err, "rooms.direct_a"):
		return fmt.Errorf("sqlite: direct room of %v and %v: %w", a, b, chat.ErrConflict)
	case isUnique(err, ""):
		return fmt.Errorf("sqlite: room %s: %w", r.ID, chat.ErrConflict)
	case err != nil:
		return fmt.Errorf("sqlite: create room %s: %w", r.ID, err)
	}
	return nil
}

// join makes m.User a member of m.RoomID and appends member.joined. The
// member's read position starts at that event.
func join(ctx context.Context, tx *wtx, m chat.Member, actorID string) (chat.Event, error) {
	at := norm(m.JoinedAt)
	ev, err := memberEvent(ctx, tx, chat.Event{
		RoomID: m.RoomID, Type: chat.EventMemberJoined, ActorID: actorID,
		CreatedAt: at, UserID: m.User.ID, Role: m.Role,
	}, +1)
	if err != nil {
		return chat.Event{}, err
	}
	_, err = tx.exec(ctx, `INSERT INTO members
		(room_id, user_id, role, joined_at, joined_seq, read_seq) VALUES (?, ?, ?, ?, ?, ?)`,
		m.RoomID, m.User.ID, m.Role, ms(at), ev.Seq, ev.Seq)
	switch {
	case isUnique(err, ""):
		return chat.Event{}, fmt.Errorf("sqlite: user %s in room %s: %w",
			m.User.ID, m.RoomID, chat.ErrAlreadyMember)
	case err != nil:
		return chat.Event{}, fmt.Errorf("sqlite: join room %s: %w", m.RoomID, err)
	}
	return ev, nil
}

// AddMember makes m.User a member of m.RoomID as of m.JoinedAt.
func (s *Store) AddMember(ctx context.Context, m chat.Member, actorID string) (chat.Event, error) {
	var ev chat.Event
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) (err error) {
		ev, err = join(ctx, tx, m, actorID)
		return err
	})
	if err != nil {
		return chat.Event{}, err
	}
	return ev, nil
}

// RemoveMember ends a membership and, if the owner left, hands the room on.
func (s *Store) RemoveMember(ctx context.Context, roomID, userID, actorID, typ string,
	at time.Time) ([]chat.Event, error) {
	if typ != chat.EventMemberLeft && typ != chat.EventMemberRemoved {
		return nil, fmt.Errorf("sqlite: remove member: %q is not a leaving event", typ)
	}
	at = norm(at)
	var evs []chat.Event
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var role string
		err := tx.queryRow(ctx, `DELETE FROM members WHERE room_id = ? AND user_id = ?
			RETURNING role`, roomID, userID).Scan(&role)
		if err != nil {
			return rowErr(err, "user %s in room %s", userID, roomID)
		}
		ev, err := memberEvent(ctx, tx, chat.Event{
			RoomID: roomID, Type: typ, ActorID: actorID, CreatedAt: at, UserID: userID,
		}, -1)
		if err != nil {
			return err
		}
		evs = []chat.Event{ev}
		if role != chat.RoleOwner {
			return nil
		}
		ev, ok, err := succeed(ctx, tx, roomID, actorID, at)
		if ok {
			evs = append(evs, ev)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return evs, nil
}

// succeed makes a new owner of roomID after its owner left: the
// longest-standing admin, else the longest-standing member. ok is false
// when there is no one left, or when another owner remains.
func succeed(ctx context.Context, tx *wtx, roomID, actorID string,
	at time.Time) (ev chat.Event, ok bool, err error) {
	var userID, role string
	err = tx.queryRow(ctx, `SELECT user_id, role FROM members WHERE room_id = ?
		ORDER BY CASE role WHEN ? THEN 0 WHEN ? THEN 1 ELSE 2 END, joined_seq
		LIMIT 1`, roomID, chat.RoleOwner, chat.RoleAdmin).Scan(&userID, &role)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return chat.Event{}, false, nil
	case err != nil:
		return chat.Event{}, false, fmt.Errorf("sqlite: successor in room %s: %w", roomID, err)
	case role == chat.RoleOwner:
		return chat.Event{}, false, nil
	}
	_, err = tx.exec(ctx, `UPDATE members SET role = ? WHERE room_id = ? AND user_id = ?`,
		chat.RoleOwner, roomID, userID)
	if err != nil {
		return chat.Event{}, false, fmt.Errorf("sqlite: successor in room %s: %w", roomID, err)
	}
	ev, err = memberEvent(ctx, tx, chat.Event{
		RoomID: roomID, Type: chat.EventMemberUpdated, ActorID: actorID,
		CreatedAt: at, UserID: userID, Role: chat.RoleOwner,
	}, 0)
	return ev, err == nil, err
}

// UpdateRoom changes the name and topic given and appends room.updated
// with the room's new profile, all in one statement and one insert.
func (s *Store) UpdateRoom(ctx context.Context, roomID string, name, topic *string,
	actorID string, at time.Time) (chat.Event, error) {
	at = norm(at)
	var nameKey *string
	if name != nil {
		k := key(*name)
		nameKey = &k
	}
	var ev chat.Event
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var p chat.RoomProfile
		var seq int64
		err := tx.queryRow(ctx, `UPDATE rooms SET name = coalesce(?, name),
				name_key = coalesce(?, name_key), topic = coalesce(?, topic),
				last_seq = last_seq + 1, active_at = max(active_at, ?)
			WHERE id = ? RETURNING id, kind, name, topic, member_count, last_seq`,
			name, nameKey, topic, ms(at), roomID,
		).Scan(&p.ID, &p.Kind, &p.Name, &p.Topic, &p.MemberCount, &seq)
		if err != nil {
			return rowErr(err, "room %s", roomID)
		}
		ev = chat.Event{
			RoomID: roomID, Seq: seq, Type: chat.EventRoomUpdated,
			ActorID: actorID, CreatedAt: at, Room: &p,
		}
		return insertEvent(ctx, tx, ev)
	})
	if err != nil {
		return chat.Event{}, err
	}
	return ev, nil
}

// Room returns the room with id.
func (s *Store) Room(ctx context.Context, id string) (chat.Room, error) {
	r, err := scanRoom(s.rq.queryRow(ctx, `SELECT `+roomCols+` FROM rooms r WHERE r.id = ?`, id))
	return r, rowErr(err, "room %s", id)
}

// DirectRoom returns the direct room of a and b, in either order.
func (s *Store) DirectRoom(ctx context.Context, a, b string) (chat.Room, error) {
	x, y := sortPair(a, b)
	r, err := scanRoom(s.rq.queryRow(ctx, `SELECT `+roomCols+` FROM rooms r
		WHERE r.direct_a = ? AND r.direct_b = ?`, x, y))
	return r, rowErr(err, "direct room of %s and %s", a, b)
}

// Member returns userID's membership of roomID.
func (s *Store) Member(ctx context.Context, roomID, userID string) (chat.Member, error) {
	m, err := scanMember(s.rq.queryRow(ctx, `SELECT `+memberCols+`
		FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = ? AND m.user_id = ?`, roomID, userID))
	return m, rowErr(err, "user %s in room %s", userID, roomID)
}

// exists returns ErrNotFound unless table has a row with id. Listings call
// it only when they come back empty, to tell "none" from "no such parent".
func (s *Store) exists(ctx context.Context, table, what, id string) error {
	var one int
	err := s.rq.queryRow(ctx, `SELECT 1 FROM `+table+` WHERE id = ?`, id).Scan(&one)
	return rowErr(err, "%s %s", what, id)
}

// RoomSeqs returns the last seq of every room userID is a member of.
func (s *Store) RoomSeqs(ctx context.Context, userID string) (map[string]int64, error) {
	seqs, _, err := s.SessionStart(ctx, userID)
	return seqs, err
}

// SessionStart returns the last seq of every room userID is a member of,
// and their settings. It runs on every connect, so one statement tells the
// rooms, the settings and whether the user exists: no row means no user,
// one row of NULL rooms no rooms.
func (s *Store) SessionStart(ctx context.Context, userID string) (map[string]int64, chat.UserSettings, error) {
	rows, err := s.rq.query(ctx, `SELECT r.id, r.last_seq, u.settings FROM users u
		LEFT JOIN members m ON m.user_id = u.id
		LEFT JOIN rooms r ON r.id = m.room_id
		WHERE u.id = ?`, userID)
	if err != nil {
		return nil, chat.UserSettings{}, fmt.Errorf("sqlite: rooms of %s: %w", userID, err)
	}
	defer rows.Close()
	var seqs map[string]int64
	var settings string
	for rows.Next() {
		var id sql.NullString
		var seq sql.NullInt64
		if err := rows.Scan(&id, &seq, &settings); err != nil {
			return nil, chat.UserSettings{}, fmt.Errorf("sqlite: rooms of %s: %w", userID, err)
		}
		if seqs == nil {
			seqs = make(map[string]int64)
		}
		if id.Valid {
			seqs[id.String] = seq.Int64
		}
	}
	if err := rows.Err(); err != nil {
		return nil, chat.UserSettings{}, fmt.Errorf("sqlite: rooms of %s: %w", userID, err)
	}
	if seqs == nil {
		return nil, chat.UserSettings{}, notFound("user %s", userID)
	}
	us, err := decodeSettings(userID, settings)
	return seqs, us, err
}

// LastSeqs returns the last seq of each room of roomIDs that exists. The
// ids travel as one JSON array, not as one variable each: any number fits
// in one statement, below SQLite's limit on variables, and the statement
// text stays the same, so it is prepared once.
func (s *Store) LastSeqs(ctx context.Context, roomIDs []string) (map[string]int64, error) {
	if len(roomIDs) == 0 {
		return map[string]int64{}, nil
	}
	ids, err := json.Marshal(roomIDs)
	if err != nil {
		return nil, fmt.Errorf("sqlite: last seqs: %w", err)
	}
	rows, err := s.rq.query(ctx, `SELECT id, last_seq FROM rooms
		WHERE id IN (SELECT value FROM json_each(?))`, string(ids))
	seqs, err := scanSeqs(rows, err)
	if err != nil {
		return nil, fmt.Errorf("sqlite: last seqs: %w", err)
	}
	return seqs, nil
}

func scanSeqs(rows *sql.Rows, err error) (map[string]int64, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	seqs := make(map[string]int64)
	for rows.Next() {
		var id string
		var seq int64
		if err := rows.Scan(&id, &seq); err != nil {
			return nil, err
		}
		seqs[id] = seq
	}
	return seqs, rows.Err()
}

// Members returns a page of roomID's members ordered by user id.
func (s *Store) Members(ctx context.Context, roomID, after string, limit int) ([]chat.Member, error) {
	limit = max(limit, 0)
	rows, err := s.rq.query(ctx, `SELECT `+memberCols+`
		FROM members m JOIN users u ON u.id = m.user_id
		WHERE m.room_id = ? AND m.user_id > ? ORDER BY m.user_id LIMIT ?`,
		roomID, after, limit)
	members, err := collect(rows, err, scanMember)
	if err != nil {
		return nil, fmt.Errorf("sqlite: members of %s: %w", roomID, err)
	}
	if len(members) == 0 {
		if err := s.exists(ctx, "rooms", "room", roomID); err != nil {
			return nil, err
		}
	}
	return members, nil
}

// MemberIDs returns the user ids of every member of roomID.
func (s *Store) MemberIDs(ctx context.Context, roomID string) ([]string, error) {
	rows, err := s.rq.query(ctx, `SELECT user_id FROM members WHERE room_id = ?
		ORDER BY user_id`, roomID)
	ids, err := collect(rows, err, func(sc scanner) (id string, err error) {
		return id, sc.Scan(&id)
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: members of %s: %w", roomID, err)
	}
	if len(ids) == 0 {
		if err := s.exists(ctx, "rooms", "room", roomID); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// Directory returns a page of public rooms whose name contains q. The
// cursor is the last room of the previous page; paging by (name, id) from
// there neither skips nor repeats a room, even among rooms of one name.
func (s *Store) Directory(ctx context.Context, q, after string, limit int) ([]chat.Room, error) {
	if limit <= 0 {
		return []chat.Room{}, nil
	}
	var afterKey string
	if after != "" {
		// Only a public room may be a cursor: any other would tell whether
		// it exists and where its name sorts.
		err := s.rq.queryRow(ctx, `SELECT name_key FROM rooms WHERE id = ? AND kind = ?`,
			after, chat.KindPublic).Scan(&afterKey)
		if err != nil {
			return nil, rowErr(err, "room %s", after)
		}
	}
	rows, err := s.rq.query(ctx, `SELECT `+roomCols+` FROM rooms r
		WHERE r.kind = ? AND instr(r.name_key, ?) > 0 AND (r.name_key, r.id) > (?, ?)
		ORDER BY r.name_key, r.id LIMIT ?`,
		chat.KindPublic, key(q), afterKey, after, limit)
	rooms, err := collect(rows, err, func(sc scanner) (chat.Room, error) { return scanRoom(sc) })
	if err != nil {
		return nil, fmt.Errorf("sqlite: directory: %w", err)
	}
	return rooms, nil
}
