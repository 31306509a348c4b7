package ws

import (
	"net"
	"sync"
)

// corkConn lets the writer send several WebSocket messages in one network
// write. The WebSocket library flushes each message with a write of its
// own; between cork and uncork, writes are gathered in a pooled buffer and
// uncork sends them in one. Under fan-out a session often has several
// frames queued, and a write system call per frame was the largest cost of
// a delivery (see docs/benchmarks.md). Frames and their order are
// unchanged: only the number of writes is.
//
// Writes from other goroutines (pings, a close frame) made while corked
// join the buffer in the order the library wrote them, and go out with the
// batch; mu also keeps an uncorked write from overtaking a flush.
type corkConn struct {
	net.Conn

	mu     sync.Mutex
	corked bool
	buf    *[]byte // from corkPool while corked and non-empty
}

// corkFlushAt is the most a batch gathers before it is written out, so a
// burst of large frames holds a bounded buffer.
const corkFlushAt = 64 << 10

var corkPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 8<<10)
	return &b
}}

func (c *corkConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.corked {
		return c.Conn.Write(p)
	}
	if c.buf == nil {
		c.buf = corkPool.Get().(*[]byte)
	}
	*c.buf = append(*c.buf, p...)
	if len(*c.buf) >= corkFlushAt {
		if err := c.flushLocked(); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

// cork starts gathering writes.
func (c *corkConn) cork() {
	c.mu.Lock()
	c.corked = true
	c.mu.Unlock()
}

// uncork writes what was gathered in one write and stops gathering.
func (c *corkConn) uncork() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.corked = false
	return c.flushLocked()
}

// flushLocked writes the buffer out and returns it to the pool; c.mu is
// held.
func (c *corkConn) flushLocked() error {
	if c.buf == nil {
		return nil
	}
	b := c.buf
	c.buf = nil
	_, err := c.Conn.Write(*b)
	if cap(*b) <= corkFlushAt*2 {
		*b = (*b)[:0]
		corkPool.Put(b)
	}
	return err
}
