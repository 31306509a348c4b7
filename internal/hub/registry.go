package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/parley-chat/parley/internal/chat"
)

// shardCount splits the session registry so that connects, disconnects and
// look-ups of different users rarely wait for one another.
const shardCount = 64

type shard struct {
	mu    sync.RWMutex
	users map[string]*user
}

// user is a person with at least one session on this node.
type user struct {
	id string
	// sessions is copied on write under the shard's lock, so delivery
	// reads it without locking.
	sessions atomic.Pointer[[]*Session]
	refs     int // sessions registered; guarded by the shard's lock

	mu sync.Mutex
	// rooms are the rooms whose local members include this user; nil once
	// the user's last session is gone.
	rooms map[string]*room
	// attaching counts sessions loading their rooms; while it is above
	// zero, seen records the membership changes delivered meanwhile, so
	// that a room list read from the store just before is not trusted over
	// a removal delivered just after.
	attaching int
	seen      map[string]membership
}

type membership struct {
	seq    int64
	member bool
}

func (u *user) list() []*Session {
	if p := u.sessions.Load(); p != nil {
		return *p
	}
	return nil
}

// SessionOptions configures one session.
type SessionOptions struct {
	// ID names the session in logs, such as a connection id.
	ID string
	// QueueSize bounds the frames waiting to be written; a session that
	// would exceed it is closed with CodeTooSlow. Default 512.
	QueueSize int
	// WriteNow, if set, is offered each frame that finds the queue empty,
	// to write it at once instead of queueing it. It is called with the
	// session's lock held, so it must not block, and it must not write
	// while the transport writes what Take returned (the transport holds
	// a lock of its own from before Take until its write ends, and WriteNow
	// only tries that lock).
	WriteNow func(frame []byte) WriteResult
	// Wake, if set, is called instead of signalling Session.Wake: when
	// frames are queued, when WriteNow wrote a frame partly, and when the
	// session starts closing. It lets a transport run its writer only
	// while there is something to write, rather than keep a goroutine
	// parked on Wake for every idle connection. It is called with the
	// session's lock held, so it must not block or call the session.
	Wake func()
}

// WriteResult is what SessionOptions.WriteNow did with a frame.
type WriteResult uint8

const (
	// NotWritten: nothing was written; the frame is queued.
	NotWritten WriteResult = iota
	// Written: the whole frame was written.
	Written
	// WrittenPartly: part of the frame was written and the transport
	// keeps the rest, to write first when Wake next signals.
	WrittenPartly
)

// Connect registers a session for the caller authenticated by a and loads
// the rooms the caller is a member of, so that every event committed after
// Connect returns reaches the session once it is Ready. The session gets
// nothing until then. The caller must call Disconnect when it is done with
// the session, whatever happens.
func (h *Hub) Connect(ctx context.Context, a chat.Auth, o SessionOptions) (*Session, error) {
	if h.closing.Load() {
		return nil, errors.New("hub: closed")
	}
	s := newSession(h, a, o)
	u, others := h.register(s)
	// Marked online before the settings are read with the rooms: a change
	// of settings is either read here or finds the user online and
	// announces itself (chat.Service.updateSettings).
	announce := !others && h.cameOnline(a.User.ID)
	settings, err := h.attachRooms(ctx, u, others)
	if err != nil {
		h.Disconnect(s)
		return nil, err
	}
	// Announced once the rooms are attached, so that the announcement can
	// find the audience in them rather than in the store.
	if announce {
		h.publishPresence(ctx, chat.PresenceNotice{UserID: a.User.ID, Status: chat.StatusOnline}, &settings)
	}
	return s, nil
}

// attachRooms makes u a local member of every room the store lists for it,
// and returns the user's settings, read with the rooms.
func (h *Hub) attachRooms(ctx context.Context, u *user, others bool) (chat.UserSettings, error) {
	defer u.attached()
	seqs, settings, err := h.store.SessionStart(ctx, u.id)
	if err != nil {
		return settings, fmt.Errorf("hub: rooms of %s: %w", u.id, err)
	}
	for id, last := range seqs {
		if err := h.attachRoom(ctx, u, id, last, others); err != nil {
			return settings, err
		}
	}
	return settings, nil
}

// localRooms returns the rooms of userID if this node holds them all: the
// user has sessions here and none of them is still loading its rooms.
func (h *Hub) localRooms(userID string) ([]*room, bool) {
	sh := h.shardOf(userID)
	sh.mu.Lock()
	u := sh.users[userID]
	sh.mu.Unlock()
	if u == nil {
		return nil, false
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.rooms == nil || u.attaching > 0 {
		return nil, false
	}
	rs := make([]*room, 0, len(u.rooms))
	for _, r := range u.rooms {
		rs = append(rs, r)
	}
	return rs, true
}

// register adds s to its user's sessions, creating the user if needed. It
// reports whether the user already had other sessions.
func (h *Hub) register(s *Session) (u *user, others bool) {
	id := s.auth.User.ID
	sh := h.shardOf(id)
	sh.mu.Lock()
	u = sh.users[id]
	if u == nil {
		u = &user{id: id, rooms: map[string]*room{}}
		sh.users[id] = u
	}
	u.refs++
	old := u.list()
	next := make([]*Session, len(old), len(old)+1)
	copy(next, old)
	next = append(next, s)
	u.sessions.Store(&next)
	sh.mu.Unlock()

	s.user = u
	u.mu.Lock()
	u.attaching++
	if u.seen == nil {
		u.seen = map[string]membership{}
	}
	u.mu.Unlock()
	return u, len(old) > 0
}

func (u *user) attached() {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.attaching--
	if u.attaching == 0 {
		u.seen = nil
	}
}

func (u *user) hasRoom(id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := u.rooms[id]
	return ok
}

// attachRoom makes u a local member of room id, whose last seq the store
// gave as last when it listed u's rooms.
func (h *Hub) attachRoom(ctx context.Context, u *user, id string, last int64, others bool) error {
	start := last
	if others && !u.hasRoom(id) {
		// A room new to a user whose other sessions are live: the notice of
		// their member.joined may still be in flight, and tracking the room
		// from last would drop it. Track it from just before the join.
		m, err := h.store.Member(ctx, id, u.id)
		switch {
		case errors.Is(err, chat.ErrNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("hub: membership of %s in %s: %w", u.id, id, err)
		case m.JoinedSeq > 0 && m.JoinedSeq <= last && last-m.JoinedSeq < 5*fillPage:
			start = m.JoinedSeq - 1
		}
	}
	for {
		r, created := h.trackRoom(id, start)
		r.mu.Lock()
		if r.dead {
			r.mu.Unlock()
			continue
		}
		h.attachLocked(r, u, last)
		if created && start < last {
			r.target = max(r.target, last)
			h.startFillLocked(r)
		}
		h.untrackIfEmptyLocked(r)
		r.mu.Unlock()
		return nil
	}
}

// attachLocked adds u to r's local members unless a membership change
// delivered after the store listed u's rooms (at seq last) ended it.
func (h *Hub) attachLocked(r *room, u *user, last int64) {
	if r.members[u.id] == u {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.rooms == nil {
		return
	}
	if m, ok := u.seen[r.id]; ok && m.seq > last && !m.member {
		return
	}
	u.rooms[r.id] = r
	r.members[u.id] = u
}

// Disconnect removes s from the hub and closes it if it is not closed yet.
// Once the last session of a user is gone, the user leaves the local
// members of their rooms. It may be called more than once.
func (h *Hub) Disconnect(s *Session) {
	if s.detached.Swap(true) {
		return
	}
	s.Close(CodeGoingAway, "session ended")
	u := s.user
	sh := h.shardOf(u.id)
	sh.mu.Lock()
	old := u.list()
	next := make([]*Session, 0, len(old))
	for _, o := range old {
		if o != s {
			next = append(next, o)
		}
	}
	u.sessions.Store(&next)
	u.refs--
	gone := u.refs == 0
	if gone && sh.users[u.id] == u {
		delete(sh.users, u.id)
	}
	sh.mu.Unlock()
	if !gone {
		return
	}
	h.wentAway(u.id)

	u.mu.Lock()
	rooms := u.rooms
	u.rooms = nil
	u.mu.Unlock()
	for _, r := range rooms {
		r.mu.Lock()
		if r.members[u.id] == u {
			delete(r.members, u.id)
			h.untrackIfEmptyLocked(r)
		}
		r.mu.Unlock()
	}
}

func (h *Hub) shardOf(userID string) *shard {
	// FNV-1a, inline so that it does not allocate.
	x := uint32(2166136261)
	for i := 0; i < len(userID); i++ {
		x ^= uint32(userID[i])
		x *= 16777619
	}
	return &h.shards[x%shardCount]
}

// localUser returns the user with id if they have a session here.
func (h *Hub) localUser(id string) *user {
	sh := h.shardOf(id)
	sh.mu.RLock()
	defer sh.mu.RUnlock()
	return sh.users[id]
}

// Stats counts what the hub holds.
type Stats struct {
	Users    int
	Sessions int
	Rooms    int
}

// Stats returns the hub's current counts.
func (h *Hub) Stats() Stats {
	var st Stats
	for i := range h.shards {
		sh := &h.shards[i]
		sh.mu.RLock()
		st.Users += len(sh.users)
		for _, u := range sh.users {
			st.Sessions += len(u.list())
		}
		sh.mu.RUnlock()
	}
	h.roomsMu.RLock()
	st.Rooms = len(h.rooms)
	h.roomsMu.RUnlock()
	return st
}
