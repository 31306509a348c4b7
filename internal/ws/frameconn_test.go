package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/hub"
)

// readTextFrame reads one server frame and returns its payload, failing
// unless it is a final, unmasked text frame.
func readTextFrame(t *testing.T, r io.Reader) []byte {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	if h[0] != 0x81 || h[1]&0x80 != 0 {
		t.Fatalf("frame header %#x %#x: want final text, unmasked", h[0], h[1])
	}
	n := uint64(h[1])
	switch n {
	case 126:
		var b [2]byte
		io.ReadFull(r, b[:])
		n = uint64(binary.BigEndian.Uint16(b[:]))
	case 127:
		var b [8]byte
		io.ReadFull(r, b[:])
		n = binary.BigEndian.Uint64(b[:])
	}
	p := make([]byte, n)
	if _, err := io.ReadFull(r, p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFrameConnWritesBatches checks the framing of every payload length
// class and that a batch of small frames leaves in one write.
func TestFrameConnWritesBatches(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &frameConn{Conn: a}
	payloads := [][]byte{[]byte("one"), bytes.Repeat([]byte("m"), 125), bytes.Repeat([]byte("x"), 126),
		bytes.Repeat([]byte("y"), 70000), []byte(`{"type":"pong"}`)}
	errc := make(chan error, 1)
	go func() { errc <- c.writeText(payloads[:2]) }()
	buf := make([]byte, 1<<10)
	n, err := b.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2+3+2+125 {
		t.Errorf("first read got %d bytes, want both small frames in one write", n)
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	r := bytes.NewReader(buf[:n])
	for _, p := range payloads[:2] {
		if got := readTextFrame(t, r); !bytes.Equal(got, p) {
			t.Errorf("payload %.20q, want %.20q", got, p)
		}
	}

	go func() { errc <- c.writeText(payloads[2:]) }()
	for _, p := range payloads[2:] {
		if got := readTextFrame(t, b); !bytes.Equal(got, p) {
			t.Errorf("payload of %d bytes, want %d", len(got), len(p))
		}
	}
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

// TestFrameConnNoDataAfterClose checks that once the library has written
// a close frame, no data frame follows it.
func TestFrameConnNoDataAfterClose(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &frameConn{Conn: a}
	go io.Copy(io.Discard, b)
	if _, err := c.Write([]byte{0x89, 0}); err != nil { // ping
		t.Fatal(err)
	}
	if err := c.writeText([][]byte{[]byte("x")}); err != nil {
		t.Fatalf("writeText after a ping: %v", err)
	}
	if _, err := c.Write([]byte{0x88, 2, 0x03, 0xe8}); err != nil { // close 1000
		t.Fatal(err)
	}
	if err := c.writeText([][]byte{[]byte("x")}); !errors.Is(err, errCloseSent) {
		t.Errorf("writeText after close = %v, want errCloseSent", err)
	}
}

// tcpPair returns the two ends of a loopback TCP connection.
func tcpPair(t *testing.T) (server, client net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, _ := ln.Accept()
		accepted <- c
	}()
	client, err = net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server = <-accepted
	if server == nil {
		t.Fatal("accept failed")
	}
	t.Cleanup(func() { server.Close(); client.Close() })
	return server, client
}

// A connection idle past its write deadline still takes a frame at once:
// tryWrite moves the deadline before writing.
func TestTryWriteAfterDeadline(t *testing.T) {
	server, client := tcpPair(t)
	c := newFrameConn(server, time.Minute)
	if c.raw == nil {
		t.Skip("no writes without blocking on this platform")
	}
	past := time.Now().Add(-time.Second)
	c.deadline = past
	c.Conn.SetWriteDeadline(past)
	if got := c.tryWrite([]byte("late")); got != hub.Written {
		t.Fatalf("tryWrite after the deadline: %v, want Written", got)
	}
	if p := readTextFrame(t, client); string(p) != "late" {
		t.Errorf("got %q", p)
	}
}

// When the client sends bytes right behind its upgrade request, the
// server's reader keeps them, and the library's writes still go through
// frameConn, so that a close frame it writes stops the data frames.
func TestHijackWithPipelinedBytes(t *testing.T) {
	type hijacked struct {
		fc    *frameConn
		extra string
	}
	got := make(chan hijacked, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hw := &hijacker{ResponseWriter: w, timeout: time.Minute}
		_, brw, err := hw.Hijack()
		if err != nil {
			t.Error(err)
			got <- hijacked{}
			return
		}
		extra := make([]byte, 5)
		io.ReadFull(brw.Reader, extra)
		brw.Writer.Write([]byte{0x88, 0}) // a close frame, as the library writes it
		brw.Writer.Flush()
		got <- hijacked{hw.conn, string(extra)}
	}))
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\nextra")
	h := <-got
	if h.fc == nil {
		t.FailNow()
	}
	if h.extra != "extra" {
		t.Errorf("bytes after the request: %q, want %q", h.extra, "extra")
	}
	if err := h.fc.writeText([][]byte{[]byte("late")}); !errors.Is(err, errCloseSent) {
		t.Errorf("data frame after the library's close frame: %v, want errCloseSent", err)
	}
}
