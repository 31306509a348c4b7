package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
)

// Part is one shard's share of the results; the parent adds them up.
type Part struct {
	Sessions        int     `json:"sessions"`
	ConnectFailures int     `json:"connect_failures"`
	ConnectSeconds  float64 `json:"connect_seconds"`
	Connect         Hist    `json:"connect_latency"`
	Held            int     `json:"held"`
	Reconnects      int64   `json:"reconnects"`

	Seconds    float64 `json:"seconds"`
	Sends      int64   `json:"sends"`
	SendErrors int64   `json:"send_errors"`
	Ack        Hist    `json:"ack_latency"`
	Deliver    Hist    `json:"deliver_latency"`
	Tally      Tally   `json:"tally"`
	Target     float64 `json:"target_rate"`

	Pages      int64 `json:"pages"`
	PageErrors int64 `json:"page_errors"`
	Page       Hist  `json:"page_latency"`
}

// merge adds o to p: counts add up, times are the longest shard's.
func (p *Part) merge(o Part) {
	p.Sessions += o.Sessions
	p.ConnectFailures += o.ConnectFailures
	p.ConnectSeconds = max(p.ConnectSeconds, o.ConnectSeconds)
	p.Connect.Merge(&o.Connect)
	p.Held += o.Held
	p.Reconnects += o.Reconnects
	p.Seconds = max(p.Seconds, o.Seconds)
	p.Sends += o.Sends
	p.SendErrors += o.SendErrors
	p.Ack.Merge(&o.Ack)
	p.Deliver.Merge(&o.Deliver)
	p.Tally = p.Tally.Add(o.Tally)
	p.Target += o.Target
	p.Pages += o.Pages
	p.PageErrors += o.PageErrors
	p.Page.Merge(&o.Page)
}

// Load is one shard's work: Prepare connects, Run applies the load for
// the run's duration, Close disconnects.
type Load interface {
	Prepare(ctx context.Context) error
	Run(ctx context.Context, rate float64) (Part, error)
	Close()
}

func newLoad(o Options, p *Plan, shard int, progress io.Writer) Load {
	d := newDialers(o)
	switch o.Scenario {
	case "connections":
		return &connLoad{o: o, plan: p, shard: shard, d: d, progress: progress}
	case "history":
		return &historyLoad{o: o, plan: p, shard: shard, d: d, progress: progress}
	}
	return &trafficLoad{o: o, plan: p, shard: shard, d: d, progress: progress}
}

// reconnectCounter is a slog handler that counts a session's reconnects.
type reconnectCounter struct{ n *atomic.Int64 }

func (h reconnectCounter) Enabled(context.Context, slog.Level) bool { return true }
func (h reconnectCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "parley session reconnecting" {
		h.n.Add(1)
	}
	return nil
}
func (h reconnectCounter) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h reconnectCounter) WithGroup(string) slog.Handler      { return h }

// ticker prints a line to w once a second until stop is closed.
func ticker(w io.Writer, stop <-chan struct{}, line func(elapsed time.Duration) string) {
	start := time.Now()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			fmt.Fprintln(w, line(time.Since(start).Round(time.Second)))
		}
	}
}

// connLoad opens sessions and holds them.
type connLoad struct {
	o        Options
	plan     *Plan
	shard    int
	d        *dialers
	progress io.Writer

	sessions   []*client.Session
	part       Part
	reconnects atomic.Int64
}

func (l *connLoad) Prepare(ctx context.Context) error {
	var mine []int
	for i := l.shard; i < len(l.plan.Users); i += l.o.Procs {
		mine = append(mine, i)
	}
	var interval time.Duration
	if l.o.ConnectRate > 0 {
		interval = time.Duration(float64(time.Second) * float64(l.o.Procs) / l.o.ConnectRate)
	}
	var (
		mu       sync.Mutex
		hist     SyncHist
		failures atomic.Int64
		opened   atomic.Int64
		wg       sync.WaitGroup
	)
	sem := make(chan struct{}, l.o.Concurrency)
	stop := make(chan struct{})
	go ticker(l.progress, stop, func(e time.Duration) string {
		return fmt.Sprintf("%v: %d sessions open, %d failed", e, opened.Load(), failures.Load())
	})
	start := time.Now()
	for k, i := range mine {
		if interval > 0 {
			time.Sleep(time.Until(start.Add(time.Duration(k) * interval)))
		}
		sem <- struct{}{}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			target, hc := l.d.pick(i)
			t0 := time.Now()
			s, err := client.DialSession(ctx, target, l.plan.Users[i].Token, client.SessionOptions{
				HTTPClient: hc, OnEvent: func(client.Event) {}, Log: slog.New(reconnectCounter{&l.reconnects}),
			})
			if err != nil {
				if failures.Add(1) <= 3 {
					fmt.Fprintln(l.progress, "connect:", err)
				}
				return
			}
			hist.Add(time.Since(t0))
			opened.Add(1)
			mu.Lock()
			l.sessions = append(l.sessions, s)
			mu.Unlock()
		})
	}
	wg.Wait()
	close(stop)
	l.part = Part{Sessions: len(mine), ConnectFailures: int(failures.Load()),
		ConnectSeconds: time.Since(start).Seconds(), Connect: hist.Snapshot()}
	return ctx.Err()
}

func (l *connLoad) Run(ctx context.Context, _ float64) (Part, error) {
	stop := make(chan struct{})
	go ticker(l.progress, stop, func(e time.Duration) string {
		return fmt.Sprintf("%v: holding %d sessions, %d reconnects", e, len(l.sessions), l.reconnects.Load())
	})
	t := time.NewTimer(l.o.Duration)
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	close(stop)
	p := l.part
	for _, s := range l.sessions {
		if s.Err() == nil {
			p.Held++
		}
	}
	p.Reconnects = l.reconnects.Load()
	p.Seconds = l.o.Duration.Seconds()
	return p, nil
}

func (l *connLoad) Close() { closeAll(l.sessions) }

func closeAll(ss []*client.Session) {
	var wg sync.WaitGroup
	for _, s := range ss {
		if s == nil {
			continue
		}
		wg.Go(func() { s.Close() })
	}
	wg.Wait()
}
