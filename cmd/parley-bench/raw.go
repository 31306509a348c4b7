package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/coder/websocket"
)

// rawReceiver is a session that only receives, for --receivers raw. It
// dials the server's WebSocket with the member's token and, instead of
// decoding each frame as JSON into the client's types, finds a bench
// message's text ("pb SENDER N UNIXNANO") in the frame's bytes. On two
// shared cores the client's full JSON decoding of every delivery cost the
// generator about as much CPU as the server spent delivering; counting this
// way leaves the CPU to the server. It is a counting aid, not a client: no
// resume, no reconnect (a dropped connection shows as lost deliveries and
// is counted as a reconnect), no de-duplication (a frame received twice is
// counted as a duplicate, which is stricter than the client).
type rawReceiver struct {
	c      *websocket.Conn
	closed atomic.Bool
	done   chan struct{}
}

// textMark precedes a bench message's text in an event frame.
var textMark = []byte(`"text":"pb `)

// dialRaw connects as token and calls got with each bench message's
// sender, number and send time until Close.
func dialRaw(ctx context.Context, base string, hc *http.Client, token string, drops *atomic.Int64,
	got func(from, n int32, sent int64)) (*rawReceiver, error) {
	url := "ws" + strings.TrimPrefix(strings.TrimRight(base, "/"), "http") + "/api/v1/ws"
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: hc,
		HTTPHeader: http.Header{"Authorization": {"Bearer " + token}},
	})
	if err != nil {
		return nil, fmt.Errorf("raw dial: %w", err)
	}
	c.SetReadLimit(1 << 20)
	_, data, err := c.Read(ctx)
	if err != nil || !bytes.Contains(data, []byte(`"type":"ready"`)) {
		c.CloseNow()
		return nil, fmt.Errorf("raw dial: expected a ready frame, got %.100q (%v)", data, err)
	}
	r := &rawReceiver{c: c, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		var buf bytes.Buffer
		for {
			_, rd, err := c.Reader(context.Background())
			if err == nil {
				buf.Reset()
				_, err = buf.ReadFrom(rd)
			}
			if err != nil {
				if !r.closed.Load() {
					drops.Add(1)
				}
				return
			}
			if from, n, sent, ok := scanBench(buf.Bytes()); ok {
				got(from, n, sent)
			}
		}
	}()
	return r, nil
}

// scanBench finds a bench message in frame and parses its sender, number
// and send time.
func scanBench(frame []byte) (from, n int32, sent int64, ok bool) {
	i := bytes.Index(frame, textMark)
	if i < 0 {
		return 0, 0, 0, false
	}
	rest := frame[i+len(textMark):]
	var v [3]int64
	for k := range v {
		j := bytes.IndexByte(rest, ' ')
		if j < 0 {
			return 0, 0, 0, false
		}
		x, err := strconv.ParseInt(string(rest[:j]), 10, 64)
		if err != nil {
			return 0, 0, 0, false
		}
		v[k], rest = x, rest[j+1:]
	}
	return int32(v[0]), int32(v[1]), v[2], true
}

func (r *rawReceiver) Close() {
	r.closed.Store(true)
	r.c.CloseNow()
	<-r.done
}
