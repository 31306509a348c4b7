package server_test

import (
	"encoding/base64"
	"encoding/json"
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
