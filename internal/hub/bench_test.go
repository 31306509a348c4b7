package hub

import (
	"context"
	"fmt"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
)

// BenchmarkEncodeEvent measures encoding one event frame, which the hub
// does once per event whatever the audience.
func BenchmarkEncodeEvent(b *testing.B) {
	st := newFakeStore()
	st.append("r", chat.EventMemberJoined, "u")
	ev := st.append("r", chat.EventMessageCreated, "u")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := EncodeEvent(&ev); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEncodePerSession is what encoding would cost if every session
// of a room of 100 encoded the event itself; compare with
// BenchmarkFanout/sessions=100.
func BenchmarkEncodePerSession(b *testing.B) {
	st := newFakeStore()
	ev := st.append("r", chat.EventMessageCreated, "u")
	b.ReportAllocs()
	for b.Loop() {
		for range 100 {
			if _, err := EncodeEvent(&ev); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkFanout publishes events to a room whose members each have one
// session; the sessions' queues are taken and counted, as a writer would,
// every 64 events. One op is one event delivered to every session.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1, 100, 10000} {
		b.Run(fmt.Sprintf("sessions=%d", n), func(b *testing.B) {
			h, st, bus := newTestHub(b)
			sessions := make([]*Session, n)
			for i := range n {
				st.append("r", chat.EventMemberJoined, fmt.Sprint("u", i))
			}
			for i := range n {
				sessions[i] = connect(b, h, fmt.Sprint("u", i), 128)
			}
			const every = 64
			batches := make([][][]byte, n)
			count := 0
			take := func() {
				for i, s := range sessions {
					frames, cl := s.Take(batches[i])
					if cl.Code != 0 {
						b.Fatalf("session %d closing: %+v", i, cl)
					}
					count += len(frames)
					clear(frames)
					batches[i] = frames[:0]
				}
			}
			evs := make([]chat.Event, every)
			// Warm up: let every queue grow to the batch size once.
			for range 2 {
				take()
				for k := range evs {
					evs[k] = st.append("r", chat.EventMessageCreated, "u0")
					bus.Publish(context.Background(), chat.Notice{Event: &evs[k]})
				}
			}
			take()
			count = 0
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				j := i % every
				if j == 0 {
					b.StopTimer()
					take()
					for k := range evs {
						evs[k] = st.append("r", chat.EventMessageCreated, "u0")
					}
					b.StartTimer()
				}
				bus.Publish(context.Background(), chat.Notice{Event: &evs[j]})
			}
			b.StopTimer()
			take()
			if count != b.N*n {
				b.Fatalf("delivered %d frames, want %d", count, b.N*n)
			}
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "deliveries/s")
		})
	}
}
