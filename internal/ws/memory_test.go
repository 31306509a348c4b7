package ws

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// BenchmarkIdleSessionMemory measures what an idle session costs the
// server: heap and goroutine stacks per connection, after the ready frame.
// The clients are bare TCP connections that did the handshake by hand, so
// they add next to nothing to the measurement. One op is one session.
func BenchmarkIdleSessionMemory(b *testing.B) {
	e := newEnv(b)
	alice := e.register("alice")
	bob := e.register("bob")
	e.room(alice, "one", bob)
	e.room(alice, "two", bob)
	addr := strings.TrimPrefix(e.srv.URL, "http://")

	n := max(b.N, 1000)
	conns := make([]net.Conn, 0, n)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	before := liveBytes()
	b.ResetTimer()
	for i := range n {
		p := alice
		if i%2 == 1 {
			p = bob
		}
		c, err := rawDial(addr, p.token)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	b.StopTimer()
	after := liveBytes()
	b.ReportMetric(float64(after-before)/float64(n), "bytes/session")
	b.ReportMetric(0, "ns/op")
}

func liveBytes() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// rawDial opens a WebSocket with a hand-written handshake and reads the
// ready frame.
func rawDial(addr, token string) (net.Conn, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(c, "GET /api/v1/ws HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"+
		"Authorization: Bearer %s\r\n\r\n", addr, token)
	br := bufio.NewReaderSize(c, 512)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		c.Close()
		return nil, err
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		c.Close()
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	var h [2]byte
	if _, err := io.ReadFull(br, h[:]); err != nil {
		c.Close()
		return nil, err
	}
	size := int(h[1] & 0x7f)
	if size == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(br, ext[:]); err != nil {
			c.Close()
			return nil, err
		}
		size = int(ext[0])<<8 | int(ext[1])
	}
	if _, err := io.CopyN(io.Discard, br, int64(size)); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}
