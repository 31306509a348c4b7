package server_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/api/openapi"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/server"
)

// cheapHash keeps argon2id real but fast enough for tests that register
// many people.
var cheapHash = chat.HashCost{Time: 1, Memory: 64}

// testServer is a real Parley server on a random port, with a fresh SQLite
// database, checked against the OpenAPI document on every response.
type testServer struct {
	t     *testing.T
	srv   *server.Server
	http  *httptest.Server
	anon  *client.Client
	clock *fakeClock
	seq   atomic.Int64
}

type serverOption func(*config.Config, *server.Deps)

func withClock(c *fakeClock) serverOption {
	return func(_ *config.Config, d *server.Deps) { d.Clock = c }
}

func withConfig(f func(*config.Config)) serverOption {
	return func(c *config.Config, _ *server.Deps) { f(c) }
}

func newTestServer(t *testing.T, opts ...serverOption) *testServer {
	t.Helper()
	cfg := config.Config{DataDir: t.TempDir()}
	deps := server.Deps{HashCost: cheapHash}
	for _, o := range opts {
		o(&cfg, &deps)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(t.Context(), cfg, log, deps)
	if err != nil {
		t.Fatalf("server.New: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	hc := &http.Client{Transport: &specChecker{t: t, next: http.DefaultTransport}, Timeout: 30 * time.Second}
	ts := &testServer{t: t, srv: srv, http: hs, anon: client.New(hs.URL, hc)}
	if c, ok := deps.Clock.(*fakeClock); ok {
		ts.clock = c
	}
	return ts
}

// user registers a new person with a unique name and returns their client.
func (ts *testServer) user(name string) (*client.Client, client.User) {
	ts.t.Helper()
	username := fmt.Sprintf("%s%d", name, ts.seq.Add(1))
	c, u, err := ts.anon.Register(ts.t.Context(), username, "password123", "")
	if err != nil {
		ts.t.Fatalf("register %s: %v", username, err)
	}
	return c, u
}

// specChecker fails the test if any response does not match the OpenAPI
// document: undocumented path, method or status, or a body that does not
// validate against the schema.
type specChecker struct {
	t    *testing.T
	next http.RoundTripper
	mu   sync.Mutex
}

func (s *specChecker) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	// 405 is described once, in the document's introduction, rather than
	// on every path for every method it lacks.
	if undocumented[req.URL.Path] || resp.StatusCode == http.StatusMethodNotAllowed {
		return resp, nil
	}
	if err := openapi.ValidateResponse(req.Method, req.URL.Path, resp.StatusCode, body); err != nil {
		s.t.Errorf("%s %s → %d does not match the OpenAPI document: %v\nbody: %.500s",
			req.Method, req.URL.Path, resp.StatusCode, err, body)
	}
	return resp, nil
}

// undocumented lists the paths tests call on purpose although no API has
// them, to check the answer for unknown endpoints.
var undocumented = map[string]bool{"/api/v1/nothing-here": true}

// fakeClock is a chat.Clock that tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// apiError asserts err is a client.Error with status and code.
func apiError(t *testing.T, err error, status int, code string) *client.Error {
	t.Helper()
	e, ok := err.(*client.Error)
	if !ok {
		t.Fatalf("want %d %s, got %v", status, code, err)
	}
	if e.Status != status || e.Code != code {
		t.Fatalf("want %d %s, got %d %s (%s)", status, code, e.Status, e.Code, e.Message)
	}
	if e.RequestID == "" {
		t.Errorf("error without request_id: %+v", e)
	}
	return e
}

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }
