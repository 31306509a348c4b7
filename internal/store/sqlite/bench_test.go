package sqlite

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// BenchmarkAppendMessage measures the writer: messages appended to one room
// by 1, 16 and 64 concurrent writers, for each durability. ops/commit is
// the average batch: what group commit shares one fsync between.
//
//	go test -run '^$' -bench AppendMessage ./internal/store/sqlite
func BenchmarkAppendMessage(b *testing.B) {
	for _, durability := range []string{DurabilityFull, DurabilityRelaxed} {
		for _, writers := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/writers=%d", durability, writers), func(b *testing.B) {
				benchAppend(b, durability, writers)
			})
		}
	}
}

func benchAppend(b *testing.B, durability string, writers int) {
	s := openTest(b, Options{Durability: durability})
	u, r := seed(b, s)
	batches, ops := s.w.batches.Load(), s.w.ops.Load()
	var n atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	cpu := cpuTime()
	for range writers {
		wg.Go(func() {
			for n.Add(1) <= int64(b.N) {
				if _, err := s.AppendMessage(b.Context(), message(u, r, "benchmark")); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(float64(s.w.ops.Load()-ops)/float64(s.w.batches.Load()-batches), "ops/commit")
}

// BenchmarkMessagesPage measures reading a page of 50 messages of history
// at a random point of a room of 10,000, from parallel readers.
func BenchmarkMessagesPage(b *testing.B) {
	const history, page = 10_000, 50
	s := openTest(b, Options{Durability: DurabilityRelaxed})
	u, r := seed(b, s)
	fill(b, s, u, r, history)
	b.ResetTimer()
	cpu := cpuTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			before := r.LastSeq + 2 + rand.Int64N(history) // at least one message before
			msgs, _, err := s.Messages(b.Context(), r.ID, chat.Page{Before: before, Limit: page})
			if err != nil || len(msgs) == 0 {
				b.Errorf("Messages: %d, %v", len(msgs), err)
				return
			}
		}
	})
	reportCPU(b, cpu)
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
}

// reportCPU reports the CPU time per op used since start.
func reportCPU(b *testing.B, start time.Duration) {
	if used := cpuTime() - start; start > 0 {
		b.ReportMetric(float64(used.Microseconds())/float64(b.N), "cpu-us/op")
	}
}

// fill appends n messages to r from 64 writers.
func fill(b *testing.B, s *Store, u chat.User, r chat.Room, n int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				if _, err := s.AppendMessage(b.Context(), message(u, r, fmt.Sprint("history ", i))); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
