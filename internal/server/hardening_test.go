package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/parley-chat/parley/client"
)

// TestNobodyElseSeesWhoIsAdmin: is_admin shows only on one's own profile,
// not in member lists, peers or events.
func TestNobodyElseSeesWhoIsAdmin(t *testing.T) {
	ts := newTestServer(t)
	admin, a := ts.user("root")
	other, o := ts.user("plain")
	dm, _, _ := admin.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: o.ID})

	for _, path := range []string{
		"/api/v1/rooms/" + dm.ID + "/members", "/api/v1/rooms", "/api/v1/rooms/" + dm.ID + "/events",
		"/api/v1/users/" + a.ID, "/api/v1/users?q=root",
	} {
		var raw map[string]any
		if _, err := other.Do(ctx(t), "GET", path, nil, &raw); err != nil {
			t.Fatal(err)
		}
		if b := must[[]byte](t)(jsonBytes(raw)); strings.Contains(string(b), "is_admin") {
			t.Errorf("%s shows is_admin: %s", path, b)
		}
	}
	if me := must[client.User](t)(admin.Me(ctx(t))); !me.IsAdmin {
		t.Error("/me lost is_admin")
	}
}

func TestStrictJSON(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("json")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r"})
	path := "/api/v1/rooms/" + room.ID + "/messages"
	for body, code := range map[string]string{
		`{"text": "x", "client_id": "\ud800"}`: "validation_failed",
		`{"text": "lone \udc00 low"}`:          "validation_failed",
		`{"TEXT": "shouting key"}`:             "invalid_request",
		`{"text": "a", "text": "b"}`:           "invalid_request",
	} {
		_, err := c.DoRaw(ctx(t), "POST", path, "application/json", strings.NewReader(body), nil)
		apiError(t, err, 400, code)
	}
	m, _, err := c.Send(ctx(t), room.ID, "pair 🙂 ok", "")
	if err != nil || m.Text != "pair 🙂 ok" {
		t.Errorf("surrogate pair: %+v %v", m, err)
	}
}

// TestDirectoryCursorHidesPrivateRooms: a private room's id is no cursor,
// so the directory tells nothing about it.
func TestDirectoryCursorHidesPrivateRooms(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.user("own")
	prober, _ := ts.user("probe")
	secret, _, _ := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "Mango secret"})
	cursor := base64.RawURLEncoding.EncodeToString([]byte(secret.ID))
	_, _, err := prober.Directory(ctx(t), "", cursor, 10)
	apiError(t, err, 400, "validation_failed")
	unknown := base64.RawURLEncoding.EncodeToString([]byte("no-such-room"))
	_, _, err = prober.Directory(ctx(t), "", unknown, 10)
	apiError(t, err, 400, "validation_failed")
}

// TestMemberCursorsAreChecked: the members and receipts lists refuse a
// cursor no page could have given, instead of answering with an empty page
// that reads as the end of the list. A cursor naming someone who has since
// left still pages on.
func TestMemberCursorsAreChecked(t *testing.T) {
	ts := newTestServer(t)
	owner, _ := ts.user("own")
	_, a := ts.user("ann")
	leaver, b := ts.user("ben")
	room, _, _ := owner.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r", MemberIDs: []string{a.ID, b.ID}})
	lists := map[string]func(after string, limit int) (int, string, error){
		"members": func(after string, limit int) (int, string, error) {
			ms, next, err := owner.Members(ctx(t), room.ID, after, limit)
			return len(ms), next, err
		},
		"receipts": func(after string, limit int) (int, string, error) {
			rcs, next, err := owner.Receipts(ctx(t), room.ID, after, limit)
			return len(rcs), next, err
		},
	}
	cursor := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	strayBits := b.ID[:len(b.ID)-1] + "z"
	bad := []string{cursor("nope"), cursor(b.ID + "x"), cursor(strings.ToUpper(b.ID)), cursor(strayBits)}

	for name, list := range lists {
		for _, after := range bad {
			_, _, err := list(after, 10)
			if e := apiError(t, err, 400, "validation_failed"); e.Fields["after"].Code != "invalid" {
				t.Errorf("%s after=%s: fields %+v", name, after, e.Fields)
			}
		}
		n, next, err := list("", 2)
		if err != nil || n != 2 || next == "" {
			t.Fatalf("%s page 1: %d, next %q, %v", name, n, next, err)
		}
		if n, next, err = list(next, 2); err != nil || n != 1 || next != "" {
			t.Errorf("%s page 2: %d, next %q, %v", name, n, next, err)
		}
	}

	if err := leaver.RemoveMember(ctx(t), room.ID, b.ID); err != nil {
		t.Fatal(err)
	}
	for name, list := range lists {
		all, _, err := list("", 10)
		if err != nil {
			t.Fatal(err)
		}
		after, _, err := list(cursor(b.ID), 10)
		if err != nil || after > all {
			t.Errorf("%s after one who left: %d of %d, %v", name, after, all, err)
		}
	}
}

// TestDirectRoomOwnerCannotDeleteThePeer: creating a direct room makes one
// of the two its owner, which must not let them delete the other's words.
func TestDirectRoomOwnerCannotDeleteThePeer(t *testing.T) {
	ts := newTestServer(t)
	a, _ := ts.user("first")
	b, ub := ts.user("second")
	dm, _, _ := a.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: ub.ID})
	m, _, _ := b.Send(ctx(t), dm.ID, "mine", "")
	apiError(t, a.Delete(ctx(t), dm.ID, m.ID), 403, "forbidden")
	if err := b.Delete(ctx(t), dm.ID, m.ID); err != nil {
		t.Fatal(err)
	}
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }

func TestContractEdges(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("edge")
	_, peer := ts.user("peer")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "edges", Topic: "t"})
	dm, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: peer.ID})
	for i := range 3 {
		c.Send(ctx(t), room.ID, fmt.Sprint(i), "")
	}
	msgs := "/api/v1/rooms/" + room.ID + "/messages"

	// A wrong method on a real path is 405 with Allow, not 404.
	_, err := c.Do(ctx(t), "PUT", "/api/v1/rooms", nil, nil)
	if e := apiError(t, err, 405, "method_not_allowed"); !strings.Contains(e.Message, "GET") {
		t.Errorf("405 message %q does not name the allowed methods", e.Message)
	}
	// Query edges: empty means absent, limit 0 is refused, huge limits cap.
	var page struct {
		Messages []client.Message `json:"messages"`
	}
	for _, q := range []string{"?before=", "?after=&limit=", "?limit=99999999999999999999"} {
		if _, err := c.Do(ctx(t), "GET", msgs+q, nil, &page); err != nil || len(page.Messages) != 3 {
			t.Errorf("%s: %d messages, %v", q, len(page.Messages), err)
		}
	}
	_, err = c.Do(ctx(t), "GET", msgs+"?limit=0", nil, nil)
	apiError(t, err, 400, "validation_failed")
	// A body must be an object.
	_, err = c.DoRaw(ctx(t), "POST", msgs, "application/json", strings.NewReader("null"), nil)
	apiError(t, err, 400, "invalid_request")
	// Invisible names and text are blank.
	_, err = c.UpdateMe(ctx(t), map[string]any{"display_name": "\u200b\u200b"})
	apiError(t, err, 400, "validation_failed")
	_, _, err = c.Send(ctx(t), room.ID, "\u200b\u0301", "")
	apiError(t, err, 400, "validation_failed")
	// Direct rooms have no topic either.
	_, err = c.UpdateRoom(ctx(t), dm.ID, map[string]any{"topic": "x"})
	apiError(t, err, 400, "validation_failed")
	// A patch that changes nothing records no event.
	before := lastEvent(t, c, room.ID).Seq
	must[client.Room](t)(c.UpdateRoom(ctx(t), room.ID, map[string]any{"name": "edges", "topic": "t"}))
	if after := lastEvent(t, c, room.ID).Seq; after != before {
		t.Errorf("no-op patch appended an event: seq %d → %d", before, after)
	}
}
