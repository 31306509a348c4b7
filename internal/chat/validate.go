package chat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Limits on what people type. They are part of the public contract.
const (
	MaxMessageRunes     = 4000
	MaxDisplayNameRunes = 64
	MaxRoomNameRunes    = 100
	MaxTopicRunes       = 500
	MaxClientIDLen      = 64
	MinPasswordLen      = 8
	MaxPasswordLen      = 1024
	MinUsernameLen      = 3
	MaxUsernameLen      = 32
)

// ValidUsername reports whether s is 3–32 ASCII letters, digits, '_', '.'
// or '-'.
func ValidUsername(s string) bool {
	if len(s) < MinUsernameLen || len(s) > MaxUsernameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '_' || c == '.' || c == '-'
		if !ok {
			return false
		}
	}
	return true
}

// checkText validates free text typed by a person: valid UTF-8, no NUL, at
// most max code points, and (unless empty is allowed) not blank.
func checkText(field, s string, max int, allowEmpty bool) error {
	switch {
	case !utf8.ValidString(s):
		return Invalid(field, "invalid_utf8", "must be valid UTF-8")
	case strings.IndexByte(s, 0) >= 0:
		return Invalid(field, "invalid_character", "must not contain NUL")
	case !allowEmpty && blank(s):
		return Invalid(field, "required", "must not be empty")
	case utf8.RuneCountInString(s) > max:
		return Invalid(field, "too_long", "must be at most "+itoa(max)+" characters")
	}
	return nil
}

// blank reports whether s shows nothing: only spaces, invisible format
// characters (zero-width spaces and joiners) and combining marks.
func blank(s string) bool {
	for _, r := range s {
		if !unicode.IsSpace(r) && !unicode.In(r, unicode.Cf, unicode.Mn, unicode.Me) {
			return false
		}
	}
	return true
}

// CheckMessageText validates the text of a message: 1–4000 code points of
// valid UTF-8 with no NUL. Newlines and tabs are fine; other text is kept
// exactly as sent.
func CheckMessageText(s string) error {
	return checkText("text", s, MaxMessageRunes, false)
}

// checkName validates a one-line name (display name, room name, topic):
// like text, and also free of control and bidirectional override characters,
// which could disguise one name as another.
func checkName(field, s string, max int, allowEmpty bool) error {
	if err := checkText(field, s, max, allowEmpty); err != nil {
		return err
	}
	for _, r := range s {
		if unicode.IsControl(r) || isBidiControl(r) {
			return Invalid(field, "invalid_character", "must not contain control or bidirectional override characters")
		}
	}
	return nil
}

// isBidiControl reports whether r is one of the explicit directional
// embedding, override or isolate characters.
func isBidiControl(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x200E || r == 0x200F || r == 0x061C
}

func itoa(n int) string {
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
