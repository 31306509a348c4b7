package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

const messageCols = `id, room_id, seq, sender_id, text, client_id, created_at, edited_at, deleted, mentions`

// messageRow receives messageCols. Its fields are nullable so that it can
// also read the message of an event, which is NULL for other events.
type messageRow struct {
	id, roomID, senderID, text, clientID, mentions sql.NullString
	seq, created, edited                           sql.NullInt64
	deleted                                        sql.NullBool
}

func (r *messageRow) dest() []any {
	return []any{&r.id, &r.roomID, &r.seq, &r.senderID, &r.text, &r.clientID,
		&r.created, &r.edited, &r.deleted, &r.mentions}
}

// message returns the message read, or nil if there was none.
func (r *messageRow) message() *chat.Message {
	if !r.id.Valid {
		return nil
	}
	m := &chat.Message{
		ID: r.id.String, RoomID: r.roomID.String, Seq: r.seq.Int64, SenderID: r.senderID.String,
		Text: r.text.String, ClientID: r.clientID.String, CreatedAt: fromMS(r.created.Int64),
		Deleted: r.deleted.Bool, Mentions: splitIDs(r.mentions.String),
	}
	if r.edited.Valid {
		at := fromMS(r.edited.Int64)
		m.EditedAt = &at
	}
	return m
}

func scanMessage(sc scanner) (chat.Message, error) {
	var r messageRow
	if err := sc.Scan(r.dest()...); err != nil {
		return chat.Message{}, err
	}
	return *r.message(), nil
}

func loadMessage(ctx context.Context, q querier, roomID, id string) (chat.Message, error) {
	m, err := scanMessage(q.queryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE id = ? AND room_id = ?`, id, roomID))
	return m, rowErr(err, "message %s in room %s", id, roomID)
}

// A message event stores only the seq of its message, which is read with
// the event: every event of a message carries the message as it is now.
// So deleting a message removes its text from the whole timeline, events
// included, and a send stores its text once.
const (
	eventCols = `e.room_id, e.seq, e.type, e.actor_id, e.created_at, e.data, ` +
		`m.id, m.room_id, m.seq, m.sender_id, m.text, m.client_id, m.created_at, m.edited_at, m.deleted, m.mentions`
	eventsFrom = ` FROM events e LEFT JOIN messages m ON m.room_id = e.room_id AND m.seq = e.message_seq`
)

func scanEvent(sc scanner) (chat.Event, error) {
	var e chat.Event
	var created int64
	var data []byte
	var m messageRow
	dest := append([]any{&e.RoomID, &e.Seq, &e.Type, &e.ActorID, &created, &data}, m.dest()...)
	if err := sc.Scan(dest...); err != nil {
		return chat.Event{}, err
	}
	e.CreatedAt = fromMS(created)
	if err := decodeEvent(&e, data); err != nil {
		return chat.Event{}, err
	}
	e.Message = m.message()
	return e, nil
}

// AppendMessage stores m with the room's next seq, or, if m repeats the
// client id of an earlier message of its sender in the room, returns that
// message and its message.created event.
//
// The writer runs no look-up first: the insert meets the UNIQUE (room_id,
// sender_id, client_id) constraint, the op is rolled back, and the original
// is read afterwards from a reader. Retries are rare, and the look-up cost
// every send a sixth of the writer's time.
func (s *Store) AppendMessage(ctx context.Context, m chat.Message) (chat.Appended, error) {
	m.CreatedAt = norm(m.CreatedAt)
	m.Seq, m.EditedAt, m.Deleted = 0, nil, false
	// Twice at most: if the original was in a batch whose commit then
	// failed, it is gone, and this send is the first after all.
	for range 2 {
		var out chat.Appended
		err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
			var err error
			out, err = appendMessage(ctx, tx, m)
			return err
		})
		if !errors.Is(err, errRepeated) {
			return out, err
		}
		orig, ev, err := s.sentBefore(ctx, m)
		if !errors.Is(err, chat.ErrNotFound) {
			return chat.Appended{Message: orig, Event: ev}, err
		}
	}
	return chat.Appended{}, fmt.Errorf("sqlite: client id %q: repeated, but no original", m.ClientID)
}

// errRepeated is an append's error when its client id was used before.
var errRepeated = errors.New("sqlite: client id repeated")

// sentBefore reads the message m's sender sent to m's room with m's client
// id, and its message.created event.
func (s *Store) sentBefore(ctx context.Context, m chat.Message) (chat.Message, chat.Event, error) {
	orig, err := scanMessage(s.rq.queryRow(ctx, `SELECT `+messageCols+` FROM messages
		WHERE room_id = ? AND sender_id = ? AND client_id = ?`, m.RoomID, m.SenderID, m.ClientID))
	if err != nil {
		return chat.Message{}, chat.Event{}, rowErr(err, "client id %q", m.ClientID)
	}
	ev, err := scanEvent(s.rq.queryRow(ctx, `SELECT `+eventCols+eventsFrom+`
		WHERE e.room_id = ? AND e.seq = ?`, orig.RoomID, orig.Seq))
	if err != nil {
		return chat.Message{}, chat.Event{}, rowErr(err, "event %s/%d", orig.RoomID, orig.Seq)
	}
	return orig, ev, nil
}

// appendMessage stores m with the room's next seq and appends its
// message.created event. Sending a message means having read the room up
// to it, so the sender's read position moves there too; that update is
// also the membership check, as it finds no row for a non-member.
func appendMessage(ctx context.Context, tx *wtx, m chat.Message) (chat.Appended, error) {
	r, err := scanRoom(tx.queryRow(ctx, `UPDATE rooms
		SET last_seq = last_seq + 1, active_at = max(active_at, ?)
		WHERE id = ? RETURNING id, kind, name, topic, created_at, last_seq, member_count`,
		ms(m.CreatedAt), m.RoomID))
	if err != nil {
		return chat.Appended{}, rowErr(err, "room %s", m.RoomID)
	}
	m.Seq = r.LastSeq
	res, err := tx.exec(ctx, `UPDATE members SET read_seq = ? WHERE room_id = ? AND user_id = ?`,
		m.Seq, m.RoomID, m.SenderID)
	if err != nil {
		return chat.Appended{}, fmt.Errorf("sqlite: read position: %w", err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return chat.Appended{}, notFound("member %s of room %s", m.SenderID, m.RoomID)
	}
	mentions := nullString(strings.Join(m.Mentions, " "))
	_, err = tx.exec(ctx, `INSERT INTO messages
		(id, room_id, seq, sender_id, text, client_id, created_at, mentions, mentioned)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		m.ID, m.RoomID, m.Seq, m.SenderID, m.Text, nullString(m.ClientID), ms(m.CreatedAt),
		mentions, mentions)
	switch {
	case isUnique(err, "messages.client_id"):
		return chat.Appended{}, errRepeated
	case isUnique(err, ""):
		return chat.Appended{}, fmt.Errorf("sqlite: message %s: %w", m.ID, chat.ErrConflict)
	case err != nil:
		return chat.Appended{}, fmt.Errorf("sqlite: append message: %w", err)
	}
	if err := insertMentions(ctx, tx, m); err != nil {
		return chat.Appended{}, err
	}
	snapshot := m
	ev := chat.Event{
		RoomID: m.RoomID, Seq: m.Seq, Type: chat.EventMessageCreated,
		ActorID: m.SenderID, CreatedAt: m.CreatedAt, Message: &snapshot,
	}
	if err := insertEvent(ctx, tx, ev); err != nil {
		return chat.Appended{}, err
	}
	return chat.Appended{Message: m, Event: ev, Created: true, Room: r}, nil
}

// messageEvent appends an event of typ carrying m as it is after the change.
func messageEvent(ctx context.Context, tx *wtx, typ, actorID string, at time.Time,
	m chat.Message) (chat.Event, error) {
	seq, err := nextSeq(ctx, tx, m.RoomID, at, 0)
	if err != nil {
		return chat.Event{}, err
	}
	ev := chat.Event{
		RoomID: m.RoomID, Seq: seq, Type: typ, ActorID: actorID, CreatedAt: at, Message: &m,
	}
	return ev, insertEvent(ctx, tx, ev)
}

// EditMessage replaces the text of a live message of editorID's and
// returns the members it mentions that no earlier version mentioned.
func (s *Store) EditMessage(ctx context.Context, roomID, messageID, editorID, text string,
	mentions []string, at time.Time) (chat.Message, chat.Event, []string, error) {
	at = norm(at)
	var m chat.Message
	var ev chat.Event
	var first []string
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		var err error
		if m, err = loadMessage(ctx, tx, roomID, messageID); err != nil {
			return err
		}
		switch {
		case m.SenderID != editorID:
			return fmt.Errorf("sqlite: edit message %s: %w", messageID, chat.ErrForbidden)
		case m.Deleted:
			return fmt.Errorf("sqlite: edit message %s: %w", messageID, chat.ErrMessageDeleted)
		}
		m.Text, m.EditedAt, m.Mentions = text, &at, mentions
		if first, err = storeEdit(ctx, tx, m); err != nil {
			return err
		}
		ev, err = messageEvent(ctx, tx, chat.EventMessageEdited, editorID, at, m)
		return err
	})
	if err != nil {
		return chat.Message{}, chat.Event{}, nil, err
	}
	return m, ev, first, nil
}

// storeEdit writes the new text and mentions of m, and returns those of
// its mentions that are not among the members it ever mentioned, adding
// them there.
func storeEdit(ctx context.Context, tx *wtx, m chat.Message) ([]string, error) {
	var was sql.NullString
	err := tx.queryRow(ctx, `SELECT mentioned FROM messages WHERE id = ?`, m.ID).Scan(&was)
	if err != nil {
		return nil, fmt.Errorf("sqlite: mentioned by %s: %w", m.ID, err)
	}
	ever := splitIDs(was.String)
	var first []string
	for _, id := range m.Mentions {
		if !slices.Contains(ever, id) {
			first, ever = append(first, id), append(ever, id)
		}
	}
	_, err = tx.exec(ctx, `UPDATE messages SET text = ?, edited_at = ?, mentions = ?, mentioned = ?
		WHERE id = ?`, m.Text, ms(*m.EditedAt), nullString(strings.Join(m.Mentions, " ")),
		nullString(strings.Join(ever, " ")), m.ID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: edit message %s: %w", m.ID, err)
	}
	_, err = tx.exec(ctx, `DELETE FROM mentions WHERE room_id = ? AND seq = ?`, m.RoomID, m.Seq)
	if err != nil {
		return nil, fmt.Errorf("sqlite: edit mentions of %s: %w", m.ID, err)
	}
	return first, insertMentions(ctx, tx, m)
}

// DeleteMessage turns a message into a tombstone: its text goes, its place
// in the timeline stays.
func (s *Store) DeleteMessage(ctx context.Context, roomID, messageID, actorID string,
	at time.Time) (chat.Event, bool, error) {
	at = norm(at)
	var ev chat.Event
	var changed bool
	err := s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
		m, err := loadMessage(ctx, tx, roomID, messageID)
		if err != nil || m.Deleted {
			return err
		}
		m.Text, m.Deleted, m.Mentions = "", true, nil
		_, err = tx.exec(ctx, `UPDATE messages SET text = '', deleted = 1, mentions = NULL
			WHERE id = ?`, messageID)
		if err != nil {
			return fmt.Errorf("sqlite: delete message %s: %w", messageID, err)
		}
		ev, err = messageEvent(ctx, tx, chat.EventMessageDeleted, actorID, at, m)
		changed = err == nil
		return err
	})
	if err != nil {
		return chat.Event{}, false, err
	}
	return ev, changed, nil
}

// Message returns one message of roomID.
func (s *Store) Message(ctx context.Context, roomID, messageID string) (chat.Message, error) {
	return loadMessage(ctx, s.rq, roomID, messageID)
}

// Messages returns a page of roomID's messages.
func (s *Store) Messages(ctx context.Context, roomID string, p chat.Page) ([]chat.Message, bool, error) {
	q, args, desc := pageSQL(`SELECT `+messageCols+` FROM messages`, "", roomID, p)
	rows, err := s.rq.query(ctx, q, args...)
	msgs, err := collect(rows, err, scanMessage)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: messages of %s: %w", roomID, err)
	}
	if len(msgs) == 0 {
		if err := s.exists(ctx, "rooms", "room", roomID); err != nil {
			return nil, false, err
		}
	}
	msgs, more := trimPage(msgs, pageSize(p), desc)
	return msgs, more, nil
}

// Events returns a page of roomID's events.
func (s *Store) Events(ctx context.Context, roomID string, p chat.Page) ([]chat.Event, bool, error) {
	q, args, desc := pageSQL(`SELECT `+eventCols+eventsFrom, "e.", roomID, p)
	rows, err := s.rq.query(ctx, q, args...)
	evs, err := collect(rows, err, scanEvent)
	if err != nil {
		return nil, false, fmt.Errorf("sqlite: events of %s: %w", roomID, err)
	}
	if len(evs) == 0 {
		if err := s.exists(ctx, "rooms", "room", roomID); err != nil {
			return nil, false, err
		}
	}
	evs, more := trimPage(evs, pageSize(p), desc)
	return evs, more, nil
}

// maxPage is the most items a page holds. Callers validate Limit; this
// only keeps a bad one from reading a whole timeline.
const maxPage = 200

func pageSize(p chat.Page) int { return min(max(p.Limit, 1), maxPage) }

// pageSQL completes selectFrom, which reads a table keyed by (room_id,
// seq), its columns prefixed by alias, for page p of roomID. It reads in
// the direction of travel (newest first when Before is set, else oldest
// first after After) and one item more than the page, to tell whether more
// exist beyond it.
func pageSQL(selectFrom, alias, roomID string, p chat.Page) (q string, args []any, desc bool) {
	limit := pageSize(p) + 1
	room, seq := alias+"room_id", alias+"seq"
	if p.Backward() {
		return selectFrom + ` WHERE ` + room + ` = ? AND ` + seq + ` < ? ORDER BY ` + seq + ` DESC LIMIT ?`,
			[]any{roomID, p.Before, limit}, true
	}
	return selectFrom + ` WHERE ` + room + ` = ? AND ` + seq + ` > ? ORDER BY ` + seq + ` LIMIT ?`,
		[]any{roomID, p.After, limit}, false
}

// trimPage cuts items, read in the direction of travel, to limit, puts
// them in ascending order and reports whether there were more.
func trimPage[T any](items []T, limit int, desc bool) ([]T, bool) {
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if desc {
		slices.Reverse(items)
	}
	return items, more
}
