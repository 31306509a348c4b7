package api

import (
	"testing"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
)

// FuzzDecodeBody feeds arbitrary bytes to the request decoder: it must
// never panic, must fail only with a public 400 error, and a body it
// accepts must decode to valid UTF-8 strings.
func FuzzDecodeBody(f *testing.F) {
	for _, seed := range []string{
		`{"text": "hi", "client_id": "c1"}`, `{"text": "a\u0000b"}`, "{\"text\": \"\xff\"}",
		`{"text": 1}`, `{"text": "x"} {}`, `[]`, ``, `{"unknown": true}`, `{"text": "\ud800"}`,
		`{"text": "` + string(make([]byte, 100)) + `"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		var req struct {
			Text     string `json:"text"`
			ClientID string `json:"client_id"`
		}
		err := DecodeBody(body, &req)
		if err != nil {
			e, ok := chat.Public(err)
			if !ok || statusOf[e.Code] != 400 {
				t.Fatalf("decode error is not a public 400: %v", err)
			}
			return
		}
		if !utf8.ValidString(req.Text) || !utf8.ValidString(req.ClientID) {
			t.Fatalf("accepted invalid UTF-8: %q", req.Text)
		}
	})
}
