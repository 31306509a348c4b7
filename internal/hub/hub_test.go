package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// fakeStore keeps timelines and memberships in memory: just what the hub
// reads. The SQLite store is exercised through the ws tests.
type fakeStore struct {
	chat.Store // nil: other methods are not called

	mu      sync.Mutex
	events  map[string][]chat.Event     // by room; events[i].Seq == i+1
	members map[string]map[string]int64 // room → user → seq of joining
	reads   atomic.Int64                // Events calls
	hidden  map[string]bool             // users who hide their presence
	// onEvents, if set, runs at the start of the next Events call, as
	// something happening while a replay reads.
	onEvents func()
}

func newFakeStore() *fakeStore {
	return &fakeStore{events: map[string][]chat.Event{}, members: map[string]map[string]int64{}}
}

// append commits one event and returns it.
func (f *fakeStore) append(roomID, typ, userID string) chat.Event {
	f.mu.Lock()
	defer f.mu.Unlock()
	ev := chat.Event{RoomID: roomID, Seq: int64(len(f.events[roomID]) + 1), Type: typ, UserID: userID,
		ActorID: userID, CreatedAt: time.Unix(1700000000, 0).UTC()}
	if typ == chat.EventMessageCreated {
		ev.Message = &chat.Message{ID: fmt.Sprint(roomID, ev.Seq), RoomID: roomID, Seq: ev.Seq,
			SenderID: userID, Text: "hello, this is a message of typical length", CreatedAt: ev.CreatedAt}
	}
	f.events[roomID] = append(f.events[roomID], ev)
	if f.members[roomID] == nil {
		f.members[roomID] = map[string]int64{}
	}
	switch {
	case typ == chat.EventMemberJoined:
		f.members[roomID][userID] = ev.Seq
	case ev.Ends():
		delete(f.members[roomID], userID)
	}
	return ev
}

func (f *fakeStore) RoomSeqs(_ context.Context, userID string) (map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seqs := map[string]int64{}
	for id, ms := range f.members {
		if _, ok := ms[userID]; ok {
			seqs[id] = int64(len(f.events[id]))
		}
	}
	return seqs, nil
}

func (f *fakeStore) SessionStart(ctx context.Context, userID string) (map[string]int64, chat.UserSettings, error) {
	seqs, err := f.RoomSeqs(ctx, userID)
	return seqs, f.settings(userID), err
}

func (f *fakeStore) settings(userID string) chat.UserSettings {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hidden[userID] {
		shown := false
		return chat.UserSettings{ShowPresence: &shown}
	}
	return chat.UserSettings{}
}

func (f *fakeStore) LastSeqs(_ context.Context, ids []string) (map[string]int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seqs := map[string]int64{}
	for _, id := range ids {
		if evs, ok := f.events[id]; ok {
			seqs[id] = int64(len(evs))
		}
	}
	return seqs, nil
}

func (f *fakeStore) Member(_ context.Context, roomID, userID string) (chat.Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	seq, ok := f.members[roomID][userID]
	if !ok {
		return chat.Member{}, chat.ErrNotFound
	}
	return chat.Member{RoomID: roomID, User: chat.User{ID: userID}, JoinedSeq: seq}, nil
}

func (f *fakeStore) Events(_ context.Context, roomID string, p chat.Page) ([]chat.Event, bool, error) {
	f.reads.Add(1)
	f.mu.Lock()
	hook := f.onEvents
	f.onEvents = nil
	f.mu.Unlock()
	if hook != nil {
		hook()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	evs := f.events[roomID]
	from := min(int(p.After), len(evs))
	to := min(from+p.Limit, len(evs))
	return slices.Clone(evs[from:to]), to < len(evs), nil
}

// fakeBus calls its one subscriber synchronously.
type fakeBus struct {
	mu sync.Mutex
	h  func(chat.Notice)
}

func (b *fakeBus) Publish(_ context.Context, n chat.Notice) error {
	b.mu.Lock()
	h := b.h
	b.mu.Unlock()
	if h != nil {
		h(n)
	}
	return nil
}

func (b *fakeBus) Subscribe(h func(chat.Notice)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.h = h
	return func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		b.h = nil
	}
}

func newTestHub(t testing.TB) (*Hub, *fakeStore, *fakeBus) {
	st, bus := newFakeStore(), &fakeBus{}
	h := New(Options{Store: st, Bus: bus, ResyncInterval: time.Hour})
	h.Start()
	t.Cleanup(h.Close)
	return h, st, bus
}

func connect(t testing.TB, h *Hub, userID string, queue int) *Session {
	t.Helper()
	s, err := h.Connect(context.Background(), chat.Auth{User: chat.User{ID: userID}}, SessionOptions{QueueSize: queue})
	if err != nil {
		t.Fatal(err)
	}
	s.Ready([]byte(`{"type":"ready"}`))
	t.Cleanup(func() { h.Disconnect(s) })
	return s
}

// drain returns the seqs of the events queued on s, in order.
func drain(t testing.TB, s *Session) []int64 {
	t.Helper()
	frames, cl := s.Take(nil)
	if cl.Code != 0 {
		t.Fatalf("session closing: %+v", cl)
	}
	var seqs []int64
	for _, f := range frames {
		var ef struct {
			Type  string
			Event chat.Event
		}
		if err := json.Unmarshal(f, &ef); err != nil {
			t.Fatal(err)
		}
		if ef.Type == "event" {
			seqs = append(seqs, ef.Event.Seq)
		}
	}
	return seqs
}

func seqRange(from, to int64) []int64 {
	var s []int64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// Notices that arrive out of order, as after a group commit, are
// delivered in order, once, with at most one store read per gap.
func TestOutOfOrderNotices(t *testing.T) {
	h, st, bus := newTestHub(t)
	st.append("r", chat.EventMemberJoined, "u")
	s := connect(t, h, "u", 0)
	drain(t, s)

	var evs []chat.Event
	for range 6 {
		evs = append(evs, st.append("r", chat.EventMessageCreated, "u"))
	}
	for _, i := range []int{1, 0, 3, 2, 5, 4} {
		bus.Publish(context.Background(), chat.Notice{Event: &evs[i]})
	}
	poll(t, func() bool { return h.room("r").lastSeq() == 7 })
	if got := drain(t, s); !slices.Equal(got, seqRange(2, 7)) {
		t.Fatalf("got seqs %v", got)
	}
	if n := st.reads.Load(); n > 3 {
		t.Fatalf("%d store reads for 3 gaps", n)
	}
}

func (r *room) lastSeq() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last
}

func poll(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatal("timed out")
		}
	}
}

// A session whose queue overflows is closed as too slow, and delivery to
// the others goes on.
func TestSlowSessionClosed(t *testing.T) {
	h, st, bus := newTestHub(t)
	st.append("r", chat.EventMemberJoined, "fast")
	st.append("r", chat.EventMemberJoined, "slow")
	fast, slow := connect(t, h, "fast", 0), connect(t, h, "slow", 4)
	for range 10 {
		ev := st.append("r", chat.EventMessageCreated, "fast")
		bus.Publish(context.Background(), chat.Notice{Event: &ev})
	}
	if got := drain(t, fast); !slices.Equal(got, seqRange(3, 12)) {
		t.Fatalf("fast session got %v", got)
	}
	if _, cl := slow.Take(nil); cl.Code != CodeTooSlow {
		t.Fatalf("slow session: %+v", cl)
	}
}

// A room a connected user joins is tracked from its member.joined, which
// comes first; the event that ends the membership comes last.
func TestMembership(t *testing.T) {
	h, st, bus := newTestHub(t)
	publish := func(ev chat.Event) { bus.Publish(context.Background(), chat.Notice{Event: &ev}) }
	st.append("r", chat.EventMemberJoined, "owner")
	st.append("r", chat.EventMessageCreated, "owner")
	s := connect(t, h, "u", 0)
	publish(st.append("r", chat.EventMessageCreated, "owner"))
	publish(st.append("r", chat.EventMemberJoined, "u"))
	publish(st.append("r", chat.EventMessageCreated, "owner"))
	publish(st.append("r", chat.EventMemberRemoved, "u"))
	publish(st.append("r", chat.EventMessageCreated, "owner"))
	if got := drain(t, s); !slices.Equal(got, []int64{4, 5, 6}) {
		t.Fatalf("got %v", got)
	}
	if st := h.Stats(); st.Rooms != 0 {
		t.Fatalf("room still tracked: %+v", st)
	}
}

func TestTrack(t *testing.T) {
	var tr track
	for _, seq := range []int64{10, 11, 13, 20, 12} {
		tr.add(seq)
	}
	if tr.floor != 0 || !slices.Equal(tr.spans, []span{{10, 13}, {20, 20}}) {
		t.Fatalf("after adds: %+v", tr)
	}
	for seq, want := range map[int64]bool{9: false, 10: true, 13: true, 14: false, 20: true} {
		if tr.has(seq) != want {
			t.Errorf("has(%d) = %v", seq, !want)
		}
	}
	tr.raise(9)
	if tr.floor != 13 || !slices.Equal(tr.spans, []span{{20, 20}}) {
		t.Fatalf("after raise: %+v", tr)
	}
	for i := range int64(maxSpans + 1) {
		tr.add(30 + 2*i)
	}
	if len(tr.spans) != maxSpans || tr.floor != 30 {
		t.Fatalf("over the bound: %+v", tr)
	}
}

// A live event that arrives while a resume replays is held and sent after
// the replay; a room left behind by the bound gets no live events until a
// later resume catches it up.
func TestResume(t *testing.T) {
	h, st, bus := newTestHub(t)
	publish := func(ev chat.Event) { bus.Publish(context.Background(), chat.Notice{Event: &ev}) }
	st.append("r", chat.EventMemberJoined, "u")
	for range 9 {
		st.append("r", chat.EventMessageCreated, "u")
	}
	s := connect(t, h, "u", 0)
	drain(t, s)

	st.mu.Lock()
	st.onEvents = func() { publish(st.append("r", chat.EventMessageCreated, "u")) }
	st.mu.Unlock()
	more, err := s.Resume(context.Background(), map[string]int64{"r": 3, "elsewhere": 0}, 100)
	if err != nil || more != nil {
		t.Fatalf("resume: %v, %v", more, err)
	}
	if got := drain(t, s); !slices.Equal(got, seqRange(4, 11)) {
		t.Fatalf("replay with a live event meanwhile: %v", got)
	}

	// Resuming again from further back sends nothing twice.
	if _, err := s.Resume(context.Background(), map[string]int64{"r": 0}, 100); err != nil {
		t.Fatal(err)
	}
	if got := drain(t, s); len(got) != 0 {
		t.Fatalf("second resume sent %v", got)
	}

	// A fresh session resumes past the bound: the room is behind.
	s2 := connect(t, h, "u", 0)
	more, err = s2.Resume(context.Background(), map[string]int64{"r": 1}, 5)
	if err != nil || !slices.Equal(more, []string{"r"}) {
		t.Fatalf("bounded resume: %v, %v", more, err)
	}
	publish(st.append("r", chat.EventMessageCreated, "u"))
	if got := drain(t, s2); !slices.Equal(got, seqRange(2, 6)) {
		t.Fatalf("behind: %v", got)
	}
	if _, err := s2.Resume(context.Background(), map[string]int64{"r": 6}, 100); err != nil {
		t.Fatal(err)
	}
	publish(st.append("r", chat.EventMessageCreated, "u"))
	if got := drain(t, s2); !slices.Equal(got, seqRange(7, 13)) {
		t.Fatalf("caught up: %v", got)
	}
}
