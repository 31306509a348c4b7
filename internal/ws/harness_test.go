package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/fanout/local"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// waitFor bounds every wait of these tests; none sleeps.
const waitFor = 20 * time.Second

// env is a real server: SQLite in a temporary directory, the in-process
// bus behind a wrapper that can drop notices, the hub and the handler on
// an httptest server.
type env struct {
	t     testing.TB
	store chat.Store
	bus   *dropBus
	svc   *chat.Service
	hub   *hub.Hub
	h     *Handler
	srv   *httptest.Server
	url   string
}

type envOptions struct {
	ws  Options
	hub hub.Options
}

func newEnv(t testing.TB, configure ...func(*envOptions)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{
		Path: filepath.Join(t.TempDir(), "parley.db"), Durability: sqlite.DurabilityRelaxed,
	})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	bus := &dropBus{Bus: local.New()}
	svc := chat.NewService(chat.Options{
		Store: st, Bus: bus, Log: log,
		Hasher: chat.NewHasher(4, chat.HashCost{Time: 1, Memory: 64}),
	})
	var o envOptions
	for _, f := range configure {
		f(&o)
	}
	o.hub.Store, o.hub.Bus, o.hub.Log = st, bus, log
	hb := hub.New(o.hub)
	hb.Start()
	o.ws.Service, o.ws.Hub, o.ws.Log = svc, hb, log
	h := NewHandler(o.ws)
	mux := http.NewServeMux()
	mux.Handle("GET /api/v1/ws", h)
	srv := httptest.NewServer(mux)
	e := &env{t: t, store: st, bus: bus, svc: svc, hub: hb, h: h, srv: srv,
		url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/api/v1/ws"}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.h.Shutdown(ctx); err != nil {
		e.t.Errorf("shutdown: %v", err)
	}
	e.hub.Close()
	e.srv.Close()
	e.store.Close()
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// dropBus is the in-process bus, except that it drops the notices drop
// says to.
type dropBus struct {
	*local.Bus
	mu   sync.Mutex
	drop func(chat.Notice) bool
}

func (b *dropBus) Publish(ctx context.Context, n chat.Notice) error {
	b.mu.Lock()
	drop := b.drop != nil && b.drop(n)
	b.mu.Unlock()
	if drop {
		return nil
	}
	return b.Bus.Publish(ctx, n)
}

func (b *dropBus) dropIf(f func(chat.Notice) bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.drop = f
}

// person is a registered user and one of their tokens.
type person struct {
	chat.Auth
	token string
}

func (e *env) register(name string) person {
	e.t.Helper()
	ctx := context.Background()
	_, token, err := e.svc.Register(ctx, chat.Registration{Username: name, Password: "password-" + name})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.auth(token)
}

func (e *env) login(name string) person {
	e.t.Helper()
	_, token, err := e.svc.Login(context.Background(), name, "password-"+name)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.auth(token)
}

func (e *env) auth(token string) person {
	e.t.Helper()
	a, err := e.svc.Authenticate(context.Background(), token)
	if err != nil {
		e.t.Fatal(err)
	}
	return person{Auth: a, token: token}
}

func (e *env) room(owner person, name string, members ...person) string {
	e.t.Helper()
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = m.User.ID
	}
	v, _, err := e.svc.CreateRoom(context.Background(), owner.Auth, chat.NewRoom{Kind: chat.KindGroup, Name: name, MemberIDs: ids})
	if err != nil {
		e.t.Fatal(err)
	}
	return v.ID
}

func (e *env) send(p person, roomID, text string) chat.Message {
	e.t.Helper()
	m, _, err := e.svc.Send(context.Background(), p.Auth, roomID, text, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

func (e *env) lastSeq(roomID string) int64 {
	e.t.Helper()
	seqs, err := e.store.LastSeqs(context.Background(), []string{roomID})
	if err != nil {
		e.t.Fatal(err)
	}
	return seqs[roomID]
}

// frame is any frame from the server.
type frame struct {
	Type         string        `json:"type"`
	Ref          string        `json:"ref"`
	User         *chat.User    `json:"user"`
	ConnectionID string        `json:"connection_id"`
	Event        *chat.Event   `json:"event"`
	Message      *chat.Message `json:"message"`
	HasMore      []string      `json:"has_more"`
	Error        *struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		RetryAfter int    `json:"retry_after"`
	} `json:"error"`
}

// client is a test connection; a goroutine reads its frames.
type client struct {
	t      testing.TB
	c      *websocket.Conn
	frames chan frame
	err    error // why reading stopped, once frames is closed
	ready  frame
}

func (e *env) dial(p person) *client {
	e.t.Helper()
	c := e.dialRaw(http.Header{"Authorization": {"Bearer " + p.token}})
	c.ready = c.next()
	if c.ready.Type != TypeReady || c.ready.User == nil || c.ready.User.ID != p.User.ID || c.ready.ConnectionID == "" {
		e.t.Fatalf("first frame %+v, want ready for %s", c.ready, p.User.ID)
	}
	return c
}

func (e *env) dialRaw(header http.Header) *client {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	wc, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		e.t.Fatal(err)
	}
	wc.SetReadLimit(1 << 20)
	c := &client{t: e.t, c: wc, frames: make(chan frame, 8192)}
	go c.read()
	e.t.Cleanup(func() { wc.CloseNow() })
	return c
}

func (c *client) read() {
	defer close(c.frames)
	for {
		_, data, err := c.c.Read(context.Background())
		if err != nil {
			c.err = err
			return
		}
		var f frame
		if err := json.Unmarshal(data, &f); err != nil {
			c.err = fmt.Errorf("undecodable frame %q: %w", data, err)
			return
		}
		if stateFrames[f.Type] {
			// Conversation state, which these tests do not look at.
			continue
		}
		c.frames <- f
	}
}

func (c *client) write(v any) {
	c.t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			c.t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := c.c.Write(ctx, websocket.MessageText, b); err != nil {
		c.t.Fatal(err)
	}
}

// stateFrames are the frame types of conversation state (receipts,
// unread counts, notifications, typing, presence); tests of delivery skip
// them, as clients may.
var stateFrames = map[string]bool{
	"receipt": true, "unread": true, "notification": true, "typing": true, "presence": true,
}

// next returns the next frame, failing the test if none comes in time.
func (c *client) next() frame {
	c.t.Helper()
	select {
	case f, ok := <-c.frames:
		if !ok {
			c.t.Fatalf("connection ended: %v", c.err)
		}
		return f
	case <-time.After(waitFor):
		c.t.Fatal("no frame in time")
	}
	return frame{}
}

// reply returns the frame that answers ref, collecting the events that
// come before it into events.
func (c *client) reply(ref string, events *[]chat.Event) frame {
	c.t.Helper()
	for {
		f := c.next()
		switch {
		case f.Type == TypeEvent && events != nil:
			*events = append(*events, *f.Event)
		case f.Type == TypeEvent:
		case f.Ref == ref:
			return f
		default:
			c.t.Fatalf("unexpected frame %+v while waiting for %q", f, ref)
		}
	}
}

// eventsUntil collects events until one of roomID reaches seq.
func (c *client) eventsUntil(roomID string, seq int64) []chat.Event {
	c.t.Helper()
	var evs []chat.Event
	for {
		f := c.next()
		if f.Type != TypeEvent {
			continue
		}
		evs = append(evs, *f.Event)
		if f.Event.RoomID == roomID && f.Event.Seq >= seq {
			return evs
		}
	}
}

// closeCode waits for the connection to end and returns its close code.
func (c *client) closeCode() websocket.StatusCode {
	c.t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case _, ok := <-c.frames:
			if !ok {
				return websocket.CloseStatus(c.err)
			}
		case <-deadline:
			c.t.Fatal("connection did not close in time")
		}
	}
}

// checkOnce fails unless evs holds, for roomID, exactly the seqs from..to
// once each and in order.
func checkOnce(t *testing.T, who string, evs []chat.Event, roomID string, from, to int64) {
	t.Helper()
	want := from
	for _, ev := range evs {
		if ev.RoomID != roomID {
			continue
		}
		if ev.Seq != want {
			t.Fatalf("%s: got seq %d of room %s, want %d", who, ev.Seq, roomID, want)
		}
		want++
	}
	if want != to+1 {
		t.Fatalf("%s: got seqs %d..%d of room %s, want up to %d", who, from, want-1, roomID, to)
	}
}

// poll waits until ok is true.
func poll(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.After(waitFor)
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for !ok() {
		select {
		case <-tick.C:
		case <-deadline:
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}
