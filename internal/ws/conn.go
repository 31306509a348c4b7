package ws

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/hub"
)

// closeInternal is the close code of an unexpected server failure.
const closeInternal = int(websocket.StatusInternalError)

// conn is one WebSocket connection. The HTTP handler's goroutine
// authenticates and connects it to the hub, then hands it to a fresh
// reader goroutine, which answers frames in order, and returns. The
// handler's goroutine, its deep stack and the request's state are not kept
// for the life of the connection, which keeps an idle connection small.
// For the same reason the writer, which writes what the hub session
// queues, runs only while there is something to write: the session's wake
// starts it, and it ends once the queue stays empty (see wake). A timer
// sends pings.
type conn struct {
	h     *Handler
	ws    *websocket.Conn
	nc    *frameConn
	id    string
	auth  chat.Auth
	token string
	// revocations is the hub's count of revocations read before the token
	// was checked.
	revocations uint64
	// session is set once connected to the hub; guarded by h.mu.
	session *hub.Session

	// The writer's state, guarded by wmu. The session's lock is taken
	// before wmu (wake is called under it), never after.
	wmu      sync.Mutex
	wsess    *hub.Session // set once the connection may write
	wrunning bool         // a writer goroutine is running
	wagain   bool         // woken while running, or before wsess was set
	wstopped bool         // no writer may start: the connection is closing
	writers  sync.WaitGroup

	// deadlineMu orders read deadline changes, so that a frame read just
	// as Shutdown interrupts the reader cannot extend the deadline again.
	deadlineMu sync.Mutex
	draining   bool // Shutdown has begun: answer the frame in hand, then close

	typingSt typingState

	pingMu      sync.Mutex
	pingStopped bool
	pingTimer   *time.Timer
	pings       sync.WaitGroup
}

// ctx bounds the service calls of every connection: Shutdown cancels it
// when it gives up waiting.
func (c *conn) ctx() context.Context { return c.h.ctx }

// start authenticates (by frame, unless the header did), connects to the
// hub, sends ready and starts the reader and writer. It reports whether
// they run; if not, the connection is closed.
func (c *conn) start(authed bool) bool {
	c.ws.SetReadLimit(c.h.o.ReadLimit)
	ref := ""
	if !authed {
		var ok bool
		if ref, ok = c.authenticate(); !ok {
			c.ws.CloseNow()
			return false
		}
	}
	s, err := c.h.hub.Connect(c.ctx(), c.auth, hub.SessionOptions{
		ID: c.id, QueueSize: c.h.o.QueueSize, WriteNow: c.nc.tryWrite, Wake: c.wake,
	})
	if err != nil {
		c.fail("ws connect failed", err)
		return false
	}
	// A token revoked after Authenticate but before Connect registered the
	// session was revoked before the hub could see it. Revocations are
	// rare, so the token is checked again only if the hub handled one
	// meanwhile: a second look-up on every connect cost a sixth of it.
	if c.h.hub.Revocations() != c.revocations {
		_, err = c.h.svc.Authenticate(c.ctx(), c.token)
	}
	ok := false
	switch {
	case errors.Is(err, chat.ErrUnauthorized):
		c.closeWith(CloseUnauthorized, "token revoked")
	case err != nil:
		c.fail("ws authenticate failed", err)
	case !c.h.attach(c, s):
		c.closeWith(CloseGoingAway, "server shutting down")
	case s.Closing().Code != 0:
		// Revoked while connecting.
		cl := s.Closing()
		c.closeWith(cl.Code, cl.Reason)
	default:
		ok = true
	}
	if !ok {
		c.h.hub.Disconnect(s)
		c.ws.CloseNow()
		return false
	}

	u := c.auth.User
	s.Ready(encode(serverFrame{Type: TypeReady, User: &u, ConnectionID: c.id}))
	if ref != "" {
		s.Reply(c.ctx(), encode(serverFrame{Type: TypeAck, Ref: ref}))
	}
	c.h.log.Debug("ws connected", "connection_id", c.id, "user_id", u.ID)
	c.startWriting(s)
	go c.run(s)
	return true
}

// run reads until the connection or the session ends, then tears down.
func (c *conn) run(s *hub.Session) {
	defer c.h.remove(c)
	c.startPings()
	err := c.readLoop(s)
	if c.isDraining() {
		// The writer writes what is queued, the last reply included, and
		// closes with 1001.
		s.Close(CloseGoingAway, "server shutting down")
		c.writers.Wait()
	}
	c.stopWriting()
	c.ws.CloseNow()
	c.stopPings()
	c.stopTyping()
	c.h.hub.Disconnect(s)
	cl := s.Closing()
	u := c.auth.User
	c.h.log.Debug("ws closed", "connection_id", c.id, "user_id", u.ID,
		"code", cl.Code, "reason", cl.Reason, "read_err", err)
	if cl.Code == CloseTooSlow {
		c.h.log.Warn("ws closed a client that could not keep up", "connection_id", c.id, "user_id", u.ID)
	}
}

// authenticate reads the auth frame, which must come first and in time.
// It returns the frame's ref.
func (c *conn) authenticate() (string, bool) {
	timedOut := make(chan struct{})
	t := time.AfterFunc(c.h.o.AuthTimeout, func() {
		defer close(timedOut)
		c.closeWith(CloseAuthTimeout, "authentication timeout")
	})
	typ, data, err := c.ws.Read(context.Background())
	if !t.Stop() {
		<-timedOut
		return "", false
	}
	if err != nil {
		return "", false
	}
	f, err := DecodeFrame(data)
	if err != nil || f.Type != TypeAuth || typ != websocket.MessageText {
		c.closeWith(CloseUnauthorized, "authentication required")
		return "", false
	}
	c.revocations = c.h.hub.Revocations()
	a, err := c.h.svc.Authenticate(c.ctx(), f.Token)
	if errors.Is(err, chat.ErrUnauthorized) {
		c.closeWith(CloseUnauthorized, "invalid token")
		return "", false
	}
	if err != nil {
		c.fail("ws authenticate failed", err)
		return "", false
	}
	c.auth, c.token = a, f.Token
	return f.Ref, true
}

// fail logs an unexpected failure and closes the connection.
func (c *conn) fail(msg string, err error) {
	if c.ctx().Err() == nil {
		c.h.log.Error(msg, "connection_id", c.id, "user_id", c.auth.User.ID, "err", err)
	}
	c.closeWith(closeInternal, "internal error")
	c.ws.CloseNow()
}

// closeWith closes the connection with a close handshake bounded by the
// write timeout.
func (c *conn) closeWith(code int, reason string) {
	deadline := time.Now().Add(c.h.o.WriteTimeout)
	c.nc.SetWriteDeadline(deadline)
	c.nc.SetReadDeadline(deadline)
	c.ws.Close(websocket.StatusCode(code), reason)
}

// readLoop reads and answers frames until the connection or the session
// ends.
func (c *conn) readLoop(s *hub.Session) error {
	for {
		c.alive()
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			return err
		}
		c.alive()
		if typ != websocket.MessageText {
			err = c.reply(s, "", chat.Errorf(chat.CodeInvalidRequest, "frames are JSON text"))
		} else {
			err = c.handle(s, data)
		}
		if err != nil || c.isDraining() {
			return err
		}
	}
}

// alive extends the read deadline: a connection that sends nothing, not
// even a pong, for the pong timeout is closed.
func (c *conn) alive() {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	if !c.draining {
		c.nc.SetReadDeadline(time.Now().Add(c.h.o.PongTimeout))
	}
}

// drain stops the reader after the frame it is answering, if any; the
// connection then closes with 1001 once its replies are written.
func (c *conn) drain() {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	c.draining = true
	c.nc.SetReadDeadline(time.Now())
}

func (c *conn) isDraining() bool {
	c.deadlineMu.Lock()
	defer c.deadlineMu.Unlock()
	return c.draining
}

func (c *conn) onPong(context.Context, []byte) {
	if c.nc != nil {
		c.alive()
	}
}

// handle answers one frame. It returns an error only when the session is
// over.
func (c *conn) handle(s *hub.Session, data []byte) error {
	f, err := DecodeFrame(data)
	if err != nil {
		return c.reply(s, f.Ref, err)
	}
	switch f.Type {
	case TypePing:
		return s.Reply(c.ctx(), encode(serverFrame{Type: TypePong, Ref: f.Ref}))
	case TypeSend:
		msg, _, err := c.h.svc.Send(c.ctx(), c.auth, f.RoomID, f.Text, f.ClientID)
		if err != nil {
			return c.reply(s, f.Ref, err)
		}
		return s.Reply(c.ctx(), encode(serverFrame{Type: TypeAck, Ref: f.Ref, Message: &msg}))
	case TypeResume:
		return c.resume(s, f)
	case TypeRead:
		return c.read(s, f)
	case TypeTyping:
		return c.typing(s, f)
	case TypeAuth:
		return c.reply(s, f.Ref, chat.Errorf(chat.CodeInvalidRequest, "already authenticated"))
	}
	t := f.Type
	if len(t) > 64 {
		t = t[:64]
	}
	return c.reply(s, f.Ref, chat.Errorf(chat.CodeUnknownType, "unknown frame type %q", t))
}

func (c *conn) resume(s *hub.Session, f Frame) error {
	for id, seq := range f.Rooms {
		if seq < 0 {
			return c.reply(s, f.Ref, chat.Invalid("rooms", "invalid", "seq of room "+truncate(id, 64)+" is negative"))
		}
	}
	more, err := s.Resume(c.ctx(), f.Rooms, c.h.o.ResumeLimit)
	if err != nil {
		return c.reply(s, f.Ref, err)
	}
	return s.Reply(c.ctx(), encode(serverFrame{Type: TypeAck, Ref: f.Ref, HasMore: more}))
}

// reply sends err to the client as an error frame. An error that is not
// public is logged and sent as internal; one that means the session is
// over is returned instead.
func (c *conn) reply(s *hub.Session, ref string, err error) error {
	if errors.Is(err, hub.ErrClosed) || c.ctx().Err() != nil {
		return err
	}
	e, ok := chat.Public(err)
	if !ok {
		c.h.log.Error("ws request failed", "connection_id", c.id, "user_id", c.auth.User.ID, "ref", ref, "err", err)
		e = chat.Errorf(chat.CodeInternal, "internal error")
	}
	return s.Reply(c.ctx(), errorFrame(ref, e))
}

// startWriting lets the session's wakes start the writer, and starts it
// for what was queued before, such as the ready frame.
func (c *conn) startWriting(s *hub.Session) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.wsess = s
	if c.wagain {
		c.wagain = false
		c.spawnWriterLocked()
	}
}

// wake is the session's wake (hub.SessionOptions.Wake), called with the
// session's lock held: it starts a writer unless one is running, in which
// case that writer takes the queue once more before it ends.
func (c *conn) wake() {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	switch {
	case c.wstopped:
	case c.wrunning || c.wsess == nil:
		c.wagain = true
	default:
		c.spawnWriterLocked()
	}
}

// spawnWriterLocked starts a writer. The caller holds wmu.
func (c *conn) spawnWriterLocked() {
	c.wrunning = true
	c.writers.Add(1)
	go c.writeLoop(c.wsess)
}

// stopWriting keeps writers from starting and waits for the running one,
// which finishes its write, and takes once more if it was woken meanwhile
// (see endWriter).
func (c *conn) stopWriting() {
	c.wmu.Lock()
	c.wstopped = true
	c.wmu.Unlock()
	c.writers.Wait()
}

// writeLoop writes the frames the session queues, a batch per take, until
// the queue stays empty, and closes the connection when the session closes.
// A wake during a take makes it take again, so no frame queued before it
// ends is left unwritten.
func (c *conn) writeLoop(s *hub.Session) {
	defer c.writers.Done()
	var batch [][]byte
	for {
		c.wmu.Lock()
		c.wagain = false
		c.wmu.Unlock()

		frames, cl, err := c.nc.writeTaken(s, batch)
		if err != nil {
			c.h.log.Debug("ws write failed", "connection_id", c.id, "err", err)
			s.Close(CloseGoingAway, "write failed")
			c.ws.CloseNow()
			c.endWriter(true)
			return
		}
		clear(frames)
		batch = frames[:0]
		if cl.Code != 0 {
			c.closeWith(cl.Code, cl.Reason)
			c.endWriter(true)
			return
		}
		if c.endWriter(false) {
			return
		}
	}
}

// endWriter ends the running writer if final or if it was not woken
// during its take, and reports whether it did. A writer woken during its
// take takes again even once stopWriting has begun: the wake may be the
// session's close, whose code the client must get, and after stopWriting
// no wake sets wagain, so that is one take more at most. It must not be
// called with the session's lock held.
func (c *conn) endWriter(final bool) bool {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if final {
		c.wstopped = true
	}
	if c.wagain && !final {
		return false
	}
	c.wrunning = false
	return true
}

// startPings pings every ping interval; the pong extends the read
// deadline.
func (c *conn) startPings() {
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	c.pingTimer = time.AfterFunc(c.h.o.PingInterval, c.ping)
}

func (c *conn) ping() {
	c.pingMu.Lock()
	if c.pingStopped {
		c.pingMu.Unlock()
		return
	}
	c.pings.Add(1)
	c.pingMu.Unlock()
	defer c.pings.Done()

	// Ping returns once the pong arrives or the connection closes.
	if err := c.ws.Ping(context.Background()); err != nil {
		return
	}
	c.pingMu.Lock()
	defer c.pingMu.Unlock()
	if !c.pingStopped {
		c.pingTimer.Reset(c.h.o.PingInterval)
	}
}

// stopPings stops the pings; the connection must be closed, so that a ping
// waiting for its pong returns.
func (c *conn) stopPings() {
	c.pingMu.Lock()
	c.pingStopped = true
	c.pingTimer.Stop()
	c.pingMu.Unlock()
	c.pings.Wait()
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
