package hub

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Session is one connection's place in the hub: the frames waiting to be
// written to it and, per room, which seqs it was sent. Its transport writes
// what Take returns, whenever Wake signals, and closes the connection when
// Take says so. Delivery never blocks: a session whose queue is full is
// closed with CodeTooSlow.
type Session struct {
	h        *Hub
	id       string
	auth     chat.Auth
	user     *user
	queueMax int
	detached atomic.Bool

	wake     chan struct{} // frames were queued, or the session is closing
	space    chan struct{} // the transport took the queue
	writeNow func([]byte) WriteResult
	onWake   func() // replaces the wake channel if set

	mu      sync.Mutex
	q       [][]byte
	last    time.Time // when the last frame was queued or written (see enqueueLocked)
	live    bool      // Ready was called
	held    int       // frames held back by rooms being replayed
	closing Closing
	// rooms is the delivery state per room, created on first use.
	rooms map[string]*track
}

// Closing says how the transport must close a session: with Code and
// Reason, after writing the frames Take returned. Code is 0 while the
// session is open.
type Closing struct {
	Code   int
	Reason string
}

// delivery is one event on its way to the local members of its room.
type delivery struct {
	room  string
	seq   int64
	frame []byte
	at    time.Time // when it set out; see enqueueLocked
}

// Delivery modes of a room on one session.
const (
	modeLive      = iota // live events are sent
	modeReplaying        // a resume is replaying: live events are held
	modeBehind           // a resume stopped short of the head: live events are dropped
)

// maxSpans bounds the disjoint runs of seqs a track remembers above its
// floor. Runs only split when a member leaves and rejoins during one
// connection, so the bound is rarely reached; beyond it the lowest run is
// merged into the floor, as if the gap below it had been sent.
const maxSpans = 8

// track is what one session was sent of one room: every seq up to floor
// (sent, or reported by the client as received), plus the runs in spans.
// Sends extend floor in the common case, so a track is usually one number.
type track struct {
	floor int64
	spans []span
	mode  uint8
	held  []heldFrame
}

type span struct{ lo, hi int64 }

type heldFrame struct {
	seq   int64
	frame []byte
	last  bool // ends the session's membership of the room
}

func newSession(h *Hub, a chat.Auth, o SessionOptions) *Session {
	s := &Session{h: h, id: o.ID, auth: a, queueMax: o.QueueSize, writeNow: o.WriteNow,
		onWake: o.Wake,
		space:  make(chan struct{}, 1)}
	if s.onWake == nil {
		s.wake = make(chan struct{}, 1)
	}
	if s.queueMax <= 0 {
		s.queueMax = DefaultQueueSize
	}
	return s
}

// ID returns the id given in SessionOptions.
func (s *Session) ID() string { return s.id }

// Auth returns the caller the session was connected for.
func (s *Session) Auth() chat.Auth { return s.auth }

// Wake is signalled when frames are queued or the session starts closing,
// unless SessionOptions.Wake was set.
func (s *Session) Wake() <-chan struct{} { return s.wake }

// Ready queues frame as the session's first and starts live delivery.
func (s *Session) Ready(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing.Code != 0 {
		return
	}
	s.q = append(s.q, frame)
	s.live = true
	s.wakeLocked()
}

// Take returns every queued frame, in order, and how to close the session
// if it is closing; the transport writes the frames and then, if
// Closing.Code is set, closes the connection. dst, the slice a previous
// Take returned (cleared), is reused for the next batch.
func (s *Session) Take(dst [][]byte) ([][]byte, Closing) {
	s.mu.Lock()
	frames := s.q
	if cap(dst) > max(minBatch, 2*len(frames)) {
		// Traffic has dropped: do not keep a burst's worth of slots.
		dst = nil
	}
	s.q = dst[:0]
	c := s.closing
	s.mu.Unlock()
	s.signal(s.space)
	return frames, c
}

// burstGap is how soon after its previous frame a frame counts as part of
// a burst, and is queued for the writer rather than written at once. Under
// fan-out, a session of a busy room gets a frame every few milliseconds;
// events published back to back come microseconds apart.
const burstGap = time.Millisecond

// minBatch is the capacity of queue slices always worth keeping.
const minBatch = 16

// Reply queues frame, a reply to the client, waiting while the queue is
// full; only one goroutine at a time may call Reply or Resume.
func (s *Session) Reply(ctx context.Context, frame []byte) error {
	return s.pushWait(ctx, frame, s.queueMax, nil, 0)
}

// Close closes the session with code and reason: Take returns them to the
// transport and nothing more is queued. For CodeGoingAway the frames
// already queued are written first, so a shutdown loses nothing sent;
// otherwise they are dropped, as a revoked or too slow session must stop at
// once. Closing a closed session does nothing.
func (s *Session) Close(code int, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closeLocked(code, reason)
}

// Closing returns how the session is closing; Code is 0 while it is open.
func (s *Session) Closing() Closing {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closing
}

func (s *Session) closeLocked(code int, reason string) {
	if s.closing.Code != 0 {
		return
	}
	s.closing = Closing{Code: code, Reason: reason}
	if code != CodeGoingAway {
		clear(s.q)
		s.q = s.q[:0]
	}
	for _, tr := range s.rooms {
		tr.held = nil
	}
	s.held = 0
	s.wakeLocked()
	s.signal(s.space)
}

// wakeLocked tells the transport that there is something to write.
func (s *Session) wakeLocked() {
	if s.onWake != nil {
		s.onWake()
		return
	}
	s.signal(s.wake)
}

func (s *Session) signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// deliver offers a live event. last says that it ends the membership of
// the session's user, which is then delivered even to a room that is
// behind. Called with the room's lock held, in seq order per room.
func (s *Session) deliver(d *delivery, last bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live || s.closing.Code != 0 {
		return
	}
	tr := s.trackLocked(d.room)
	if tr.has(d.seq) {
		return
	}
	switch {
	case tr.mode == modeReplaying:
		if s.roomLocked() {
			tr.held = append(tr.held, heldFrame{seq: d.seq, frame: d.frame, last: last})
			s.held++
		}
	case tr.mode == modeLive || last:
		s.sendLocked(tr, d.seq, d.frame, d.at)
	}
}

func (s *Session) trackLocked(roomID string) *track {
	tr := s.rooms[roomID]
	if tr == nil {
		if s.rooms == nil {
			s.rooms = map[string]*track{}
		}
		tr = &track{}
		s.rooms[roomID] = tr
	}
	return tr
}

// roomLocked reports whether one more frame fits; if not, it closes the
// session as too slow.
func (s *Session) roomLocked() bool {
	if len(s.q)+s.held < s.queueMax {
		return true
	}
	s.closeLocked(CodeTooSlow, "too slow")
	return false
}

// sendLocked queues frame, event seq of tr's room, without blocking.
func (s *Session) sendLocked(tr *track, seq int64, frame []byte, now time.Time) {
	if !s.roomLocked() {
		return
	}
	s.enqueueLocked(frame, now)
	tr.add(seq)
}

// enqueueLocked queues frame for the transport, or, when nothing is
// queued and the session's previous frame is older than burstGap, lets the
// transport write it at once if it can without blocking. A frame that
// arrives alone is cheapest written at once: waking the transport's writer
// for it cost as much as the write. Frames in quick succession are
// cheapest queued: the writer takes them together, in one write.
//
// now is the time, read once by the caller for all the sessions a frame
// goes to.
func (s *Session) enqueueLocked(frame []byte, now time.Time) {
	alone := now.Sub(s.last) > burstGap
	s.last = now
	if alone && len(s.q) == 0 && s.writeNow != nil {
		switch s.writeNow(frame) {
		case Written:
			return
		case WrittenPartly:
			s.wakeLocked()
			return
		}
	}
	s.q = append(s.q, frame)
	if len(s.q) == 1 {
		s.wakeLocked()
	}
}

// pushWait queues frame once fewer than limit frames are queued (held
// frames do not count: they wait for this very replay to end). If tr is
// set, frame is event seq of tr's room and is dropped if that was sent
// meanwhile.
func (s *Session) pushWait(ctx context.Context, frame []byte, limit int, tr *track, seq int64) error {
	for {
		s.mu.Lock()
		if s.closing.Code != 0 {
			s.mu.Unlock()
			return ErrClosed
		}
		if len(s.q) < limit {
			if tr == nil || !tr.has(seq) {
				s.enqueueLocked(frame, time.Now())
				if tr != nil {
					tr.add(seq)
				}
			}
			s.mu.Unlock()
			return nil
		}
		s.mu.Unlock()
		select {
		case <-s.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Resume replays, room by room, the events after the seq the client gives
// for it, at most limit per room, and returns the rooms where more remain.
// Rooms the user is not a member of are ignored. While a room replays, its
// live events are held and sent after the replay, except those the replay
// sent. A room that still has more stays behind: its live events are not
// sent, since they would leave a gap, until a later resume reaches the
// head. No seq is sent twice on one session. Only one goroutine at a time
// may call Resume or Reply.
func (s *Session) Resume(ctx context.Context, rooms map[string]int64, limit int) ([]string, error) {
	if len(rooms) == 0 {
		return nil, nil
	}
	heads, err := s.h.store.RoomSeqs(ctx, s.auth.User.ID)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(rooms))
	for id := range rooms {
		if _, ok := heads[id]; ok {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	var more []string
	for _, id := range ids {
		m, err := s.resumeRoom(ctx, id, rooms[id], heads[id], max(limit, 1))
		if err != nil {
			return more, err
		}
		if m {
			more = append(more, id)
		}
	}
	return more, nil
}

// resumeRoom replays room id after seq after; head is its last seq when
// the user was last seen to be a member.
func (s *Session) resumeRoom(ctx context.Context, id string, after, head int64, limit int) (bool, error) {
	s.mu.Lock()
	if s.closing.Code != 0 {
		s.mu.Unlock()
		return false, ErrClosed
	}
	tr := s.trackLocked(id)
	tr.raise(min(after, head))
	if tr.mode == modeLive && tr.floor >= head {
		s.mu.Unlock()
		return false, nil
	}
	tr.mode = modeReplaying
	s.mu.Unlock()

	more, err := s.replay(ctx, tr, id, head, limit)
	s.finishReplay(tr, more || err != nil)
	return more, err
}

// replay sends the events of room id above tr's floor, up to limit, and
// reports whether more remain. It stops after an event that ends the
// user's membership beyond head, the last one they may see.
func (s *Session) replay(ctx context.Context, tr *track, id string, head int64, limit int) (bool, error) {
	sent := 0
	for {
		s.mu.Lock()
		from := tr.floor
		s.mu.Unlock()
		evs, storeMore, err := eventsAfter(ctx, s.h.store, id, from, min(fillPage, limit-sent))
		if err != nil {
			return false, err
		}
		for i := range evs {
			ev := &evs[i]
			if sent == limit {
				return true, nil
			}
			queued, err := s.replayEvent(ctx, tr, ev)
			if err != nil {
				return false, err
			}
			if queued {
				sent++
			}
			if ev.Ends() && ev.UserID == s.auth.User.ID && ev.Seq > head {
				return false, nil
			}
		}
		if !storeMore || len(evs) == 0 {
			return false, nil
		}
		if sent == limit {
			return true, nil
		}
	}
}

// replayEvent queues one replayed event unless it was sent, waiting while
// more than half the queue is used: the other half stays free for live
// events of other rooms.
func (s *Session) replayEvent(ctx context.Context, tr *track, ev *chat.Event) (bool, error) {
	s.mu.Lock()
	sent := tr.has(ev.Seq)
	s.mu.Unlock()
	if sent {
		return false, nil
	}
	frame, err := EncodeEvent(ev)
	if err != nil {
		return false, err
	}
	return true, s.pushWait(ctx, frame, max(s.queueMax/2, 1), tr, ev.Seq)
}

// finishReplay ends a replay: the room goes live, or behind, and the live
// events held meanwhile are sent if they were not.
func (s *Session) finishReplay(tr *track, behind bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tr.mode = modeLive
	if behind {
		tr.mode = modeBehind
	}
	held := tr.held
	tr.held = nil
	s.held -= len(held)
	if s.closing.Code != 0 {
		return
	}
	now := time.Now()
	for _, f := range held {
		if !tr.has(f.seq) && (!behind || f.last) {
			s.sendLocked(tr, f.seq, f.frame, now)
		}
	}
}

// has reports whether seq was sent.
func (t *track) has(seq int64) bool {
	if seq <= t.floor {
		return true
	}
	for _, sp := range t.spans {
		if seq >= sp.lo && seq <= sp.hi {
			return true
		}
	}
	return false
}

// add records that seq was sent.
func (t *track) add(seq int64) {
	switch {
	case seq <= t.floor:
		return
	case seq == t.floor+1:
		t.floor = seq
		t.absorb()
		return
	}
	i := 0
	for i < len(t.spans) && t.spans[i].hi+1 < seq {
		i++
	}
	if i < len(t.spans) && t.spans[i].lo <= seq+1 {
		sp := &t.spans[i]
		sp.lo, sp.hi = min(sp.lo, seq), max(sp.hi, seq)
		if i+1 < len(t.spans) && t.spans[i+1].lo <= sp.hi+1 {
			sp.hi = max(sp.hi, t.spans[i+1].hi)
			t.spans = slices.Delete(t.spans, i+1, i+2)
		}
		return
	}
	t.spans = slices.Insert(t.spans, i, span{seq, seq})
	if len(t.spans) > maxSpans {
		t.floor = t.spans[0].hi
		t.spans = slices.Delete(t.spans, 0, 1)
		t.absorb()
	}
}

// raise records that the client has every seq up to seq.
func (t *track) raise(seq int64) {
	if seq > t.floor {
		t.floor = seq
	}
	t.absorb()
}

// absorb merges into floor the runs that reach it.
func (t *track) absorb() {
	for len(t.spans) > 0 && t.spans[0].lo <= t.floor+1 {
		t.floor = max(t.floor, t.spans[0].hi)
		t.spans = slices.Delete(t.spans, 0, 1)
	}
	if len(t.spans) == 0 {
		t.spans = nil
	}
}
