package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
)

// historyLoad reads pages of a room's history at random points, as fast
// as the readers go.
type historyLoad struct {
	o        Options
	plan     *Plan
	shard    int
	d        *dialers
	progress io.Writer
}

func (l *historyLoad) Prepare(context.Context) error { return nil }

func (l *historyLoad) Run(ctx context.Context, _ float64) (Part, error) {
	room := l.plan.Rooms[0]
	var (
		pages, errs atomic.Int64
		hist        SyncHist
		wg          sync.WaitGroup
	)
	stop := make(chan struct{})
	var prev int64
	go ticker(l.progress, stop, func(e time.Duration) string {
		n := pages.Load()
		defer func() { prev = n }()
		return fmt.Sprintf("%v: %d pages/s, %d errors", e, n-prev, errs.Load())
	})
	start := time.Now()
	end := start.Add(l.o.Duration)
	for range l.o.Readers {
		target, hc := l.d.any()
		c := client.New(target, hc).WithToken(l.plan.Token)
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				before := 2 + rand.Int64N(max(room.LastSeq, 1))
				t0 := time.Now()
				_, _, err := c.Messages(ctx, room.ID, client.Page{Before: before, Limit: l.o.PageSize})
				if err != nil {
					if errs.Add(1) <= 3 {
						fmt.Fprintln(l.progress, "read:", err)
					}
					continue
				}
				hist.Add(time.Since(t0))
				pages.Add(1)
			}
		})
	}
	wg.Wait()
	close(stop)
	return Part{Seconds: time.Since(start).Seconds(), Pages: pages.Load(), PageErrors: errs.Load(), Page: hist.Snapshot()}, ctx.Err()
}

func (l *historyLoad) Close() {}
