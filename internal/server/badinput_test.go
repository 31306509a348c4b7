package server_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/parley-chat/parley/client"
)

func TestBadInput(t *testing.T) {
	ts := newTestServer(t)
	c, u := ts.user("val")
	room, _, _ := c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "r"})
	msgs := "/api/v1/rooms/" + room.ID + "/messages"
	huge := `{"text": "` + strings.Repeat("a", 1<<20) + `"}`

	cases := []struct {
		name, method, path, body string
		status                   int
		code                     string
	}{
		{"malformed JSON", "POST", msgs, `{"text": "hi"`, 400, "invalid_request"},
		{"not an object", "POST", msgs, `["hi"]`, 400, "invalid_request"},
		{"empty body", "POST", msgs, ``, 400, "invalid_request"},
		{"trailing data", "POST", msgs, `{"text": "hi"} {"text": "again"}`, 400, "invalid_request"},
		{"unknown field", "POST", msgs, `{"text": "hi", "colour": "red"}`, 400, "invalid_request"},
		{"wrong type", "POST", msgs, `{"text": 42}`, 400, "invalid_request"},
		{"null text", "POST", msgs, `{"text": null}`, 400, "validation_failed"},
		{"NUL escaped", "POST", msgs, `{"text": "a\u0000b"}`, 400, "validation_failed"},
		{"invalid UTF-8", "POST", msgs, "{\"text\": \"\xc3\x28\"}", 400, "validation_failed"},
		{"oversize body", "POST", msgs, huge, 413, "payload_too_large"},
		{"wrong type register", "POST", "/api/v1/auth/register", `{"username": ["a"], "password": "x"}`, 400, "invalid_request"},
		{"unknown field login", "POST", "/api/v1/auth/login", `{"username": "a", "password": "b", "otp": 1}`, 400, "invalid_request"},
		{"member_ids wrong type", "POST", "/api/v1/rooms", `{"kind": "group", "name": "x", "member_ids": "abc"}`, 400, "invalid_request"},
		{"missing room", "GET", "/api/v1/rooms/nope", ``, 404, "not_found"},
		{"missing room messages", "POST", "/api/v1/rooms/nope/messages", `{"text": "hi"}`, 404, "not_found"},
		{"missing room events", "GET", "/api/v1/rooms/nope/events", ``, 404, "not_found"},
		{"missing message edit", "PATCH", msgs + "/nope", `{"text": "x"}`, 404, "not_found"},
		{"missing user", "GET", "/api/v1/users/nope", ``, 404, "not_found"},
		{"missing member", "DELETE", "/api/v1/rooms/" + room.ID + "/members/nope", ``, 404, "not_found"},
		{"missing endpoint", "GET", "/api/v1/nothing-here", ``, 404, "not_found"},
		{"bad cursor", "GET", "/api/v1/rooms/directory?after=!!!", ``, 400, "validation_failed"},
		{"bad limit", "GET", "/api/v1/rooms/" + room.ID + "/members?limit=ten", ``, 400, "validation_failed"},
		{"patch room wrong type", "PATCH", "/api/v1/rooms/" + room.ID, `{"name": 5}`, 400, "invalid_request"},
		{"password wrong type", "POST", "/api/v1/me/password", `{"current_password": 1, "new_password": 2}`, 400, "invalid_request"},
		{"self patch unknown", "PATCH", "/api/v1/me", `{"is_admin": true}`, 400, "invalid_request"},
		{"settings null", "PATCH", "/api/v1/me", `{"settings": null}`, 400, "invalid_request"},
		{"settings not an object", "PATCH", "/api/v1/me", `{"settings": "dark"}`, 400, "invalid_request"},
		{"show_presence null", "PATCH", "/api/v1/me", `{"settings": {"show_presence": null}}`, 400, "invalid_request"},
		{"theme null", "PATCH", "/api/v1/me", `{"settings": {"theme": null}}`, 400, "invalid_request"},
		{"settings unknown", "PATCH", "/api/v1/me", `{"settings": {"colour": "red"}}`, 400, "invalid_request"},
		{"settings miscased", "PATCH", "/api/v1/me", `{"settings": {"Theme": "dark"}}`, 400, "invalid_request"},
		{"show_presence wrong type", "PATCH", "/api/v1/me", `{"settings": {"show_presence": "no"}}`, 400, "invalid_request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body *bytes.Reader
			if tc.body != "" || tc.method != "GET" {
				body = bytes.NewReader([]byte(tc.body))
			}
			var err error
			if body != nil {
				_, err = c.DoRaw(ctx(t), tc.method, tc.path, "application/json", body, nil)
			} else {
				_, err = c.DoRaw(ctx(t), tc.method, tc.path, "", nil, nil)
			}
			apiError(t, err, tc.status, tc.code)
		})
	}
	// Nothing above was stored.
	msgsNow, _ := must2(c.Messages(ctx(t), room.ID, client.Page{}))
	if len(msgsNow) != 0 {
		t.Errorf("bad input stored %d messages", len(msgsNow))
	}
	if me := must[client.User](t)(c.Me(ctx(t))); me.IsAdmin != true || me.ID != u.ID {
		t.Errorf("me = %+v", me)
	}
}
