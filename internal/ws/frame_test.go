package ws

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

func TestDecodeFrame(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    Frame
		wantErr bool
	}{
		{in: `{"type":"ping","ref":"1"}`, want: Frame{Type: "ping", Ref: "1"}},
		{in: `{"type":"send","ref":"r","room_id":"a","text":"hi","client_id":"c","extra":[1]}`,
			want: Frame{Type: "send", Ref: "r", RoomID: "a", Text: "hi", ClientID: "c"}},
		{in: `{"type":"resume","rooms":{"a":3,"b":0}}`, want: Frame{Type: "resume", Rooms: map[string]int64{"a": 3, "b": 0}}},
		{in: `{"type":"resume","ref":"k","rooms":{"a":1.5}}`, want: Frame{Ref: "k"}, wantErr: true},
		{in: `{"type":"send","ref":7}`, wantErr: true},
		{in: `{"type":""}`, wantErr: true},
		{in: `null`, wantErr: true},
		{in: `"ping"`, wantErr: true},
		{in: `{"type":"ping"} {}`, wantErr: true},
		{in: "{\"type\":\"ping\",\"ref\":\"\xc3\"}", want: Frame{Ref: "\ufffd"}, wantErr: true},
		{in: ``, wantErr: true},
	} {
		f, err := DecodeFrame([]byte(tc.in))
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v", tc.in, err)
			continue
		}
		if err != nil {
			if e, ok := chat.Public(err); !ok || e.Code != chat.CodeInvalidRequest {
				t.Errorf("%q: error %v is not invalid_request", tc.in, err)
			}
		}
		got, _ := json.Marshal(f)
		want, _ := json.Marshal(tc.want)
		if string(got) != string(want) {
			t.Errorf("%q: got %s, want %s", tc.in, got, want)
		}
	}
}

// FuzzDecodeFrame checks that no input makes the decoder panic, that it
// only fails with invalid_request, and that what it accepts has a type.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"auth","token":"abc","ref":"a"}`,
		`{"type":"send","ref":"r1","room_id":"x","text":"héllo","client_id":"c1"}`,
		`{"type":"resume","ref":"r2","rooms":{"x":10,"y":0}}`,
		`{"type":"ping","ref":"p"}`,
		`{"type":"resume","rooms":{"x":-1,"x":99999999999999999999}}`,
		`{"type":"send","ref":["x"]}`,
		"{\"type\":\"ping\",\"ref\":\"\xff\xfe\"}",
		`[]`, `{`, `"\u0000"`, `{"type":"\ud800"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := DecodeFrame(b)
		if err != nil {
			var e *chat.Error
			if !errors.As(err, &e) || e.Code != chat.CodeInvalidRequest {
				t.Fatalf("error %v is not invalid_request", err)
			}
			return
		}
		if fr.Type == "" {
			t.Fatal("accepted a frame without a type")
		}
	})
}
