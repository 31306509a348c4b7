package storetest

import (
	"errors"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// The State tests run with the rest of the suite.
func init() {
	suite = append(suite,
		test{"ReadPositions", testReadPositions},
		test{"DeliveredPositions", testDeliveredPositions},
		test{"Mentions", testMentions},
		test{"Settings", testSettings},
		test{"LastSeen", testLastSeen},
	)
}

// state returns userID's state of r.
func (f *fixture) state(r chat.Room, userID string) chat.MemberState {
	f.Helper()
	sts, err := f.s.RoomStates(f.ctx, userID, r.ID)
	f.must(err, "RoomStates")
	if len(sts) != 1 {
		f.Fatalf("RoomStates(%s, %s) = %d rooms, want 1", userID, r.ID, len(sts))
	}
	return sts[0]
}

func testReadPositions(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "g", alice, bob) // seqs 1, 2
	m1, m2, m3 := f.send(r, alice, "1"), f.send(r, alice, "2"), f.send(r, alice, "3")
	if st := f.state(r, bob.ID); st.UnreadCount != 3 || st.ReadSeq != 2 {
		f.Errorf("bob before reading: %+v", st)
	}

	pos, moved, err := f.s.MarkRead(f.ctx, r.ID, bob.ID, m2.Seq)
	f.must(err, "MarkRead")
	if !moved || pos != m2.Seq {
		f.Errorf("MarkRead(%d) = %d, %v", m2.Seq, pos, moved)
	}
	for _, seq := range []int64{m1.Seq, m2.Seq} {
		pos, moved, err = f.s.MarkRead(f.ctx, r.ID, bob.ID, seq)
		f.must(err, "MarkRead")
		if moved || pos != m2.Seq {
			f.Errorf("MarkRead(%d) after %d = %d, %v; want no move", seq, m2.Seq, pos, moved)
		}
	}
	if st := f.state(r, bob.ID); st.UnreadCount != 1 || st.ReadSeq != m2.Seq {
		f.Errorf("bob after reading to %d: %+v", m2.Seq, st)
	}

	// Beyond the head is capped at the head.
	pos, _, err = f.s.MarkRead(f.ctx, r.ID, bob.ID, m3.Seq+100)
	f.must(err, "MarkRead beyond the head")
	if pos != m3.Seq {
		f.Errorf("MarkRead beyond the head = %d, want %d", pos, m3.Seq)
	}
	_, _, err = f.s.MarkRead(f.ctx, r.ID, f.user("carol").ID, 1)
	f.wantErr(err, chat.ErrNotFound, "MarkRead by a non-member")

	// Deleting an unread message lowers the count.
	m4, m5 := f.send(r, alice, "4"), f.send(r, alice, "5")
	_, _, err = f.s.DeleteMessage(f.ctx, r.ID, m4.ID, alice.ID, f.tick())
	f.must(err, "DeleteMessage")
	if st := f.state(r, bob.ID); st.UnreadCount != 1 {
		f.Errorf("unread after deleting one of two: %+v", st)
	}
	us, err := f.s.Unreads(f.ctx, r.ID, m5.Seq, alice.ID)
	f.must(err, "Unreads")
	f.same(us, []chat.Unread{{UserID: bob.ID, RoomID: r.ID, UnreadCount: 1, ReadSeq: m3.Seq}}, "Unreads")

	rcs, err := f.s.Receipts(f.ctx, r.ID, "", 10)
	f.must(err, "Receipts")
	if len(rcs) != 2 {
		f.Fatalf("Receipts = %+v", rcs)
	}
	for _, rc := range rcs {
		if rc.UserID == bob.ID && (rc.ReadSeq != m3.Seq || rc.DeliveredSeq != m3.Seq) {
			f.Errorf("bob's receipt = %+v", rc)
		}
	}
	page, err := f.s.Receipts(f.ctx, r.ID, rcs[0].UserID, 10)
	f.must(err, "Receipts page")
	f.same(page, rcs[1:], "Receipts after the first")
	_, err = f.s.Receipts(f.ctx, "no-such-room", "", 10)
	f.wantErr(err, chat.ErrNotFound, "Receipts of a missing room")
}

func testDeliveredPositions(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "g", alice, bob)
	m1, m2 := f.send(r, alice, "1"), f.send(r, alice, "2")
	carol := f.user("carol")
	ps := []chat.Position{
		{RoomID: r.ID, UserID: bob.ID, Seq: m2.Seq},
		{RoomID: r.ID, UserID: carol.ID, Seq: m2.Seq}, // not a member: ignored
		{RoomID: r.ID, UserID: alice.ID, Seq: m2.Seq + 100},
	}
	moved, err := f.s.MarkDelivered(f.ctx, ps)
	f.must(err, "MarkDelivered")
	f.same(moved, []chat.Position{ps[0], ps[2]}, "MarkDelivered moved")
	moved, err = f.s.MarkDelivered(f.ctx, []chat.Position{{RoomID: r.ID, UserID: bob.ID, Seq: m1.Seq}})
	f.must(err, "MarkDelivered")
	if len(moved) != 0 {
		f.Errorf("MarkDelivered moved backwards: %v", moved)
	}
	rcs, err := f.s.Receipts(f.ctx, r.ID, "", 10)
	f.must(err, "Receipts")
	for _, rc := range rcs {
		switch {
		case rc.UserID == alice.ID && rc.DeliveredSeq != m2.Seq:
			f.Errorf("delivered beyond the head: %+v", rc)
		case rc.UserID == bob.ID && (rc.DeliveredSeq != m2.Seq || rc.ReadSeq != 2):
			f.Errorf("bob's receipt = %+v", rc)
		}
	}
}

func testMentions(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "g", alice, bob)
	at := f.tick()
	ap, err := f.s.AppendMessage(f.ctx, chat.Message{ID: chat.NewID(at), RoomID: r.ID,
		SenderID: alice.ID, Text: "hi @bob", CreatedAt: at, Mentions: []string{bob.ID}})
	m := ap.Message
	f.must(err, "AppendMessage")
	got, err := f.s.Message(f.ctx, r.ID, m.ID)
	f.must(err, "Message")
	f.same(got.Mentions, []string{bob.ID}, "Mentions as read back")
	evs := f.allEvents(r.ID)
	f.same(evs[len(evs)-1].Message.Mentions, []string{bob.ID}, "Mentions of the event")
	v, err := f.s.RoomView(f.ctx, r.ID, bob.ID)
	f.must(err, "RoomView")
	f.same(v.LastMessage.Mentions, []string{bob.ID}, "Mentions of the room's last message")

	f.send(r, alice, "no mention")
	if st := f.state(r, bob.ID); st.MentionCount != 1 || st.UnreadCount != 2 {
		f.Errorf("bob's state: %+v", st)
	}
	_, _, err = f.s.MarkRead(f.ctx, r.ID, bob.ID, m.Seq)
	f.must(err, "MarkRead")
	if st := f.state(r, bob.ID); st.MentionCount != 0 || st.UnreadCount != 1 {
		f.Errorf("bob's state after reading the mention: %+v", st)
	}

	// An edit replaces the mentions: adding one counts, removing one
	// stops counting.
	carol := f.user("carol")
	_, err = f.s.AddMember(f.ctx, chat.Member{RoomID: r.ID, User: carol, Role: chat.RoleMember, JoinedAt: f.tick()}, alice.ID)
	f.must(err, "AddMember")
	m2 := f.send(r, alice, "later")
	edited, ev, first, err := f.s.EditMessage(f.ctx, r.ID, m2.ID, alice.ID, "later @carol", []string{carol.ID}, f.tick())
	f.must(err, "EditMessage")
	f.same(edited.Mentions, []string{carol.ID}, "Mentions after the edit")
	f.same(ev.Message.Mentions, []string{carol.ID}, "Mentions of the edit event")
	f.same(first, []string{carol.ID}, "First mentioned by the edit")
	if st := f.state(r, carol.ID); st.MentionCount != 1 {
		f.Errorf("carol's state after being mentioned in an edit: %+v", st)
	}
	_, _, first, err = f.s.EditMessage(f.ctx, r.ID, m2.ID, alice.ID, "later", nil, f.tick())
	f.must(err, "EditMessage")
	f.same(first, []string(nil), "First mentioned by an edit that mentions nobody")
	if st := f.state(r, carol.ID); st.MentionCount != 0 {
		f.Errorf("carol's state after the mention was edited away: %+v", st)
	}
	testMentionedOnce(f, r, m, alice, bob, carol)
}

// testMentionedOnce: an edit's first mentions are those no version of the
// message had, the one sent included, so a mention removed and put back is
// not new.
func testMentionedOnce(f *fixture, r chat.Room, m chat.Message, alice, bob, carol chat.User) {
	f.Helper()
	edit := func(text string, mentions ...string) []string {
		f.Helper()
		_, _, first, err := f.s.EditMessage(f.ctx, r.ID, m.ID, alice.ID, text, mentions, f.tick())
		f.must(err, "EditMessage %q", text)
		return first
	}
	f.same(edit("hi"), []string(nil), "First mentioned after removing the sent mention")
	f.same(edit("hi @bob", bob.ID), []string(nil), "First mentioned after putting the sent mention back")
	f.same(edit("hi @carol @bob", carol.ID, bob.ID), []string{carol.ID}, "First mentioned beside an old one")
	f.same(edit("hi"), []string(nil), "First mentioned after removing both")
	f.same(edit("hi @carol @bob", carol.ID, bob.ID), []string(nil), "First mentioned after putting both back")
	got, err := f.s.Message(f.ctx, r.ID, m.ID)
	f.must(err, "Message")
	f.same(got.Mentions, []string{carol.ID, bob.ID}, "Mentions as read back after the edits")
}

func testSettings(f *fixture) {
	alice, bob := f.user("alice"), f.user("bob")
	r := f.room(chat.KindGroup, "g", alice, bob)
	all, err := f.s.RoomSettings(f.ctx, r.ID)
	f.must(err, "RoomSettings")
	if len(all) != 0 {
		f.Errorf("RoomSettings before any = %v", all)
	}
	until := time.Date(2030, 1, 2, 3, 4, 5, 6000000, time.UTC)
	rs := chat.RoomSettings{Notify: chat.NotifyNone, SilencedUntil: &until}
	f.must(f.s.SetRoomSettings(f.ctx, r.ID, bob.ID, rs), "SetRoomSettings")
	all, err = f.s.RoomSettings(f.ctx, r.ID)
	f.must(err, "RoomSettings")
	f.same(all, map[string]chat.RoomSettings{bob.ID: rs}, "RoomSettings")
	f.same(f.state(r, bob.ID).Settings, rs, "RoomStates settings")
	err = f.s.SetRoomSettings(f.ctx, r.ID, f.user("carol").ID, rs)
	f.wantErr(err, chat.ErrNotFound, "SetRoomSettings of a non-member")

	us, err := f.s.UserSettings(f.ctx, alice.ID)
	f.must(err, "UserSettings")
	if !us.PresenceShown() || us.Theme != "" {
		f.Errorf("default UserSettings = %+v", us)
	}
	hide := false
	us = chat.UserSettings{Theme: "dark", ShowPresence: &hide}
	f.must(f.s.SetUserSettings(f.ctx, alice.ID, us), "SetUserSettings")
	got, err := f.s.UserSettings(f.ctx, alice.ID)
	f.must(err, "UserSettings")
	f.same(got, us, "UserSettings")
	_, err = f.s.UserSettings(f.ctx, "nobody")
	f.wantErr(err, chat.ErrNotFound, "UserSettings of a missing user")
}

func testLastSeen(f *fixture) {
	alice := f.user("alice")
	seen, err := f.s.LastSeen(f.ctx, alice.ID)
	f.must(err, "LastSeen")
	if !seen.IsZero() {
		f.Errorf("last seen of a new user = %v, want zero", seen)
	}
	at := f.tick()
	f.must(f.s.SetLastSeen(f.ctx, alice.ID, at), "SetLastSeen")
	seen, err = f.s.LastSeen(f.ctx, alice.ID)
	f.must(err, "LastSeen")
	if !seen.Equal(at) {
		f.Errorf("last seen = %v, want %v", seen, at)
	}
	if err := f.s.SetLastSeen(f.ctx, "no-such-user", at); !errors.Is(err, chat.ErrNotFound) {
		f.Errorf("SetLastSeen of a missing user: %v", err)
	}
	if _, err := f.s.LastSeen(f.ctx, "no-such-user"); !errors.Is(err, chat.ErrNotFound) {
		f.Errorf("LastSeen of a missing user: %v", err)
	}
}
