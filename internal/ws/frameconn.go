package ws

import (
	"encoding/binary"
	"errors"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/parley-chat/parley/internal/hub"
)

// frameConn is the network connection under a WebSocket. The writer writes
// its data frames here itself, a batch of queued frames in one network
// write: the WebSocket library flushes each message with a write system
// call of its own, and under fan-out that call, plus the library's locking
// per message, was the largest cost of a delivery (docs/benchmarks.md).
// Frames are unchanged: one final, unmasked text frame per message (RFC
// 6455, section 5.2), as the library would write them.
//
// The library still writes the control frames (ping, pong, close) through
// Write, each a whole frame in one call since it flushes its buffer after
// every control frame. mu keeps data and control frames whole and in
// order, and no data frame follows a close frame.
//
// Every write is bounded by timeout, but the deadline moves only when less
// than half of it is left (see arm), so a write may fail after between half
// and all of timeout without progress. Setting it per batch, and clearing it
// after so that the library's pings would not meet a stale one, was an
// eighth of the writer's time under fan-out.
//
// tryWrite writes a frame from the hub's delivery without blocking, when
// the connection is idle: see hub.SessionOptions.WriteNow. What it cannot
// write at once it keeps in rest, which every later write sends first.
type frameConn struct {
	net.Conn
	timeout time.Duration   // zero: no deadline
	raw     syscall.RawConn // nil: no writes without blocking

	mu        sync.Mutex
	closeSent bool
	deadline  time.Time // the write deadline arm last set
	rest      []byte    // the unwritten end of a frame tryWrite began
}

func newFrameConn(c net.Conn, timeout time.Duration) *frameConn {
	return &frameConn{Conn: c, timeout: timeout, raw: rawConn(c)}
}

// arm makes sure the write about to start has at least half of the timeout
// before its deadline. The caller holds mu. Others may set a later
// deadline directly (closeWith does), never an earlier one, so the
// deadline remembered is never later than the connection's.
func (c *frameConn) arm() {
	if c.timeout <= 0 {
		return
	}
	now := time.Now()
	if c.deadline.Sub(now) >= c.timeout/2 {
		return
	}
	c.deadline = now.Add(c.timeout)
	c.Conn.SetWriteDeadline(c.deadline)
}

// errCloseSent is returned by writeText once the close frame is written.
var errCloseSent = errors.New("ws: close frame already sent")

// flushAt is the most a batch gathers before it is written out, so a burst
// of large frames holds a bounded buffer.
const flushAt = 64 << 10

var framePool = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

// Write writes a frame of the library's.
func (c *frameConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(p) > 0 && p[0]&0x0f == opClose {
		c.closeSent = true
	}
	c.arm()
	if err := c.flushRest(); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// flushRest writes what tryWrite left of a frame. The caller holds mu.
func (c *frameConn) flushRest() error {
	if len(c.rest) == 0 {
		return nil
	}
	_, err := c.Conn.Write(c.rest)
	c.rest = nil
	return err
}

// tryWrite writes payload as a text message if it can do so at once: if
// nothing else is being written and nothing is left over, it makes one
// write system call that does not wait for the socket. Whatever part of
// the frame that call could not write is kept in rest.
func (c *frameConn) tryWrite(payload []byte) hub.WriteResult {
	if c.raw == nil || !c.mu.TryLock() {
		return hub.NotWritten
	}
	defer c.mu.Unlock()
	if c.closeSent || len(c.rest) > 0 {
		return hub.NotWritten
	}
	// The write does not wait, but the descriptor refuses every write
	// once the deadline has passed, as it has on a connection idle for
	// longer than the timeout.
	c.arm()
	bp := framePool.Get().(*[]byte)
	b := appendTextFrame((*bp)[:0], payload)
	res := hub.Written
	switch n := writeNoWait(c.raw, b); {
	case n <= 0:
		res = hub.NotWritten
	case n < len(b):
		c.rest = append([]byte(nil), b[n:]...)
		res = hub.WrittenPartly
	}
	if cap(b) <= 2*flushAt {
		*bp = b[:0]
		framePool.Put(bp)
	}
	return res
}

// opClose is the opcode of a close frame.
const opClose = 0x8

// writeTaken takes the session's queued frames and writes them, holding
// mu from before the take to the end of the write, so that tryWrite cannot
// put a newer frame ahead of them. It returns the frames for reuse.
func (c *frameConn) writeTaken(s *hub.Session, dst [][]byte) ([][]byte, hub.Closing, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	frames, cl := s.Take(dst)
	return frames, cl, c.writeTextLocked(frames)
}

// writeText writes each of payloads as a text message, in as few network
// writes as flushAt allows.
func (c *frameConn) writeText(payloads [][]byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.writeTextLocked(payloads)
}

func (c *frameConn) writeTextLocked(payloads [][]byte) error {
	if len(payloads) == 0 && len(c.rest) == 0 {
		return nil
	}
	if c.closeSent {
		return errCloseSent
	}
	c.arm()
	if err := c.flushRest(); err != nil {
		return err
	}
	bp := framePool.Get().(*[]byte)
	b := (*bp)[:0]
	var err error
	for i, p := range payloads {
		b = appendTextFrame(b, p)
		if len(b) >= flushAt || i == len(payloads)-1 {
			if _, err = c.Conn.Write(b); err != nil {
				break
			}
			b = b[:0]
		}
	}
	if cap(b) <= 2*flushAt {
		*bp = b[:0]
		framePool.Put(bp)
	}
	return err
}

// appendTextFrame appends to b a final, unmasked text frame carrying p.
func appendTextFrame(b, p []byte) []byte {
	b = append(b, 0x80|0x1) // FIN, text
	switch n := len(p); {
	case n <= 125:
		b = append(b, byte(n))
	case n <= 0xffff:
		b = binary.BigEndian.AppendUint16(append(b, 126), uint16(n))
	default:
		b = binary.BigEndian.AppendUint64(append(b, 127), uint64(n))
	}
	return append(b, p...)
}
