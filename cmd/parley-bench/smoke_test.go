package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/server"
)

// TestFanoutSmoke runs a tiny fan-out against an in-process server and
// checks that every acknowledged message reached every member once, with
// either kind of receiver.
func TestFanoutSmoke(t *testing.T) {
	for _, recv := range []string{"client", "raw"} {
		t.Run(recv, func(t *testing.T) { fanoutSmoke(t, recv) })
	}
}

func fanoutSmoke(t *testing.T, receivers string) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(t.Context(), config.Config{DataDir: t.TempDir()}, log,
		server.Deps{HashCost: chat.HashCost{Time: 1, Memory: 64}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})

	o, err := parseOptions("fanout", []string{"--targets", hs.URL, "--rooms", "2", "--members", "3",
		"--senders", "2", "--rate", "100", "--duration", "500ms", "--drain", "2s",
		"--receivers", receivers}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := drive(t.Context(), o, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	tl := rep.Tally
	if tl.Acked < 20 || rep.SendErrors != 0 {
		t.Fatalf("acked %d sends with %d errors, want about 50 and none", tl.Acked, rep.SendErrors)
	}
	if tl.Lost != 0 || tl.Duplicated != 0 || tl.Expected != 3*tl.Acked || tl.Delivered != tl.Expected {
		t.Errorf("tally %+v: want every message delivered to its 3 members once", tl)
	}
	if p99 := rep.Deliver.Quantile(0.99); p99 <= 0 || p99 > 5*time.Second {
		t.Errorf("p99 send→deliver = %v", p99)
	}
	f := figuresOf(o, rep)
	if want := float64(tl.Delivered) / rep.Seconds; f.SendsPerSec <= 0 || f.DeliveriesPerSec != want {
		t.Errorf("figures %+v: want deliveries/s %v", f, want)
	}
}

func TestScanBench(t *testing.T) {
	frame := []byte(`{"type":"event","event":{"message":{"text":"pb 7 42 1700000000000000000 a message"}}}`)
	from, n, sent, ok := scanBench(frame)
	if !ok || from != 7 || n != 42 || sent != 1700000000000000000 {
		t.Errorf("scanBench = %d, %d, %d, %v", from, n, sent, ok)
	}
	for _, f := range []string{`{"type":"ready"}`, `{"text":"pb 7 x 1 a"}`, `{"text":"pb 7 42"}`} {
		if _, _, _, ok := scanBench([]byte(f)); ok {
			t.Errorf("scanBench(%s) found a bench message", f)
		}
	}
}

// Options that cannot make a meaningful run are refused before any set-up.
func TestOptionsRefused(t *testing.T) {
	for _, args := range [][]string{
		{"fanout", "--rate", "-5"},
		{"fanout", "--rooms", "0"},
		{"fanout", "--find-max", "--rate", "0"},
		{"fanout", "--find-max", "--procs", "2"},
		{"persistence", "--receivers", "json"},
		{"connections", "--sessions", "0"},
		{"connections", "--connect-rate", "-1"},
		{"history", "--readers", "0"},
		{"history", "--page", "201"},
		{"history", "--messages", "0"},
		{"history", "--duration", "0s"},
		{"chat"},
	} {
		if _, err := parseOptions(args[0], args[1:], io.Discard); err == nil {
			t.Errorf("%q accepted", args)
		}
	}
	if _, err := parseOptions("history", []string{"--page", "200", "--readers", "1"}, io.Discard); err != nil {
		t.Errorf("a page of 200 refused: %v", err)
	}
}

// Help lists the scenarios on stdout and succeeds; no scenario is a usage
// error.
func TestUsage(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"-h"}, &out, &errOut); err != nil {
		t.Errorf("-h: %v", err)
	}
	for _, s := range []string{"connections", "fanout", "persistence", "history", "SCENARIO -h"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("help does not mention %q:\n%s", s, out.String())
		}
	}
	if err := run(t.Context(), nil, io.Discard, io.Discard); !errors.Is(err, errUsage) {
		t.Errorf("no arguments: %v, want the usage error", err)
	}
	if err := run(t.Context(), []string{"fanout", "-h"}, io.Discard, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("fanout -h: %v, want flag.ErrHelp", err)
	}
}
