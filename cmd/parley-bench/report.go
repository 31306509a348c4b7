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

// Figures are the rates and costs derived from a report, as the table
// shows them; the JSON output carries them next to the raw counts. A
// figure that does not apply, or whose inputs were not measured (server
// usage without --server-pid), is zero.
type Figures struct {
	ConnectRate float64 `json:"connect_rate,omitempty"` // sessions/s
	// RSSPerSessionKiB is the growth of the server's RSS while connecting,
	// divided by the sessions opened.
	RSSPerSessionKiB  float64 `json:"rss_per_session_kib,omitempty"`
	CPUPerSessionUS   float64 `json:"cpu_per_session_us,omitempty"`
	SendsPerSec       float64 `json:"sends_per_s,omitempty"`
	DeliveriesPerSec  float64 `json:"deliveries_per_s,omitempty"`
	CPUPerDeliveryUS  float64 `json:"cpu_per_delivery_us,omitempty"`
	CPUPerSendUS      float64 `json:"cpu_per_send_us,omitempty"`
	PagesPerSec       float64 `json:"pages_per_s,omitempty"`
	CPUPerPageUS      float64 `json:"cpu_per_page_us,omitempty"`
	ServerCPUSeconds  float64 `json:"server_cpu_seconds,omitempty"` // over the load (connections: while connecting)
	ServerCoreShare   float64 `json:"server_core_share,omitempty"`  // of one core, over the load
	ConnectedSessions int     `json:"connected_sessions,omitempty"`
}

// figuresOf derives r's figures.
func figuresOf(o Options, r *Report) Figures {
	var f Figures
	p := &r.Part
	measured := o.ServerPID != 0
	per := func(x float64, n int64) float64 {
		if n <= 0 {
			return 0
		}
		return x / float64(n)
	}
	switch o.Scenario {
	case "connections":
		ok := p.Sessions - p.ConnectFailures
		f.ConnectedSessions = ok
		f.ConnectRate = float64(ok) / p.ConnectSeconds
		if measured {
			// Connecting includes the TCP accept, the upgrade, the token
			// look-up and loading the rooms; pings while held are not in it.
			f.ServerCPUSeconds = r.ServerReady.CPUSeconds - r.ServerBefore.CPUSeconds
			f.RSSPerSessionKiB = per(float64(r.ServerReady.RSSKiB-r.ServerBefore.RSSKiB), int64(ok))
			f.CPUPerSessionUS = per(f.ServerCPUSeconds*1e6, int64(ok))
		}
	case "fanout", "persistence":
		f.SendsPerSec = float64(p.Sends) / p.Seconds
		f.DeliveriesPerSec = float64(p.Tally.Delivered) / p.Seconds
		if measured {
			f.ServerCPUSeconds = r.ServerAfter.CPUSeconds - r.ServerReady.CPUSeconds
			f.CPUPerDeliveryUS = per(f.ServerCPUSeconds*1e6, p.Tally.Delivered)
			f.CPUPerSendUS = per(f.ServerCPUSeconds*1e6, p.Sends)
			f.ServerCoreShare = f.ServerCPUSeconds / p.Seconds
		}
	case "history":
		f.PagesPerSec = float64(p.Pages) / p.Seconds
		if measured {
			f.ServerCPUSeconds = r.ServerAfter.CPUSeconds - r.ServerReady.CPUSeconds
			f.CPUPerPageUS = per(f.ServerCPUSeconds*1e6, p.Pages)
			f.ServerCoreShare = f.ServerCPUSeconds / p.Seconds
		}
	}
	return f
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
	f := figuresOf(o, r)
	measured := o.ServerPID != 0
	row("scenario", "%s (%d process(es), targets %v)", o.Scenario, o.Procs, o.Targets)
	switch o.Scenario {
	case "connections":
		row("sessions", "%d opened of %d, %d failed", f.ConnectedSessions, p.Sessions, p.ConnectFailures)
		row("connect rate", "%.0f sessions/s (over %.2f s)", f.ConnectRate, p.ConnectSeconds)
		lat("connect latency", &p.Connect)
		row("held", "%d sessions after %v, %d reconnects", p.Held, o.Duration, p.Reconnects)
		if measured && f.ConnectedSessions > 0 {
			row("server RSS", "%d KiB before, %d KiB with sessions open: %.1f KiB per session",
				r.ServerBefore.RSSKiB, r.ServerReady.RSSKiB, f.RSSPerSessionKiB)
			row("server CPU", "%.2f s while connecting: %.0f µs per session", f.ServerCPUSeconds, f.CPUPerSessionUS)
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
		} else {
			row("target", "none: closed loop, %d sends in flight per sender; latency below is mostly their queueing", o.Inflight)
		}
		row("sends", "%d acknowledged, %.0f/s, %d errors", p.Sends, f.SendsPerSec, p.SendErrors)
		row("deliveries", "%d, %.0f/s", p.Tally.Delivered, f.DeliveriesPerSec)
		row("lost / duplicated", "%d / %d (of %d expected; %d deliveries of unacknowledged sends)",
			p.Tally.Lost, p.Tally.Duplicated, p.Tally.Expected, p.Tally.Unacked)
		lat("ack latency", &p.Ack)
		lat("send→deliver", &p.Deliver)
		if measured && p.Tally.Delivered > 0 {
			row("server CPU", "%.2f s: %.2f µs per delivery, %.2f µs per send, %.0f%% of one core",
				f.ServerCPUSeconds, f.CPUPerDeliveryUS, f.CPUPerSendUS, 100*f.ServerCoreShare)
		}
	case "history":
		row("pages", "%d of %d messages, %.0f/s, %d errors", p.Pages, o.PageSize, f.PagesPerSec, p.PageErrors)
		lat("page latency", &p.Page)
		if measured && p.Pages > 0 {
			row("server CPU", "%.2f s: %.0f µs per page", f.ServerCPUSeconds, f.CPUPerPageUS)
		}
	}
	if measured && o.Scenario != "connections" {
		row("server RSS", "%d KiB after set-up, %d KiB ready (sessions connected), %d KiB after the load",
			r.ServerBefore.RSSKiB, r.ServerReady.RSSKiB, r.ServerAfter.RSSKiB)
	} else if measured {
		row("server RSS after", "%d KiB", r.ServerAfter.RSSKiB)
	}
}
