package ws

import (
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
)

// typingThrottle is the least time between two typing: true frames of one
// connection and room that are relayed; refreshes in between only extend
// the indicator.
const typingThrottle = 2 * time.Second

// typingState is a connection's typing indicators, per room: when each
// was last relayed and the timer that ends it.
type typingState struct {
	mu    sync.Mutex
	rooms map[string]*typingRoom
	ended bool
}

type typingRoom struct {
	relayed time.Time
	expiry  *time.Timer
}

// read answers a read frame: it marks the room read up to f.Seq, and
// acknowledges it if it has a ref.
func (c *conn) read(s *hub.Session, f Frame) error {
	if f.Seq <= 0 {
		return c.reply(s, f.Ref, chat.Invalid("seq", "required", "must be a positive seq"))
	}
	if err := c.h.svc.MarkRead(c.ctx(), c.auth, f.RoomID, f.Seq); err != nil {
		return c.reply(s, f.Ref, err)
	}
	if f.Ref == "" {
		return nil
	}
	return s.Reply(c.ctx(), encode(serverFrame{Type: TypeAck, Ref: f.Ref}))
}

// typing answers a typing frame. A start is relayed at most once per
// typingThrottle and lasts TypingTimeout from the last frame; a stop is
// relayed at once if the indicator is on. Like every frame, one with a ref
// is answered: ack, or an error.
func (c *conn) typing(s *hub.Session, f Frame) error {
	if err := c.applyTyping(f); err != nil {
		return c.reply(s, f.Ref, err)
	}
	if f.Ref == "" {
		return nil
	}
	return s.Reply(c.ctx(), encode(serverFrame{Type: TypeAck, Ref: f.Ref}))
}

// applyTyping relays f if it changes what the room's members should see,
// and keeps the connection's indicators and their expiry.
func (c *conn) applyTyping(f Frame) error {
	t := &c.typingSt
	now := time.Now()
	t.mu.Lock()
	if t.ended {
		t.mu.Unlock()
		return nil
	}
	tr := t.rooms[f.RoomID]
	relay := false
	switch {
	case f.Typing && tr == nil:
		relay = true
	case f.Typing:
		relay = now.Sub(tr.relayed) >= typingThrottle
	case tr == nil:
		// A stop with nothing to stop relays nothing, but a room one
		// cannot see is still an error.
		t.mu.Unlock()
		return c.h.svc.CheckMember(c.ctx(), c.auth, f.RoomID)
	default:
		relay = true
	}
	t.mu.Unlock()
	if relay {
		if err := c.h.svc.Typing(c.ctx(), c.auth, f.RoomID, f.Typing); err != nil {
			return err
		}
	}

	t.mu.Lock()
	defer t.mu.Unlock()
	tr = t.rooms[f.RoomID]
	if !f.Typing {
		if tr != nil {
			tr.expiry.Stop()
			delete(t.rooms, f.RoomID)
		}
		return nil
	}
	if t.ended {
		return nil
	}
	if tr == nil {
		if t.rooms == nil {
			t.rooms = map[string]*typingRoom{}
		}
		tr = &typingRoom{}
		t.rooms[f.RoomID] = tr
		room := f.RoomID
		tr.expiry = time.AfterFunc(c.h.o.TypingTimeout, func() { c.typingExpired(room, tr) })
	} else {
		tr.expiry.Reset(c.h.o.TypingTimeout)
	}
	if relay {
		tr.relayed = now
	}
	return nil
}

// typingExpired ends an indicator that was not refreshed in time.
func (c *conn) typingExpired(roomID string, tr *typingRoom) {
	t := &c.typingSt
	t.mu.Lock()
	if t.rooms[roomID] != tr {
		t.mu.Unlock()
		return
	}
	delete(t.rooms, roomID)
	t.mu.Unlock()
	c.h.svc.StopTyping(c.ctx(), roomID, c.auth.User.ID)
}

// stopTyping ends the connection's indicators, as its session ends.
func (c *conn) stopTyping() {
	t := &c.typingSt
	t.mu.Lock()
	rooms := t.rooms
	t.rooms, t.ended = nil, true
	t.mu.Unlock()
	for id, tr := range rooms {
		tr.expiry.Stop()
		c.h.svc.StopTyping(c.ctx(), id, c.auth.User.ID)
	}
}
