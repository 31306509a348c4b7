package client_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/fanout/local"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/ws"
)

const waitFor = 20 * time.Second

// server is a real server with SQLite, the hub and the WebSocket handler.
type server struct {
	t   *testing.T
	svc *chat.Service
	url string
}

func newServer(t *testing.T) *server {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{
		Path: filepath.Join(t.TempDir(), "parley.db"), Durability: sqlite.DurabilityRelaxed})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := local.New()
	svc := chat.NewService(chat.Options{Store: st, Bus: bus, Log: log,
		Hasher: chat.NewHasher(4, chat.HashCost{Time: 1, Memory: 64})})
	hb := hub.New(hub.Options{Store: st, Bus: bus, Log: log})
	hb.Start()
	h := ws.NewHandler(ws.Options{Service: svc, Hub: hb, Log: log})
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/ws", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		defer cancel()
		h.Shutdown(ctx)
		hb.Close()
		srv.Close()
		st.Close()
	})
	return &server{t: t, svc: svc, url: srv.URL}
}

func (s *server) register(name string) (chat.Auth, string) {
	s.t.Helper()
	_, token, err := s.svc.Register(context.Background(), chat.Registration{Username: name, Password: "password-" + name})
	if err != nil {
		s.t.Fatal(err)
	}
	a, err := s.svc.Authenticate(context.Background(), token)
	if err != nil {
		s.t.Fatal(err)
	}
	return a, token
}

func (s *server) send(a chat.Auth, roomID, text string) int64 {
	s.t.Helper()
	m, _, err := s.svc.Send(context.Background(), a, roomID, text, "")
	if err != nil {
		s.t.Error(err)
	}
	return m.Seq
}

// cutter dials and can cut every connection it made, as a network failure
// would.
type cutter struct {
	mu    sync.Mutex
	conns []net.Conn
	dials int
}

func (c *cutter) client() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err == nil {
			c.mu.Lock()
			c.conns = append(c.conns, nc)
			c.dials++
			c.mu.Unlock()
		}
		return nc, err
	}}}
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nc := range c.conns {
		nc.Close()
	}
	c.conns = nil
}

// collect reads events until one of roomID reaches seq.
func collect(t *testing.T, s *client.Session, roomID string, seq int64, evs *[]client.Event) {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case ev, ok := <-s.Events():
			if !ok {
				t.Fatalf("session ended: %v", s.Err())
			}
			*evs = append(*evs, ev)
			if ev.RoomID == roomID && ev.Seq >= seq {
				return
			}
		case <-deadline:
			t.Fatalf("no event %d of room %s in time", seq, roomID)
		}
	}
}

func checkOnce(t *testing.T, evs []client.Event, roomID string, from, to int64) {
	t.Helper()
	want := from
	for _, ev := range evs {
		if ev.RoomID != roomID {
			continue
		}
		if ev.Seq != want {
			t.Fatalf("got seq %d, want %d", ev.Seq, want)
		}
		want++
	}
	if want != to+1 {
		t.Fatalf("got seqs up to %d, want %d", want-1, to)
	}
}

func options(c *cutter) client.SessionOptions {
	return client.SessionOptions{HTTPClient: c.client(), MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}
}

// Events reach the caller once and in order while the connection is cut
// again and again, and Send works across the cuts.
func TestSessionSurvivesDisconnects(t *testing.T) {
	srv := newServer(t)
	alice, _ := srv.register("alice")
	bob, bobToken := srv.register("bob")
	v, _, err := srv.svc.CreateRoom(context.Background(), alice, chat.NewRoom{Kind: chat.KindGroup, Name: "general", MemberIDs: []string{bob.User.ID}})
	if err != nil {
		t.Fatal(err)
	}
	room := v.ID
	var cut cutter
	s, err := client.DialSession(context.Background(), srv.url, bobToken, options(&cut))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.User().ID != bob.User.ID {
		t.Fatalf("user %+v", s.User())
	}

	var evs []client.Event
	first := srv.send(alice, room, "hello")
	collect(t, s, room, first, &evs)
	var last int64
	for round := range 5 {
		cut.cut()
		for i := range 20 {
			last = srv.send(alice, room, fmt.Sprint(round, " ", i))
		}
		ctx, cancel := context.WithTimeout(context.Background(), waitFor)
		m, err := s.Send(ctx, room, fmt.Sprint("bob ", round), "")
		cancel()
		if err != nil || m.SenderID != bob.User.ID {
			t.Fatalf("send: %+v, %v", m, err)
		}
		last = max(last, m.Seq)
		collect(t, s, room, last, &evs)
	}
	checkOnce(t, evs, room, first, last)
	if got := s.LastSeqs()[room]; got != last {
		t.Fatalf("LastSeqs says %d, want %d", got, last)
	}
	if cut.dials < 6 {
		t.Fatalf("only %d dials", cut.dials)
	}
}

// A session given the last seqs it had resumes from them, past the
// server's replay bound.
func TestSessionResumesFromLastSeqs(t *testing.T) {
	srv := newServer(t)
	alice, aliceToken := srv.register("alice")
	v, _, err := srv.svc.CreateRoom(context.Background(), alice, chat.NewRoom{Kind: chat.KindGroup, Name: "general"})
	if err != nil {
		t.Fatal(err)
	}
	room := v.ID
	from := srv.send(alice, room, "seen")
	var last int64
	for i := range 1100 {
		last = srv.send(alice, room, fmt.Sprint("missed ", i))
	}
	var cut cutter
	s, err := client.DialSession(context.Background(), srv.url, aliceToken, client.SessionOptions{
		HTTPClient: cut.client(), LastSeqs: map[string]int64{room: from}, Buffer: 2000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var evs []client.Event
	collect(t, s, room, last, &evs)
	next := srv.send(alice, room, "live")
	collect(t, s, room, next, &evs)
	checkOnce(t, evs, room, from+1, next)
}

// A revoked token ends the session for good; a bad one fails the dial.
func TestSessionEndsOnRevocation(t *testing.T) {
	srv := newServer(t)
	alice, token := srv.register("alice")
	var cut cutter
	s, err := client.DialSession(context.Background(), srv.url, token, options(&cut))
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.svc.Logout(context.Background(), alice); err != nil {
		t.Fatal(err)
	}
	select {
	case <-s.Done():
	case <-time.After(waitFor):
		t.Fatal("session still running")
	}
	if !errors.Is(s.Err(), client.ErrUnauthorized) {
		t.Fatalf("ended with %v", s.Err())
	}
	if _, ok := <-s.Events(); ok {
		t.Fatal("events channel still open")
	}
	if cut.dials != 1 {
		t.Fatalf("%d dials: reconnected after 4001", cut.dials)
	}
	if _, err := client.DialSession(context.Background(), srv.url, token, client.SessionOptions{}); !errors.Is(err, client.ErrUnauthorized) {
		t.Fatalf("dial with a revoked token: %v", err)
	}
}

// A refused send is a *FrameError with the server's code.
func TestSessionSendError(t *testing.T) {
	srv := newServer(t)
	_, token := srv.register("alice")
	s, err := client.DialSession(context.Background(), srv.url, token, client.SessionOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Send(context.Background(), "no-such-room", "hi", "")
	var fe *client.FrameError
	if !errors.As(err, &fe) || fe.Code != "not_found" {
		t.Fatalf("got %v", err)
	}
	if err := s.Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
}
