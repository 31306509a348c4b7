package ws

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

// BenchmarkDelivery measures delivery end to end: events published on the
// bus reach 100 connections of a room through the hub, the writers and
// real sockets. The clients are bare connections that count frames. One op
// is one event; deliveries/s counts frames received.
func BenchmarkDelivery(b *testing.B) {
	const members = 100
	e := newEnv(b, func(o *envOptions) {
		// The clients do not answer pings.
		o.ws.PingInterval, o.ws.PongTimeout = time.Hour, 2*time.Hour
	})
	people := make([]person, members)
	for i := range people {
		people[i] = e.register(fmt.Sprint("user", i))
	}
	room := e.room(people[0], "big", people[1:]...)
	addr := strings.TrimPrefix(e.srv.URL, "http://")

	received := make([]atomic.Int64, members)
	var wg sync.WaitGroup
	conns := make([]net.Conn, members)
	for i, p := range people {
		c, err := rawDial(addr, p.token)
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		wg.Add(1)
		go func() {
			defer wg.Done()
			countFrames(c, &received[i])
		}()
	}
	// behind returns a connection that has fewer than events frames, or -1.
	behind := func(events int) int {
		for i := range received {
			if received[i].Load() < int64(events) {
				return i
			}
		}
		return -1
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
		wg.Wait()
	}()

	head := e.lastSeq(room)
	msg := chat.Message{ID: "m", RoomID: room, SenderID: people[0].User.ID,
		Text: "a message of a typical length, give or take a few words", CreatedAt: time.Now().UTC()}
	ctx := context.Background()
	// Keep at most window events in flight per connection, well within the
	// queue: a publisher faster than the sockets would (rightly) get the
	// connections closed as too slow.
	const window = 256
	wait := func(events int) {
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		deadline := time.After(time.Minute)
		for i := behind(events); i >= 0; i = behind(events) {
			select {
			case <-tick.C:
			case <-deadline:
				b.Fatalf("connection %d received %d frames, want %d", i, received[i].Load(), events)
			}
		}
	}
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		if i >= window {
			wait(i - window)
		}
		m := msg
		m.Seq = head + int64(i) + 1
		ev := chat.Event{RoomID: room, Seq: m.Seq, Type: chat.EventMessageCreated,
			ActorID: m.SenderID, CreatedAt: m.CreatedAt, Message: &m}
		e.bus.Publish(ctx, chat.Notice{Event: &ev})
	}
	wait(b.N)
	elapsed := time.Since(start)
	b.StopTimer()
	want := int64(b.N) * members
	b.ReportMetric(float64(want)/elapsed.Seconds(), "deliveries/s")
}

// countFrames counts the server's frames on c until it closes.
func countFrames(c net.Conn, n *atomic.Int64) {
	br := bufio.NewReaderSize(c, 64<<10)
	var h [8]byte
	for {
		if _, err := io.ReadFull(br, h[:2]); err != nil {
			return
		}
		size := int64(h[1] & 0x7f)
		switch size {
		case 126:
			if _, err := io.ReadFull(br, h[:2]); err != nil {
				return
			}
			size = int64(binary.BigEndian.Uint16(h[:2]))
		case 127:
			if _, err := io.ReadFull(br, h[:8]); err != nil {
				return
			}
			size = int64(binary.BigEndian.Uint64(h[:8]))
		}
		if _, err := br.Discard(int(size)); err != nil {
			return
		}
		n.Add(1)
	}
}

// BenchmarkDecodeFrame measures the strict decoding of a send frame, which
// every message costs the server once.
func BenchmarkDecodeFrame(b *testing.B) {
	frame := []byte(`{"type":"send","ref":"r-42","room_id":"06h3r7x1q2w3e4r5t6y7u8i9o0",` +
		`"text":"pb sender-3 1234 1764780000000000000 hello there","client_id":"c-1234"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeFrame(frame); err != nil {
			b.Fatal(err)
		}
	}
}
