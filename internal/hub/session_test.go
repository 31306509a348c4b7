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

// With SessionOptions.Wake, the session calls it wherever it would signal
// the Wake channel: when the ready frame or the first of a run of frames is
// queued, when a frame was written partly, and when the session closes.
func TestWakeCallback(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		wakes := 0
		result := NotWritten
		s := newSession(nil, chat.Auth{}, SessionOptions{
			Wake:     func() { wakes++ },
			WriteNow: func([]byte) WriteResult { return result },
		})
		if s.Wake() != nil {
			t.Error("Wake returns a channel although a callback was given")
		}
		check := func(what string, want int) {
			t.Helper()
			if wakes != want {
				t.Errorf("after %s: %d wakes, want %d", what, wakes, want)
			}
		}

		s.Ready([]byte("ready"))
		check("ready", 1)
		s.push([]byte("1")) // behind ready, which is still queued
		check("a frame behind a queued one", 1)
		s.Take(nil)
		time.Sleep(2 * burstGap)
		s.push([]byte("2")) // alone, not written: queued
		check("a frame queued", 2)
		s.Take(nil)

		result = Written
		time.Sleep(2 * burstGap)
		s.push([]byte("3"))
		check("a frame written at once", 2)
		result = WrittenPartly
		time.Sleep(2 * burstGap)
		s.push([]byte("4"))
		check("a frame written partly", 3)

		s.Close(CodeGoingAway, "bye")
		check("close", 4)
		s.Close(CodeGoingAway, "again")
		check("a second close", 4)
	})
}
