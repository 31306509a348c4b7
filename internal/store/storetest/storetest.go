// Package storetest is the contract of chat.Store written as tests, once,
// for every backend: each backend's own tests call Run with a function that
// opens a fresh store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// Run runs the suite against the stores open returns. open is called once
// per subtest and must return a new, empty store that is closed when its t
// ends; subtests run in parallel.
func Run(t *testing.T, open func(t *testing.T) chat.Store) {
	for _, tc := range suite {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(newFixture(t, open(t)))
		})
	}
}

type test struct {
	name string
	run  func(f *fixture)
}

// suite lists every test. Each runs on a store of its own.
var suite = []test{
	{"Ping", testPing},
	// Accounts
	{"FirstUserIsAdmin", testFirstUserIsAdmin},
	{"FirstUserIsAdminConcurrently", testFirstUserIsAdminConcurrently},
	{"UserRoundTrip", testUserRoundTrip},
	{"UsernameIgnoresCase", testUsernameIgnoresCase},
	{"UserNotFound", testUserNotFound},
	{"SearchUsers", testSearchUsers},
	{"UpdateUser", testUpdateUser},
	{"GrantAdmin", testGrantAdmin},
	{"Tokens", testTokens},
	{"SetPasswordKeepsOnlyKeep", testSetPasswordKeepsOnlyKeep},
	// Rooms
	{"CreateRoom", testCreateRoom},
	{"CreateRoomIsAtomic", testCreateRoomIsAtomic},
	{"DirectRoom", testDirectRoom},
	{"DirectRoomRace", testDirectRoomRace},
	{"RoomNotFound", testRoomNotFound},
	{"AddMember", testAddMember},
	{"AddMemberRace", testAddMemberRace},
	{"RemoveMember", testRemoveMember},
	{"OwnerSuccession", testOwnerSuccession},
	{"UpdateRoom", testUpdateRoom},
	{"Directory", testDirectory},
	{"Members", testMembers},
	{"RoomSeqs", testRoomSeqs},
	{"LastSeqs", testLastSeqs},
	{"RoomViews", testRoomViews},
	{"UnreadCount", testUnreadCount},
	// Timeline
	{"AppendMessage", testAppendMessage},
	{"ClientIDIdempotency", testClientIDIdempotency},
	{"ClientIDRace", testClientIDRace},
	{"EditMessage", testEditMessage},
	{"DeleteMessage", testDeleteMessage},
	{"EventsAsAppended", testEventsAsAppended},
	{"MessagePages", testMessagePages},
	{"EventPages", testEventPages},
	{"ConcurrentAppends", testConcurrentAppends},
}

// zone is the time zone test times are written in: a store that fails to
// return UTC shows up as a difference.
var zone = time.FixedZone("UTC+2", 2*60*60)

// fixture is one test's store and the helpers to fill it. Its methods are
// for the test's own goroutine.
type fixture struct {
	*testing.T
	s   chat.Store
	ctx context.Context
	now time.Time
}

func newFixture(t *testing.T, s chat.Store) *fixture {
	return &fixture{T: t, s: s, ctx: t.Context(),
		now: time.Date(2025, 6, 1, 12, 0, 0, 0, zone)}
}

// tick advances the test clock and returns the new time. Steps are not
// whole seconds, so a store that drops milliseconds is caught.
func (f *fixture) tick() time.Time {
	f.now = f.now.Add(1001 * time.Millisecond)
	return f.now
}

func (f *fixture) user(name string) chat.User {
	f.Helper()
	at := f.tick()
	u, err := f.s.CreateUser(f.ctx, chat.User{
		ID: chat.NewID(at), Username: name, DisplayName: "The " + name, CreatedAt: at,
	}, "hash of "+name)
	f.must(err, "CreateUser %q", name)
	return u
}

// room creates a room of kind owned by owner, with others as members.
func (f *fixture) room(kind, name string, owner chat.User, others ...chat.User) chat.Room {
	f.Helper()
	r, _ := f.roomEvents(kind, name, owner, others...)
	return r
}

func (f *fixture) roomEvents(kind, name string, owner chat.User, others ...chat.User) (chat.Room, []chat.Event) {
	f.Helper()
	at := f.tick()
	members := []chat.Member{{User: owner, Role: chat.RoleOwner, JoinedAt: at}}
	for _, u := range others {
		members = append(members, chat.Member{User: u, Role: chat.RoleMember, JoinedAt: at})
	}
	r, evs, err := f.s.CreateRoom(f.ctx, chat.Room{
		ID: chat.NewID(at), Kind: kind, Name: name, Topic: "about " + name, CreatedAt: at,
	}, members)
	f.must(err, "CreateRoom %q", name)
	return r, evs
}

func (f *fixture) join(r chat.Room, u chat.User, role string) chat.Event {
	f.Helper()
	ev, err := f.s.AddMember(f.ctx, chat.Member{
		RoomID: r.ID, User: u, Role: role, JoinedAt: f.tick(),
	}, u.ID)
	f.must(err, "AddMember %s", u.Username)
	return ev
}

func (f *fixture) send(r chat.Room, from chat.User, text string) chat.Message {
	f.Helper()
	m, _ := f.sendEvent(r, from, text)
	return m
}

func (f *fixture) sendEvent(r chat.Room, from chat.User, text string) (chat.Message, chat.Event) {
	f.Helper()
	at := f.tick()
	ap, err := f.s.AppendMessage(f.ctx, chat.Message{
		ID: chat.NewID(at), RoomID: r.ID, SenderID: from.ID, Text: text, CreatedAt: at,
	})
	m, ev, created := ap.Message, ap.Event, ap.Created
	f.must(err, "AppendMessage %q", text)
	if !created {
		f.Fatalf("AppendMessage %q: created = false for a new message", text)
	}
	return m, ev
}

func (f *fixture) getRoom(id string) chat.Room {
	f.Helper()
	r, err := f.s.Room(f.ctx, id)
	f.must(err, "Room")
	return r
}

// allEvents returns every event of roomID, in order.
func (f *fixture) allEvents(roomID string) []chat.Event {
	f.Helper()
	var all []chat.Event
	for p := (chat.Page{Limit: 200}); ; {
		evs, more, err := f.s.Events(f.ctx, roomID, p)
		f.must(err, "Events")
		all = append(all, evs...)
		if !more {
			return all
		}
		if evs[len(evs)-1].Seq <= p.After {
			f.Fatalf("Events after %d went back to %d", p.After, evs[len(evs)-1].Seq)
		}
		p.After = evs[len(evs)-1].Seq
	}
}

// must stops the test if err is not nil.
func (f *fixture) must(err error, format string, args ...any) {
	f.Helper()
	if err != nil {
		f.Fatalf(format+": %v", append(args, err)...)
	}
}

// wantErr checks that err is want, wrapped or not.
func (f *fixture) wantErr(err, want error, format string, args ...any) {
	f.Helper()
	if !errors.Is(err, want) {
		f.Errorf(format+": error = %v, want %v", append(args, err, want)...)
	}
}

// same checks that got deeply equals want; it shows both as JSON.
func (f *fixture) same(got, want any, format string, args ...any) {
	f.Helper()
	if !reflect.DeepEqual(got, want) {
		f.Errorf(format+":\n got %s\nwant %s", append(args, show(got), show(want))...)
	}
}

func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return err.Error()
	}
	return string(b)
}

// checkUTC checks that t is in UTC and is the instant want.
func (f *fixture) checkUTC(t, want time.Time, what string) {
	f.Helper()
	if t.Location() != time.UTC || !t.Equal(want) {
		f.Errorf("%s = %v, want %v in UTC", what, t, want.UTC())
	}
}

func seqsOf[T any](items []T, seq func(T) int64) []int64 {
	out := make([]int64, len(items))
	for i, it := range items {
		out[i] = seq(it)
	}
	return out
}

func msgSeq(m chat.Message) int64 { return m.Seq }
func evSeq(e chat.Event) int64    { return e.Seq }

func testPing(f *fixture) {
	f.must(f.s.Ping(f.ctx), "Ping")
}
