package chat

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/binary"
	"time"
)

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns a new opaque id: 48 bits of milliseconds then 80 random bits,
// so ids sort roughly by creation time, written in 26 lower-case characters.
func NewID(now time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	rand.Read(b[6:])
	return idEncoding.EncodeToString(b[:])
}

// isID reports whether s has the shape of an id NewID makes: 16 bytes in
// its alphabet. Encoding again refuses stray bits in the last character,
// which decoding alone ignores.
func isID(s string) bool {
	b, err := idEncoding.DecodeString(s)
	return err == nil && len(b) == 16 && idEncoding.EncodeToString(b) == s
}

// checkCursor refuses an after cursor that is not an id, as every cursor
// of a page keyed by id is. Without it a garbage cursor reads as "after
// everything" and gives an empty page that looks like the end of the list.
func checkCursor(after string) error {
	if after != "" && !isID(after) {
		return badCursor()
	}
	return nil
}

func badCursor() error {
	return Invalid("after", "invalid", "must be a cursor from a previous page's next")
}

// Clock tells the time. Tests drive it instead of sleeping.
type Clock interface {
	Now() time.Time
}

// SystemClock is the real clock, in UTC.
type SystemClock struct{}

// Now returns the current time in UTC.
func (SystemClock) Now() time.Time { return time.Now().UTC() }
