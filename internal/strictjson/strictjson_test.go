package strictjson

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
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

// FuzzDecode: Decode never panics, never takes a replaced character that
// was not in the input, and never takes a null for a nonnull field, at the
// top or nested.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"text": "hi"}`, `{"text": "\ud800"}`, `{"text":"a","text":"b"}`, `[]`, `"x"`,
		`{"a":{"b":[1,2]}}`, `{"settings": {"theme": "x"}}`, `{"settings": {"theme": null}}`, `{"settings": null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r struct {
			Text     string `json:"text"`
			ClientID string `json:"client_id"`
			Settings *struct {
				Theme *string `json:"theme" strictjson:"nonnull"`
			} `json:"settings" strictjson:"nonnull"`
		}
		if Decode(b, &r) != nil {
			return
		}
		for _, c := range r.Text + r.ClientID {
			if c == 0xFFFD && !containsReplacement(b) {
				t.Fatalf("accepted a replaced character from %q", b)
			}
		}
		var raw struct {
			Settings json.RawMessage `json:"settings"`
		}
		var inner struct {
			Theme json.RawMessage `json:"theme"`
		}
		if json.Unmarshal(b, &raw) == nil && (string(raw.Settings) == "null" ||
			json.Unmarshal(raw.Settings, &inner) == nil && string(inner.Theme) == "null") {
			t.Fatalf("accepted a null from %q", b)
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
		`{"settings": {"bogus": true}}`:  `key "settings.bogus": is not a known field (names are case-sensitive)`,
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

// TestNested: the objects of struct fields are checked as the outer one
// is, and their keys named with their path; objects that decode
// themselves, and objects inside arrays and maps, are left to the decoder.
func TestNested(t *testing.T) {
	type inner struct {
		Theme *string `json:"theme" strictjson:"nonnull"`
		Deep  *struct {
			On *bool `json:"on" strictjson:"nonnull"`
		} `json:"deep"`
	}
	type outer struct {
		Settings *inner           `json:"settings" strictjson:"nonnull"`
		Value    inner            `json:"value"`
		When     *time.Time       `json:"when"`
		List     []inner          `json:"list"`
		Map      map[string]inner `json:"map"`
	}
	bad := map[string]string{
		`{"settings": null}`:                         `key "settings": must not be null`,
		`{"settings": {"theme": null}}`:              `key "settings.theme": must not be null`,
		`{"settings": {"Theme": "x"}}`:               `key "settings.Theme": is not a known field (names are case-sensitive)`,
		`{"settings": {"theme": "x", "theme": "y"}}`: `key "settings.theme": appears twice`,
		`{"value": {"deep": {"on": null}}}`:          `key "value.deep.on": must not be null`,
		`{"value": {"deep": {"off": true}}}`:         `key "value.deep.off": is not a known field (names are case-sensitive)`,
	}
	for in, want := range bad {
		var o outer
		if got := Describe(Decode([]byte(in), &o)); got != want {
			t.Errorf("%s: %q, want %q", in, got, want)
		}
	}
	// Tolerant decoding ignores unknown nested keys too, not miscased ones.
	var o outer
	if err := DecodeTolerant([]byte(`{"settings": {"theme": "x", "future": 1}}`), &o); err != nil {
		t.Errorf("tolerant, unknown nested key: %v", err)
	}
	if err := DecodeTolerant([]byte(`{"settings": {"THEME": "x"}}`), &o); err == nil {
		t.Error("tolerant decoding took a miscased nested key")
	}
	good := []string{
		`{"settings": {"theme": "x", "deep": {"on": true}}}`,
		`{"value": {}, "when": "2026-12-04T10:00:00Z"}`,
		`{"list": [{"theme": null}], "map": {"a": {"theme": null}}}`,
	}
	for _, in := range good {
		var o outer
		if err := Decode([]byte(in), &o); err != nil {
			t.Errorf("%s: %v", in, err)
		}
	}
}
