package strictjson

import (
	"encoding/json"
	"errors"
	"testing"
)

type req struct {
	Text     string `json:"text"`
	ClientID string `json:"client_id"`
}

func TestDecode(t *testing.T) {
	good := map[string]req{
		`{"text": "hi"}`:                       {Text: "hi"},
		`{"text": "\ud83d\ude42 ok"}`:          {Text: "🙂 ok"},
		`{"text": "\\ud800 is literal"}`:       {Text: `\ud800 is literal`},
		`{"text": "a", "client_id": "\u00e9"}`: {Text: "a", ClientID: "é"},
	}
	for in, want := range good {
		var got req
		if err := Decode([]byte(in), &got); err != nil || got != want {
			t.Errorf("%s: got %+v, %v", in, got, err)
		}
	}
	bad := map[string]error{
		`{"text": "\ud800"}`:              ErrInvalidUTF8,
		`{"text": "\udc00x"}`:             ErrInvalidUTF8,
		`{"text": "\ud800\u0041"}`:        ErrInvalidUTF8,
		"{\"text\": \"\xff\"}":            ErrInvalidUTF8,
		`{"text": "a"} x`:                 ErrTrailing,
		`null`:                            ErrNotObject,
		`["text"]`:                        ErrNotObject,
		`{"Text": "a"}`:                   &KeyError{},
		`{"text": "a", "text": "b"}`:      &KeyError{},
		`{"text": "a", "colour": "blue"}`: &KeyError{},
	}
	for in, want := range bad {
		var got req
		err := Decode([]byte(in), &got)
		var ke *KeyError
		if _, isKey := want.(*KeyError); isKey && !errors.As(err, &ke) || !isKey && !errors.Is(err, want) {
			t.Errorf("%s: got %v, want %v", in, err, want)
		}
	}
	// Tolerant decoding ignores unknown keys but not miscased ones.
	var r req
	if err := DecodeTolerant([]byte(`{"text": "a", "future": 1}`), &r); err != nil {
		t.Errorf("tolerant: %v", err)
	}
	if err := DecodeTolerant([]byte(`{"TEXT": "a"}`), &r); err == nil {
		t.Error("tolerant accepted a miscased key")
	}
}

// TestNonNull: a field tagged nonnull refuses an explicit null, naming
// it; left out, or on a field without the tag, null is as before.
func TestNonNull(t *testing.T) {
	type patch struct {
		Notify *string         `json:"notify" strictjson:"nonnull"`
		Until  json.RawMessage `json:"until"`
	}
	var p patch
	err := Decode([]byte(`{"notify": null}`), &p)
	if want := `key "notify": must not be null`; err == nil || Describe(err) != want {
		t.Errorf("null notify: %v, want %q", err, want)
	}
	if err := DecodeTolerant([]byte(`{"notify":null}`), &p); err == nil {
		t.Error("tolerant decoding took a null notify")
	}
	for _, in := range []string{`{}`, `{"until": null}`, `{"notify": "all", "until": null}`} {
		if err := Decode([]byte(in), &p); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
	if p.Notify == nil || *p.Notify != "all" || string(p.Until) != "null" {
		t.Errorf("decoded %+v", p)
	}
}

func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"text": "hi"}`, `{"text": "\ud800"}`, `{"text":"a","text":"b"}`, `[]`, `"x"`, `{"a":{"b":[1,2]}}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r req
		if Decode(b, &r) == nil {
			for _, c := range r.Text + r.ClientID {
				if c == 0xFFFD && !containsReplacement(b) {
					t.Fatalf("accepted a replaced character from %q", b)
				}
			}
		}
	})
}

func containsReplacement(b []byte) bool {
	s := string(b)
	for _, c := range s {
		if c == 0xFFFD {
			return true
		}
	}
	for i := 0; i+6 <= len(s); i++ {
		if s[i] == '\\' && (s[i+1:i+6] == "ufffd" || s[i+1:i+6] == "uFFFD") {
			return true
		}
	}
	return false
}

// TestDescribeNamesNoGoTypes: what clients read names fields and JSON
// kinds, never Go's types.
func TestDescribeNamesNoGoTypes(t *testing.T) {
	type settings struct {
		Theme string `json:"theme"`
	}
	type patch struct {
		Settings *settings `json:"settings"`
	}
	for in, want := range map[string]string{
		`{"settings": []}`:               `field "settings" has the wrong type (a JSON array)`,
		`{"settings": {"bogus": true}}`:  `unknown field "bogus"`,
		`[1]`:                            ErrNotObject.Error(),
		`{"settings": `:                  "unexpected end of input",
		`{"settings": {"theme": "x"} x}`: "invalid JSON at byte 29",
	} {
		var p patch
		got := Describe(Decode([]byte(in), &p))
		if got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
}
