package chat

import (
	"strings"
	"testing"
	"time"
)

func TestIsID(t *testing.T) {
	id := NewID(time.Now())
	if !isID(id) {
		t.Fatalf("NewID gave %q, which isID refuses", id)
	}
	for _, s := range []string{"", "nope", id[:25], id + "0", strings.ToUpper(id), id[:25] + "z", id[:25] + "u"} {
		if isID(s) {
			t.Errorf("isID(%q) = true", s)
		}
	}
}
