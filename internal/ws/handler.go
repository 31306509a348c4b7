// Package ws serves Parley's WebSocket protocol at GET /api/v1/ws: one
// connection per device that receives every event of the person's rooms
// live, sends messages, and resumes after a reconnect without loss.
// docs/protocol.md is the protocol's reference; this package is its
// server side, on top of the transport-agnostic hub.
package ws

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
)

// Close codes. They tell the client whether and how to reconnect.
const (
	// CloseGoingAway: the server is shutting down; reconnect and resume.
	CloseGoingAway = hub.CodeGoingAway
	// CloseTooSlow: the client did not read fast enough; reconnect and
	// resume.
	CloseTooSlow = hub.CodeTooSlow
	// CloseUnauthorized: the token is invalid, expired or revoked; do not
	// reconnect with it.
	CloseUnauthorized = hub.CodeRevoked
	// CloseDeactivated: the account is deactivated; do not reconnect.
	// TODO(deactivation): reserved; accounts cannot be deactivated yet.
	CloseDeactivated = 4003
	// CloseRateLimited: too many frames; reconnect after a delay.
	// TODO(ratelimit): reserved; no per-connection frame limit yet.
	CloseRateLimited = 4008
	// CloseAuthTimeout: no authentication within the auth timeout.
	CloseAuthTimeout = 4009
)

// Defaults of Options.
const (
	DefaultAuthTimeout   = 10 * time.Second
	DefaultPingInterval  = 20 * time.Second
	DefaultPongTimeout   = 45 * time.Second
	DefaultWriteTimeout  = 10 * time.Second
	DefaultQueueSize     = hub.DefaultQueueSize
	DefaultReadLimit     = 64 << 10
	DefaultResumeLimit   = 1000
	DefaultTypingTimeout = 6 * time.Second
	// MinResumeLimit is the least replay bound clients may count on.
	MinResumeLimit = 500
)

// Options configures a Handler. Service and Hub are required; a zero
// field means its default.
type Options struct {
	Service *chat.Service
	// Hub must be started; the Handler does not start or close it.
	Hub *hub.Hub
	// AuthTimeout is how long a connection without an Authorization
	// header has to send its auth frame. Default 10s.
	AuthTimeout time.Duration
	// PingInterval is how often the server pings. Default 20s.
	PingInterval time.Duration
	// PongTimeout is how long a connection may stay silent (no frame, no
	// pong) before it is closed. Longer than PingInterval. Default 45s.
	PongTimeout time.Duration
	// WriteTimeout bounds each write (a blocked write fails after between
	// half of it and all of it; see frameConn) and the close handshake.
	// Default 10s.
	WriteTimeout time.Duration
	// QueueSize bounds the frames waiting to be written to one connection;
	// a connection that falls further behind is closed with CloseTooSlow.
	// Default 512.
	QueueSize int
	// ReadLimit bounds an incoming frame, in bytes; a larger one closes
	// the connection with 1009. Default 65536.
	ReadLimit int64
	// ResumeLimit bounds the events replayed per room and resume frame.
	// Default 1000; values below 500 are raised to 500.
	ResumeLimit int
	// TypingTimeout is how long a typing indicator lasts after the last
	// typing frame that refreshed it. Default 6s.
	TypingTimeout time.Duration
	// OriginPatterns lists the hosts, besides the server's own, whose web
	// pages may open connections (see websocket.AcceptOptions).
	OriginPatterns []string
	// Log defaults to slog.Default().
	Log *slog.Logger
}

func (o Options) withDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.AuthTimeout, DefaultAuthTimeout)
	def(&o.PingInterval, DefaultPingInterval)
	def(&o.PongTimeout, DefaultPongTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.TypingTimeout, DefaultTypingTimeout)
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.ReadLimit <= 0 {
		o.ReadLimit = DefaultReadLimit
	}
	if o.ResumeLimit <= 0 {
		o.ResumeLimit = DefaultResumeLimit
	}
	o.ResumeLimit = max(o.ResumeLimit, MinResumeLimit)
	if o.Log == nil {
		o.Log = slog.Default()
	}
	return o
}

// Handler serves GET /api/v1/ws. Mount it on the router, and call Shutdown
// before closing the hub and the store.
type Handler struct {
	o   Options
	svc *chat.Service
	hub *hub.Hub
	log *slog.Logger

	ctx    context.Context // parent of every connection's; cancelled when Shutdown gives up
	cancel context.CancelFunc

	mu       sync.Mutex
	conns    map[*conn]struct{}
	shutdown bool
	wg       sync.WaitGroup
}

// NewHandler returns a Handler.
func NewHandler(o Options) *Handler {
	o = o.withDefaults()
	h := &Handler{o: o, svc: o.Service, hub: o.Hub, log: o.Log, conns: map[*conn]struct{}{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	return h
}

// ServeHTTP authenticates by the Authorization header if there is one,
// upgrades, and serves the connection until it closes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token, hasHeader := bearerToken(r)
	var a chat.Auth
	revocations := h.hub.Revocations()
	switch {
	case !strings.EqualFold(r.Header.Get("Upgrade"), "websocket"):
		writeError(w, http.StatusBadRequest, chat.Errorf(chat.CodeInvalidRequest, "expected a WebSocket upgrade"))
		return
	case hasHeader:
		var err error
		a, err = h.svc.Authenticate(r.Context(), token)
		if errors.Is(err, chat.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeError(w, http.StatusUnauthorized, chat.ErrUnauthorized)
			return
		}
		if err != nil {
			if r.Context().Err() == nil {
				h.log.Error("ws authenticate failed", "request_id", requestID(w), "err", err)
			}
			writeError(w, http.StatusInternalServerError, chat.Errorf(chat.CodeInternal, "internal error"))
			return
		}
	}

	c := &conn{h: h, id: chat.NewID(time.Now()), auth: a, token: token, revocations: revocations}
	if !h.add(c) {
		writeError(w, http.StatusServiceUnavailable, chat.Errorf("unavailable", "the server is shutting down"))
		return
	}
	hw := &hijacker{ResponseWriter: w, timeout: h.o.WriteTimeout}
	wc, err := websocket.Accept(hw, r, &websocket.AcceptOptions{
		OriginPatterns:  h.o.OriginPatterns,
		CompressionMode: websocket.CompressionDisabled,
		OnPongReceived:  c.onPong,
	})
	if err != nil {
		// Accept has answered the request.
		h.log.Debug("ws upgrade refused", "request_id", requestID(w), "err", err)
		h.remove(c)
		return
	}
	h.mu.Lock()
	c.ws, c.nc = wc, hw.conn
	down := h.shutdown
	h.mu.Unlock()
	if down {
		c.closeWith(CloseGoingAway, "server shutting down")
		wc.CloseNow()
		h.remove(c)
		return
	}
	if !c.start(hasHeader) {
		h.remove(c)
	}
}

// add tracks c for Shutdown, unless shutting down.
func (h *Handler) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.shutdown {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1)
	return true
}

func (h *Handler) remove(c *conn) {
	h.mu.Lock()
	delete(h.conns, c)
	h.mu.Unlock()
	h.wg.Done()
}

// attach records c's hub session, which Shutdown closes; it reports false
// if Shutdown has begun, after closing the session.
func (h *Handler) attach(c *conn, s *hub.Session) bool {
	h.mu.Lock()
	c.session = s
	down := h.shutdown
	h.mu.Unlock()
	if down {
		s.Close(CloseGoingAway, "server shutting down")
	}
	return !down
}

// Shutdown refuses new connections and closes every open one with 1001:
// each stops reading, answers the frame it is handling, writes what is
// queued and closes. It then waits until they are gone. If ctx ends first, the remaining connections are dropped
// without a close handshake and ctx's error is returned. The hub may be
// closed once Shutdown returns.
func (h *Handler) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.shutdown = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		h.mu.Lock()
		s, accepted := c.session, c.ws != nil
		h.mu.Unlock()
		switch {
		case s != nil:
			c.drain()
		case accepted:
			// Still authenticating: no writer to do it.
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				c.closeWith(CloseGoingAway, "server shutting down")
			}()
		}
	}

	done := make(chan struct{})
	go func() {
		h.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	h.cancel()
	h.mu.Lock()
	for c := range h.conns {
		if c.ws != nil {
			go c.ws.CloseNow()
		}
	}
	h.mu.Unlock()
	<-done
	return ctx.Err()
}

// hijacker keeps the network connection the WebSocket library takes over,
// so that deadlines can be set on it directly: a deadline per write costs
// no allocation, where a context per write would.
type hijacker struct {
	http.ResponseWriter
	timeout time.Duration // of each write; see frameConn
	conn    *frameConn
}

// Hijack also swaps the server's 4 KiB read and write buffers for smaller
// ones: they are kept for the life of the connection, and most frames are
// far smaller. A larger frame costs an extra system call, not a failure.
// The writer always writes to the connection returned, so that the
// library's control frames go through frameConn; the server's reader is
// kept when it already holds bytes the client sent after its request.
func (w *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := brw.Writer.Flush(); err != nil {
		c.Close()
		return nil, nil, err
	}
	w.conn = newFrameConn(c, w.timeout)
	r := brw.Reader
	if r.Buffered() == 0 {
		r = bufio.NewReaderSize(c, readBuffer)
	}
	return w.conn, bufio.NewReadWriter(r, bufio.NewWriterSize(w.conn, writeBuffer)), nil
}

// Buffer sizes of a connection, kept for its life. A typical client frame
// fits the read buffer; a larger one is read straight from the socket. The
// library writes only control frames (at most 139 bytes) through the write
// buffer: data frames go through frameConn.
const (
	readBuffer  = 512
	writeBuffer = 256
)

// bearerToken returns the token of the Authorization header and whether
// there is such a header. A header that is not a bearer token gives an
// empty token, which does not authenticate.
func bearerToken(r *http.Request) (string, bool) {
	v := r.Header.Get("Authorization")
	if v == "" {
		return "", false
	}
	scheme, token, ok := strings.Cut(v, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", true
	}
	return strings.TrimSpace(token), true
}

// requestID returns the id the API's middleware gave the request, or a new
// one.
func requestID(w http.ResponseWriter) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	var b [8]byte
	rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	w.Header().Set("X-Request-Id", id)
	return id
}

// writeError answers a request that was not upgraded, in the REST API's
// error format.
func writeError(w http.ResponseWriter, status int, e *chat.Error) {
	id := requestID(w)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": e.Code, "message": e.Message, "request_id": id,
	}})
}
