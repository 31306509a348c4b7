package hub

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Conversation state: the per-user frames of chat's ephemeral notices
// (receipts, unread counts, notifications, typing, presence) go to the
// sessions of this node, are never stored by the hub and never replayed.
// Receipts are coalesced per member, room and kind; presence is tracked
// from the sessions connected here.
//
// presMu, delivMu and coalescer.mu are leaves: no other lock is taken
// while holding them.

// DefaultReceiptInterval is the least time between two receipt frames of
// one member, room and kind.
const DefaultReceiptInterval = time.Second

// push queues frame, a frame that is not an event, if the session is live.
// A session whose queue is full misses it: these frames are hints that a
// reconnect or a REST call recovers.
func (s *Session) push(frame []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.live || s.closing.Code != 0 || len(s.q)+s.held >= s.queueMax {
		return
	}
	s.enqueueLocked(frame, time.Now())
}

// toUser queues frame on every session of userID on this node.
func (h *Hub) toUser(userID string, frame []byte) {
	if u := h.localUser(userID); u != nil {
		for _, s := range u.list() {
			s.push(frame)
		}
	}
}

// toRoom queues frame on the sessions of r's local members but except.
func (h *Hub) toRoom(roomID, except string, frame []byte) {
	r := h.room(roomID)
	if r == nil {
		return
	}
	r.mu.Lock()
	users := make([]*user, 0, len(r.members))
	for id, u := range r.members {
		if id != except {
			users = append(users, u)
		}
	}
	r.mu.Unlock()
	for _, u := range users {
		for _, s := range u.list() {
			s.push(frame)
		}
	}
}

// Frames of the ephemeral notices, as docs/protocol.md gives them.
type (
	receiptFrame struct {
		Type   string `json:"type"`
		Kind   string `json:"kind"`
		RoomID string `json:"room_id"`
		UserID string `json:"user_id"`
		Seq    int64  `json:"seq"`
	}
	unreadFrame struct {
		Type string `json:"type"`
		chat.Unread
	}
	notificationFrame struct {
		Type    string        `json:"type"`
		Reason  string        `json:"reason"`
		RoomID  string        `json:"room_id"`
		Message *chat.Message `json:"message"`
	}
	typingFrame struct {
		Type   string `json:"type"`
		RoomID string `json:"room_id"`
		UserID string `json:"user_id"`
		Typing bool   `json:"typing"`
	}
	presenceFrame struct {
		Type       string     `json:"type"`
		UserID     string     `json:"user_id"`
		Status     string     `json:"status"`
		LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	}
)

func (h *Hub) encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		h.log.Error("hub: encode frame", "err", err)
		return nil
	}
	return b
}

// onState handles an ephemeral notice and reports whether n was one.
func (h *Hub) onState(n chat.Notice) bool {
	switch {
	case n.Receipt != nil:
		h.receipts.offer(*n.Receipt)
	case n.Unread != nil:
		h.toUser(n.Unread.UserID, h.encode(unreadFrame{Type: "unread", Unread: n.Unread.Unread}))
	case n.Notification != nil:
		nt := n.Notification
		h.toUser(nt.UserID, h.encode(notificationFrame{Type: "notification",
			Reason: nt.Reason, RoomID: nt.RoomID, Message: &nt.Message}))
	case n.Typing != nil:
		t := n.Typing
		h.toRoom(t.RoomID, t.UserID, h.encode(typingFrame{Type: "typing",
			RoomID: t.RoomID, UserID: t.UserID, Typing: t.Typing}))
	case n.Presence != nil:
		h.announcePresence(*n.Presence)
	default:
		return false
	}
	return true
}

// sendReceipt queues a receipt frame: on the sessions of rn.To if set,
// else on those of the room's local members.
func (h *Hub) sendReceipt(rn chat.ReceiptNotice) {
	frame := h.encode(receiptFrame{Type: "receipt", Kind: rn.Kind, RoomID: rn.RoomID,
		UserID: rn.UserID, Seq: rn.Seq})
	if rn.To != "" {
		h.toUser(rn.To, frame)
		return
	}
	h.toRoom(rn.RoomID, "", frame)
}

// coalescer sends at most one receipt per member, room and kind per
// interval: the first at once, the newest of those that follow within the
// interval at its end.
type coalescer struct {
	every time.Duration
	send  func(chat.ReceiptNotice)

	mu sync.Mutex
	m  map[receiptKey]*receiptState
}

type receiptKey struct{ room, user, kind string }

type receiptState struct {
	sent time.Time
	next *chat.ReceiptNotice // waiting for the end of the interval
}

// sweepAt is the number of tracked keys beyond which idle ones are
// dropped.
const sweepAt = 4096

func (c *coalescer) offer(rn chat.ReceiptNotice) {
	k := receiptKey{rn.RoomID, rn.UserID, rn.Kind}
	now := time.Now()
	c.mu.Lock()
	st := c.m[k]
	switch {
	case st == nil:
		if len(c.m) >= sweepAt {
			c.sweepLocked(now)
		}
		c.m[k] = &receiptState{sent: now}
	case st.next != nil:
		if rn.Seq >= st.next.Seq {
			st.next = &rn
		}
		c.mu.Unlock()
		return
	case now.Sub(st.sent) >= c.every:
		st.sent = now
	default:
		st.next = &rn
		time.AfterFunc(c.every-now.Sub(st.sent), func() { c.flush(k) })
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.send(rn)
}

func (c *coalescer) flush(k receiptKey) {
	c.mu.Lock()
	st := c.m[k]
	if st == nil || st.next == nil {
		c.mu.Unlock()
		return
	}
	rn := *st.next
	st.next, st.sent = nil, time.Now()
	c.mu.Unlock()
	c.send(rn)
}

func (c *coalescer) sweepLocked(now time.Time) {
	for k, st := range c.m {
		if st.next == nil && now.Sub(st.sent) >= c.every {
			delete(c.m, k)
		}
	}
}

// presence is what this node knows of one person's connection.
type presence struct {
	online   bool
	lastSeen time.Time
	away     *time.Timer // running while in the grace period after the last session ended
}

// Presence reports whether userID is online on this node, counting the
// grace period after their last session ended, and when they were last
// connected (zero while online, or if unknown).
//
// A person's last-seen time is also stored when they go offline, so the
// service reads it from the store when this node knows nothing of them.
//
// TODO(cluster): presence is per node; across nodes a person is online if
// any node says so, which needs the bus to carry a heartbeat.
func (h *Hub) Presence(userID string) (bool, time.Time) {
	h.presMu.Lock()
	defer h.presMu.Unlock()
	p := h.pres[userID]
	if p == nil {
		return false, time.Time{}
	}
	if p.online {
		return true, time.Time{}
	}
	return false, p.lastSeen
}

// cameOnline records that userID's first session here connected, and
// reports whether that is news to announce: not if they were online here
// already, or came back within the grace period.
func (h *Hub) cameOnline(userID string) bool {
	if h.grace <= 0 {
		return false
	}
	h.presMu.Lock()
	p := h.pres[userID]
	if p == nil {
		p = &presence{}
		h.pres[userID] = p
	}
	if p.away != nil {
		// Back within the grace period: nobody saw them leave.
		p.away.Stop()
		p.away = nil
		h.presMu.Unlock()
		return false
	}
	was := p.online
	p.online = true
	h.presMu.Unlock()
	return !was
}

// wentAway records that userID's last session here ended: they go offline
// after the grace period unless a session connects meanwhile.
func (h *Hub) wentAway(userID string) {
	if h.grace <= 0 {
		return
	}
	h.presMu.Lock()
	defer h.presMu.Unlock()
	p := h.pres[userID]
	if p == nil || !p.online || p.away != nil {
		return
	}
	// Milliseconds, as the store keeps every time.
	p.lastSeen = time.Now().UTC().Truncate(time.Millisecond)
	var t *time.Timer
	t = time.AfterFunc(h.grace, func() {
		h.presMu.Lock()
		if p.away != t {
			h.presMu.Unlock()
			return
		}
		p.away, p.online = nil, false
		seen := p.lastSeen
		h.presMu.Unlock()
		ctx, cancel := context.WithTimeout(h.ctx, storeTimeout)
		defer cancel()
		if err := h.store.SetLastSeen(ctx, userID, seen); err != nil && h.ctx.Err() == nil {
			h.log.Warn("hub: record last seen failed", "user_id", userID, "err", err)
		}
		h.publishPresence(ctx, chat.PresenceNotice{UserID: userID, Status: chat.StatusOffline, LastSeenAt: &seen}, nil)
	})
	p.away = t
}

// publishPresence announces a change of userID's presence, unless they
// hide it. known are their settings if the caller read them after the
// change (see Connect); nil reads them.
func (h *Hub) publishPresence(ctx context.Context, pn chat.PresenceNotice, known *chat.UserSettings) {
	if known == nil {
		us, err := h.store.UserSettings(ctx, pn.UserID)
		if err != nil {
			if h.ctx.Err() == nil {
				h.log.Warn("hub: presence settings", "user_id", pn.UserID, "err", err)
			}
			return
		}
		known = &us
	}
	if !known.PresenceShown() {
		return
	}
	if err := h.bus.Publish(ctx, chat.Notice{Presence: &pn}); err != nil {
		h.log.Warn("hub: publish presence", "user_id", pn.UserID, "err", err)
	}
}

// announcePresence sends a presence frame to the local users who share a
// room with the person. Finding the rooms reads the store, so it runs
// apart from the bus handler.
func (h *Hub) announcePresence(pn chat.PresenceNotice) {
	h.fillMu.Lock()
	defer h.fillMu.Unlock()
	if h.fillsClosed {
		return
	}
	h.fills.Add(1)
	go func() {
		defer h.fills.Done()
		rooms, err := h.roomsOf(pn.UserID)
		if err != nil {
			return
		}
		audience := map[*user]bool{}
		for _, r := range rooms {
			r.mu.Lock()
			for uid, u := range r.members {
				if uid != pn.UserID {
					audience[u] = true
				}
			}
			r.mu.Unlock()
		}
		frame := h.encode(presenceFrame{Type: "presence", UserID: pn.UserID, Status: pn.Status,
			LastSeenAt: pn.LastSeenAt})
		for u := range audience {
			for _, s := range u.list() {
				s.push(frame)
			}
		}
	}()
}

// roomsOf returns the local rooms userID is a member of: from the
// registry when this node holds the user's sessions, else from the store.
func (h *Hub) roomsOf(userID string) ([]*room, error) {
	if rs, ok := h.localRooms(userID); ok {
		return rs, nil
	}
	ctx, cancel := context.WithTimeout(h.ctx, storeTimeout)
	defer cancel()
	seqs, err := h.store.RoomSeqs(ctx, userID)
	if err != nil {
		return nil, err
	}
	var rs []*room
	for id := range seqs {
		if r := h.room(id); r != nil {
			rs = append(rs, r)
		}
	}
	return rs, nil
}

// pendingDelivery is the newest message delivered to a member's session
// since the last flush, and its sender.
type pendingDelivery struct {
	sender string
	seq    int64
}

// delivered records that event seq of roomID, a message of senderID's,
// reached a session of userID.
func (h *Hub) delivered(roomID, userID, senderID string, seq int64) {
	h.delivMu.Lock()
	defer h.delivMu.Unlock()
	k := receiptKey{room: roomID, user: userID}
	if d, ok := h.deliv[k]; !ok || seq > d.seq {
		h.deliv[k] = pendingDelivery{sender: senderID, seq: seq}
	}
}

// flushDelivered stores the delivered positions gathered since the last
// flush, in one transaction, and sends the senders their delivered
// receipts. It runs every receipt interval, so a member costs at most one
// row update per room and interval, whatever the traffic. In rooms above
// LargeRoom members, no delivered receipt is sent: a sender would get one
// per member; the receipts endpoint has them.
func (h *Hub) flushDelivered() {
	h.delivMu.Lock()
	batch := h.deliv
	h.deliv = map[receiptKey]pendingDelivery{}
	h.delivMu.Unlock()
	if len(batch) == 0 {
		return
	}
	ps := make([]chat.Position, 0, len(batch))
	senders := make(map[receiptKey]string, len(batch))
	for k, d := range batch {
		ps = append(ps, chat.Position{RoomID: k.room, UserID: k.user, Seq: d.seq})
		senders[k] = d.sender
	}
	ctx, cancel := context.WithTimeout(h.ctx, storeTimeout)
	defer cancel()
	moved, err := h.store.MarkDelivered(ctx, ps)
	if err != nil {
		if h.ctx.Err() == nil {
			h.log.Warn("hub: store delivered positions", "err", err)
		}
		return
	}
	large := map[string]bool{}
	for _, p := range moved {
		big, ok := large[p.RoomID]
		if !ok {
			r, err := h.store.Room(ctx, p.RoomID)
			big = err != nil || r.MemberCount > h.largeRoom
			large[p.RoomID] = big
		}
		if big {
			continue
		}
		rn := chat.ReceiptNotice{Kind: chat.ReceiptDelivered, RoomID: p.RoomID, UserID: p.UserID,
			Seq: p.Seq, To: senders[receiptKey{room: p.RoomID, user: p.UserID}]}
		if err := h.bus.Publish(h.ctx, chat.Notice{Receipt: &rn}); err != nil {
			h.log.Warn("hub: publish receipt", "room_id", p.RoomID, "err", err)
		}
	}
}

func (h *Hub) deliveryLoop() {
	defer h.loop.Done()
	t := time.NewTicker(h.receipts.every)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
			h.flushDelivered()
		}
	}
}
