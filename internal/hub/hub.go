// Package hub delivers committed events to the sessions connected to this
// node, whatever their transport. It keeps a registry of sessions sharded by
// user id, an index of the local members of each room, and per room the seq
// it delivered last. The store is the source of truth and the bus only says
// "look": an event arriving after a gap is preceded by the missing ones, read
// from the store, and a periodic check of every tracked room's latest seq
// catches up on notices the bus lost.
//
// # Locks
//
// A lock may be taken while holding the locks listed above it, never the
// other way round. Methods named ...Locked expect the room's lock held.
//
//	room.mu      one room's delivery state and local members
//	Hub.roomsMu  the map of tracked rooms
//	shard.mu     one shard of the session registry (users and their sessions)
//	user.mu      one user's rooms and the membership changes seen while a
//	             session of theirs attaches
//	Session.mu   one session's queue and per-room delivery state
//
// shard.mu and user.mu are never held together.
package hub

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Close codes a session may be closed with by the hub. They are the
// WebSocket close codes of docs/protocol.md, which transports reuse.
const (
	// CodeGoingAway: the server is shutting down; reconnect and resume.
	CodeGoingAway = 1001
	// CodeTooSlow: the session could not keep up; reconnect and resume.
	CodeTooSlow = 4000
	// CodeRevoked: the session's token was revoked; do not reconnect with it.
	CodeRevoked = 4001
)

// Defaults of Options and SessionOptions.
const (
	DefaultResyncInterval = 30 * time.Second
	DefaultQueueSize      = 512
)

const (
	// fillPage is how many events a gap fill reads from the store at once
	// (the SQLite store's page limit).
	fillPage = 200
	// maxPending bounds the early notices a room keeps while it waits for
	// the missing ones; beyond it, the fill reads them from the store.
	maxPending = 1024
	// resyncBatch is how many rooms one LastSeqs call asks about.
	resyncBatch = 500
	// storeTimeout bounds the hub's own store reads.
	storeTimeout = 30 * time.Second
)

// Options configures a Hub. Store and Bus are required.
type Options struct {
	Store chat.Store
	Bus   chat.Bus
	// ResyncInterval is how often every tracked room's latest seq is
	// checked against the store. Default 30s.
	ResyncInterval time.Duration
	// ReceiptInterval is the least time between two receipt frames of one
	// member, room and kind, and how often delivered positions are
	// stored. Default 1s.
	ReceiptInterval time.Duration
	// PresenceGrace, if positive, turns presence on: a person goes offline
	// this long after their last session here ended. The store's
	// UserSettings is then read on each change.
	PresenceGrace time.Duration
	// TrackDelivery turns delivered receipts on: the store's
	// MarkDelivered is called for the members that messages reach.
	TrackDelivery bool
	// LargeRoom is the member count above which no delivered receipts
	// are sent. Default chat.DefaultLargeRoom.
	LargeRoom int
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// Hub fans committed events out to the sessions of this node.
type Hub struct {
	store  chat.Store
	bus    chat.Bus
	every  time.Duration
	log    *slog.Logger
	shards [shardCount]shard

	roomsMu sync.RWMutex
	rooms   map[string]*room

	ctx     context.Context // cancelled by Close; bounds the hub's store reads
	cancel  context.CancelFunc
	closing atomic.Bool
	// revocations counts revoke calls; see Revocations.
	revocations atomic.Uint64
	kick        chan struct{} // asks the resync loop to run now
	stop        func()        // unsubscribes from the bus
	loop        sync.WaitGroup

	receipts  *coalescer
	grace     time.Duration
	presMu    sync.Mutex
	pres      map[string]*presence
	tracking  bool // TrackDelivery
	largeRoom int
	delivMu   sync.Mutex
	deliv     map[receiptKey]pendingDelivery

	fillMu      sync.Mutex // guards fillsClosed and fills.Add
	fillsClosed bool
	fills       sync.WaitGroup
}

// New returns a Hub. Call Start to connect it to the bus and Close to stop
// it.
func New(o Options) *Hub {
	h := &Hub{store: o.Store, bus: o.Bus, every: o.ResyncInterval, log: o.Log,
		rooms: map[string]*room{}, kick: make(chan struct{}, 1)}
	if h.every <= 0 {
		h.every = DefaultResyncInterval
	}
	if h.log == nil {
		h.log = slog.Default()
	}
	h.receipts = &coalescer{every: o.ReceiptInterval, send: h.sendReceipt, m: map[receiptKey]*receiptState{}}
	if h.receipts.every <= 0 {
		h.receipts.every = DefaultReceiptInterval
	}
	h.grace, h.pres = o.PresenceGrace, map[string]*presence{}
	h.tracking, h.deliv = o.TrackDelivery, map[receiptKey]pendingDelivery{}
	h.largeRoom = o.LargeRoom
	if h.largeRoom <= 0 {
		h.largeRoom = chat.DefaultLargeRoom
	}
	for i := range h.shards {
		h.shards[i].users = map[string]*user{}
	}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// Start subscribes to the bus and starts the periodic resync.
func (h *Hub) Start() {
	h.stop = h.bus.Subscribe(h.onNotice)
	h.loop.Add(1)
	go h.resyncLoop()
	if h.tracking {
		h.loop.Add(1)
		go h.deliveryLoop()
	}
}

// Close unsubscribes from the bus and waits for the hub's goroutines. It
// does not close sessions: their transport does, before (see ws.Handler's
// Shutdown).
func (h *Hub) Close() {
	if h.closing.Swap(true) {
		return
	}
	if h.stop != nil {
		h.stop()
	}
	h.cancel()
	h.loop.Wait()
	h.fillMu.Lock()
	h.fillsClosed = true
	h.fillMu.Unlock()
	h.fills.Wait()
}

// onNotice is the bus handler. It never blocks on I/O: gaps are filled by a
// goroutine per room and a reconnect notice only wakes the resync loop.
// Notices of other kinds are not the hub's.
func (h *Hub) onNotice(n chat.Notice) {
	switch {
	case n.Event != nil:
		h.onEvent(n.Event)
	case n.Revoke != nil:
		h.revoke(*n.Revoke)
	case h.onState(n):
	case n == chat.Notice{}:
		h.kickResync()
	}
}

func (h *Hub) onEvent(ev *chat.Event) {
	r := h.room(ev.RoomID)
	if r == nil {
		// Untracked: nobody here is a member, unless this event makes a
		// connected user one.
		// TODO(cluster): if this member.joined notice is lost, nothing here
		// tracks the room, and no later notice or resync brings it: the
		// user's sessions get the room's live events from their next
		// connect on (a resume replays them meanwhile). The only bus is in
		// process today, and it loses nothing.
		if ev.Type != chat.EventMemberJoined || h.localUser(ev.UserID) == nil {
			return
		}
		r, _ = h.trackRoom(ev.RoomID, ev.Seq-1)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead {
		// Untracked meanwhile: its last local member left.
		return
	}
	h.offerLocked(r, ev)
	h.untrackIfEmptyLocked(r)
}

// kickResync asks the resync loop to run now.
func (h *Hub) kickResync() {
	select {
	case h.kick <- struct{}{}:
	default:
	}
}

func (h *Hub) resyncLoop() {
	defer h.loop.Done()
	t := time.NewTicker(h.every)
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-t.C:
		case <-h.kick:
		}
		if err := h.Resync(h.ctx); err != nil && h.ctx.Err() == nil {
			h.log.Warn("hub resync failed", "err", err)
		}
	}
}

// Resync compares the last seq delivered of every tracked room with the
// store's and starts filling the rooms that are behind. It returns once the
// fills are started, not finished. The resync loop calls it every
// ResyncInterval and after the bus reconnects; tests call it directly.
func (h *Hub) Resync(ctx context.Context) error {
	h.roomsMu.RLock()
	ids := make([]string, 0, len(h.rooms))
	for id := range h.rooms {
		ids = append(ids, id)
	}
	h.roomsMu.RUnlock()
	for batch := range slices.Chunk(ids, resyncBatch) {
		heads, err := h.store.LastSeqs(ctx, batch)
		if err != nil {
			return err
		}
		for id, head := range heads {
			h.catchUp(id, head)
		}
	}
	return nil
}

// catchUp makes sure room id is delivered up to head.
func (h *Hub) catchUp(id string, head int64) {
	r := h.room(id)
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.dead || head <= r.last {
		return
	}
	r.target = max(r.target, head)
	h.startFillLocked(r)
}

// Revocations counts the revocation notices the hub has handled. Read
// before a token is checked and again once Connect has registered its
// session, an unchanged count means no revocation can have passed between
// the two unseen: one that reached the hub later found the session.
func (h *Hub) Revocations() uint64 { return h.revocations.Load() }

// revoke closes the sessions whose token stopped working.
func (h *Hub) revoke(rv chat.Revoke) {
	h.revocations.Add(1) // before the registry is read; see Revocations
	u := h.localUser(rv.UserID)
	if u == nil {
		return
	}
	for _, s := range u.list() {
		if revokes(rv, s.auth.TokenHash) {
			s.Close(CodeRevoked, "token revoked")
		}
	}
}

// revokes reports whether rv names the sessions authenticated by hash.
func revokes(rv chat.Revoke, hash []byte) bool {
	if rv.TokenHash != nil {
		return bytes.Equal(rv.TokenHash, hash)
	}
	return !bytes.Equal(rv.Except, hash)
}

// EncodeEvent returns the frame in which every transport carries ev:
// {"type":"event","event":{...}}. The hub encodes each event once and
// shares the bytes among all the sessions it goes to.
func EncodeEvent(ev *chat.Event) ([]byte, error) {
	return json.Marshal(eventFrame{Type: "event", Event: ev})
}

type eventFrame struct {
	Type  string      `json:"type"`
	Event *chat.Event `json:"event"`
}

// eventsAfter reads up to n events of roomID after seq after, ascending,
// and whether more follow.
func eventsAfter(ctx context.Context, st chat.Store, roomID string, after int64, n int) ([]chat.Event, bool, error) {
	return st.Events(ctx, roomID, chat.Page{After: after, Limit: n})
}

// ErrClosed is returned by a Session's methods once it is closed.
var ErrClosed = errors.New("hub: session closed")
