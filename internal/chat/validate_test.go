package chat

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCheckMessageText(t *testing.T) {
	ok := []string{"x", strings.Repeat("é", MaxMessageRunes), "tab\tand\nnewline", "🙂"}
	bad := []string{"", "  \n\t", "\u200b\u200b", "\u0301\u0301", strings.Repeat("a", MaxMessageRunes+1), "nul\x00", "bad\xff"}
	for _, s := range ok {
		if err := CheckMessageText(s); err != nil {
			t.Errorf("%.20q: %v", s, err)
		}
	}
	for _, s := range bad {
		err := CheckMessageText(s)
		if e, isPublic := Public(err); !isPublic || e.Code != CodeValidationFailed || e.Fields["text"].Code == "" {
			t.Errorf("%.20q: got %v", s, err)
		}
	}
}

func TestNames(t *testing.T) {
	for _, s := range []string{"Zoë", "山田", "محمد", "a b"} {
		if err := checkName("n", s, 64, false); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	for _, s := range []string{"a\nb", "\u202Eevil", "x\u2067", "\x7f", "\u200f"} {
		if err := checkName("n", s, 64, false); !errors.Is(err, &Error{Code: CodeValidationFailed}) {
			t.Errorf("%q: got %v", s, err)
		}
	}
}

func TestValidUsername(t *testing.T) {
	for _, s := range []string{"abc", "A.b-c_1", strings.Repeat("x", 32)} {
		if !ValidUsername(s) {
			t.Errorf("%q rejected", s)
		}
	}
	for _, s := range []string{"ab", strings.Repeat("x", 33), "a b", "é12", "a@b", ""} {
		if ValidUsername(s) {
			t.Errorf("%q accepted", s)
		}
	}
}

// FuzzCheckMessageText checks that text validation never panics and
// accepts exactly valid, non-blank UTF-8 of at most 4,000 code points
// without NUL.
func FuzzCheckMessageText(f *testing.F) {
	for _, s := range []string{"hi", "", "\x00", "\xff", strings.Repeat("é", 4001), " \n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckMessageText(s)
		want := utf8.ValidString(s) && !strings.ContainsRune(s, 0) &&
			!blank(s) && utf8.RuneCountInString(s) <= MaxMessageRunes
		if (err == nil) != want {
			t.Fatalf("%q: err %v, want valid=%v", s, err, want)
		}
	})
}

func TestHasher(t *testing.T) {
	h := NewHasher(2, HashCost{Time: 1, Memory: 64})
	enc, err := h.Hash(t.Context(), "secret password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$") {
		t.Fatalf("hash %q", enc)
	}
	for pw, want := range map[string]bool{"secret password": true, "secret passwore": false, "": false} {
		if ok, err := h.Check(t.Context(), pw, enc); err != nil || ok != want {
			t.Errorf("%q: %v %v", pw, ok, err)
		}
	}
	if _, err := h.Check(t.Context(), "x", "$bcrypt$nope"); err == nil {
		t.Error("foreign hash accepted")
	}
}
