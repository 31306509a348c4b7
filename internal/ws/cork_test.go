package ws

import (
	"net"
	"strings"
	"testing"
)

// TestCorkConn checks that corked writes leave in one write, in order,
// and that uncorked writes pass straight through.
func TestCorkConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &corkConn{Conn: a}
	got := make(chan string, 4)
	go func() {
		buf := make([]byte, 1<<10)
		for {
			n, err := b.Read(buf)
			if err != nil {
				close(got)
				return
			}
			got <- string(buf[:n])
		}
	}()

	c.cork()
	for _, s := range []string{"one ", "two ", "three"} {
		if n, err := c.Write([]byte(s)); err != nil || n != len(s) {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if err := c.uncork(); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "one two three" {
		t.Errorf("corked writes arrived as %q, want one write", s)
	}
	if _, err := c.Write([]byte("four")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "four" {
		t.Errorf("uncorked write arrived as %q", s)
	}
	if err := c.uncork(); err != nil {
		t.Errorf("uncork with nothing gathered: %v", err)
	}
}

// TestCorkConnFlushesLargeBatches checks that a batch is written out once
// it reaches corkFlushAt, so a burst holds a bounded buffer.
func TestCorkConnFlushesLargeBatches(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	c := &corkConn{Conn: a}
	total := make(chan int, 1)
	go func() {
		buf := make([]byte, corkFlushAt*4)
		n := 0
		for {
			k, err := b.Read(buf)
			n += k
			if err != nil {
				total <- n
				return
			}
		}
	}()
	c.cork()
	big := strings.Repeat("x", corkFlushAt/4+1)
	for range 4 {
		if _, err := c.Write([]byte(big)); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	held := c.buf
	c.mu.Unlock()
	if held != nil {
		t.Errorf("%d bytes still held after passing corkFlushAt", len(*held))
	}
	c.uncork()
	a.Close()
	if n := <-total; n != 4*len(big) {
		t.Errorf("read %d bytes, want %d", n, 4*len(big))
	}
}
