package storetest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/parley-chat/parley/internal/chat"
)

func testCreateRoom(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	r, evs := f.roomEvents(chat.KindGroup, "Friends", alice, bob, carol)
	if r.LastSeq != 3 || r.MemberCount != 3 {
		f.Errorf("CreateRoom: LastSeq %d, MemberCount %d; want 3, 3", r.LastSeq, r.MemberCount)
	}
	f.checkUTC(r.CreatedAt, f.now, "CreatedAt")
	order := []chat.User{alice, bob, carol}
	if len(evs) != len(order) {
		f.Fatalf("CreateRoom gave %d events, want %d", len(evs), len(order))
	}
	for i, ev := range evs {
		role := chat.RoleMember
		if i == 0 {
			role = chat.RoleOwner
		}
		want := chat.Event{
			RoomID: r.ID, Seq: int64(i + 1), Type: chat.EventMemberJoined, ActorID: alice.ID,
			CreatedAt: r.CreatedAt, UserID: order[i].ID, User: &order[i], Role: role,
		}
		f.same(ev, want, "event %d", i)
	}
	f.same(f.getRoom(r.ID), r, "Room")
	f.same(f.allEvents(r.ID), evs, "Events")
	m, err := f.s.Member(f.ctx, r.ID, bob.ID)
	f.must(err, "Member")
	want := chat.Member{RoomID: r.ID, User: bob, Role: chat.RoleMember,
		JoinedAt: r.CreatedAt, JoinedSeq: 2, ReadSeq: 2}
	f.same(m, want, "Member")
}

// A room whose creation fails leaves nothing behind.
func testCreateRoomIsAtomic(f *fixture) {
	alice := f.user("alice")
	ghost := chat.User{ID: "no-such-user", Username: "ghost"}
	at := f.tick()
	id := chat.NewID(at)
	_, _, err := f.s.CreateRoom(f.ctx, chat.Room{ID: id, Kind: chat.KindGroup, Name: "x", CreatedAt: at},
		[]chat.Member{{User: alice, Role: chat.RoleOwner}, {User: ghost, Role: chat.RoleMember}})
	f.wantErr(err, chat.ErrNotFound, "CreateRoom with a missing member")
	_, err = f.s.Room(f.ctx, id)
	f.wantErr(err, chat.ErrNotFound, "Room after a failed CreateRoom")

	r := f.room(chat.KindGroup, "taken", alice)
	_, _, err = f.s.CreateRoom(f.ctx, chat.Room{ID: r.ID, Kind: chat.KindGroup, Name: "again", CreatedAt: at},
		[]chat.Member{{User: alice, Role: chat.RoleOwner}})
	f.wantErr(err, chat.ErrConflict, "CreateRoom with a used id")
}

func testDirectRoom(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	d := f.room(chat.KindDirect, "", alice, bob)
	for _, pair := range [][2]chat.User{{alice, bob}, {bob, alice}} {
		got, err := f.s.DirectRoom(f.ctx, pair[0].ID, pair[1].ID)
		f.must(err, "DirectRoom")
		f.same(got, d, "DirectRoom(%s, %s)", pair[0].Username, pair[1].Username)
	}
	at := f.tick()
	_, _, err := f.s.CreateRoom(f.ctx, chat.Room{ID: chat.NewID(at), Kind: chat.KindDirect, CreatedAt: at},
		[]chat.Member{{User: bob, Role: chat.RoleMember}, {User: alice, Role: chat.RoleMember}})
	f.wantErr(err, chat.ErrConflict, "second direct room of a pair")
	_, err = f.s.DirectRoom(f.ctx, alice.ID, carol.ID)
	f.wantErr(err, chat.ErrNotFound, "DirectRoom of a pair without one")
	// The pair may share other rooms.
	f.room(chat.KindGroup, "also", alice, bob)
}

// Two users opening their direct room at the same time: one wins.
func testDirectRoomRace(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	const n = 8
	at := f.tick()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			a, b := alice, bob
			if i%2 == 1 {
				a, b = b, a
			}
			_, _, err := f.s.CreateRoom(f.ctx, chat.Room{ID: chat.NewID(at), Kind: chat.KindDirect, CreatedAt: at},
				[]chat.Member{{User: a, Role: chat.RoleMember}, {User: b, Role: chat.RoleMember}})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	won := 0
	for err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, chat.ErrConflict):
			f.Errorf("CreateRoom: %v, want nil or ErrConflict", err)
		}
	}
	if won != 1 {
		f.Errorf("%d direct rooms created for one pair, want 1", won)
	}
}

// Every method given a missing room or user says ErrNotFound.
func testRoomNotFound(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "real", alice)
	m := f.send(r, alice, "hello")
	const no = "no-such-id"
	at := f.tick()
	name := "x"
	checks := map[string]func() error{
		"Room": func() error { _, err := f.s.Room(f.ctx, no); return err },
		"Member of a missing room": func() error {
			_, err := f.s.Member(f.ctx, no, alice.ID)
			return err
		},
		"Member who is not one": func() error { _, err := f.s.Member(f.ctx, r.ID, bob.ID); return err },
		"RoomView of a missing room": func() error {
			_, err := f.s.RoomView(f.ctx, no, alice.ID)
			return err
		},
		"RoomView of a non-member": func() error { _, err := f.s.RoomView(f.ctx, r.ID, bob.ID); return err },
		"RoomViews":                func() error { _, err := f.s.RoomViews(f.ctx, no); return err },
		"RoomSeqs":                 func() error { _, err := f.s.RoomSeqs(f.ctx, no); return err },
		"SessionStart":             func() error { _, _, err := f.s.SessionStart(f.ctx, no); return err },
		"Members":                  func() error { _, err := f.s.Members(f.ctx, no, "", 10); return err },
		"MemberIDs":                func() error { _, err := f.s.MemberIDs(f.ctx, no); return err },
		"Directory cursor":         func() error { _, err := f.s.Directory(f.ctx, "", no, 10); return err },
		"AddMember to a missing room": func() error {
			_, err := f.s.AddMember(f.ctx, chat.Member{RoomID: no, User: bob,
				Role: chat.RoleMember, JoinedAt: at}, bob.ID)
			return err
		},
		"AddMember of a missing user": func() error {
			ghost := chat.User{ID: no}
			_, err := f.s.AddMember(f.ctx, chat.Member{RoomID: r.ID, User: ghost,
				Role: chat.RoleMember, JoinedAt: at}, alice.ID)
			return err
		},
		"RemoveMember from a missing room": func() error {
			_, err := f.s.RemoveMember(f.ctx, no, alice.ID, alice.ID, chat.EventMemberLeft, at)
			return err
		},
		"RemoveMember of a non-member": func() error {
			_, err := f.s.RemoveMember(f.ctx, r.ID, bob.ID, bob.ID, chat.EventMemberLeft, at)
			return err
		},
		"UpdateRoom": func() error {
			_, err := f.s.UpdateRoom(f.ctx, no, &name, nil, alice.ID, at)
			return err
		},
		"AppendMessage": func() error {
			_, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: no,
				SenderID: alice.ID, Text: "x", CreatedAt: at})
			return err
		},
		"AppendMessage by a non-member": func() error {
			_, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: r.ID,
				SenderID: bob.ID, Text: "x", ClientID: "c", CreatedAt: at})
			return err
		},
		"EditMessage": func() error {
			_, _, _, err := f.s.EditMessage(f.ctx, r.ID, no, alice.ID, "x", nil, at)
			return err
		},
		"EditMessage in another room": func() error {
			_, _, _, err := f.s.EditMessage(f.ctx, no, m.ID, alice.ID, "x", nil, at)
			return err
		},
		"DeleteMessage": func() error {
			_, _, err := f.s.DeleteMessage(f.ctx, r.ID, no, alice.ID, at)
			return err
		},
		"Message":           func() error { _, err := f.s.Message(f.ctx, r.ID, no); return err },
		"Message elsewhere": func() error { _, err := f.s.Message(f.ctx, no, m.ID); return err },
		"Messages": func() error {
			_, _, err := f.s.Messages(f.ctx, no, chat.Page{Limit: 10})
			return err
		},
		"Events": func() error { _, _, err := f.s.Events(f.ctx, no, chat.Page{Limit: 10}); return err },
	}
	for name, check := range checks {
		f.wantErr(check(), chat.ErrNotFound, "%s", name)
	}
	if got := f.getRoom(r.ID); got.LastSeq != m.Seq {
		f.Errorf("failed writes moved LastSeq from %d to %d", m.Seq, got.LastSeq)
	}
}

func testAddMember(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "club", alice)
	at := f.tick()
	ev, err := f.s.AddMember(f.ctx, chat.Member{RoomID: r.ID, User: bob, Role: chat.RoleAdmin, JoinedAt: at}, alice.ID)
	f.must(err, "AddMember")
	want := chat.Event{RoomID: r.ID, Seq: 2, Type: chat.EventMemberJoined, ActorID: alice.ID,
		CreatedAt: ev.CreatedAt, UserID: bob.ID, User: &bob, Role: chat.RoleAdmin}
	f.same(ev, want, "AddMember event")
	f.checkUTC(ev.CreatedAt, at, "event time")
	m, err := f.s.Member(f.ctx, r.ID, bob.ID)
	f.must(err, "Member")
	f.same(m, chat.Member{RoomID: r.ID, User: bob, Role: chat.RoleAdmin,
		JoinedAt: ev.CreatedAt, JoinedSeq: 2, ReadSeq: 2}, "Member")
	if got := f.getRoom(r.ID); got.MemberCount != 2 || got.LastSeq != 2 {
		f.Errorf("after AddMember: MemberCount %d, LastSeq %d; want 2, 2", got.MemberCount, got.LastSeq)
	}

	_, err = f.s.AddMember(f.ctx, chat.Member{RoomID: r.ID, User: bob, Role: chat.RoleMember, JoinedAt: f.tick()}, bob.ID)
	f.wantErr(err, chat.ErrAlreadyMember, "AddMember of a member")
	if got := f.getRoom(r.ID); got.MemberCount != 2 || got.LastSeq != 2 {
		f.Errorf("after a failed AddMember: MemberCount %d, LastSeq %d; want 2, 2", got.MemberCount, got.LastSeq)
	}
}

// One user joining from many sessions at once: one join, the others fail.
func testAddMemberRace(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindPublic, "lobby", alice)
	const n = 8
	at := f.tick()
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			_, err := f.s.AddMember(f.ctx, chat.Member{RoomID: r.ID, User: bob, Role: chat.RoleMember, JoinedAt: at}, bob.ID)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	joined := 0
	for err := range errs {
		switch {
		case err == nil:
			joined++
		case !errors.Is(err, chat.ErrAlreadyMember):
			f.Errorf("AddMember: %v, want nil or ErrAlreadyMember", err)
		}
	}
	got := f.getRoom(r.ID)
	if joined != 1 || got.MemberCount != 2 || got.LastSeq != 2 {
		f.Errorf("%d joins, MemberCount %d, LastSeq %d; want 1, 2, 2", joined, got.MemberCount, got.LastSeq)
	}
}

func testRemoveMember(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	r := f.room(chat.KindGroup, "club", alice, bob, carol)
	at := f.tick()
	evs, err := f.s.RemoveMember(f.ctx, r.ID, bob.ID, bob.ID, chat.EventMemberLeft, at)
	f.must(err, "RemoveMember")
	want := []chat.Event{{RoomID: r.ID, Seq: 4, Type: chat.EventMemberLeft, ActorID: bob.ID,
		CreatedAt: evs[0].CreatedAt, UserID: bob.ID, User: &bob}}
	f.same(evs, want, "RemoveMember events")
	f.checkUTC(evs[0].CreatedAt, at, "event time")
	_, err = f.s.Member(f.ctx, r.ID, bob.ID)
	f.wantErr(err, chat.ErrNotFound, "Member after leaving")
	_, err = f.s.RemoveMember(f.ctx, r.ID, bob.ID, bob.ID, chat.EventMemberLeft, f.tick())
	f.wantErr(err, chat.ErrNotFound, "RemoveMember twice")

	evs, err = f.s.RemoveMember(f.ctx, r.ID, carol.ID, alice.ID, chat.EventMemberRemoved, f.tick())
	f.must(err, "RemoveMember by another")
	if len(evs) != 1 || evs[0].Type != chat.EventMemberRemoved || evs[0].ActorID != alice.ID || evs[0].UserID != carol.ID {
		f.Errorf("RemoveMember by alice = %s, want one member.removed of carol by alice", show(evs))
	}
	if got := f.getRoom(r.ID); got.MemberCount != 1 || got.LastSeq != 5 {
		f.Errorf("after two leave: MemberCount %d, LastSeq %d; want 1, 5", got.MemberCount, got.LastSeq)
	}
	f.same(f.allEvents(r.ID)[3:], []chat.Event{want[0], evs[0]}, "Events")
}

func testOwnerSuccession(f *fixture) {
	owner, m1, a1, a2 := f.user("owner"), f.user("m1"), f.user("a1"), f.user("a2")
	cases := []struct {
		name    string
		setup   func(r chat.Room)
		members []chat.User
		want    *chat.User // the new owner, nil for none
	}{
		{"admin before member", func(r chat.Room) {
			f.join(r, m1, chat.RoleMember)
			f.join(r, a1, chat.RoleAdmin)
			f.join(r, a2, chat.RoleAdmin)
		}, nil, &a1},
		{"longest-standing member", nil, []chat.User{m1, a1}, &m1},
		{"longest-standing admin after a rejoin", func(r chat.Room) {
			f.join(r, a1, chat.RoleAdmin)
			f.join(r, a2, chat.RoleAdmin)
			_, err := f.s.RemoveMember(f.ctx, r.ID, a1.ID, a1.ID, chat.EventMemberLeft, f.tick())
			f.must(err, "RemoveMember")
			f.join(r, a1, chat.RoleAdmin)
		}, nil, &a2},
		{"nobody left", nil, nil, nil},
	}
	for _, c := range cases {
		r := f.room(chat.KindGroup, c.name, owner, c.members...)
		if c.setup != nil {
			c.setup(r)
		}
		before := f.getRoom(r.ID)
		at := f.tick()
		evs, err := f.s.RemoveMember(f.ctx, r.ID, owner.ID, owner.ID, chat.EventMemberLeft, at)
		f.must(err, "%s: RemoveMember", c.name)
		if c.want == nil {
			if len(evs) != 1 {
				f.Errorf("%s: %d events, want 1", c.name, len(evs))
			}
			after := f.getRoom(r.ID)
			if after.MemberCount != 0 || after.LastSeq != before.LastSeq+1 {
				f.Errorf("%s: room left empty has MemberCount %d, LastSeq %d; want 0, %d",
					c.name, after.MemberCount, after.LastSeq, before.LastSeq+1)
			}
			continue
		}
		if len(evs) != 2 {
			f.Fatalf("%s: %d events, want left then updated: %s", c.name, len(evs), show(evs))
		}
		want := chat.Event{RoomID: r.ID, Seq: before.LastSeq + 2, Type: chat.EventMemberUpdated,
			ActorID: owner.ID, CreatedAt: evs[0].CreatedAt, UserID: c.want.ID, User: c.want, Role: chat.RoleOwner}
		f.same(evs[1], want, "%s: succession event", c.name)
		if evs[0].Seq != before.LastSeq+1 || evs[0].Type != chat.EventMemberLeft {
			f.Errorf("%s: first event %s, want member.left at seq %d", c.name, show(evs[0]), before.LastSeq+1)
		}
		m, err := f.s.Member(f.ctx, r.ID, c.want.ID)
		f.must(err, "Member")
		if m.Role != chat.RoleOwner {
			f.Errorf("%s: new owner's role is %q", c.name, m.Role)
		}
	}

	// A member other than the owner leaving hands nothing on.
	r := f.room(chat.KindGroup, "plain", owner, m1, a1)
	evs, err := f.s.RemoveMember(f.ctx, r.ID, m1.ID, m1.ID, chat.EventMemberLeft, f.tick())
	f.must(err, "RemoveMember")
	if len(evs) != 1 {
		f.Errorf("a member leaving gave %d events, want 1", len(evs))
	}
}

func testUpdateRoom(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindPublic, "Old name", alice, bob)
	name, topic := "New name", "New topic"
	var appended []chat.Event
	steps := []struct {
		name, topic *string
		want        chat.RoomProfile
	}{
		{&name, nil, chat.RoomProfile{ID: r.ID, Kind: r.Kind, Name: name, Topic: r.Topic, MemberCount: 2}},
		{nil, &topic, chat.RoomProfile{ID: r.ID, Kind: r.Kind, Name: name, Topic: topic, MemberCount: 2}},
		{nil, nil, chat.RoomProfile{ID: r.ID, Kind: r.Kind, Name: name, Topic: topic, MemberCount: 2}},
	}
	for i, st := range steps {
		at := f.tick()
		ev, err := f.s.UpdateRoom(f.ctx, r.ID, st.name, st.topic, bob.ID, at)
		f.must(err, "UpdateRoom %d", i)
		want := chat.Event{RoomID: r.ID, Seq: r.LastSeq + int64(i) + 1, Type: chat.EventRoomUpdated,
			ActorID: bob.ID, CreatedAt: ev.CreatedAt, Room: &st.want}
		f.same(ev, want, "UpdateRoom %d", i)
		f.checkUTC(ev.CreatedAt, at, "event time")
		got := f.getRoom(r.ID)
		if got.Profile() != st.want {
			f.Errorf("Room after UpdateRoom %d = %+v, want %+v", i, got.Profile(), st.want)
		}
		appended = append(appended, ev)
	}
	f.same(f.allEvents(r.ID)[2:], appended, "Events")
}

func testDirectory(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	public := func(name string, members ...chat.User) chat.Room {
		return f.room(chat.KindPublic, name, alice, members...)
	}
	golang, lovers := public("golang", bob), public("Go Lovers")
	goA, goB := public("go"), public("GO")
	gophers, rust := public("GOPHERS"), public("Rust")
	f.room(chat.KindGroup, "go private", alice)
	f.room(chat.KindDirect, "go", alice, bob)

	byKey := func(rs ...chat.Room) []chat.Room {
		// Ordered by lower-case name, then id.
		slices.SortFunc(rs, func(a, b chat.Room) int {
			if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		return rs
	}
	check := func(q string, want []chat.Room) {
		f.Helper()
		got, err := f.s.Directory(f.ctx, q, "", 100)
		f.must(err, "Directory %q", q)
		f.same(names(got), names(want), "Directory(%q)", q)
		f.same(got, want, "Directory(%q) rooms", q)
		// Pages of one, from each room to the next, neither skip nor repeat.
		var paged []chat.Room
		for after := ""; len(paged) <= len(want); {
			page, err := f.s.Directory(f.ctx, q, after, 1)
			f.must(err, "Directory page")
			if len(page) == 0 {
				break
			}
			paged = append(paged, page...)
			after = page[0].ID
		}
		f.same(names(paged), names(want), "Directory(%q) paged", q)
	}
	check("GO", byKey(golang, lovers, goA, goB, gophers))
	check("", byKey(golang, lovers, goA, goB, gophers, rust))
	check("lover", []chat.Room{lovers})
	check("nothing like it", []chat.Room{})

	renamed := "Rusty Go"
	_, err := f.s.UpdateRoom(f.ctx, rust.ID, &renamed, nil, alice.ID, f.tick())
	f.must(err, "UpdateRoom")
	rust = f.getRoom(rust.ID)
	check("go", byKey(golang, lovers, goA, goB, gophers, rust))
	if golang.MemberCount != 2 {
		f.Errorf("MemberCount = %d, want 2", golang.MemberCount)
	}
}

func names(rs []chat.Room) []string {
	out := []string{}
	for _, r := range rs {
		out = append(out, r.Name+"#"+r.ID)
	}
	return out
}

func testMembers(f *fixture) {
	alice := f.user("alice")
	var others []chat.User
	for i := range 6 {
		others = append(others, f.user(fmt.Sprintf("member%d", i)))
	}
	r := f.room(chat.KindGroup, "big", alice, others...)
	all := append([]chat.User{alice}, others...)
	slices.SortFunc(all, func(a, b chat.User) int { return strings.Compare(a.ID, b.ID) })

	var paged []chat.Member
	for after := ""; len(paged) <= len(all); {
		page, err := f.s.Members(f.ctx, r.ID, after, 4)
		f.must(err, "Members")
		paged = append(paged, page...)
		if len(page) < 4 {
			break
		}
		after = page[len(page)-1].User.ID
	}
	if len(paged) != len(all) {
		f.Fatalf("Members paged %d members, want %d", len(paged), len(all))
	}
	for i, m := range paged {
		role := chat.RoleMember
		if m.User.ID == alice.ID {
			role = chat.RoleOwner
		}
		if m.RoomID != r.ID || m.Role != role {
			f.Errorf("member %d: room %q role %q, want %q %q", i, m.RoomID, m.Role, r.ID, role)
		}
		f.same(m.User, all[i], "member %d", i)
	}
	ids, err := f.s.MemberIDs(f.ctx, r.ID)
	f.must(err, "MemberIDs")
	slices.Sort(ids)
	var want []string
	for _, u := range all {
		want = append(want, u.ID)
	}
	f.same(ids, want, "MemberIDs")
}

func testRoomSeqs(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	r1 := f.room(chat.KindGroup, "one", alice)
	r2 := f.room(chat.KindGroup, "two", alice, bob)
	f.room(chat.KindGroup, "three", carol)
	f.send(r1, alice, "a")
	m := f.send(r2, bob, "b")
	f.send(r2, bob, "c")

	seqs, err := f.s.RoomSeqs(f.ctx, alice.ID)
	f.must(err, "RoomSeqs")
	f.same(seqs, map[string]int64{r1.ID: 2, r2.ID: m.Seq + 1}, "RoomSeqs(alice)")
	seqs, err = f.s.RoomSeqs(f.ctx, bob.ID)
	f.must(err, "RoomSeqs")
	f.same(seqs, map[string]int64{r2.ID: m.Seq + 1}, "RoomSeqs(bob)")
	loner := f.user("loner")
	seqs, err = f.s.RoomSeqs(f.ctx, loner.ID)
	f.must(err, "RoomSeqs")
	if len(seqs) != 0 {
		f.Errorf("RoomSeqs of a user in no room = %v", seqs)
	}

	// SessionStart reads the same rooms and the user's settings.
	hidden := false
	us := chat.UserSettings{Theme: "dark", ShowPresence: &hidden}
	f.must(f.s.SetUserSettings(f.ctx, alice.ID, us), "SetUserSettings")
	seqs, settings, err := f.s.SessionStart(f.ctx, alice.ID)
	f.must(err, "SessionStart")
	f.same(seqs, map[string]int64{r1.ID: 2, r2.ID: m.Seq + 1}, "SessionStart(alice) rooms")
	f.same(settings, us, "SessionStart(alice) settings")
	seqs, settings, err = f.s.SessionStart(f.ctx, loner.ID)
	f.must(err, "SessionStart")
	if len(seqs) != 0 || settings != (chat.UserSettings{}) {
		f.Errorf("SessionStart of a user in no room, with no settings = %v, %+v", seqs, settings)
	}
}

func testLastSeqs(f *fixture) {
	alice := f.user("alice")
	r1, r2 := f.room(chat.KindGroup, "one", alice), f.room(chat.KindGroup, "two", alice)
	f.send(r2, alice, "hi")
	// Many ids, most of them missing: more than any limit on statement
	// parameters a backend may have.
	ids := []string{r1.ID}
	for i := range 5000 {
		ids = append(ids, fmt.Sprintf("missing-%d", i))
	}
	ids = append(ids, r2.ID)
	seqs, err := f.s.LastSeqs(f.ctx, ids)
	f.must(err, "LastSeqs")
	f.same(seqs, map[string]int64{r1.ID: 1, r2.ID: 2}, "LastSeqs")
	seqs, err = f.s.LastSeqs(f.ctx, nil)
	f.must(err, "LastSeqs of none")
	if len(seqs) != 0 {
		f.Errorf("LastSeqs(nil) = %v", seqs)
	}
}

func testRoomViews(f *fixture) {
	alice, bob, carol := f.user("alice"), f.user("bob"), f.user("carol")
	g := f.room(chat.KindGroup, "group", alice, bob)
	d := f.room(chat.KindDirect, "", alice, carol)

	views, err := f.s.RoomViews(f.ctx, alice.ID)
	f.must(err, "RoomViews")
	f.same(views, []chat.RoomView{{Room: d, Peer: &carol}, {Room: g}}, "RoomViews, newest room first")

	m := f.send(g, bob, "hello")
	g = f.getRoom(g.ID)
	views, err = f.s.RoomViews(f.ctx, alice.ID)
	f.must(err, "RoomViews")
	wantG := chat.RoomView{Room: g, UnreadCount: 1, LastMessage: &m}
	f.same(views, []chat.RoomView{wantG, {Room: d, Peer: &carol}}, "RoomViews after a message")
	v, err := f.s.RoomView(f.ctx, g.ID, alice.ID)
	f.must(err, "RoomView")
	f.same(v, wantG, "RoomView")
	v, err = f.s.RoomView(f.ctx, d.ID, carol.ID)
	f.must(err, "RoomView")
	f.same(v, chat.RoomView{Room: d, Peer: &alice}, "RoomView of the peer")

	lonely := f.user("lonely")
	views, err = f.s.RoomViews(f.ctx, lonely.ID)
	f.must(err, "RoomViews")
	if len(views) != 0 {
		f.Errorf("RoomViews of a user in no room = %s", show(views))
	}
}

func testUnreadCount(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "room", alice)
	unread := func(u chat.User) int {
		f.Helper()
		v, err := f.s.RoomView(f.ctx, r.ID, u.ID)
		f.must(err, "RoomView")
		return v.UnreadCount
	}
	check := func(step string, wantAlice, wantBob int) {
		f.Helper()
		if a, b := unread(alice), unread(bob); a != wantAlice || b != wantBob {
			f.Errorf("%s: unread alice %d, bob %d; want %d, %d", step, a, b, wantAlice, wantBob)
		}
	}
	for i := range 3 {
		f.send(r, alice, fmt.Sprint("before bob ", i))
	}
	f.join(r, bob, chat.RoleMember)
	check("joining starts at the join", 0, 0)

	f.send(r, alice, "one")
	last := f.send(r, alice, "two")
	check("own messages do not count", 0, 2)

	at := f.tick()
	_, _, err := f.s.DeleteMessage(f.ctx, r.ID, last.ID, alice.ID, at)
	f.must(err, "DeleteMessage")
	check("deleted messages do not count", 0, 1)
	v, err := f.s.RoomView(f.ctx, r.ID, bob.ID)
	f.must(err, "RoomView")
	if v.LastMessage == nil || v.LastMessage.ID != last.ID || !v.LastMessage.Deleted || v.LastMessage.Text != "" {
		f.Errorf("LastMessage = %s, want the tombstone of %s", show(v.LastMessage), last.ID)
	}

	f.send(r, bob, "reply")
	check("sending reads up to one's message", 1, 0)
}
