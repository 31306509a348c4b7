package main

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/server"
)

// TestFanoutSmoke runs a tiny fan-out against an in-process server and
// checks that every acknowledged message reached every member once.
func TestFanoutSmoke(t *testing.T) {
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
		"--senders", "2", "--rate", "100", "--duration", "500ms", "--drain", "2s"}, io.Discard)
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
}
