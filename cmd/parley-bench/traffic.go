package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parley-chat/parley/client"
)

// padding brings a bench message to a typical length.
const padding = "a message of a typical length, give or take a few words"

// trafficLoad sends messages to rooms over WebSocket and accounts for
// every delivery: the fanout and persistence scenarios.
type trafficLoad struct {
	o        Options
	plan     *Plan
	shard    int
	d        *dialers
	progress io.Writer

	sessions   []*client.Session // one per member of this shard's rooms; nil if raw
	raws       []*rawReceiver    // the raw receivers, with --receivers raw
	roomOf     []int             // plan room of each session
	senders    []sender
	cur        atomic.Pointer[trial]
	reconnects atomic.Int64
}

type sender struct {
	id      int32 // global sender number
	session *client.Session
	room    PlanRoom
	next    atomic.Int32
}

// trial is one Run's accounting; deliveries of another trial's messages
// land in the trial running when they arrive, as unacknowledged.
type trial struct {
	ledger  *Ledger
	deliver []Hist // per session; written on its reading goroutine
	dmu     []sync.Mutex
	ack     SyncHist
	sends   atomic.Int64
	errs    atomic.Int64
}

func (l *trafficLoad) Prepare(ctx context.Context) error {
	type member struct{ room, slot int }
	var members []member
	for r := l.shard; r < len(l.plan.Rooms); r += l.o.Procs {
		for slot := range l.plan.Rooms[r].Members {
			members = append(members, member{r, slot})
		}
	}
	rooms := len(l.plan.Rooms)
	sends := map[member]bool{}
	for j := range l.o.Senders {
		sends[member{j % rooms, j / rooms}] = true
	}
	l.sessions = make([]*client.Session, len(members))
	raws := make([]*rawReceiver, len(members))
	l.roomOf = make([]int, len(members))
	index := map[member]int{}
	errs := make([]error, len(members))
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i, m := range members {
		index[m] = i
		l.roomOf[i] = m.room
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			target, hc := l.d.pick(i)
			u := l.plan.Users[l.plan.Rooms[m.room].Members[m.slot]]
			if l.o.Receivers == "raw" && !sends[m] {
				raws[i], errs[i] = dialRaw(ctx, target, hc, u.Token, &l.reconnects, l.onRaw(i))
				return
			}
			l.sessions[i], errs[i] = client.DialSession(ctx, target, u.Token, client.SessionOptions{
				HTTPClient: hc, OnEvent: l.onEvent(i), Buffer: 1, Log: slog.New(reconnectCounter{&l.reconnects}),
			})
		})
	}
	wg.Wait()
	for _, r := range raws {
		if r != nil {
			l.raws = append(l.raws, r)
		}
	}
	for _, err := range errs {
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
	}
	for j := range l.o.Senders {
		m := member{j % rooms, j / rooms}
		if i, ok := index[m]; ok {
			l.senders = append(l.senders, sender{id: int32(j), session: l.sessions[i], room: l.plan.Rooms[m.room]})
		}
	}
	l.cur.Store(l.newTrial())
	return nil
}

func (l *trafficLoad) newTrial() *trial {
	return &trial{ledger: NewLedger(len(l.sessions)), deliver: make([]Hist, len(l.sessions)), dmu: make([]sync.Mutex, len(l.sessions))}
}

// onEvent returns session i's event handler: it parses the sender, count
// and send time out of a bench message and records the delivery.
func (l *trafficLoad) onEvent(i int) func(client.Event) {
	return func(ev client.Event) {
		now := time.Now()
		if ev.Type != "message.created" || ev.Message == nil {
			return
		}
		f := strings.Fields(ev.Message.Text)
		if len(f) < 4 || f[0] != "pb" {
			return
		}
		from, _ := strconv.ParseInt(f[1], 10, 32)
		n, _ := strconv.ParseInt(f[2], 10, 32)
		sent, _ := strconv.ParseInt(f[3], 10, 64)
		l.record(i, now, int32(from), int32(n), sent)
	}
}

// onRaw is onEvent for a raw receiver.
func (l *trafficLoad) onRaw(i int) func(from, n int32, sent int64) {
	return func(from, n int32, sent int64) {
		l.record(i, time.Now(), from, n, sent)
	}
}

// record accounts for session i's receiving message n of sender from,
// sent at sent (Unix nanoseconds), at now.
func (l *trafficLoad) record(i int, now time.Time, from, n int32, sent int64) {
	t := l.cur.Load()
	t.ledger.Received(i, msgKey{from, n})
	t.dmu[i].Lock()
	t.deliver[i].Add(now.Sub(time.Unix(0, sent)))
	t.dmu[i].Unlock()
}

// Run sends for the run's duration at rate (all shards together; 0 for
// closed loop), then waits up to Drain for deliveries in flight.
func (l *trafficLoad) Run(ctx context.Context, rate float64) (Part, error) {
	t := l.newTrial()
	l.cur.Store(t)
	share := rate * float64(len(l.senders)) / float64(l.o.Senders)
	start := time.Now()
	end := start.Add(l.o.Duration)
	stop := make(chan struct{})
	var prevS, prevD int64
	go ticker(l.progress, stop, func(e time.Duration) string {
		s := t.sends.Load()
		d, _ := t.ledger.Progress()
		line := fmt.Sprintf("%v: %d sends/s, %d deliveries/s, %d send errors", e, s-prevS, d-prevD, t.errs.Load())
		prevS, prevD = s, d
		return line
	})
	var wg sync.WaitGroup
	for k := range l.senders {
		// Senders start at evenly spread phases of their interval: started
		// together, they would all send at the same instants, and the
		// bursts, not the rate, would set the latency.
		phase := float64(k) / float64(len(l.senders))
		wg.Go(func() { l.send(ctx, t, &l.senders[k], share/float64(len(l.senders)), phase, end) })
	}
	wg.Wait()
	sendSeconds := time.Since(start).Seconds()
	deadline := time.Now().Add(l.o.Drain)
	for time.Now().Before(deadline) {
		if d, e := t.ledger.Progress(); d >= e {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)

	p := Part{Seconds: sendSeconds, Sends: t.sends.Load(), SendErrors: t.errs.Load(), Ack: t.ack.Snapshot(),
		Tally: t.ledger.Tally(), Target: share, Reconnects: l.reconnects.Load(), Sessions: len(l.sessions)}
	for i := range t.deliver {
		t.dmu[i].Lock()
		p.Deliver.Merge(&t.deliver[i])
		t.dmu[i].Unlock()
	}
	return p, ctx.Err()
}

// send runs one sender until end: at rate with at most Inflight sends
// outstanding, the first after phase (a fraction) of the interval, or, at
// rate 0, Inflight sends back to back.
//
// At a rate, each send is due at a point of a fixed schedule, and its
// latencies are measured from that point, not from when it went out: a
// send held back because the window was full (the server was slow to
// acknowledge) counts its wait, rather than the wait disappearing from the
// figures because the generator sent less while the server was slow
// ("coordinated omission"). Late sends go out back to back until the
// schedule is met again.
func (l *trafficLoad) send(ctx context.Context, t *trial, s *sender, rate, phase float64, end time.Time) {
	var wg sync.WaitGroup
	defer wg.Wait()
	if rate <= 0 {
		for range l.o.Inflight {
			wg.Go(func() {
				for time.Now().Before(end) && ctx.Err() == nil {
					l.sendOne(ctx, t, s, time.Now())
				}
			})
		}
		return
	}
	sem := make(chan struct{}, l.o.Inflight)
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now().Add(time.Duration(phase * float64(interval)))
	for k := 0; ; k++ {
		at := start.Add(time.Duration(k) * interval)
		if !at.Before(end) || ctx.Err() != nil {
			return
		}
		time.Sleep(time.Until(at))
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			l.sendOne(ctx, t, s, at)
		})
	}
}

// sendOne sends one message, due at t0: its ack latency and every
// member's send→deliver latency are measured from t0, which its text
// carries.
func (l *trafficLoad) sendOne(ctx context.Context, t *trial, s *sender, t0 time.Time) {
	n := s.next.Add(1)
	text := fmt.Sprintf("pb %d %d %d %s", s.id, n, t0.UnixNano(), padding)
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if _, err := s.session.Send(sctx, s.room.ID, text, ""); err != nil {
		if t.errs.Add(1) <= 3 {
			fmt.Fprintln(l.progress, "send:", err)
		}
		return
	}
	t.ack.Add(time.Since(t0))
	t.sends.Add(1)
	t.ledger.Acked(msgKey{s.id, n}, len(s.room.Members))
}

func (l *trafficLoad) Close() {
	var wg sync.WaitGroup
	for _, r := range l.raws {
		wg.Go(r.Close)
	}
	closeAll(l.sessions)
	wg.Wait()
}
