package chat

import (
	"slices"
	"strings"
	"testing"
)

func TestMentionNames(t *testing.T) {
	tests := []struct {
		text string
		want []string
	}{
		{"hi @bob", []string{"bob"}},
		{"@Bob, @carol.", []string{"Bob", "carol"}},
		{"@bob-", []string{"bob"}},
		{"mail bob@example.com", nil},
		{"@@bob", []string{"bob"}},
		{"@ab is too short, @" + strings.Repeat("x", 33) + " too long", nil},
		{"(@dave) and @erin!", []string{"dave", "erin"}},
		{"@fé", nil},
		{"", nil},
	}
	for _, tt := range tests {
		if got := mentionNames(tt.text); !slices.Equal(got, tt.want) {
			t.Errorf("mentionNames(%q) = %q, want %q", tt.text, got, tt.want)
		}
	}
}

// FuzzMentionNames checks that every name found is a valid username that
// the text contains after an @.
func FuzzMentionNames(f *testing.F) {
	for _, s := range []string{"hi @bob", "@a.b-c_d.", "x@y @@z", "@\xff@bob"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		for _, name := range mentionNames(text) {
			if !ValidUsername(name) || !strings.Contains(text, "@"+name) {
				t.Fatalf("mentionNames(%q) found %q", text, name)
			}
		}
	})
}
