package openapi

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func TestDocumentIsValidJSON(t *testing.T) {
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(Document, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" || len(doc.Paths) == 0 {
		t.Errorf("openapi %q with %d paths", doc.OpenAPI, len(doc.Paths))
	}
}

// TestEveryOperation checks the list of operations against the API's
// routes, and that each documents its failures with the Error schema.
func TestEveryOperation(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"POST /api/v1/auth/register", "POST /api/v1/auth/login", "POST /api/v1/auth/logout",
		"GET /api/v1/me", "PATCH /api/v1/me", "POST /api/v1/me/password",
		"GET /api/v1/users", "GET /api/v1/users/{id}",
		"POST /api/v1/rooms", "GET /api/v1/rooms", "GET /api/v1/rooms/directory",
		"GET /api/v1/rooms/{id}", "PATCH /api/v1/rooms/{id}", "POST /api/v1/rooms/{id}/join",
		"GET /api/v1/rooms/{id}/members", "POST /api/v1/rooms/{id}/members",
		"DELETE /api/v1/rooms/{id}/members/{user_id}",
		"POST /api/v1/rooms/{id}/messages", "GET /api/v1/rooms/{id}/messages",
		"PATCH /api/v1/rooms/{id}/messages/{message_id}", "DELETE /api/v1/rooms/{id}/messages/{message_id}",
		"GET /api/v1/rooms/{id}/events",
		"GET /api/v1/me/unread", "POST /api/v1/rooms/{id}/read", "GET /api/v1/rooms/{id}/receipts",
		"PATCH /api/v1/rooms/{id}/settings",
		"POST /api/v1/admin/users/bulk",
		"GET /healthz", "GET /readyz", "GET /api/v1/openapi.json", "GET /api/v1/ws",
	}
	got := s.operations()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("operations:\n got %q\nwant %q", got, want)
	}

	public := map[string]bool{"register": true, "login": true, "healthz": true, "readyz": true, "openapi": true}
	ids := map[string]bool{}
	for _, rt := range s.routes {
		for m, v := range rt.item {
			op, ok := v.(map[string]any)
			if !ok || m == "parameters" {
				continue
			}
			id, _ := op["operationId"].(string)
			if id == "" || ids[id] {
				t.Errorf("%s %s: operationId %q missing or repeated", m, rt.template, id)
			}
			ids[id] = true
			sec, hasSec := op["security"].([]any)
			if public[id] != (hasSec && len(sec) == 0) {
				t.Errorf("%s: public is %v but security is %v", id, public[id], op["security"])
			}
			responses := op["responses"].(map[string]any)
			mustHave := []string{"500"}
			if !public[id] {
				mustHave = append(mustHave, "401")
			}
			if op["requestBody"] != nil {
				mustHave = append(mustHave, "400", "413")
			}
			for _, code := range mustHave {
				if responses[code] == nil {
					t.Errorf("%s: no %s response", id, code)
				}
			}
			for code, r := range responses {
				if code[0] < '4' {
					continue
				}
				resp, ptr, err := s.deref(r, "")
				if err != nil {
					t.Fatalf("%s %s: %v", id, code, err)
				}
				content, _ := resp["content"].(map[string]any)
				media, _ := content["application/json"].(map[string]any)
				if media == nil {
					if id != "websocket" {
						t.Errorf("%s %s (%s): not JSON", id, code, ptr)
					}
					continue
				}
				if ref, _ := media["schema"].(map[string]any)["$ref"].(string); ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: schema %v, want the Error schema", id, code, media["schema"])
				}
			}
		}
	}
}

// TestSchemasCompile compiles every component schema and every response
// schema, which also resolves every $ref in them.
func TestSchemasCompile(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	for name := range s.lookup("/components/schemas").(map[string]any) {
		if _, err := s.schema("/components/schemas/" + name); err != nil {
			t.Error(err)
		}
	}
	for _, rt := range s.routes {
		for m, v := range rt.item {
			op, ok := v.(map[string]any)
			if !ok || m == "parameters" || m == "servers" {
				continue
			}
			for code, r := range op["responses"].(map[string]any) {
				resp, ptr, err := s.deref(r, "/paths/"+escape(rt.template)+"/"+m+"/responses/"+code)
				if err != nil {
					t.Fatal(err)
				}
				content, _ := resp["content"].(map[string]any)
				if _, ok := content["application/json"]; ok {
					if _, err := s.schema(ptr + "/content/application~1json/schema"); err != nil {
						t.Error(err)
					}
				}
			}
			if op["requestBody"] != nil {
				ptr := "/paths/" + escape(rt.template) + "/" + m + "/requestBody/content/application~1json/schema"
				if _, err := s.schema(ptr); err != nil {
					t.Error(err)
				}
			}
		}
	}
}

var (
	t0   = time.Date(2025, 3, 1, 12, 30, 0, 123e6, time.UTC)
	user = chat.User{ID: "01jnabcdefghjkmnpqrstvwxyz", Username: "alice", DisplayName: "Alice"}
	msg  = chat.Message{ID: "m1", RoomID: "r1", Seq: 7, SenderID: user.ID, Text: "hi", CreatedAt: t0}
	room = chat.RoomView{
		Room:        chat.Room{ID: "r1", Kind: chat.KindGroup, Name: "team", CreatedAt: t0, LastSeq: 7, MemberCount: 2},
		UnreadCount: 1, LastMessage: &msg,
	}
)

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestDomainTypesValidate checks that the domain types, as encoding/json
// writes them, match the document.
func TestDomainTypesValidate(t *testing.T) {
	edited := t0.Add(time.Minute)
	deleted := chat.Message{ID: "m2", RoomID: "r1", Seq: 8, SenderID: user.ID, CreatedAt: t0, EditedAt: &edited, Deleted: true}
	direct := chat.RoomView{
		Room: chat.Room{ID: "r2", Kind: chat.KindDirect, CreatedAt: t0, LastSeq: 2, MemberCount: 2},
		Peer: &user,
	}
	profile := room.Profile()
	member := chat.Member{RoomID: "r1", User: user, Role: chat.RoleOwner, JoinedAt: t0}
	events := []chat.Event{
		{RoomID: "r1", Seq: 7, Type: chat.EventMessageCreated, ActorID: user.ID, CreatedAt: t0, Message: &msg},
		{RoomID: "r1", Seq: 1, Type: chat.EventMemberJoined, ActorID: user.ID, CreatedAt: t0, UserID: user.ID, User: &user, Role: chat.RoleOwner},
		{RoomID: "r1", Seq: 9, Type: chat.EventRoomUpdated, ActorID: user.ID, CreatedAt: t0, Room: &profile},
		{RoomID: "r1", Seq: 10, Type: "something.new", ActorID: user.ID, CreatedAt: t0},
	}
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/api/v1/auth/register", 201, `{"token":"abc","user":` + mustJSON(t, chat.User{ID: "u", Username: "bob", DisplayName: "bob", IsAdmin: true}) + `}`},
		{"POST", "/api/v1/auth/login", 200, `{"token":"abc","user":` + mustJSON(t, user) + `}`},
		{"POST", "/api/v1/auth/logout", 204, ``},
		{"GET", "/api/v1/me", 200, mustJSON(t, user)},
		{"PATCH", "/api/v1/me", 200, mustJSON(t, user)},
		{"POST", "/api/v1/me/password", 204, ``},
		{"GET", "/api/v1/users?q=al&limit=5", 200, `{"users":[` + mustJSON(t, user) + `]}`},
		{"GET", "/api/v1/users/u1", 200, mustJSON(t, user)},
		{"POST", "/api/v1/rooms", 201, mustJSON(t, room)},
		{"POST", "/api/v1/rooms", 200, mustJSON(t, direct)},
		{"GET", "/api/v1/rooms", 200, `{"rooms":[` + mustJSON(t, room) + `,` + mustJSON(t, direct) + `]}`},
		{"GET", "/api/v1/rooms/r1", 200, mustJSON(t, room)},
		{"GET", "/api/v1/rooms/r1", 200, mustJSON(t, profile)},
		{"PATCH", "/api/v1/rooms/r1", 200, mustJSON(t, room)},
		{"GET", "/api/v1/rooms/directory?q=te", 200, `{"rooms":[` + mustJSON(t, profile) + `],"next":"r1"}`},
		{"GET", "/api/v1/rooms/directory", 200, `{"rooms":[]}`},
		{"GET", "/api/v1/rooms/r1/members", 200, `{"members":[` + mustJSON(t, member) + `]}`},
		{"POST", "/api/v1/rooms/r1/members", 201, mustJSON(t, member)},
		{"DELETE", "/api/v1/rooms/r1/members/u1", 204, ``},
		{"POST", "/api/v1/rooms/r1/join", 200, mustJSON(t, room)},
		{"POST", "/api/v1/rooms/r1/messages", 201, mustJSON(t, msg)},
		{"POST", "/api/v1/rooms/r1/messages", 200, mustJSON(t, msg)},
		{"GET", "/api/v1/rooms/r1/messages?before=9", 200, `{"messages":[` + mustJSON(t, msg) + `,` + mustJSON(t, deleted) + `],"has_more":false}`},
		{"PATCH", "/api/v1/rooms/r1/messages/m1", 200, mustJSON(t, msg)},
		{"DELETE", "/api/v1/rooms/r1/messages/m1", 204, ``},
		{"GET", "/api/v1/rooms/r1/events?after=0", 200, `{"events":` + mustJSON(t, events) + `,"has_more":true}`},
		{"GET", "/healthz", 200, `{"status":"ok"}`},
		{"GET", "/readyz", 200, `{"status":"ok"}`},
		{"GET", "/api/v1/openapi.json", 200, string(Document)},
		{"GET", "/api/v1/ws", 101, ``},
		{"GET", "/api/v1/ws", 426, "Upgrade Required\n"},
	}
	for _, tt := range tests {
		if err := ValidateResponse(tt.method, tt.path, tt.status, []byte(tt.body)); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestErrorsValidate(t *testing.T) {
	errBody := func(code string, fields string) string {
		return fmt.Sprintf(`{"error":{"code":%q,"message":"m","request_id":"0123abcd"%s}}`, code, fields)
	}
	tests := []struct {
		method, path string
		status       int
		body         string
	}{
		{"POST", "/api/v1/auth/register", 400, errBody("validation_failed", `,"fields":{"username":{"code":"invalid","message":"bad"}}`)},
		{"POST", "/api/v1/auth/register", 409, errBody("username_taken", "")},
		{"POST", "/api/v1/auth/login", 401, errBody("invalid_credentials", "")},
		{"POST", "/api/v1/auth/login", 429, errBody("rate_limited", "")},
		{"GET", "/api/v1/me", 401, errBody("unauthorized", "")},
		{"GET", "/api/v1/rooms/r1", 404, errBody("not_found", "")},
		{"POST", "/api/v1/rooms/r1/messages", 413, errBody("payload_too_large", "")},
		{"PATCH", "/api/v1/rooms/r1/messages/m1", 403, errBody("forbidden", "")},
		{"PATCH", "/api/v1/rooms/r1/messages/m1", 409, errBody("message_deleted", "")},
		{"POST", "/api/v1/rooms/r1/members", 409, errBody("already_member", "")},
		{"GET", "/readyz", 503, errBody("unavailable", "")},
		{"GET", "/api/v1/ws", 401, errBody("unauthorized", "")},
		{"GET", "/api/v1/rooms", 500, errBody("internal", "")},
	}
	for _, tt := range tests {
		if err := ValidateResponse(tt.method, tt.path, tt.status, []byte(tt.body)); err != nil {
			t.Errorf("%v", err)
		}
	}
}

func TestInvalidResponses(t *testing.T) {
	tests := []struct {
		name         string
		method, path string
		status       int
		body         string
		want         string // in the error
	}{
		{"unknown path", "GET", "/api/v1/nothing", 200, `{}`, "path not documented"},
		{"health under /api/v1", "GET", "/api/v1/healthz", 200, `{"status":"ok"}`, "path not documented"},
		{"unknown method", "PUT", "/api/v1/me", 200, `{}`, "method not documented"},
		{"unknown status", "GET", "/api/v1/me", 418, `{}`, "status not documented"},
		{"missing required field", "GET", "/api/v1/me", 200, `{"id":"u1","display_name":"A"}`, "username"},
		{"wrong type", "GET", "/api/v1/me", 200, `{"id":"u1","username":"a","display_name":"A","is_admin":"yes"}`, "is_admin"},
		{"not JSON", "GET", "/api/v1/me", 200, `<html>`, "not JSON"},
		{"empty JSON body", "GET", "/api/v1/me", 200, ``, "not JSON"},
		{"body on 204", "DELETE", "/api/v1/rooms/r1/messages/m1", 204, `{}`, "body not allowed"},
		{"bad kind", "GET", "/api/v1/rooms/r1", 200, strings.Replace(mustJSON(t, room), `"group"`, `"secret"`, 1), "kind"},
		{"directory is not a room", "GET", "/api/v1/rooms/directory", 200, mustJSON(t, room.Profile()), "rooms"},
		{"null list", "GET", "/api/v1/rooms", 200, `{"rooms":null}`, "rooms"},
		{"missing has_more", "GET", "/api/v1/rooms/r1/messages", 200, `{"messages":[]}`, "has_more"},
		{"bad time", "POST", "/api/v1/rooms/r1/messages", 201, strings.Replace(mustJSON(t, msg), "2025-03-01T12:30:00.123Z", "yesterday", 1), "created_at"},
		{"local time", "POST", "/api/v1/rooms/r1/messages", 201, strings.Replace(mustJSON(t, msg), "2025-03-01T12:30:00.123Z", "2025-03-01T13:30:00.123+01:00", 1), "created_at"},
		{"seq zero", "POST", "/api/v1/rooms/r1/messages", 201, strings.Replace(mustJSON(t, msg), `"seq":7`, `"seq":0`, 1), "seq"},
		{"error without request id", "GET", "/api/v1/rooms/r1", 404, `{"error":{"code":"not_found","message":"m"}}`, "request_id"},
		{"error as text", "GET", "/api/v1/rooms/r1", 404, "404 page not found\n", "not JSON"},
		{"bad field error", "POST", "/api/v1/auth/register", 400, `{"error":{"code":"validation_failed","message":"m","request_id":"x","fields":{"username":"bad"}}}`, "fields"},
	}
	for _, tt := range tests {
		err := ValidateResponse(tt.method, tt.path, tt.status, []byte(tt.body))
		if err == nil {
			t.Errorf("%s: no error", tt.name)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %q does not mention %q", tt.name, err, tt.want)
		}
	}
}

func TestMatchPrefersLiteralSegments(t *testing.T) {
	s, err := load()
	if err != nil {
		t.Fatal(err)
	}
	tests := map[string]string{
		"/api/v1/rooms/directory":         "/rooms/directory",
		"/api/v1/rooms/abc":               "/rooms/{id}",
		"/api/v1/rooms/abc/messages/m1":   "/rooms/{id}/messages/{message_id}",
		"/api/v1/rooms/directory/members": "/rooms/{id}/members",
		"/healthz":                        "/healthz",
	}
	for path, want := range tests {
		rt, ok := s.match(path)
		if !ok || rt.template != want {
			t.Errorf("match(%q) = %q, %v; want %q", path, rt.template, ok, want)
		}
	}
	for _, path := range []string{"/api/v1/rooms//messages", "/api/v1", "/rooms/abc"} {
		if rt, ok := s.match(path); ok {
			t.Errorf("match(%q) = %q, want no match", path, rt.template)
		}
	}
}

func TestConcurrentValidation(t *testing.T) {
	body := []byte(mustJSON(t, user))
	done := make(chan error)
	for range 8 {
		go func() { done <- ValidateResponse("GET", "/api/v1/users/u1", 200, body) }()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
