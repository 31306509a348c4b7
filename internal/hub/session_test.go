package hub

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// A frame that arrives alone is offered to WriteNow; frames in quick
// succession, or behind queued ones, are queued for the writer, and a frame
// WriteNow could not take is queued too.
func TestWriteNowOnlyForLoneFrames(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		result := Written
		var written []string
		s := newSession(nil, chat.Auth{}, SessionOptions{WriteNow: func(f []byte) WriteResult {
			if result != NotWritten {
				written = append(written, string(f))
			}
			return result
		}})
		s.live = true
		queued := func() []string {
			frames, _ := s.Take(nil)
			var out []string
			for _, f := range frames {
				out = append(out, string(f))
			}
			return out
		}
		check := func(what string, got, want []string) {
			t.Helper()
			if !slices.Equal(got, want) {
				t.Errorf("%s: %q, want %q", what, got, want)
			}
		}

		s.push([]byte("1")) // alone
		s.push([]byte("2")) // right behind it
		time.Sleep(2 * burstGap)
		s.push([]byte("3")) // alone, but behind a queued frame
		check("written", written, []string{"1"})
		check("queued", queued(), []string{"2", "3"})

		time.Sleep(2 * burstGap)
		s.push([]byte("4"))
		result = NotWritten
		time.Sleep(2 * burstGap)
		s.push([]byte("5"))
		check("written", written, []string{"1", "4"})
		check("queued", queued(), []string{"5"})

		result = WrittenPartly
		select {
		case <-s.Wake(): // signalled by the frames queued above
		default:
		}
		time.Sleep(2 * burstGap)
		s.push([]byte("6"))
		check("written", written, []string{"1", "4", "6"})
		check("queued", queued(), nil)
		select {
		case <-s.Wake():
		default:
			t.Error("a partly written frame did not wake the writer")
		}
	})
}
