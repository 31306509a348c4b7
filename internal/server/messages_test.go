package server_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/parley-chat/parley/client"
)

func TestSendEditDelete(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.user("olga")
	member, me := ts.user("max")
	room, _, _ := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r", MemberIDs: []string{me.ID}})

	msg, created, err := member.Send(ctx(t), room.ID, "hello *world*", "")
	if err != nil || !created {
		t.Fatal(err)
	}
	if msg.Seq != 3 || msg.SenderID != me.ID || msg.Text != "hello *world*" || msg.Deleted || msg.RoomID != room.ID {
		t.Errorf("message = %+v", msg)
	}

	// Edit: sender only.
	_, err = owner.Edit(ctx(t), room.ID, msg.ID, "hijack")
	apiError(t, err, 403, "forbidden")
	edited := must[client.Message](t)(member.Edit(ctx(t), room.ID, msg.ID, "hello again"))
	if edited.Text != "hello again" || edited.EditedAt == nil || edited.Seq != msg.Seq {
		t.Errorf("edited = %+v", edited)
	}
	if ev := lastEvent(t, owner, room.ID); ev.Type != "message.edited" || ev.Message == nil || ev.Message.Text != "hello again" {
		t.Errorf("edit event = %+v", ev)
	}

	// Delete: sender or room admin; a plain member cannot delete others'.
	other, _, _ := owner.Send(ctx(t), room.ID, "owner's", "")
	apiError(t, member.Delete(ctx(t), room.ID, other.ID), 403, "forbidden")
	if err := owner.Delete(ctx(t), room.ID, msg.ID); err != nil {
		t.Fatal(err)
	}
	if err := owner.Delete(ctx(t), room.ID, msg.ID); err != nil {
		t.Errorf("second delete: %v", err)
	}
	_, err = member.Edit(ctx(t), room.ID, msg.ID, "resurrect")
	apiError(t, err, 409, "message_deleted")
	apiError(t, owner.Delete(ctx(t), room.ID, "no-such-message"), 404, "not_found")
	_, err = member.Edit(ctx(t), room.ID, "no-such-message", "x")
	apiError(t, err, 404, "not_found")

	// The tombstone keeps its place in history.
	msgs, _ := must2(owner.Messages(ctx(t), room.ID, client.Page{}))
	if len(msgs) != 2 || !msgs[0].Deleted || msgs[0].Text != "" || msgs[0].ID != msg.ID {
		t.Errorf("history = %+v", msgs)
	}
	events, _ := must2(owner.Events(ctx(t), room.ID, client.Page{}))
	var types []string
	for _, e := range events {
		types = append(types, e.Type)
	}
	want := "member.joined member.joined message.created message.edited message.created message.deleted"
	if strings.Join(types, " ") != want {
		t.Errorf("event types = %v", types)
	}
	// Deleted means gone: no event of the message still carries its text,
	// neither the original nor the edited one.
	for _, e := range events {
		if m := e.Message; m != nil && m.ID == msg.ID && (m.Text != "" || !m.Deleted) {
			t.Errorf("%s event of a deleted message: %+v", e.Type, m)
		}
	}
}

func TestTextLimits(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("tex")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "limits"})

	// 4,000 code points of multi-byte text fit; one more does not.
	for _, ok := range []string{strings.Repeat("é", 4000), strings.Repeat("🙂", 4000), "line\nbreak\ttab", "x"} {
		if _, _, err := c.Send(ctx(t), room.ID, ok, ""); err != nil {
			t.Errorf("%d runes: %v", len([]rune(ok)), err)
		}
	}
	for _, bad := range []string{strings.Repeat("é", 4001), "", "   \n", "nul\x00byte"} {
		_, _, err := c.Send(ctx(t), room.ID, bad, "")
		e := apiError(t, err, 400, "validation_failed")
		if _, ok := e.Fields["text"]; !ok {
			t.Errorf("fields = %v", e.Fields)
		}
	}
	// Invalid UTF-8 arrives as raw bytes in the body.
	_, err := c.DoRaw(ctx(t), "POST", "/api/v1/rooms/"+room.ID+"/messages", "application/json",
		strings.NewReader("{\"text\": \"bad \xff\xfe\"}"), nil)
	e := apiError(t, err, 400, "validation_failed")
	if _, ok := e.Fields["text"]; !ok {
		t.Errorf("fields = %v", e.Fields)
	}
}

func TestIdempotentSends(t *testing.T) {
	ts := newTestServer(t)
	a, _ := ts.user("ida")
	b, ub := ts.user("ivo")
	room, _, _ := a.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r", MemberIDs: []string{ub.ID}})
	room2, _, _ := a.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r2"})

	first, created, err := a.Send(ctx(t), room.ID, "once", "c-1")
	if err != nil || !created || first.ClientID != "c-1" {
		t.Fatalf("first: %+v %v %v", first, created, err)
	}
	// Repeats, even with other text, return the original and store nothing.
	for range 3 {
		again, created, err := a.Send(ctx(t), room.ID, "twice?", "c-1")
		if err != nil || created || again.ID != first.ID || again.Text != "once" || again.Seq != first.Seq {
			t.Fatalf("repeat: %+v %v %v", again, created, err)
		}
	}
	// Another sender or another room is another message.
	if _, created, _ := b.Send(ctx(t), room.ID, "b", "c-1"); !created {
		t.Error("same client_id from another sender was not stored")
	}
	if _, created, _ := a.Send(ctx(t), room2.ID, "other room", "c-1"); !created {
		t.Error("same client_id in another room was not stored")
	}
	// Concurrent repeats store one message.
	var wg sync.WaitGroup
	ids := make([]string, 8)
	for i := range ids {
		wg.Go(func() {
			m, _, err := a.Send(ctx(t), room.ID, "race", "c-race")
			if err != nil {
				t.Error(err)
			}
			ids[i] = m.ID
		})
	}
	wg.Wait()
	for _, id := range ids {
		if id != ids[0] {
			t.Fatalf("concurrent repeats gave different messages: %v", ids)
		}
	}
	msgs, _ := must2(a.Messages(ctx(t), room.ID, client.Page{}))
	if len(msgs) != 3 {
		t.Errorf("room has %d messages, want 3", len(msgs))
	}
	_, _, err = a.Send(ctx(t), room.ID, "x", strings.Repeat("k", 65))
	apiError(t, err, 400, "validation_failed")
}

func TestHistoryPaging(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("pat")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "history"})
	var sent []client.Message
	for i := range 120 {
		m, _, err := c.Send(ctx(t), room.ID, fmt.Sprint(i), "")
		if err != nil {
			t.Fatal(err)
		}
		sent = append(sent, m)
	}

	page, more := must2(c.Messages(ctx(t), room.ID, client.Page{}))
	if len(page) != 50 || !more || page[49].ID != sent[119].ID || page[0].ID != sent[70].ID {
		t.Fatalf("newest page: %d items, more %v", len(page), more)
	}
	assertAscending(t, page)
	page, more = must2(c.Messages(ctx(t), room.ID, client.Page{Before: page[0].Seq, Limit: 60}))
	if len(page) != 60 || !more || page[59].ID != sent[69].ID {
		t.Fatalf("before page: %d, more %v", len(page), more)
	}
	page, more = must2(c.Messages(ctx(t), room.ID, client.Page{Before: page[0].Seq}))
	if len(page) != 10 || more || page[0].ID != sent[0].ID {
		t.Fatalf("oldest page: %d, more %v", len(page), more)
	}
	page, more = must2(c.Messages(ctx(t), room.ID, client.Page{After: sent[99].Seq}))
	if len(page) != 20 || more || page[0].ID != sent[100].ID {
		t.Fatalf("after page: %d, more %v", len(page), more)
	}
	page, more = must2(c.Messages(ctx(t), room.ID, client.Page{After: 1, Limit: 500}))
	if len(page) != 120 || more {
		t.Fatalf("capped page: %d, more %v", len(page), more)
	}
	page, more = must2(c.Messages(ctx(t), room.ID, client.Page{After: 1, Limit: 1000}))
	if len(page) > 200 {
		t.Fatalf("limit not capped: %d", len(page))
	}
	evs, more := must2(c.Events(ctx(t), room.ID, client.Page{FromStart: true, Limit: 200}))
	if len(evs) != 121 || more || evs[0].Seq != 1 || evs[120].Seq != 121 {
		t.Fatalf("events: %d more %v", len(evs), more)
	}
	_, _, err := c.Messages(ctx(t), room.ID, client.Page{Before: 5, After: 2})
	apiError(t, err, 400, "invalid_request")
	for _, q := range []string{"before=abc", "after=-1", "limit=-5", "limit=x", "before=0"} {
		_, err := c.Do(ctx(t), "GET", "/api/v1/rooms/"+room.ID+"/messages?"+q, nil, nil)
		apiError(t, err, 400, "validation_failed")
	}
}

func TestPagingIsStableUnderChange(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("sam")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "busy"})
	for i := range 30 {
		c.Send(ctx(t), room.ID, fmt.Sprint(i), "")
	}
	// Page backwards while messages arrive and old ones are deleted.
	seen := map[int64]bool{}
	page, more := must2(c.Messages(ctx(t), room.ID, client.Page{Limit: 7}))
	for {
		for _, m := range page {
			if seen[m.Seq] {
				t.Fatalf("seq %d repeated", m.Seq)
			}
			seen[m.Seq] = true
		}
		c.Send(ctx(t), room.ID, "newer", "")
		if len(page) > 0 {
			c.Delete(ctx(t), room.ID, page[0].ID)
		}
		if !more {
			break
		}
		page, more = must2(c.Messages(ctx(t), room.ID, client.Page{Before: page[0].Seq, Limit: 7}))
	}
	for seq := int64(2); seq <= 31; seq++ {
		if !seen[seq] {
			t.Errorf("seq %d skipped", seq)
		}
	}
}

func TestConcurrentSendersGetGaplessSeqs(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.user("hub")
	var senders []*client.Client
	var ids []string
	for range 8 {
		c, u := ts.user("snd")
		senders = append(senders, c)
		ids = append(ids, u.ID)
	}
	room, _, _ := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "race", MemberIDs: ids})

	const each = 25
	var wg sync.WaitGroup
	for _, c := range senders {
		wg.Go(func() {
			for i := range each {
				if _, _, err := c.Send(ctx(t), room.ID, fmt.Sprint(i), ""); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()

	var all []client.Event
	after := int64(0)
	for {
		evs, more := must2(owner.Events(ctx(t), room.ID, client.Page{After: after, FromStart: true, Limit: 200}))
		all = append(all, evs...)
		if !more {
			break
		}
		after = evs[len(evs)-1].Seq
	}
	want := 1 + len(ids) + len(senders)*each
	if len(all) != want {
		t.Fatalf("%d events, want %d", len(all), want)
	}
	for i, e := range all {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d has seq %d", i, e.Seq)
		}
	}
}

func assertAscending(t *testing.T, msgs []client.Message) {
	t.Helper()
	for i := 1; i < len(msgs); i++ {
		if msgs[i].Seq <= msgs[i-1].Seq {
			t.Fatalf("not ascending at %d: %d then %d", i, msgs[i-1].Seq, msgs[i].Seq)
		}
	}
}
