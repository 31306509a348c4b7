package server_test

import (
	"fmt"
	"testing"

	"github.com/parley-chat/parley/client"
)

func TestGroupRoomLifecycle(t *testing.T) {
	ts := newTestServer(t)
	owner, o := ts.user("owner")
	admin, a := ts.user("admin")
	member, m := ts.user("member")
	outsider, x := ts.user("outsider")

	room, created, err := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "Team", Topic: "work", MemberIDs: []string{m.ID, m.ID}})
	if err != nil || !created {
		t.Fatalf("create: %v, created %v", err, created)
	}
	if room.Kind != "group" || room.Name != "Team" || room.Topic != "work" || room.LastSeq != 2 || room.MemberCount != 2 {
		t.Fatalf("room = %+v", room)
	}
	events, _ := must2(owner.Events(ctx(t), room.ID, client.Page{}))
	if len(events) != 2 || events[0].Type != "member.joined" || events[0].UserID != o.ID || events[0].Seq != 1 ||
		events[1].UserID != m.ID || events[1].Seq != 2 || events[0].Role != "owner" {
		t.Fatalf("creation events = %+v", events)
	}

	// Only owner and admins add members to a group.
	_, err = member.AddMember(ctx(t), room.ID, x.ID, "")
	apiError(t, err, 403, "forbidden")
	if _, err := owner.AddMember(ctx(t), room.ID, a.ID, "admin"); err != nil {
		t.Fatal(err)
	}
	_, err = owner.AddMember(ctx(t), room.ID, a.ID, "")
	apiError(t, err, 409, "already_member")
	_, err = owner.AddMember(ctx(t), room.ID, "no-such-user", "")
	apiError(t, err, 400, "validation_failed")

	// An outsider sees nothing of a private room, and gets 404, not 403.
	for _, call := range []func() error{
		func() error { _, err := outsider.Room(ctx(t), room.ID); return err },
		func() error { _, _, err := outsider.Members(ctx(t), room.ID, "", 0); return err },
		func() error { _, _, err := outsider.Messages(ctx(t), room.ID, client.Page{}); return err },
		func() error { _, _, err := outsider.Events(ctx(t), room.ID, client.Page{}); return err },
		func() error { _, _, err := outsider.Send(ctx(t), room.ID, "hi", ""); return err },
		func() error { _, err := outsider.Join(ctx(t), room.ID); return err },
		func() error { _, err := outsider.UpdateRoom(ctx(t), room.ID, map[string]any{"name": "x"}); return err },
		func() error { return outsider.RemoveMember(ctx(t), room.ID, m.ID) },
	} {
		apiError(t, call(), 404, "not_found")
	}

	// Owner and admins rename and set the topic; members cannot.
	_, err = member.UpdateRoom(ctx(t), room.ID, map[string]any{"name": "Mine"})
	apiError(t, err, 403, "forbidden")
	r := must[client.Room](t)(admin.UpdateRoom(ctx(t), room.ID, map[string]any{"name": "Team 2"}))
	if r.Name != "Team 2" || r.Topic != "work" {
		t.Errorf("after rename: %+v", r)
	}
	r = must[client.Room](t)(owner.UpdateRoom(ctx(t), room.ID, map[string]any{"topic": ""}))
	if r.Name != "Team 2" || r.Topic != "" {
		t.Errorf("after topic: %+v", r)
	}
	last := lastEvent(t, owner, room.ID)
	if last.Type != "room.updated" || last.Room == nil || last.Room.Name != "Team 2" {
		t.Errorf("room.updated event = %+v", last)
	}

	// Members are listed, paginated.
	ms, next := must2(owner.Members(ctx(t), room.ID, "", 2))
	if len(ms) != 2 || next == "" {
		t.Fatalf("members page 1 = %d, next %q", len(ms), next)
	}
	rest, next2 := must2(owner.Members(ctx(t), room.ID, next, 2))
	if len(rest) != 1 || next2 != "" {
		t.Fatalf("members page 2 = %d, next %q", len(rest), next2)
	}

	// A member cannot remove others; an admin removes members; anyone leaves.
	apiError(t, member.RemoveMember(ctx(t), room.ID, a.ID), 403, "forbidden")
	apiError(t, admin.RemoveMember(ctx(t), room.ID, o.ID), 403, "forbidden")
	if err := admin.RemoveMember(ctx(t), room.ID, m.ID); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, owner, room.ID); ev.Type != "member.removed" || ev.UserID != m.ID || ev.ActorID != a.ID {
		t.Errorf("removal event = %+v", ev)
	}
	_, err = member.Room(ctx(t), room.ID)
	apiError(t, err, 404, "not_found")

	// When the owner leaves, the longest-standing admin becomes owner.
	if _, err := owner.AddMember(ctx(t), room.ID, m.ID, ""); err != nil {
		t.Fatal(err)
	}
	if err := owner.RemoveMember(ctx(t), room.ID, o.ID); err != nil {
		t.Fatal(err)
	}
	roles := map[string]string{}
	ms, _ = must2(admin.Members(ctx(t), room.ID, "", 0))
	for _, mm := range ms {
		roles[mm.User.ID] = mm.Role
	}
	if roles[a.ID] != "owner" || roles[m.ID] != "member" || len(roles) != 2 {
		t.Errorf("roles after owner left = %v", roles)
	}
}

func TestPublicRooms(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.user("host")
	guest, g := ts.user("guest")
	third, th := ts.user("third")

	var rooms []client.Room
	for i := range 5 {
		r, _, err := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "public", Name: fmt.Sprintf("Golang %d", i), Topic: "go"})
		if err != nil {
			t.Fatal(err)
		}
		rooms = append(rooms, r)
	}
	owner.CreateRoom(ctx(t), client.NewRoom{Kind: "public", Name: "Rust"})
	owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "Golang secret"})
	pub := rooms[0]
	owner.Send(ctx(t), pub.ID, "hello before you joined", "")

	// Anyone signed in sees the profile, but not the content.
	prof := must[client.Room](t)(guest.Room(ctx(t), pub.ID))
	if prof.Name != "Golang 0" || prof.MemberCount != 1 || prof.LastSeq != 0 {
		t.Errorf("profile = %+v", prof)
	}
	_, _, err := guest.Messages(ctx(t), pub.ID, client.Page{})
	apiError(t, err, 404, "not_found")

	// The directory searches public rooms only, paged without skips or repeats.
	seen := map[string]bool{}
	after := ""
	for page := 0; ; page++ {
		got, next, err := guest.Directory(ctx(t), "golang", after, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range got {
			if seen[r.ID] || r.Kind != "public" {
				t.Errorf("directory repeated or leaked %+v", r)
			}
			seen[r.ID] = true
		}
		if next == "" {
			break
		}
		after = next
	}
	if len(seen) != 5 {
		t.Errorf("directory found %d rooms, want 5", len(seen))
	}

	// Joining reads the whole timeline, including what came before.
	joined := must[client.Room](t)(guest.Join(ctx(t), pub.ID))
	if joined.MemberCount != 2 || joined.UnreadCount != 0 {
		t.Errorf("joined = %+v", joined)
	}
	msgs, _ := must2(guest.Messages(ctx(t), pub.ID, client.Page{}))
	if len(msgs) != 1 || msgs[0].Text != "hello before you joined" {
		t.Errorf("history after join = %+v", msgs)
	}
	again := must[client.Room](t)(guest.Join(ctx(t), pub.ID))
	if again.MemberCount != 2 {
		t.Errorf("second join changed count: %+v", again)
	}
	// In public rooms any member may add people.
	if _, err := guest.AddMember(ctx(t), pub.ID, th.ID, ""); err != nil {
		t.Fatal(err)
	}
	must[client.Room](t)(third.Room(ctx(t), pub.ID))
	// Leaving.
	if err := guest.RemoveMember(ctx(t), pub.ID, g.ID); err != nil {
		t.Fatal(err)
	}
	if ev := lastEvent(t, owner, pub.ID); ev.Type != "member.left" || ev.UserID != g.ID {
		t.Errorf("leave event = %+v", ev)
	}
	// A private room is not joinable and not visible.
	secret := must[[]client.Room](t)(owner.Rooms(ctx(t)))
	for _, r := range secret {
		if r.Kind == "group" {
			_, err := guest.Join(ctx(t), r.ID)
			apiError(t, err, 404, "not_found")
		}
	}
}

func TestDirectRooms(t *testing.T) {
	ts := newTestServer(t)
	a, ua := ts.user("ann")
	b, ub := ts.user("ben")

	r1, created, err := a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ub.ID})
	if err != nil || !created {
		t.Fatalf("create direct: %v %v", err, created)
	}
	if r1.Name != "" || r1.Peer == nil || r1.Peer.ID != ub.ID || r1.MemberCount != 2 {
		t.Errorf("direct room = %+v", r1)
	}
	r2, created, err := a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ub.ID})
	if err != nil || created || r2.ID != r1.ID {
		t.Errorf("repeat: %v created=%v id %s vs %s", err, created, r2.ID, r1.ID)
	}
	r3, created, err := b.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ua.ID})
	if err != nil || created || r3.ID != r1.ID || r3.Peer.ID != ua.ID {
		t.Errorf("reverse pair: %v created=%v %+v", err, created, r3)
	}
	_, _, err = a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ua.ID})
	apiError(t, err, 400, "validation_failed")
	_, _, err = a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: "nobody"})
	apiError(t, err, 400, "validation_failed")
	_, _, err = a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ub.ID, Name: "x"})
	apiError(t, err, 400, "validation_failed")
	_, err = a.UpdateRoom(ctx(t), r1.ID, map[string]any{"name": "x"})
	apiError(t, err, 400, "validation_failed")
	_, _, err = a.CreateRoom(ctx(t), client.NewRoom{Kind: "channel", Name: "x"})
	apiError(t, err, 400, "validation_failed")
	_, _, err = a.CreateRoom(ctx(t), client.NewRoom{Kind: "group"})
	apiError(t, err, 400, "validation_failed")
}

func TestRoomListCarriesState(t *testing.T) {
	ts := newTestServer(t)
	a, _ := ts.user("amy")
	b, ub := ts.user("bea")

	dm, _, _ := a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ub.ID})
	grp, _, _ := a.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "g", MemberIDs: []string{ub.ID}})
	a.Send(ctx(t), grp.ID, "one", "")
	m2, _, _ := a.Send(ctx(t), grp.ID, "two", "")
	a.Send(ctx(t), dm.ID, "dm", "")
	b.Send(ctx(t), grp.ID, "mine", "")

	rooms := must[[]client.Room](t)(b.Rooms(ctx(t)))
	if len(rooms) != 2 {
		t.Fatalf("rooms = %+v", rooms)
	}
	byID := map[string]client.Room{}
	for _, r := range rooms {
		byID[r.ID] = r
	}
	// Sending moves my read position to my message: a's two messages
	// before it are read.
	if g := byID[grp.ID]; g.UnreadCount != 0 || g.LastMessage == nil || g.LastMessage.Text != "mine" || g.LastSeq != 5 {
		t.Errorf("group as bea sees it = %+v", g)
	}
	if d := byID[dm.ID]; d.UnreadCount != 1 || d.Peer == nil || d.Peer.ID == ub.ID {
		t.Errorf("direct as bea sees it = %+v", d)
	}
	a.Send(ctx(t), grp.ID, "three", "")
	a.Send(ctx(t), grp.ID, "four", "")
	b.Send(ctx(t), grp.ID, "mine again", "")
	a.Send(ctx(t), grp.ID, "five", "")
	m6, _, _ := a.Send(ctx(t), grp.ID, "six", "")
	if g := must[client.Room](t)(b.Room(ctx(t), grp.ID)); g.UnreadCount != 2 {
		t.Errorf("unread = %d, want 2", g.UnreadCount)
	}
	// Deleting an unread message lowers the count; my own never count.
	a.Delete(ctx(t), grp.ID, m6.ID)
	a.Delete(ctx(t), grp.ID, m2.ID)
	if g := must[client.Room](t)(b.Room(ctx(t), grp.ID)); g.UnreadCount != 1 {
		t.Errorf("unread after delete = %d, want 1", g.UnreadCount)
	}
	if g := must[client.Room](t)(a.Room(ctx(t), grp.ID)); g.UnreadCount != 0 {
		t.Errorf("a's unread = %d, want 0: a sent after bea's messages", g.UnreadCount)
	}
}

func lastEvent(t *testing.T, c *client.Client, roomID string) client.Event {
	t.Helper()
	evs, _ := must2(c.Events(ctx(t), roomID, client.Page{Limit: 1}))
	if len(evs) != 1 {
		t.Fatalf("no events in %s", roomID)
	}
	return evs[0]
}
