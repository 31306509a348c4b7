package client

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Errors that end a Session for good.
var (
	// ErrUnauthorized: the token is invalid, expired or revoked (close
	// code 4001, or HTTP 401 when dialling). Sign in again.
	ErrUnauthorized = errors.New("parley: token invalid, expired or revoked")
	// ErrDeactivated: the account is deactivated (close code 4003).
	ErrDeactivated = errors.New("parley: account deactivated")
	// ErrSessionClosed: Close was called.
	ErrSessionClosed = errors.New("parley: session closed")
)

// Close codes of the WebSocket protocol (docs/protocol.md).
const (
	CloseGoingAway    = 1001
	CloseTooSlow      = 4000
	CloseUnauthorized = 4001
	CloseDeactivated  = 4003
	CloseRateLimited  = 4008
	CloseAuthTimeout  = 4009
)

// FrameError is an error frame from the server. Its codes are those of the
// REST API's errors.
type FrameError struct {
	Code    string                `json:"code"`
	Message string                `json:"message"`
	Fields  map[string]FieldError `json:"fields,omitempty"`
	// RetryAfter says, for rate_limited, how many seconds to wait.
	RetryAfter int `json:"retry_after,omitempty"`
}

func (e *FrameError) Error() string { return "parley: " + e.Code + ": " + e.Message }

// SessionOptions configures a Session. The zero value works.
type SessionOptions struct {
	// LastSeqs maps room ids to the last seq the caller already has, such
	// as what it saved from LastSeqs before it stopped. The session resumes
	// those rooms from there and drops what it would get twice.
	LastSeqs map[string]int64
	// OnEvent, if set, is called with every event, in seq order per room,
	// on the session's reading goroutine; Events then returns nil. It must
	// not block for long: the server closes a connection that does not
	// keep up (the session then reconnects and resumes).
	OnEvent func(Event)
	// Buffer is the capacity of the Events channel. Default 256.
	Buffer int
	// MinBackoff and MaxBackoff bound the wait before reconnecting, which
	// doubles after each failure, with jitter. Defaults 500ms and 30s.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// RateLimitBackoff is the least wait after a 4008 close. Default 10s.
	RateLimitBackoff time.Duration
	// HTTPClient dials; nil means http.DefaultClient.
	HTTPClient *http.Client
	// Log receives reconnects and protocol oddities; nil discards them.
	Log *slog.Logger
}

// Session is a WebSocket connection to Parley that survives disconnects:
// it reconnects with back-off, resumes every room it has seen from the last
// seq it delivered, and drops what it already delivered, so that each
// event reaches the caller once and in seq order per room. It stops for
// good on a revoked token (4001) or a deactivated account (4003). A room
// that is still behind after a resume (has_more) is resumed again until it
// is caught up. Its methods are safe for concurrent use.
type Session struct {
	url    string
	token  string
	o      SessionOptions
	log    *slog.Logger
	events chan Event
	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	done   chan struct{}

	mu        sync.Mutex
	conn      *websocket.Conn // nil while disconnected
	connected chan struct{}   // closed while conn is set
	user      User
	connID    string
	last      map[string]int64           // last seq delivered, per room
	ahead     map[string]map[int64]Event // events past a gap, per room
	resumes   map[string][]string        // rooms of each resume in flight, by ref
	resuming  map[string]int             // resumes in flight, per room
	waiters   map[string]chan wireFrame  // replies awaited, by ref
	nextRef   int
	err       error
}

// wireFrame is any frame, in either direction.
type wireFrame struct {
	Type         string           `json:"type"`
	Ref          string           `json:"ref,omitempty"`
	User         *User            `json:"user,omitempty"`
	ConnectionID string           `json:"connection_id,omitempty"`
	Event        *Event           `json:"event,omitempty"`
	Message      *Message         `json:"message,omitempty"`
	HasMore      []string         `json:"has_more,omitempty"`
	Error        *FrameError      `json:"error,omitempty"`
	RoomID       string           `json:"room_id,omitempty"`
	Text         string           `json:"text,omitempty"`
	ClientID     string           `json:"client_id,omitempty"`
	Rooms        map[string]int64 `json:"rooms,omitempty"`
}

// lost is what a reply waiter gets when its connection dropped.
var lost = wireFrame{Type: "lost"}

// maxAhead bounds the events kept past a gap in one room; beyond it they
// are dropped and come again with the resume that fills the gap.
const maxAhead = 10000

// DialSession connects to the server at baseURL (such as
// https://chat.example.com) with token and returns once the server is
// ready. It fails if that first connection fails; later ones are retried.
func DialSession(ctx context.Context, baseURL, token string, o SessionOptions) (*Session, error) {
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.RateLimitBackoff <= 0 {
		o.RateLimitBackoff = 10 * time.Second
	}
	s := &Session{url: wsURL(baseURL), token: token, o: o, log: o.Log,
		connected: make(chan struct{}), last: map[string]int64{}, ahead: map[string]map[int64]Event{},
		resumes: map[string][]string{}, resuming: map[string]int{}, waiters: map[string]chan wireFrame{}, done: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	for id, seq := range o.LastSeqs {
		s.last[id] = seq
	}
	if o.OnEvent == nil {
		s.events = make(chan Event, o.Buffer)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	c, err := s.connect(ctx)
	if err != nil {
		s.cancel()
		return nil, err
	}
	go s.run(c)
	return s, nil
}

func wsURL(base string) string {
	base = strings.TrimRight(base, "/")
	switch {
	case strings.HasPrefix(base, "https://"):
		base = "wss://" + strings.TrimPrefix(base, "https://")
	case strings.HasPrefix(base, "http://"):
		base = "ws://" + strings.TrimPrefix(base, "http://")
	}
	return base + "/api/v1/ws"
}

// Events returns the channel of events, closed when the session ends; nil
// if SessionOptions.OnEvent is set.
func (s *Session) Events() <-chan Event { return s.events }

// Done is closed when the session has ended; Err then says why.
func (s *Session) Done() <-chan struct{} { return s.done }

// Err returns why the session ended, or nil while it runs.
func (s *Session) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// ConnectionID returns the server's id of the current or last connection.
func (s *Session) ConnectionID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connID
}

// User returns the signed-in user, as the server last said.
func (s *Session) User() User {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.user
}

// LastSeqs returns the last seq delivered per room, to be saved and given
// back in SessionOptions.LastSeqs next time.
func (s *Session) LastSeqs() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]int64, len(s.last))
	for id, seq := range s.last {
		m[id] = seq
	}
	return m
}

// Close ends the session and waits until it has stopped.
func (s *Session) Close() error {
	s.cancel()
	<-s.done
	return nil
}

// Send posts a message and returns it as committed. If the connection
// drops before the server acknowledges it, Send sends it again on the next
// connection with the same client id, so that it is stored once; an empty
// clientID is replaced by a random one for that reason. It returns a
// *FrameError if the server refuses the message.
func (s *Session) Send(ctx context.Context, roomID, text, clientID string) (Message, error) {
	if clientID == "" {
		var b [16]byte
		crand.Read(b[:])
		clientID = hex.EncodeToString(b[:])
	}
	for {
		f, err := s.request(ctx, wireFrame{Type: "send", RoomID: roomID, Text: text, ClientID: clientID})
		switch {
		case err != nil:
			return Message{}, err
		case f.Type == lost.Type:
			continue
		case f.Error != nil:
			return Message{}, f.Error
		case f.Type != "ack" || f.Message == nil:
			return Message{}, fmt.Errorf("parley: unexpected reply %q to send", f.Type)
		}
		return *f.Message, nil
	}
}

// Ping asks the server for a pong and waits for it.
func (s *Session) Ping(ctx context.Context) error {
	for {
		f, err := s.request(ctx, wireFrame{Type: "ping"})
		switch {
		case err != nil:
			return err
		case f.Type == lost.Type:
			continue
		case f.Error != nil:
			return f.Error
		}
		return nil
	}
}

// request sends f with a fresh ref once connected and waits for the reply,
// or lost if the connection dropped first.
func (s *Session) request(ctx context.Context, f wireFrame) (wireFrame, error) {
	c, ch, err := s.await(ctx, &f)
	if err != nil {
		return wireFrame{}, err
	}
	defer s.forget(f.Ref)
	if err := s.write(ctx, c, f); err != nil {
		if ctx.Err() != nil {
			return wireFrame{}, ctx.Err()
		}
		return lost, nil
	}
	select {
	case r := <-ch:
		return r, nil
	case <-ctx.Done():
		return wireFrame{}, ctx.Err()
	case <-s.done:
		return wireFrame{}, s.Err()
	}
}

// await waits for a connection and registers a waiter for f's reply
// under a new ref.
func (s *Session) await(ctx context.Context, f *wireFrame) (*websocket.Conn, chan wireFrame, error) {
	for {
		s.mu.Lock()
		c, ready := s.conn, s.connected
		if c != nil {
			s.nextRef++
			f.Ref = "c" + strconv.Itoa(s.nextRef)
			ch := make(chan wireFrame, 1)
			s.waiters[f.Ref] = ch
			s.mu.Unlock()
			return c, ch, nil
		}
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-s.done:
			return nil, nil, s.Err()
		}
	}
}

func (s *Session) forget(ref string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.waiters, ref)
}

func (s *Session) write(ctx context.Context, c *websocket.Conn, f wireFrame) error {
	b, err := json.Marshal(f)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

// connect dials and waits for the ready frame.
func (s *Session) connect(ctx context.Context) (*websocket.Conn, error) {
	c, resp, err := websocket.Dial(ctx, s.url, &websocket.DialOptions{
		HTTPClient: s.o.HTTPClient,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + s.token}},
	})
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, ErrUnauthorized
		}
		if resp != nil && resp.StatusCode >= 400 {
			data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
			return nil, fmt.Errorf("parley: dial: %w", decodeError(resp, data))
		}
		return nil, fmt.Errorf("parley: dial: %w", err)
	}
	c.SetReadLimit(1 << 20)
	_, data, err := c.Read(ctx)
	if err != nil {
		c.CloseNow()
		return nil, closeErr(err)
	}
	var f wireFrame
	if err := json.Unmarshal(data, &f); err != nil || f.Type != "ready" || f.User == nil {
		c.CloseNow()
		return nil, fmt.Errorf("parley: expected a ready frame, got %.100q", data)
	}
	s.mu.Lock()
	s.user, s.connID = *f.User, f.ConnectionID
	s.mu.Unlock()
	return c, nil
}

// closeErr turns the end of a connection into the error that ends the
// session, or returns err unchanged if the session should reconnect.
func closeErr(err error) error {
	switch websocket.CloseStatus(err) {
	case CloseUnauthorized:
		return fmt.Errorf("%w: %v", ErrUnauthorized, err)
	case CloseDeactivated:
		return fmt.Errorf("%w: %v", ErrDeactivated, err)
	}
	return err
}

func terminal(err error) bool {
	return errors.Is(err, ErrUnauthorized) || errors.Is(err, ErrDeactivated)
}

// run serves connections until the session ends.
func (s *Session) run(c *websocket.Conn) {
	defer close(s.done)
	attempt := 0
	for {
		err := s.serve(c)
		c.CloseNow()
		if s.ctx.Err() != nil {
			s.end(ErrSessionClosed)
			return
		}
		err = closeErr(err)
		if terminal(err) {
			s.end(err)
			return
		}
		var wait time.Duration
		if websocket.CloseStatus(err) == CloseRateLimited {
			wait = s.o.RateLimitBackoff
		}
		for {
			wait = max(wait, s.backoff(attempt))
			attempt++
			s.log.Info("parley session reconnecting", "after", wait, "err", err)
			t := time.NewTimer(wait)
			select {
			case <-s.ctx.Done():
				t.Stop()
				s.end(ErrSessionClosed)
				return
			case <-t.C:
			}
			if c, err = s.connect(s.ctx); err == nil {
				attempt = 0
				break
			}
			switch {
			case s.ctx.Err() != nil:
				s.end(ErrSessionClosed)
				return
			case terminal(err):
				s.end(err)
				return
			}
			wait = 0
		}
	}
}

// backoff returns the wait before reconnect attempt n: exponential, with
// jitter so that clients dropped together do not return together.
func (s *Session) backoff(n int) time.Duration {
	d := s.o.MinBackoff << min(n, 20)
	if d <= 0 || d > s.o.MaxBackoff {
		d = s.o.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

func (s *Session) end(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
	if s.events != nil {
		close(s.events)
	}
}

// serve reads one connection until it ends. It resumes every room it knows
// first.
func (s *Session) serve(c *websocket.Conn) error {
	s.mu.Lock()
	s.conn = c
	close(s.connected)
	s.resumes, s.resuming = map[string][]string{}, map[string]int{}
	rooms := make(map[string]int64, len(s.last))
	for id, seq := range s.last {
		rooms[id] = seq
	}
	s.mu.Unlock()
	defer s.disconnected()

	stop := context.AfterFunc(s.ctx, func() { c.Close(websocket.StatusNormalClosure, "bye") })
	defer stop()
	if len(rooms) > 0 {
		if err := s.resume(c, rooms); err != nil {
			return err
		}
	}
	for {
		_, data, err := c.Read(context.Background())
		if err != nil {
			return err
		}
		var f wireFrame
		if err := json.Unmarshal(data, &f); err != nil {
			s.log.Warn("parley: undecodable frame", "err", err)
			continue
		}
		if err := s.handle(c, f); err != nil {
			return err
		}
	}
}

// disconnected fails the replies still awaited, so that their requests are
// retried on the next connection.
func (s *Session) disconnected() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conn = nil
	s.connected = make(chan struct{})
	for ref, ch := range s.waiters {
		ch <- lost
		delete(s.waiters, ref)
	}
}

// resume asks for the events after the given seqs. Its ack comes back to
// handle under a ref starting with "r".
func (s *Session) resume(c *websocket.Conn, rooms map[string]int64) error {
	s.mu.Lock()
	s.nextRef++
	ref := "r" + strconv.Itoa(s.nextRef)
	ids := make([]string, 0, len(rooms))
	for id := range rooms {
		ids = append(ids, id)
		s.resuming[id]++
	}
	s.resumes[ref] = ids
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(s.ctx, time.Minute)
	defer cancel()
	return s.write(ctx, c, wireFrame{Type: "resume", Ref: ref, Rooms: rooms})
}

func (s *Session) handle(c *websocket.Conn, f wireFrame) error {
	switch {
	case f.Type == "event" && f.Event != nil:
		return s.receive(c, *f.Event)
	case strings.HasPrefix(f.Ref, "r") && (f.Type == "ack" || f.Type == "error"):
		return s.resumed(c, f)
	case f.Ref != "":
		s.mu.Lock()
		ch := s.waiters[f.Ref]
		delete(s.waiters, f.Ref)
		s.mu.Unlock()
		if ch != nil {
			ch <- f
		}
	case f.Type == "error" && f.Error != nil:
		s.log.Warn("parley: error from server", "code", f.Error.Code, "message", f.Error.Message)
	}
	return nil
}

// receive delivers ev if it is the next of its room, keeps it if it is past
// a gap (and resumes the room to fill it), and drops it if it was
// delivered.
func (s *Session) receive(c *websocket.Conn, ev Event) error {
	s.mu.Lock()
	last, known := s.last[ev.RoomID]
	switch {
	case known && ev.Seq <= last:
		s.mu.Unlock()
		return nil
	case known && ev.Seq > last+1:
		ahead := s.ahead[ev.RoomID]
		if ahead == nil {
			ahead = map[int64]Event{}
			s.ahead[ev.RoomID] = ahead
		}
		if len(ahead) < maxAhead {
			ahead[ev.Seq] = ev
		}
		fill := s.resuming[ev.RoomID] == 0
		s.mu.Unlock()
		if fill {
			return s.resume(c, map[string]int64{ev.RoomID: last})
		}
		return nil
	}
	s.mu.Unlock()
	return s.deliver(ev)
}

// deliver hands ev and the kept events that follow it to the caller.
func (s *Session) deliver(ev Event) error {
	for {
		s.mu.Lock()
		s.last[ev.RoomID] = ev.Seq
		s.mu.Unlock()
		if s.o.OnEvent != nil {
			s.o.OnEvent(ev)
		} else {
			select {
			case s.events <- ev:
			case <-s.ctx.Done():
				return s.ctx.Err()
			}
		}
		s.mu.Lock()
		ahead := s.ahead[ev.RoomID]
		next, ok := ahead[ev.Seq+1]
		delete(ahead, ev.Seq+1)
		if len(ahead) == 0 {
			delete(s.ahead, ev.RoomID)
		}
		s.mu.Unlock()
		if !ok {
			return nil
		}
		ev = next
	}
}

// resumed handles the answer to a resume: rooms with more to replay are
// resumed again; a gap the replay did not fill (which the server's
// guarantees rule out) is skipped rather than waited on forever.
func (s *Session) resumed(c *websocket.Conn, f wireFrame) error {
	if f.Error != nil {
		s.log.Warn("parley: resume refused", "code", f.Error.Code, "message", f.Error.Message)
	}
	more := map[string]bool{}
	for _, id := range f.HasMore {
		more[id] = true
	}
	s.mu.Lock()
	again := map[string]int64{}
	var skip []Event
	for _, id := range s.resumes[f.Ref] {
		s.resuming[id]--
		switch {
		case more[id]:
			again[id] = s.last[id]
		case s.resuming[id] > 0:
		case len(s.ahead[id]) > 0:
			ahead := s.ahead[id]
			first := int64(-1)
			for seq := range ahead {
				if first < 0 || seq < first {
					first = seq
				}
			}
			s.log.Warn("parley: gap not filled by resume; skipping it", "room_id", id, "from", s.last[id]+1, "to", first-1)
			skip = append(skip, ahead[first])
			delete(ahead, first)
		}
		if s.resuming[id] == 0 {
			delete(s.resuming, id)
		}
	}
	delete(s.resumes, f.Ref)
	s.mu.Unlock()
	for _, ev := range skip {
		if err := s.deliver(ev); err != nil {
			return err
		}
	}
	if len(again) > 0 {
		return s.resume(c, again)
	}
	return nil
}
