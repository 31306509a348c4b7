package ws

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/parley-chat/parley/internal/chat"
)

type sendFrame struct {
	Type     string `json:"type"`
	Ref      string `json:"ref,omitempty"`
	RoomID   string `json:"room_id"`
	Text     string `json:"text"`
	ClientID string `json:"client_id,omitempty"`
}

type resumeFrame struct {
	Type  string           `json:"type"`
	Ref   string           `json:"ref,omitempty"`
	Rooms map[string]int64 `json:"rooms"`
}

func resume(ref string, rooms map[string]int64) resumeFrame {
	return resumeFrame{Type: TypeResume, Ref: ref, Rooms: rooms}
}

// Two people with two sessions each see every event once, in order,
// whether it was sent over a socket or through the service (as REST does).
func TestLiveDeliveryExactlyOnce(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	alice2, bob2 := e.login("alice"), e.login("bob")
	room := e.room(alice, "general", bob)
	head := e.lastSeq(room)
	clients := []*client{e.dial(alice), e.dial(alice2), e.dial(bob), e.dial(bob2)}

	const n = 25
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			if _, _, err := e.svc.Send(context.Background(), bob.Auth, room, fmt.Sprint("rest ", i), ""); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for i := range n {
		clients[0].write(sendFrame{Type: TypeSend, Ref: fmt.Sprint("s", i), RoomID: room, Text: fmt.Sprint("ws ", i)})
	}
	wg.Wait()
	last := head + 2*n

	// The sending session gets an ack per send, naming its ref, as well as
	// the events.
	var evs []chat.Event
	acks := map[string]chat.Message{}
	for len(acks) < n || len(evs) == 0 || evs[len(evs)-1].Seq < last {
		f := clients[0].next()
		switch f.Type {
		case TypeEvent:
			evs = append(evs, *f.Event)
		case TypeAck:
			acks[f.Ref] = *f.Message
		default:
			t.Fatalf("unexpected frame %+v", f)
		}
	}
	checkOnce(t, "alice's sender", evs, room, head+1, last)
	for i := range n {
		m, ok := acks[fmt.Sprint("s", i)]
		if !ok || m.Text != fmt.Sprint("ws ", i) || m.Seq <= head || m.Seq > last {
			t.Fatalf("ack s%d: %+v", i, m)
		}
	}
	for i, c := range clients[1:] {
		checkOnce(t, fmt.Sprint("client ", i+1), c.eventsUntil(room, last), room, head+1, last)
	}

	// Nothing was sent twice: the next event anyone gets is the next one.
	e.send(alice, room, "marker")
	for i, c := range clients {
		if f := c.next(); f.Type != TypeEvent || f.Event.Seq != last+1 {
			t.Fatalf("client %d: after the last event got %+v", i, f)
		}
	}
}

// A session away while 3 and then 1,200 events happened resumes and ends
// with every event once, in order: the second time past the replay bound,
// so it resumes again, or pages over REST and then resumes.
func TestResumeAfterAbsence(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	room := e.room(alice, "general", bob)
	c := e.dial(bob)
	e.send(alice, room, "hello")
	last := e.lastSeq(room)
	c.eventsUntil(room, last)
	c.c.Close(websocket.StatusNormalClosure, "")

	for i := range 3 {
		e.send(alice, room, fmt.Sprint("away ", i))
	}
	c = e.dial(bob)
	c.write(resume("r1", map[string]int64{room: last}))
	var evs []chat.Event
	if ack := c.reply("r1", &evs); ack.Type != TypeAck || len(ack.HasMore) != 0 {
		t.Fatalf("resume answered %+v", ack)
	}
	checkOnce(t, "short absence", evs, room, last+1, last+3)
	last += 3
	c.c.Close(websocket.StatusNormalClosure, "")

	for i := range 1200 {
		e.send(alice, room, fmt.Sprint("long away ", i))
	}
	head := e.lastSeq(room)

	t.Run("resume again", func(t *testing.T) {
		c := e.dial(bob)
		c.t = t
		var evs []chat.Event
		c.write(resume("r2", map[string]int64{room: last}))
		ack := c.reply("r2", &evs)
		if len(ack.HasMore) != 1 || ack.HasMore[0] != room || len(evs) != DefaultResumeLimit {
			t.Fatalf("first resume: %d events, ack %+v", len(evs), ack)
		}
		// Live events of a room that is behind are held back: this one
		// arrives by the next resume, in order.
		e.send(alice, room, "while behind")
		c.write(resume("r3", map[string]int64{room: evs[len(evs)-1].Seq}))
		if ack := c.reply("r3", &evs); len(ack.HasMore) != 0 {
			t.Fatalf("second resume: ack %+v", ack)
		}
		checkOnce(t, "resumed twice", evs, room, last+1, head+1)
		e.send(alice, room, "live again")
		if f := c.next(); f.Type != TypeEvent || f.Event.Seq != head+2 {
			t.Fatalf("after catching up got %+v", f)
		}
	})

	t.Run("page over REST", func(t *testing.T) {
		c := e.dial(bob)
		c.t = t
		var evs []chat.Event
		c.write(resume("r4", map[string]int64{room: last}))
		if ack := c.reply("r4", &evs); len(ack.HasMore) != 1 {
			t.Fatalf("resume: ack %+v", ack)
		}
		seq := evs[len(evs)-1].Seq
		for {
			page, more, err := e.svc.Events(context.Background(), bob.Auth, room, chat.Page{After: seq, Limit: chat.MaxPageLimit})
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, page...)
			seq = evs[len(evs)-1].Seq
			if !more {
				break
			}
		}
		c.write(resume("r5", map[string]int64{room: seq}))
		if ack := c.reply("r5", &evs); len(ack.HasMore) != 0 {
			t.Fatalf("resume after paging: ack %+v", ack)
		}
		checkOnce(t, "paged", evs, room, last+1, e.lastSeq(room))
	})
}

// Resuming twice, or from before events the session already got live,
// never sends an event twice on one connection.
func TestRepeatedResumeDoublesNothing(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	room := e.room(alice, "general", bob)
	for i := range 10 {
		e.send(alice, room, fmt.Sprint("old ", i))
	}
	c := e.dial(bob)
	// A live event arrives before the client resumes from seq 3.
	e.send(alice, room, "live")
	var evs []chat.Event
	evs = append(evs, c.eventsUntil(room, e.lastSeq(room))...)

	c.write(resume("a", map[string]int64{room: 3}))
	c.reply("a", &evs)
	c.write(resume("b", map[string]int64{room: 3}))
	c.reply("b", &evs)
	c.write(resume("c", map[string]int64{room: 0}))
	c.reply("c", &evs)
	e.send(alice, room, "after")
	evs = append(evs, c.eventsUntil(room, e.lastSeq(room))...)

	// The live event came first; the replay followed with what came
	// before it, then live delivery went on.
	got := map[int64]int{}
	for _, ev := range evs {
		got[ev.Seq]++
	}
	for seq := int64(4); seq <= e.lastSeq(room); seq++ {
		if got[seq] != 1 {
			t.Fatalf("seq %d came %d times (all: %v)", seq, got[seq], got)
		}
	}
	for seq := range got {
		if seq < 4 {
			t.Fatalf("seq %d came although the client had it", seq)
		}
	}
}

// An outsider's send to a private room is answered not_found and stores
// nothing.
func TestOutsiderCannotSend(t *testing.T) {
	e := newEnv(t)
	alice, carol := e.register("alice"), e.register("carol")
	room := e.room(alice, "private")
	head := e.lastSeq(room)
	c := e.dial(carol)
	c.write(sendFrame{Type: TypeSend, Ref: "x", RoomID: room, Text: "let me in"})
	f := c.reply("x", nil)
	if f.Type != TypeError || f.Error.Code != chat.CodeNotFound {
		t.Fatalf("got %+v, want not_found", f)
	}
	if got := e.lastSeq(room); got != head {
		t.Fatalf("room's last seq went from %d to %d", head, got)
	}
}

// dialStalled connects p with a bare connection that reads the ready frame
// and then only what the test reads.
func (e *env) dialStalled(ctx context.Context, p person) *websocket.Conn {
	e.t.Helper()
	c, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + p.token}}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.CloseNow() })
	c.SetReadLimit(1 << 20)
	if _, data, err := c.Read(ctx); err != nil || !strings.Contains(string(data), `"ready"`) {
		e.t.Fatalf("ready: %s, %v", data, err)
	}
	return c
}

// readToClose reads c to its end and returns its close code (-1 for an
// end without a close frame).
func readToClose(ctx context.Context, c *websocket.Conn) websocket.StatusCode {
	for {
		if _, _, err := c.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

// A session that stops reading is closed with 4000 once its queue fills,
// and the others of the room keep receiving.
func TestStalledReaderIsClosed(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.ws.QueueSize = 64
		o.ws.WriteTimeout = 5 * time.Second
	})
	alice, bob, carol := e.register("alice"), e.register("bob"), e.register("carol")
	room := e.room(alice, "general", bob, carol)
	head := e.lastSeq(room)
	others := []*client{e.dial(alice), e.dial(bob)}

	// carol's connection reads the ready frame and then nothing until the
	// server gives up on it.
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	stalled := e.dialStalled(ctx, carol)

	text := strings.Repeat("€", chat.MaxMessageRunes)
	sent := 0
	got := make([][]chat.Event, len(others))
	for e.closing(carol.User.ID) != CloseTooSlow {
		if sent == 5000 {
			t.Fatal("the stalled session was never closed")
		}
		m := e.send(alice, room, text)
		sent++
		// The others read as the sends go, so that only carol falls
		// behind, however fast the sends are.
		for i, c := range others {
			got[i] = append(got[i], c.eventsUntil(room, m.Seq)...)
		}
	}
	last := head + int64(sent)
	t.Logf("closed after %d sends", sent)
	for i := range others {
		checkOnce(t, fmt.Sprint("other ", i), got[i], room, head+1, last)
	}

	// Reading again, carol gets what was in flight and then the close.
	if code := readToClose(ctx, stalled); code != CloseTooSlow {
		t.Fatalf("stalled session closed with code %d, want %d", code, CloseTooSlow)
	}
}

// closing returns the close code of userID's first session on the server,
// or 0.
func (e *env) closing(userID string) int {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	for c := range e.h.conns {
		if c.session != nil && c.session.Auth().User.ID == userID {
			return c.session.Closing().Code
		}
	}
	return 0
}

// Logging out closes that token's sessions with 4001; changing the
// password closes the sessions of every other token.
func TestRevocationClosesSessions(t *testing.T) {
	e := newEnv(t)
	a1 := e.register("alice")
	a2, a3 := e.login("alice"), e.login("alice")
	c1, c2, c3 := e.dial(a1), e.dial(a2), e.dial(a3)

	if err := e.svc.Logout(context.Background(), a1.Auth); err != nil {
		t.Fatal(err)
	}
	if code := c1.closeCode(); code != CloseUnauthorized {
		t.Fatalf("logged-out session closed with %d", code)
	}
	if err := e.svc.ChangePassword(context.Background(), a2.Auth, "password-alice", "a new password"); err != nil {
		t.Fatal(err)
	}
	if code := c3.closeCode(); code != CloseUnauthorized {
		t.Fatalf("other token's session closed with %d", code)
	}
	c2.write(map[string]string{"type": TypePing, "ref": "still"})
	if f := c2.reply("still", nil); f.Type != TypePong {
		t.Fatalf("session of the kept token: %+v", f)
	}
	_, resp, err := websocket.Dial(context.Background(), e.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + a3.token}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("dial with a revoked token: %v, %v", resp, err)
	}
}

// A lost bus notice is never a lost message: the next notice fills the gap
// from the store, and the periodic resync (or a bus reconnect) catches up
// the last one.
func TestDroppedNoticeStillDelivered(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.hub.ResyncInterval = time.Hour })
	alice, bob := e.register("alice"), e.register("bob")
	room := e.room(alice, "general", bob)
	head := e.lastSeq(room)
	c := e.dial(bob)
	dropSeq := func(seqs ...int64) func(chat.Notice) bool {
		return func(n chat.Notice) bool {
			for _, s := range seqs {
				if n.Event != nil && n.Event.RoomID == room && n.Event.Seq == s {
					return true
				}
			}
			return false
		}
	}

	e.bus.dropIf(dropSeq(head+1, head+3, head+4))
	e.send(alice, room, "dropped")
	e.send(alice, room, "fills the gap")
	evs := c.eventsUntil(room, head+2)

	e.send(alice, room, "dropped too")
	if err := e.hub.Resync(context.Background()); err != nil {
		t.Fatal(err)
	}
	evs = append(evs, c.eventsUntil(room, head+3)...)

	e.send(alice, room, "dropped as well")
	e.bus.Bus.Publish(context.Background(), chat.Notice{}) // as after a bus reconnect
	evs = append(evs, c.eventsUntil(room, head+4)...)
	checkOnce(t, "bob", evs, room, head+1, head+4)
}

func TestAuthentication(t *testing.T) {
	e := newEnv(t, func(o *envOptions) { o.ws.AuthTimeout = 100 * time.Millisecond })
	alice := e.register("alice")

	t.Run("bad header token is 401 before the upgrade", func(t *testing.T) {
		_, resp, err := websocket.Dial(context.Background(), e.url, &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer nope"}}})
		if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("got %v, %v", resp, err)
		}
		var body struct {
			Error struct{ Code, Message, RequestID string } `json:"error"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Code != chat.CodeUnauthorized || body.Error.Message == "" {
			t.Fatalf("body %+v", body)
		}
	})
	t.Run("auth frame", func(t *testing.T) {
		c := e.dialRaw(nil)
		c.write(map[string]string{"type": TypeAuth, "token": alice.token, "ref": "hi"})
		if f := c.next(); f.Type != TypeReady || f.User.ID != alice.User.ID {
			t.Fatalf("got %+v", f)
		}
		if f := c.next(); f.Type != TypeAck || f.Ref != "hi" {
			t.Fatalf("got %+v", f)
		}
		c.write(map[string]string{"type": TypeAuth, "token": alice.token, "ref": "again"})
		if f := c.reply("again", nil); f.Type != TypeError || f.Error.Code != chat.CodeInvalidRequest {
			t.Fatalf("second auth: %+v", f)
		}
	})
	t.Run("bad token in auth frame closes 4001", func(t *testing.T) {
		c := e.dialRaw(nil)
		c.write(map[string]string{"type": TypeAuth, "token": "nope"})
		if code := c.closeCode(); code != CloseUnauthorized {
			t.Fatalf("closed with %d", code)
		}
	})
	t.Run("another frame before auth closes 4001", func(t *testing.T) {
		c := e.dialRaw(nil)
		c.write(map[string]string{"type": TypePing})
		if code := c.closeCode(); code != CloseUnauthorized {
			t.Fatalf("closed with %d", code)
		}
	})
	t.Run("auth in a binary frame closes 4001", func(t *testing.T) {
		c := e.dialRaw(nil)
		b, _ := json.Marshal(map[string]string{"type": TypeAuth, "token": alice.token})
		if err := c.c.Write(t.Context(), websocket.MessageBinary, b); err != nil {
			t.Fatal(err)
		}
		if code := c.closeCode(); code != CloseUnauthorized {
			t.Fatalf("closed with %d", code)
		}
	})
	t.Run("no auth in time closes 4009", func(t *testing.T) {
		c := e.dialRaw(nil)
		if code := c.closeCode(); code != CloseAuthTimeout {
			t.Fatalf("closed with %d", code)
		}
	})
}

// Bad frames get an error frame and leave the session usable.
func TestBadFrames(t *testing.T) {
	e := newEnv(t)
	alice := e.register("alice")
	room := e.room(alice, "general")
	c := e.dial(alice)
	for _, tc := range []struct {
		name, frame, ref, code string
	}{
		{"unknown type", `{"type":"dance","ref":"u"}`, "u", chat.CodeUnknownType},
		{"malformed JSON", `{"type":"ping",`, "", chat.CodeInvalidRequest},
		{"not an object", `[1,2]`, "", chat.CodeInvalidRequest},
		{"wrong field type keeps the ref", `{"type":"resume","ref":"w","rooms":"all"}`, "w", chat.CodeInvalidRequest},
		{"invalid UTF-8", "{\"type\":\"ping\",\"ref\":\"v\",\"x\":\"\xff\"}", "v", chat.CodeInvalidRequest},
		{"no type", `{"ref":"n"}`, "n", chat.CodeInvalidRequest},
		{"negative resume seq", `{"type":"resume","ref":"s","rooms":{"` + room + `":-1}}`, "s", chat.CodeValidationFailed},
		{"empty text", `{"type":"send","ref":"t","room_id":"` + room + `","text":""}`, "t", chat.CodeValidationFailed},
		{"read without seq", `{"type":"read","ref":"r","room_id":"` + room + `"}`, "r", chat.CodeValidationFailed},
		{"typing in a room one is not in", `{"type":"typing","ref":"y","room_id":"nope","typing":true}`, "y", chat.CodeNotFound},
		{"typing stop in a room one is not in", `{"type":"typing","ref":"z","room_id":"nope","typing":false}`, "z", chat.CodeNotFound},
		{"miscased key", `{"TYPE":"ping","ref":"k"}`, "k", chat.CodeInvalidRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.t = t
			c.write([]byte(tc.frame))
			f := c.next()
			if f.Type != TypeError || f.Ref != tc.ref || f.Error.Code != tc.code || f.Error.Message == "" {
				t.Fatalf("got %+v, want error %s for ref %q", f, tc.code, tc.ref)
			}
			c.write(map[string]string{"type": TypePing, "ref": "p"})
			if f := c.next(); f.Type != TypePong || f.Ref != "p" {
				t.Fatalf("after the bad frame: %+v", f)
			}
		})
	}
	t.Run("typing with a ref is acked", func(t *testing.T) {
		c.t = t
		c.write(map[string]any{"type": TypeTyping, "ref": "ty", "room_id": room, "typing": true})
		if f := c.next(); f.Type != TypeAck || f.Ref != "ty" {
			t.Fatalf("got %+v, want ack ty", f)
		}
	})
	t.Run("binary frame", func(t *testing.T) {
		c.t = t
		if err := c.c.Write(context.Background(), websocket.MessageBinary, []byte("{}")); err != nil {
			t.Fatal(err)
		}
		if f := c.next(); f.Type != TypeError || f.Error.Code != chat.CodeInvalidRequest {
			t.Fatalf("got %+v", f)
		}
	})
}

// A room joined while connected starts with its member.joined; a removal
// is the last event of the room the removed person gets.
func TestMembershipChanges(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	shared := e.room(alice, "shared", bob)
	later := e.room(alice, "later")
	c := e.dial(bob)
	ctx := context.Background()

	e.send(alice, later, "before bob")
	if _, err := e.svc.AddMember(ctx, alice.Auth, later, bob.User.ID, ""); err != nil {
		t.Fatal(err)
	}
	joined := e.lastSeq(later)
	e.send(alice, later, "welcome")
	evs := c.eventsUntil(later, joined+1)
	if len(evs) != 2 || evs[0].Type != chat.EventMemberJoined || evs[0].UserID != bob.User.ID || evs[0].Seq != joined {
		t.Fatalf("after joining got %+v", evs)
	}

	if err := e.svc.RemoveMember(ctx, alice.Auth, later, bob.User.ID); err != nil {
		t.Fatal(err)
	}
	removed := e.lastSeq(later)
	e.send(alice, later, "after bob")
	e.send(alice, shared, "marker")
	evs = c.eventsUntil(shared, e.lastSeq(shared))
	if len(evs) != 2 || evs[0].Type != chat.EventMemberRemoved || evs[0].Seq != removed || evs[1].RoomID != shared {
		t.Fatalf("after the removal got %+v", evs)
	}

	// The room cannot be resumed either: it is silently ignored.
	c.write(resume("r", map[string]int64{later: 0}))
	var replayed []chat.Event
	if ack := c.reply("r", &replayed); ack.Type != TypeAck || len(replayed) != 0 || len(ack.HasMore) != 0 {
		t.Fatalf("resume of a room left: %+v, %d events", ack, len(replayed))
	}
}

// The server pings; a client that answers stays, one that does not is
// closed after the pong timeout.
func TestPings(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.ws.PingInterval = 10 * time.Millisecond
		o.ws.PongTimeout = 200 * time.Millisecond
	})
	alice := e.register("alice")
	dial := func(pong bool, pings *atomic.Int32) *websocket.Conn {
		c, _, err := websocket.Dial(context.Background(), e.url, &websocket.DialOptions{
			HTTPHeader: http.Header{"Authorization": {"Bearer " + alice.token}},
			OnPingReceived: func(context.Context, []byte) bool {
				pings.Add(1)
				return pong
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.CloseNow() })
		if _, data, err := c.Read(context.Background()); err != nil || !strings.Contains(string(data), `"ready"`) {
			t.Fatalf("ready: %s, %v", data, err)
		}
		return c
	}
	var livePings, deadPings atomic.Int32
	live, dead := dial(true, &livePings), dial(false, &deadPings)
	errs := make(chan error, 2)
	for _, c := range []*websocket.Conn{live, dead} {
		go func() {
			for {
				if _, _, err := c.Read(context.Background()); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	poll(t, "the silent client is gone", func() bool { return e.hub.Stats().Sessions == 1 })
	// The answering client saw pings for longer than the pong timeout.
	poll(t, "many pings", func() bool { return livePings.Load() > 30 })
	if e.hub.Stats().Sessions != 1 {
		t.Fatal("the answering client was closed")
	}
	if deadPings.Load() == 0 {
		t.Fatal("the silent client was never pinged")
	}
}

// Shutdown closes sessions with 1001 after writing what they were sent.
func TestShutdown(t *testing.T) {
	e := newEnv(t)
	alice := e.register("alice")
	room := e.room(alice, "general")
	c := e.dial(alice)
	last := e.lastSeq(room) + 50
	for i := range 50 {
		c.write(sendFrame{Type: TypeSend, Ref: fmt.Sprint(i), RoomID: room, Text: "bye"})
	}
	poll(t, "all sent", func() bool { return e.lastSeq(room) == last })
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	acks, events := 0, 0
	for f := range c.frames {
		switch f.Type {
		case TypeAck:
			acks++
		case TypeEvent:
			events++
		}
	}
	if code := websocket.CloseStatus(c.err); code != CloseGoingAway || acks != 50 || events != 50 {
		t.Fatalf("closed with %d after %d acks and %d events", code, acks, events)
	}
	_, resp, err := websocket.Dial(context.Background(), e.url, &websocket.DialOptions{
		HTTPHeader: http.Header{"Authorization": {"Bearer " + alice.token}}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("dial after shutdown: %v, %v", resp, err)
	}
}

// Connecting and disconnecting 1,000 sessions leaves no goroutine behind.
func TestNoGoroutineLeak(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	room := e.room(alice, "general", bob)
	ignore := goleak.IgnoreCurrent()

	const total, parallel = 1000, 50
	var wg sync.WaitGroup
	for w := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range total / parallel {
				p := alice
				if (w+i)%2 == 1 {
					p = bob
				}
				ctx, cancel := context.WithTimeout(context.Background(), waitFor)
				c, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{
					HTTPHeader: http.Header{"Authorization": {"Bearer " + p.token}}})
				if err != nil {
					cancel()
					t.Error(err)
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					t.Error(err)
				}
				if i%2 == 0 {
					c.Close(websocket.StatusNormalClosure, "")
				} else {
					c.CloseNow()
				}
				cancel()
			}
		}()
	}
	e.send(alice, room, "while they come and go")
	wg.Wait()
	poll(t, "every session is gone", func() bool {
		st := e.hub.Stats()
		return st.Sessions == 0 && st.Users == 0 && st.Rooms == 0
	})
	http.DefaultClient.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
}

// writer reports, for userID's first connection on the server, whether a
// writer goroutine runs and whether writers may no longer start.
func (e *env) writer(userID string) (running, stopped bool) {
	e.h.mu.Lock()
	defer e.h.mu.Unlock()
	for c := range e.h.conns {
		if c.session != nil && c.session.Auth().User.ID == userID {
			c.wmu.Lock()
			defer c.wmu.Unlock()
			return c.wrunning, c.wstopped
		}
	}
	return false, false
}

func (e *env) writerRunning(userID string) bool {
	running, _ := e.writer(userID)
	return running
}

// An idle connection keeps no writer goroutine: the writer ends once the
// queue stays empty and the next queued frame starts another. Events sent
// back to back are queued (only a lone frame is written at once), so the
// burst below reaches bob only through writers started this way.
func TestWriterRunsOnlyWhileWriting(t *testing.T) {
	e := newEnv(t)
	alice, bob := e.register("alice"), e.register("bob")
	room := e.room(alice, "general", bob)
	c := e.dial(bob)
	poll(t, "the writer of an idle connection ends", func() bool { return !e.writerRunning(bob.User.ID) })

	from := e.lastSeq(room) + 1
	for round := range 3 {
		for i := range 100 {
			e.send(alice, room, fmt.Sprintf("burst %d, %d", round, i))
		}
		to := e.lastSeq(room)
		checkOnce(t, "bob", c.eventsUntil(room, to), room, from, to)
		from = to + 1
		poll(t, "the writer ends after the burst", func() bool { return !e.writerRunning(bob.User.ID) })
	}
}

// A session closed as too slow while its writer is blocked in a write, and
// whose reader then ends (here: its reply to a frame finds the session
// closed), still gets its close code: the writer, woken by the close
// during its write, takes once more before it ends.
func TestTooSlowCodeSentWhenReaderEndsFirst(t *testing.T) {
	e := newEnv(t, func(o *envOptions) {
		o.ws.QueueSize = 64
		o.ws.WriteTimeout = waitFor
	})
	alice, carol := e.register("alice"), e.register("carol")
	room := e.room(alice, "general", carol)

	ctx, cancel := context.WithTimeout(context.Background(), 2*waitFor)
	defer cancel()
	stalled := e.dialStalled(ctx, carol)

	// carol reads nothing more: the socket fills, the writer blocks in its
	// write and the queue fills behind it.
	text := strings.Repeat("€", chat.MaxMessageRunes)
	for sent := 0; e.closing(carol.User.ID) != CloseTooSlow; sent++ {
		if sent == 5000 {
			t.Fatal("the stalled session was never closed as too slow")
		}
		e.send(alice, room, text)
	}
	if !e.writerRunning(carol.User.ID) {
		t.Fatal("a full queue, but no writer blocked in a write")
	}
	if err := stalled.Write(ctx, websocket.MessageText, []byte(`{"type":"ping","ref":"p"}`)); err != nil {
		t.Fatal(err)
	}
	poll(t, "the reader ends and stops the writers", func() bool {
		_, stopped := e.writer(carol.User.ID)
		return stopped
	})

	if code := readToClose(ctx, stalled); code != CloseTooSlow {
		t.Fatalf("closed with code %d, want %d", code, CloseTooSlow)
	}
}
