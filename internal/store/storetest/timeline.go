package storetest

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func testAppendMessage(f *fixture) {
	alice := f.user("alice")
	r := f.room(chat.KindGroup, "room", alice)
	at := time.Date(2025, 6, 2, 8, 30, 0, 456_000_000, zone)
	in := chat.Message{ID: chat.NewID(at), RoomID: r.ID, SenderID: alice.ID,
		Text: "hello", ClientID: "client-1", CreatedAt: at}
	ap, err := f.s.AppendMessage(f.ctx, in)
	m, ev, created := ap.Message, ap.Event, ap.Created
	f.must(err, "AppendMessage")
	if !created {
		f.Errorf("created = false for a new message")
	}
	f.checkUTC(m.CreatedAt, at, "CreatedAt")
	want := in
	want.Seq, want.CreatedAt = r.LastSeq+1, m.CreatedAt
	f.same(m, want, "AppendMessage message")
	f.same(ev, chat.Event{RoomID: r.ID, Seq: want.Seq, Type: chat.EventMessageCreated,
		ActorID: alice.ID, CreatedAt: m.CreatedAt, Message: &want}, "AppendMessage event")
	wantRoom := f.getRoom(r.ID)
	f.same(ap.Room, wantRoom, "AppendMessage room")
	if ap.Room.LastSeq != want.Seq || ap.Room.MemberCount != 1 {
		f.Errorf("AppendMessage room: last seq %d, %d members; want %d, 1",
			ap.Room.LastSeq, ap.Room.MemberCount, want.Seq)
	}

	got, err := f.s.Message(f.ctx, r.ID, m.ID)
	f.must(err, "Message")
	f.same(got, want, "Message")
	if last := f.getRoom(r.ID).LastSeq; last != want.Seq {
		f.Errorf("LastSeq = %d, want %d", last, want.Seq)
	}
	evs := f.allEvents(r.ID)
	f.same(evs[len(evs)-1], ev, "last event")
}

// appendWithClientID sends text to r from u with clientID.
func (f *fixture) appendWithClientID(r chat.Room, u chat.User, clientID, text string) (chat.Message, chat.Event, bool) {
	f.Helper()
	at := f.tick()
	ap, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: r.ID,
		SenderID: u.ID, Text: text, ClientID: clientID, CreatedAt: at})
	m, ev, created := ap.Message, ap.Event, ap.Created
	f.must(err, "AppendMessage %q", text)
	return m, ev, created
}

func testClientIDIdempotency(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r1, r2 := f.room(chat.KindGroup, "one", alice, bob), f.room(chat.KindGroup, "two", alice)

	orig, origEv, created := f.appendWithClientID(r1, alice, "c1", "first")
	if !created {
		f.Fatalf("first send with a client id: created = false")
	}
	last := f.getRoom(r1.ID).LastSeq
	again, againEv, created := f.appendWithClientID(r1, alice, "c1", "retry")
	if created {
		f.Errorf("a repeated client id created a message")
	}
	f.same(again, orig, "repeat: message")
	f.same(againEv, origEv, "repeat: event")
	if got := f.getRoom(r1.ID).LastSeq; got != last {
		f.Errorf("a repeated client id moved LastSeq from %d to %d", last, got)
	}

	others := []struct {
		name string
		r    chat.Room
		u    chat.User
	}{{"another sender", r1, bob}, {"another room", r2, alice}}
	for _, o := range others {
		m, _, created := f.appendWithClientID(o.r, o.u, "c1", "independent")
		if !created || m.ID == orig.ID {
			f.Errorf("%s with the same client id: created %v, id %s; want a new message", o.name, created, m.ID)
		}
	}
	for i := range 2 {
		if _, _, created := f.appendWithClientID(r1, alice, "", "no client id"); !created {
			f.Errorf("send %d without a client id was not created", i)
		}
	}
}

// A client retrying over several connections at once gets one message.
func testClientIDRace(f *fixture) {
	alice := f.user("alice")
	r := f.room(chat.KindGroup, "room", alice)
	const n = 8
	at := f.tick()
	ids := make(chan string, n)
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdN := 0
	for range n {
		wg.Go(func() {
			ap, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: r.ID,
				SenderID: alice.ID, Text: "once", ClientID: "same", CreatedAt: at})
			m, created := ap.Message, ap.Created
			if err != nil {
				f.Errorf("AppendMessage: %v", err)
				return
			}
			ids <- m.ID
			if created {
				mu.Lock()
				createdN++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(ids)
	first := <-ids
	for id := range ids {
		if id != first {
			f.Errorf("retries got messages %s and %s, want one", first, id)
		}
	}
	if createdN != 1 || f.getRoom(r.ID).LastSeq != 2 {
		f.Errorf("%d created, LastSeq %d; want 1, 2", createdN, f.getRoom(r.ID).LastSeq)
	}
}

func testEditMessage(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "room", alice, bob)
	m := f.send(r, alice, "helo")

	_, _, _, err := f.s.EditMessage(f.ctx, r.ID, m.ID, bob.ID, "hacked", nil, f.tick())
	f.wantErr(err, chat.ErrForbidden, "EditMessage by another user")

	at := f.tick()
	got, ev, _, err := f.s.EditMessage(f.ctx, r.ID, m.ID, alice.ID, "hello", nil, at)
	f.must(err, "EditMessage")
	if got.EditedAt == nil {
		f.Fatalf("EditedAt is nil after an edit")
	}
	f.checkUTC(*got.EditedAt, at, "EditedAt")
	want := m
	want.Text, want.EditedAt = "hello", got.EditedAt
	f.same(got, want, "EditMessage")
	f.same(ev, chat.Event{RoomID: r.ID, Seq: m.Seq + 1, Type: chat.EventMessageEdited,
		ActorID: alice.ID, CreatedAt: *got.EditedAt, Message: &want}, "EditMessage event")
	stored, err := f.s.Message(f.ctx, r.ID, m.ID)
	f.must(err, "Message")
	f.same(stored, want, "Message after edit")

	_, _, err = f.s.DeleteMessage(f.ctx, r.ID, m.ID, alice.ID, f.tick())
	f.must(err, "DeleteMessage")
	_, _, _, err = f.s.EditMessage(f.ctx, r.ID, m.ID, alice.ID, "back", nil, f.tick())
	f.wantErr(err, chat.ErrMessageDeleted, "EditMessage of a deleted message")
}

func testDeleteMessage(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "room", alice, bob)
	m, createdEv := f.sendEvent(r, alice, "oops")
	later := f.send(r, bob, "later")

	at := f.tick()
	ev, changed, err := f.s.DeleteMessage(f.ctx, r.ID, m.ID, bob.ID, at)
	f.must(err, "DeleteMessage")
	if !changed {
		f.Errorf("changed = false deleting a live message")
	}
	tomb := m
	tomb.Text, tomb.Deleted = "", true
	f.same(ev, chat.Event{RoomID: r.ID, Seq: later.Seq + 1, Type: chat.EventMessageDeleted,
		ActorID: bob.ID, CreatedAt: ev.CreatedAt, Message: &tomb}, "DeleteMessage event")
	f.checkUTC(ev.CreatedAt, at, "event time")
	stored, err := f.s.Message(f.ctx, r.ID, m.ID)
	f.must(err, "Message")
	f.same(stored, tomb, "Message after delete")

	_, changed, err = f.s.DeleteMessage(f.ctx, r.ID, m.ID, alice.ID, f.tick())
	f.must(err, "DeleteMessage twice")
	if changed || f.getRoom(r.ID).LastSeq != ev.Seq {
		f.Errorf("deleting twice: changed %v, LastSeq %d; want false, %d", changed, f.getRoom(r.ID).LastSeq, ev.Seq)
	}

	history, _, err := f.s.Messages(f.ctx, r.ID, chat.Page{Before: chat.NewestPage, Limit: 10})
	f.must(err, "Messages")
	f.same(history, []chat.Message{tomb, later}, "history keeps the tombstone in its place")
	// Every event of the message carries it as it is now: the text is
	// gone from the created event too.
	evs := f.allEvents(r.ID)
	createdEv.Message = &tomb
	f.same(evs[m.Seq-1], createdEv, "the created event of a deleted message")
	f.same(evs[len(evs)-1], ev, "the deleted event")
}

// Events reads back every event as the write that appended it returned
// it, except that an event of a message carries the message as it is now.
func testEventsAsAppended(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	r, want := f.roomEvents(chat.KindPublic, "everything", alice, bob)
	add := func(ev chat.Event, err error) {
		f.Helper()
		f.must(err, "event %d", len(want)+1)
		want = append(want, ev)
	}
	add(f.join(r, carol, chat.RoleAdmin), nil)
	m, ev := f.sendEvent(r, bob, "hi")
	add(ev, nil)
	_, ev, _ = f.appendWithClientID(r, carol, "cid", "with a client id")
	add(ev, nil)
	_, ev, _, err := f.s.EditMessage(f.ctx, r.ID, m.ID, bob.ID, "hi all", nil, f.tick())
	add(ev, err)
	ev, _, err = f.s.DeleteMessage(f.ctx, r.ID, m.ID, alice.ID, f.tick())
	add(ev, err)
	topic := "everything, really"
	add(f.s.UpdateRoom(f.ctx, r.ID, nil, &topic, alice.ID, f.tick()))
	evs, err := f.s.RemoveMember(f.ctx, r.ID, alice.ID, alice.ID, chat.EventMemberLeft, f.tick())
	f.must(err, "RemoveMember")
	want = append(want, evs...)

	for i, ev := range want {
		if ev.Message != nil {
			now, err := f.s.Message(f.ctx, r.ID, ev.Message.ID)
			f.must(err, "Message %s", ev.Message.ID)
			want[i].Message = &now
		}
	}
	f.same(f.allEvents(r.ID), want, "Events")
	for i, ev := range want {
		if ev.Seq != int64(i+1) {
			f.Errorf("event %d has seq %d", i, ev.Seq)
		}
	}
}

func testMessagePages(f *fixture) {
	alice := f.user("alice")
	r := f.room(chat.KindGroup, "room", alice)
	var msgs []chat.Message
	for i := range 10 {
		msgs = append(msgs, f.send(r, alice, fmt.Sprint("message ", i)))
	}
	// A tombstone keeps its place in history.
	_, _, err := f.s.DeleteMessage(f.ctx, r.ID, msgs[4].ID, alice.ID, f.tick())
	f.must(err, "DeleteMessage")
	msgs[4].Text, msgs[4].Deleted = "", true

	checkPages(f, "Messages", msgs, msgSeq, func(p chat.Page) ([]chat.Message, bool, error) {
		return f.s.Messages(f.ctx, r.ID, p)
	})
}

func testEventPages(f *fixture) {
	alice := f.user("alice")
	r, evs := f.roomEvents(chat.KindGroup, "room", alice)
	for i := range 9 {
		_, ev := f.sendEvent(r, alice, fmt.Sprint("message ", i))
		evs = append(evs, ev)
	}
	checkPages(f, "Events", evs, evSeq, func(p chat.Page) ([]chat.Event, bool, error) {
		return f.s.Events(f.ctx, r.ID, p)
	})
}

// checkPages checks the pages of all, a room's whole timeline of at least
// ten items in ascending order, as page reads them.
func checkPages[T any](f *fixture, what string, all []T, seq func(T) int64,
	page func(chat.Page) ([]T, bool, error)) {
	f.Helper()
	n := len(all)
	newest := chat.NewestPage
	cases := []struct {
		name string
		p    chat.Page
		want []T
		more bool
	}{
		{"from the start", chat.Page{Limit: 3}, all[:3], true},
		{"from the start, all", chat.Page{Limit: n}, all, false},
		{"newest", chat.Page{Before: newest, Limit: 3}, all[n-3:], true},
		{"newest, all", chat.Page{Before: newest, Limit: n}, all, false},
		{"newest, more than all", chat.Page{Before: newest, Limit: n + 50}, all, false},
		{"before", chat.Page{Before: seq(all[5]), Limit: 3}, all[2:5], true},
		{"before, exactly the rest", chat.Page{Before: seq(all[3]), Limit: 3}, all[:3], false},
		{"before the first", chat.Page{Before: seq(all[0]), Limit: 3}, nil, false},
		{"after", chat.Page{After: seq(all[5]), Limit: 3}, all[6:9], true},
		{"after, exactly the rest", chat.Page{After: seq(all[n-4]), Limit: 3}, all[n-3:], false},
		{"after the last", chat.Page{After: seq(all[n-1]), Limit: 3}, nil, false},
	}
	for _, c := range cases {
		got, more, err := page(c.p)
		f.must(err, "%s %s", what, c.name)
		if more != c.more {
			f.Errorf("%s %s %+v: more = %v, want %v", what, c.name, c.p, more, c.more)
		}
		if len(got) != 0 || len(c.want) != 0 {
			f.same(got, c.want, "%s %s %+v", what, c.name, c.p)
		}
	}

	// Walking back from the newest page, and forward from the start, meets
	// every item once. The walks stop once they have more than all, so
	// that a cursor that repeats fails rather than loops.
	var back []T
	for p := (chat.Page{Before: newest, Limit: 4}); len(back) <= n; {
		got, more, err := page(p)
		f.must(err, "%s walking back", what)
		back = append(got, back...)
		if !more {
			break
		}
		p.Before = seq(got[0])
	}
	f.same(seqsOf(back, seq), seqsOf(all, seq), "%s walking back", what)
	var forward []T
	for p := (chat.Page{Limit: 4}); len(forward) <= n; {
		got, more, err := page(p)
		f.must(err, "%s walking forward", what)
		forward = append(forward, got...)
		if !more {
			break
		}
		p.After = seq(got[len(got)-1])
	}
	f.same(seqsOf(forward, seq), seqsOf(all, seq), "%s walking forward", what)
}

// Many goroutines appending at once get seqs 1..N of their room with no
// gap and no repeat, each in the order of its own calls.
func testConcurrentAppends(f *fixture) {
	alice := f.user("alice")
	busy := f.room(chat.KindGroup, "busy", alice)
	quiet := []chat.Room{f.room(chat.KindGroup, "quiet 1", alice), f.room(chat.KindGroup, "quiet 2", alice)}
	const writers, each, quietEach = 16, 50, 25
	at := f.tick()
	send := func(r chat.Room, n int, seqs *[]int64) {
		for i := range n {
			ap, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: r.ID,
				SenderID: alice.ID, Text: fmt.Sprint(i), CreatedAt: at})
			m, ev, created := ap.Message, ap.Event, ap.Created
			if err != nil || !created || ev.Seq != m.Seq {
				f.Errorf("AppendMessage: created %v, seqs %d/%d, err %v", created, m.Seq, ev.Seq, err)
				return
			}
			*seqs = append(*seqs, m.Seq)
		}
	}
	busySeqs := make([][]int64, writers)
	quietSeqs := make([][]int64, len(quiet))
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() { send(busy, each, &busySeqs[w]) })
	}
	for i, r := range quiet {
		wg.Go(func() { send(r, quietEach, &quietSeqs[i]) })
	}
	wg.Wait()

	f.checkGapless(busy, busySeqs, writers*each)
	for i, r := range quiet {
		f.checkGapless(r, quietSeqs[i:i+1], quietEach)
	}
}

// checkGapless checks that the seqs the writers got in r, after its
// creation, are the next n, that each writer's rise, and that the room's
// events agree.
func (f *fixture) checkGapless(r chat.Room, perWriter [][]int64, n int) {
	f.Helper()
	var all []int64
	for w, seqs := range perWriter {
		if !slices.IsSorted(seqs) {
			f.Errorf("writer %d got seqs out of order: %v", w, seqs)
		}
		all = append(all, seqs...)
	}
	slices.Sort(all)
	want := make([]int64, n)
	for i := range want {
		want[i] = r.LastSeq + int64(i) + 1
	}
	f.same(all, want, "seqs of %s", r.Name)
	evs := f.allEvents(r.ID)
	for i, ev := range evs {
		if ev.Seq != int64(i+1) {
			f.Fatalf("event %d of %s has seq %d", i, r.Name, ev.Seq)
		}
	}
	if last := f.getRoom(r.ID).LastSeq; last != int64(len(evs)) || len(evs) != int(r.LastSeq)+n {
		f.Errorf("%s: LastSeq %d, %d events; want %d", r.Name, last, len(evs), int(r.LastSeq)+n)
	}
}
