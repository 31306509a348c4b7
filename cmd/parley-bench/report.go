package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// findMax looks for the highest total send rate with zero loss, p99
// send→deliver latency under o.P99Limit and at least 95% of the rate
// achieved: it doubles the rate from o.Rate until a trial fails, then
// halves the gap between the best pass and the first failure four times.
func findMax(ctx context.Context, o Options, load Load, rep *Report, log io.Writer) error {
	try := func(rate float64) (bool, error) {
		before, _ := readUsage(o.ServerPID)
		fmt.Fprintf(log, "trial at %.0f sends/s…\n", rate)
		p, err := load.Run(ctx, rate)
		after, _ := readUsage(o.ServerPID)
		t := Trial{Rate: rate, Part: p, CPU: after.CPUSeconds - before.CPUSeconds, Pass: true}
		achieved := float64(p.Sends) / p.Seconds
		switch {
		case p.Tally.Lost > 0 || p.Tally.Duplicated > 0 || p.SendErrors > 0:
			t.Pass, t.Why = false, fmt.Sprintf("lost %d, duplicated %d, send errors %d", p.Tally.Lost, p.Tally.Duplicated, p.SendErrors)
		case p.Deliver.Quantile(0.99) >= o.P99Limit:
			t.Pass, t.Why = false, fmt.Sprintf("p99 %v", p.Deliver.Quantile(0.99).Round(time.Microsecond))
		case achieved < 0.95*rate:
			t.Pass, t.Why = false, fmt.Sprintf("achieved only %.0f sends/s", achieved)
		}
		rep.Trials = append(rep.Trials, t)
		fmt.Fprintf(log, "trial at %.0f sends/s: pass=%v %s\n", rate, t.Pass, t.Why)
		if t.Pass && rate > rep.MaxRate {
			rep.MaxRate, rep.Part = rate, p
			rep.ServerReady, rep.ServerAfter = before, after
		}
		return t.Pass, err
	}
	lo, hi := 0.0, o.Rate
	for {
		ok, err := try(hi)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		lo, hi = hi, hi*2
	}
	for range 4 {
		mid := (lo + hi) / 2
		ok, err := try(mid)
		if err != nil {
			return err
		}
		if ok {
			lo = mid
		} else {
			hi = mid
		}
	}
	return nil
}

// printReport writes the results as a table.
func printReport(w io.Writer, o Options, r *Report) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	defer tw.Flush()
	row := func(k, format string, args ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, args...)...) }
	lat := func(k string, h *Hist) {
		s := h.Summary()
		row(k, "p50 %.2f ms  p99 %.2f ms  p99.9 %.2f ms  max %.2f ms  (n=%d)", s.P50, s.P99, s.P999, s.Max, s.N)
	}
	p := &r.Part
	row("scenario", "%s (%d process(es), targets %v)", o.Scenario, o.Procs, o.Targets)
	switch o.Scenario {
	case "connections":
		ok := p.Sessions - p.ConnectFailures
		row("sessions", "%d opened of %d, %d failed", ok, p.Sessions, p.ConnectFailures)
		row("connect rate", "%.0f sessions/s (over %.2f s)", float64(ok)/p.ConnectSeconds, p.ConnectSeconds)
		lat("connect latency", &p.Connect)
		row("held", "%d sessions after %v, %d reconnects", p.Held, o.Duration, p.Reconnects)
		if o.ServerPID != 0 && ok > 0 {
			grow := r.ServerReady.RSSKiB - r.ServerBefore.RSSKiB
			row("server RSS", "%d KiB before, %d KiB with sessions open: %.1f KiB per session",
				r.ServerBefore.RSSKiB, r.ServerReady.RSSKiB, float64(grow)/float64(ok))
			// Connecting includes the TCP accept, the upgrade, the token
			// look-up and loading the rooms; pings while held are not in it.
			cpu := r.ServerReady.CPUSeconds - r.ServerBefore.CPUSeconds
			row("server CPU", "%.2f s while connecting: %.0f µs per session", cpu, cpu*1e6/float64(ok))
		}
	case "fanout", "persistence":
		if o.FindMax {
			for _, t := range r.Trials {
				row("trial", "%.0f sends/s: pass=%v %s", t.Rate, t.Pass, t.Why)
			}
			row("max rate", "%.0f sends/s (best passing trial below)", r.MaxRate)
		}
		row("rooms", "%d of %d members, %d senders, %d sessions, %d reconnects", o.Rooms, o.Members, o.Senders, p.Sessions, p.Reconnects)
		if p.Target > 0 {
			row("target", "%.0f sends/s", p.Target)
		}
		row("sends", "%d acknowledged, %.0f/s, %d errors", p.Sends, float64(p.Sends)/p.Seconds, p.SendErrors)
		row("deliveries", "%d, %.0f/s", p.Tally.Delivered, float64(p.Tally.Delivered)/p.Seconds)
		row("lost / duplicated", "%d / %d (of %d expected; %d deliveries of unacknowledged sends)",
			p.Tally.Lost, p.Tally.Duplicated, p.Tally.Expected, p.Tally.Unacked)
		lat("ack latency", &p.Ack)
		lat("send→deliver", &p.Deliver)
		if cpu := r.ServerAfter.CPUSeconds - r.ServerReady.CPUSeconds; o.ServerPID != 0 && p.Tally.Delivered > 0 {
			row("server CPU", "%.2f s: %.2f µs per delivery, %.2f µs per send, %.0f%% of one core",
				cpu, cpu*1e6/float64(p.Tally.Delivered), cpu*1e6/float64(max(p.Sends, 1)), 100*cpu/p.Seconds)
		}
	case "history":
		row("pages", "%d of %d messages, %.0f/s, %d errors", p.Pages, o.PageSize, float64(p.Pages)/p.Seconds, p.PageErrors)
		lat("page latency", &p.Page)
		if cpu := r.ServerAfter.CPUSeconds - r.ServerReady.CPUSeconds; o.ServerPID != 0 && p.Pages > 0 {
			row("server CPU", "%.2f s: %.0f µs per page", cpu, cpu*1e6/float64(p.Pages))
		}
	}
	if o.ServerPID != 0 {
		row("server RSS after", "%d KiB", r.ServerAfter.RSSKiB)
	}
}
