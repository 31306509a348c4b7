package hub

import (
	"context"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// room is the delivery state of one room with local members.
type room struct {
	id string

	mu sync.Mutex
	// last is the seq delivered last: every event up to it has gone to the
	// local members of its time, in order.
	last int64
	// members are the local users who are members.
	members map[string]*user
	// pending holds notices that arrived ahead of a gap, by seq.
	pending map[int64]*chat.Event
	// target is the highest seq known to exist; while last is below it, a
	// fill is running or about to.
	target  int64
	filling bool
	// dead is set once the room is no longer tracked; a new room value
	// replaces it if it is tracked again.
	dead bool
}

// room returns the tracked room with id, or nil.
func (h *Hub) room(id string) *room {
	h.roomsMu.RLock()
	defer h.roomsMu.RUnlock()
	return h.rooms[id]
}

// trackRoom returns the tracked room with id, tracking it from seq last if
// it was not, and whether it did.
func (h *Hub) trackRoom(id string, last int64) (*room, bool) {
	if r := h.room(id); r != nil {
		return r, false
	}
	h.roomsMu.Lock()
	defer h.roomsMu.Unlock()
	if r := h.rooms[id]; r != nil {
		return r, false
	}
	r := &room{id: id, last: last, members: map[string]*user{}}
	h.rooms[id] = r
	return r, true
}

// untrackIfEmptyLocked stops tracking r once it has no local members left
// and no fill running.
func (h *Hub) untrackIfEmptyLocked(r *room) {
	if r.dead || len(r.members) > 0 || r.filling {
		return
	}
	r.dead = true
	h.roomsMu.Lock()
	if h.rooms[r.id] == r {
		delete(h.rooms, r.id)
	}
	h.roomsMu.Unlock()
}

// offerLocked delivers ev if it is the next event of r, drops it if it was
// delivered already, and otherwise keeps it and starts filling the gap.
func (h *Hub) offerLocked(r *room, ev *chat.Event) {
	switch {
	case ev.Seq <= r.last:
	case ev.Seq == r.last+1:
		h.deliverLocked(r, ev)
		h.drainPendingLocked(r)
	default:
		if len(r.pending) < maxPending {
			if r.pending == nil {
				r.pending = map[int64]*chat.Event{}
			}
			e := *ev
			r.pending[ev.Seq] = &e
		}
		r.target = max(r.target, ev.Seq)
		h.startFillLocked(r)
	}
}

// drainPendingLocked delivers the kept notices that follow r.last.
func (h *Hub) drainPendingLocked(r *room) {
	for len(r.pending) > 0 {
		ev, ok := r.pending[r.last+1]
		if !ok {
			return
		}
		delete(r.pending, ev.Seq)
		h.deliverLocked(r, ev)
	}
}

// deliverLocked sends ev, the event after r.last, to every session of every
// local member. A member.joined adds the member first, so it is their first
// event of the room; an event that ends a membership goes to the member
// last.
func (h *Hub) deliverLocked(r *room, ev *chat.Event) {
	r.last = ev.Seq
	frame, err := EncodeEvent(ev)
	if err != nil {
		h.log.Error("hub: encode event", "room_id", r.id, "seq", ev.Seq, "err", err)
		return
	}
	ends := ""
	switch {
	case ev.Type == chat.EventMemberJoined:
		h.joinLocked(r, ev.UserID, ev.Seq)
	case ev.Ends():
		ends = ev.UserID
	}
	// One reading of the clock for all the event's deliveries.
	d := delivery{room: r.id, seq: ev.Seq, frame: frame, at: time.Now()}
	track := h.tracking && ev.Type == chat.EventMessageCreated
	for _, u := range r.members {
		last := u.id == ends
		sessions := u.list()
		for _, s := range sessions {
			s.deliver(&d, last)
		}
		if track && len(sessions) > 0 && u.id != ev.ActorID {
			h.delivered(r.id, u.id, ev.ActorID, ev.Seq)
		}
	}
	if ends != "" {
		h.leaveLocked(r, ends, ev.Seq)
	}
}

// joinLocked makes userID a local member of r if they have sessions here.
func (h *Hub) joinLocked(r *room, userID string, seq int64) {
	u := h.localUser(userID)
	if u == nil {
		return
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen != nil {
		u.seen[r.id] = membership{seq: seq, member: true}
	}
	if u.rooms == nil {
		return
	}
	u.rooms[r.id] = r
	r.members[userID] = u
}

// leaveLocked removes userID from r's local members.
func (h *Hub) leaveLocked(r *room, userID string, seq int64) {
	if m := r.members[userID]; m != nil {
		delete(r.members, userID)
		m.mu.Lock()
		delete(m.rooms, r.id)
		m.mu.Unlock()
	}
	if u := h.localUser(userID); u != nil {
		u.mu.Lock()
		if u.seen != nil {
			u.seen[r.id] = membership{seq: seq, member: false}
		}
		delete(u.rooms, r.id)
		u.mu.Unlock()
	}
}

// startFillLocked starts the goroutine that reads r's missing events from
// the store, unless one is running.
func (h *Hub) startFillLocked(r *room) {
	if r.filling {
		return
	}
	h.fillMu.Lock()
	defer h.fillMu.Unlock()
	if h.fillsClosed {
		return
	}
	r.filling = true
	h.fills.Add(1)
	go h.fill(r)
}

// fill delivers r's events from the store until r.last reaches r.target.
// Notices that arrive meanwhile are delivered as usual; the fill skips what
// they delivered. Out-of-order notices from concurrent commits usually
// close the gap before the read returns, so one read per gap suffices.
func (h *Hub) fill(r *room) {
	defer h.fills.Done()
	for {
		r.mu.Lock()
		if r.dead || r.last >= r.target || h.ctx.Err() != nil {
			h.endFillLocked(r)
			r.mu.Unlock()
			return
		}
		after := r.last
		r.mu.Unlock()

		ctx, cancel := context.WithTimeout(h.ctx, storeTimeout)
		evs, _, err := eventsAfter(ctx, h.store, r.id, after, fillPage)
		cancel()

		r.mu.Lock()
		for i := range evs {
			if evs[i].Seq == r.last+1 && !r.dead {
				h.deliverLocked(r, &evs[i])
			}
		}
		h.drainPendingLocked(r)
		if err != nil || len(evs) == 0 {
			if err != nil && h.ctx.Err() == nil {
				h.log.Warn("hub: gap fill failed; the next resync retries", "room_id", r.id, "after", after, "err", err)
			}
			h.endFillLocked(r)
			r.mu.Unlock()
			return
		}
		r.mu.Unlock()
	}
}

func (h *Hub) endFillLocked(r *room) {
	r.filling = false
	for seq := range r.pending {
		if seq <= r.last {
			delete(r.pending, seq)
		}
	}
	h.untrackIfEmptyLocked(r)
}
