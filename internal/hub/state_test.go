package hub

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// The coalescer sends the first receipt at once and, of those that follow
// within the interval, only the newest, at its end.
func TestCoalescer(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var sent []int64
		c := &coalescer{every: time.Second, m: map[receiptKey]*receiptState{},
			send: func(rn chat.ReceiptNotice) {
				mu.Lock()
				defer mu.Unlock()
				sent = append(sent, rn.Seq)
			}}
		got := func() []int64 {
			mu.Lock()
			defer mu.Unlock()
			return append([]int64(nil), sent...)
		}
		rn := func(seq int64) chat.ReceiptNotice {
			return chat.ReceiptNotice{Kind: chat.ReceiptRead, RoomID: "r", UserID: "u", Seq: seq}
		}

		c.offer(rn(1))
		c.offer(rn(3))
		c.offer(rn(2)) // older than the one waiting: dropped
		if s := got(); len(s) != 1 || s[0] != 1 {
			t.Fatalf("sent at once: %v, want [1]", s)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := got(); len(s) != 2 || s[1] != 3 {
			t.Fatalf("sent after the interval: %v, want [1 3]", s)
		}

		// Another member's receipt is not held back by this one's.
		c.offer(chat.ReceiptNotice{Kind: chat.ReceiptRead, RoomID: "r", UserID: "v", Seq: 4})
		// A receipt a full interval after the last goes at once.
		time.Sleep(time.Second)
		c.offer(rn(5))
		if s := got(); len(s) != 4 || s[2] != 4 || s[3] != 5 {
			t.Fatalf("sent: %v, want [1 3 4 5]", s)
		}
	})
}

// presenceStore adds user settings, and a last-seen time that it
// forgets, to the fake store.
type presenceStore struct{ *fakeStore }

func (p presenceStore) UserSettings(_ context.Context, userID string) (chat.UserSettings, error) {
	return p.settings(userID), nil
}

func (presenceStore) SetLastSeen(context.Context, string, time.Time) error { return nil }

// recordingBus records presence notices and passes every notice on.
type recordingBus struct {
	fakeBus
	mu   sync.Mutex
	pres []chat.PresenceNotice
}

func (b *recordingBus) Publish(ctx context.Context, n chat.Notice) error {
	if n.Presence != nil {
		b.mu.Lock()
		b.pres = append(b.pres, *n.Presence)
		b.mu.Unlock()
	}
	return b.fakeBus.Publish(ctx, n)
}

func (b *recordingBus) statuses() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, p := range b.pres {
		out = append(out, p.Status)
	}
	return out
}

// A person who hides their presence is announced neither when their first
// session connects nor when their last goes: the settings are read as the
// session connects, not taken from its authentication.
func TestHiddenPresence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recordingBus{}
		st := newFakeStore()
		st.hidden = map[string]bool{"u": true}
		h := New(Options{Store: presenceStore{st}, Bus: bus, ResyncInterval: time.Hour,
			PresenceGrace: time.Second})
		h.Start()
		defer h.Close()
		s, err := h.Connect(t.Context(), chat.Auth{User: chat.User{ID: "u"}}, SessionOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if online, _ := h.Presence("u"); !online {
			t.Error("not online here while connected")
		}
		h.Disconnect(s)
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := bus.statuses(); len(got) != 0 {
			t.Errorf("hidden person announced: %v", got)
		}
	})
}

// A person is online from their first session to the end of the grace
// period after their last; a session within the grace period hides the gap.
func TestPresenceGrace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		bus := &recordingBus{}
		h := New(Options{Store: presenceStore{newFakeStore()}, Bus: bus, ResyncInterval: time.Hour,
			PresenceGrace: 10 * time.Second})
		h.Start()
		defer h.Close()
		a := chat.Auth{User: chat.User{ID: "u"}}
		connect := func() *Session {
			s, err := h.Connect(t.Context(), a, SessionOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}

		s1, s2 := connect(), connect()
		h.Disconnect(s1)
		h.Disconnect(s2)
		time.Sleep(5 * time.Second)
		if online, _ := h.Presence("u"); !online {
			t.Error("offline within the grace period")
		}
		s3 := connect()
		h.Disconnect(s3)
		time.Sleep(9 * time.Second)
		synctest.Wait()
		if got := bus.statuses(); !slices.Equal(got, []string{"online"}) {
			t.Fatalf("within the grace period of the last session: %v", got)
		}
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if got := bus.statuses(); !slices.Equal(got, []string{"online", "offline"}) {
			t.Fatalf("after the grace period: %v", got)
		}
		online, seen := h.Presence("u")
		if online || seen.IsZero() {
			t.Errorf("Presence = %v, %v", online, seen)
		}
	})
}
