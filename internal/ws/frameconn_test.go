package ws

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"testing"
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
