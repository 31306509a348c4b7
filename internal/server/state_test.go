package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/config"
)

// These tests drive conversation state (receipts, unread counts, typing,
// presence, mentions and notifications) through real WebSocket sessions.
// Durations are shortened through the configuration; waits poll with a
// deadline. The absence of a frame is checked with a barrier: a ping sent
// after the action is answered after every frame the action queued.

// waitFor bounds every wait of these tests.
const waitFor = 10 * time.Second

// stateConfig shortens the durations of conversation state.
func stateConfig(c *config.Config) {
	c.TypingTimeout = 300 * time.Millisecond
	c.PresenceGrace = 200 * time.Millisecond
	c.ReceiptInterval = 100 * time.Millisecond
	c.WSPingInterval = 100 * time.Millisecond
	c.WSPongTimeout = 400 * time.Millisecond
}

// frame is any frame the server sends, with the fields of every type.
type frame struct {
	Type         string          `json:"type"`
	Ref          string          `json:"ref"`
	Kind         string          `json:"kind"`
	RoomID       string          `json:"room_id"`
	UserID       string          `json:"user_id"`
	Seq          int64           `json:"seq"`
	UnreadCount  *int            `json:"unread_count"`
	MentionCount *int            `json:"mention_count"`
	ReadSeq      int64           `json:"read_seq"`
	Typing       bool            `json:"typing"`
	Status       string          `json:"status"`
	LastSeenAt   *time.Time      `json:"last_seen_at"`
	Reason       string          `json:"reason"`
	Message      *client.Message `json:"message"`
	Event        *client.Event   `json:"event"`
	Error        *struct {
		Code string `json:"code"`
	} `json:"error"`
}

// device is one raw WebSocket session of a person.
type device struct {
	t      *testing.T
	name   string
	c      *websocket.Conn
	nc     *stallConn
	frames chan frame
	refs   int
}

// dial connects a device of the person signed in with c.
func (ts *testServer) dial(c *client.Client, name string) *device {
	ts.t.Helper()
	d := &device{t: ts.t, name: name, frames: make(chan frame, 4096)}
	var mu sync.Mutex
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			mu.Lock()
			defer mu.Unlock()
			d.nc = &stallConn{Conn: nc, stall: make(chan struct{}), done: make(chan struct{})}
			return d.nc, nil
		},
	}}
	ctx, cancel := context.WithTimeout(ts.t.Context(), waitFor)
	defer cancel()
	url := "ws" + strings.TrimPrefix(ts.http.URL, "http") + "/api/v1/ws"
	wc, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient: hc, HTTPHeader: http.Header{"Authorization": {"Bearer " + c.Token()}},
	})
	if err != nil {
		ts.t.Fatalf("dial %s: %v", name, err)
	}
	wc.SetReadLimit(1 << 20)
	d.c = wc
	ts.t.Cleanup(func() { wc.CloseNow() })
	go d.read()
	d.expect("ready", func(f frame) bool { return f.Type == "ready" })
	return d
}

func (d *device) read() {
	defer close(d.frames)
	for {
		_, data, err := d.c.Read(context.Background())
		if err != nil {
			return
		}
		var f frame
		if json.Unmarshal(data, &f) == nil {
			d.frames <- f
		}
	}
}

// expect skips frames until one matches ok, and returns it.
func (d *device) expect(what string, ok func(frame) bool) frame {
	d.t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case f, open := <-d.frames:
			if !open {
				d.t.Fatalf("%s: connection ended waiting for %s", d.name, what)
			}
			if ok(f) {
				return f
			}
		case <-timeout:
			d.t.Fatalf("%s: no %s in time", d.name, what)
		}
	}
}

// none fails if a frame matching bad comes before the answer to a ping
// sent now, and returns the frames skipped.
func (d *device) none(what string, bad func(frame) bool) []frame {
	d.t.Helper()
	d.refs++
	ref := fmt.Sprintf("barrier-%d", d.refs)
	d.send(map[string]any{"type": "ping", "ref": ref})
	var skipped []frame
	d.expect("pong "+ref, func(f frame) bool {
		if bad(f) {
			d.t.Errorf("%s: unexpected %s: %+v", d.name, what, f)
		}
		skipped = append(skipped, f)
		return f.Ref == ref
	})
	return skipped
}

func (d *device) send(v any) {
	d.t.Helper()
	b, _ := json.Marshal(v)
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	if err := d.c.Write(ctx, websocket.MessageText, b); err != nil {
		d.t.Fatalf("%s: write: %v", d.name, err)
	}
}

// kill drops the connection without a close handshake.
func (d *device) kill() { d.c.CloseNow() }

// stopAnswering makes the device stop reading, so that it answers no
// ping, while its connection stays open.
func (d *device) stopAnswering() { close(d.nc.stall) }

// stallConn is a client connection that, once stalled, reads nothing more.
type stallConn struct {
	net.Conn
	stall chan struct{}
	done  chan struct{}
	once  sync.Once
}

func (c *stallConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	select {
	case <-c.stall:
		<-c.done
		return 0, net.ErrClosed
	default:
	}
	return n, err
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

// person is a signed-in user with two devices.
type person struct {
	c    *client.Client
	u    client.User
	devs []*device
}

func (ts *testServer) person(name string) *person {
	ts.t.Helper()
	c, u := ts.user(name)
	p := &person{c: c, u: u}
	for i := range 2 {
		p.devs = append(p.devs, ts.dial(c, fmt.Sprintf("%s/%d", name, i)))
	}
	return p
}

func isReceipt(kind, roomID, userID string, seq int64) func(frame) bool {
	return func(f frame) bool {
		return f.Type == "receipt" && f.Kind == kind && f.RoomID == roomID && f.UserID == userID && f.Seq == seq
	}
}

func isUnread(roomID string, unread, mentions int) func(frame) bool {
	return func(f frame) bool {
		return f.Type == "unread" && f.RoomID == roomID && f.UnreadCount != nil &&
			*f.UnreadCount == unread && *f.MentionCount == mentions
	}
}

func groupOf(t *testing.T, owner *person, name string, others ...*person) client.Room {
	t.Helper()
	ids := []string{}
	for _, p := range others {
		ids = append(ids, p.u.ID)
	}
	r, _, err := owner.c.CreateRoom(t.Context(), client.NewRoom{Kind: "group", Name: name, MemberIDs: ids})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestReadReceiptsReachEveryMember(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob, carol := ts.person("alice"), ts.person("bob"), ts.person("carol")
	r := groupOf(t, alice, "g", bob, carol)
	m1 := must[client.Message](t)(sendMsg(t, alice, r.ID, "one"))
	m2 := must[client.Message](t)(sendMsg(t, alice, r.ID, "two"))

	// bob reads on one device, over REST; every device of everyone sees it.
	if err := bob.c.MarkRead(ctx(t), r.ID, m2.Seq); err != nil {
		t.Fatal(err)
	}
	for _, d := range bob.devs {
		d.expect("bob's unread state", isUnread(r.ID, 0, 0))
	}
	// The messages reached bob's and carol's sessions: alice hears of it.
	// The delivered receipts come when the hub next flushes, which may be
	// before bob's read receipt, so they are noted while waiting for it.
	delivered := map[string]bool{}
	noteDelivered := func(f frame) bool {
		if f.Type == "receipt" && f.Kind == "delivered" && f.Seq == m2.Seq {
			delivered[f.UserID] = true
			return true
		}
		return false
	}
	readReceipt := isReceipt("read", r.ID, bob.u.ID, m2.Seq)
	for _, p := range []*person{alice, bob, carol} {
		for _, d := range p.devs {
			d.expect("bob's read receipt", func(f frame) bool {
				if d == alice.devs[1] {
					noteDelivered(f)
				}
				return readReceipt(f)
			})
		}
	}
	for len(delivered) < 2 {
		alice.devs[1].expect("delivered receipt", noteDelivered)
	}
	if !delivered[bob.u.ID] || !delivered[carol.u.ID] {
		t.Errorf("delivered receipts from %v", delivered)
	}

	// Reading an older or the same seq changes nothing and says nothing,
	// over REST or the read frame.
	if err := bob.c.MarkRead(ctx(t), r.ID, m1.Seq); err != nil {
		t.Fatal(err)
	}
	bob.devs[1].send(map[string]any{"type": "read", "room_id": r.ID, "seq": m2.Seq, "ref": "again"})
	bob.devs[1].expect("ack", func(f frame) bool { return f.Ref == "again" && f.Type == "ack" })
	for _, p := range []*person{alice, bob, carol} {
		for _, d := range p.devs {
			d.none("receipt moving nowhere", func(f frame) bool {
				return f.Type == "receipt" && f.Kind == "read" && f.UserID == bob.u.ID
			})
		}
	}
	rcs, _, err := alice.c.Receipts(ctx(t), r.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range rcs {
		if rc.UserID == bob.u.ID && rc.ReadSeq != m2.Seq {
			t.Errorf("bob's receipt went to %d, want %d", rc.ReadSeq, m2.Seq)
		}
		if rc.DeliveredSeq < rc.ReadSeq {
			t.Errorf("receipt delivered below read: %+v", rc)
		}
	}

	// carol reads by frame; the receipt reaches everyone too.
	carol.devs[0].send(map[string]any{"type": "read", "room_id": r.ID, "seq": m1.Seq})
	for _, p := range []*person{alice, bob, carol} {
		for _, d := range p.devs {
			d.expect("carol's read receipt", isReceipt("read", r.ID, carol.u.ID, m1.Seq))
		}
	}
}

func sendMsg(t *testing.T, p *person, roomID, text string) (client.Message, error) {
	t.Helper()
	m, _, err := p.c.Send(ctx(t), roomID, text, "")
	return m, err
}

func TestUnreadCountsStayExact(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob := ts.person("alice"), ts.person("bob")
	r := groupOf(t, alice, "g", bob)
	send := must[client.Message](t)

	roomOf := func(p *person) client.Room {
		t.Helper()
		room, err := p.c.Room(ctx(t), r.ID)
		if err != nil {
			t.Fatal(err)
		}
		return room
	}
	check := func(p *person, unread, mentions int) {
		t.Helper()
		room := roomOf(p)
		if room.UnreadCount != unread || room.MentionCount != mentions {
			t.Errorf("%s's room: unread %d, mentions %d; want %d, %d",
				p.u.Username, room.UnreadCount, room.MentionCount, unread, mentions)
		}
		tot, err := p.c.Unread(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		if tot.UnreadCount != unread || tot.MentionCount != mentions {
			t.Errorf("%s's totals: %+v; want %d, %d", p.u.Username, tot, unread, mentions)
		}
	}

	m1 := send(sendMsg(t, alice, r.ID, "one"))
	m2 := send(sendMsg(t, alice, r.ID, "hey @"+strings.ToUpper(bob.u.Username)))
	send(sendMsg(t, alice, r.ID, "three"))
	check(bob, 3, 1)
	check(alice, 0, 0) // one's own messages never count

	// An edit changes no count; deleting an unread message lowers it.
	if _, err := alice.c.Edit(ctx(t), r.ID, m1.ID, "one, edited"); err != nil {
		t.Fatal(err)
	}
	check(bob, 3, 1)
	if err := alice.c.Delete(ctx(t), r.ID, m1.ID); err != nil {
		t.Fatal(err)
	}
	for _, d := range bob.devs {
		d.expect("unread after a delete", isUnread(r.ID, 2, 1))
	}
	check(bob, 2, 1)

	// Reading on one device clears the count on both.
	bob.devs[0].send(map[string]any{"type": "read", "room_id": r.ID, "seq": m2.Seq})
	for _, d := range bob.devs {
		d.expect("unread after reading", isUnread(r.ID, 1, 0))
	}
	check(bob, 1, 0)

	// Sending moves one's own read position to one's message.
	m4 := send(sendMsg(t, bob, r.ID, "my turn"))
	for _, d := range bob.devs {
		d.expect("unread after sending", isUnread(r.ID, 0, 0))
	}
	if room := roomOf(bob); room.ReadSeq != m4.Seq {
		t.Errorf("bob's read position %d after sending %d", room.ReadSeq, m4.Seq)
	}
	check(bob, 0, 0)
	check(alice, 1, 0)
}

func TestTypingExpiresWhenTheSessionDies(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob := ts.person("alice"), ts.person("bob")
	r := groupOf(t, alice, "g", bob)
	typing := func(on bool) func(frame) bool {
		return func(f frame) bool {
			return f.Type == "typing" && f.RoomID == r.ID && f.UserID == alice.u.ID && f.Typing == on
		}
	}

	alice.devs[0].send(map[string]any{"type": "typing", "room_id": r.ID, "typing": true})
	for _, d := range bob.devs {
		d.expect("typing", typing(true))
	}
	alice.devs[1].none("own typing", typing(true))

	// Refreshes within the throttle are not relayed.
	alice.devs[0].send(map[string]any{"type": "typing", "room_id": r.ID, "typing": true})
	bob.devs[0].none("a refresh relayed", typing(true))

	// The typing session dies without a word: the indicator ends.
	alice.devs[0].kill()
	for _, d := range bob.devs {
		d.expect("typing stopped", typing(false))
	}

	// Left alone, an indicator expires by itself.
	alice.devs[1].send(map[string]any{"type": "typing", "room_id": r.ID, "typing": true})
	bob.devs[0].expect("typing", typing(true))
	bob.devs[0].expect("typing expired", typing(false))

	// Typing where one is not a member is refused.
	alice.devs[1].send(map[string]any{"type": "typing", "room_id": "nope", "typing": true})
	alice.devs[1].expect("error", func(f frame) bool { return f.Type == "error" && f.Error.Code == "not_found" })
}

func TestPresenceFollowsTheLastSession(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob := ts.person("alice"), ts.person("bob")
	groupOf(t, alice, "g", bob)
	status := func(want string) func(frame) bool {
		return func(f frame) bool { return f.Type == "presence" && f.UserID == bob.u.ID && f.Status == want }
	}
	statusOf := func() client.User {
		t.Helper()
		u, err := alice.c.User(ctx(t), bob.u.ID)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	if u := statusOf(); u.Status != "online" {
		t.Fatalf("bob with two devices: %q", u.Status)
	}

	// One device dies; the other keeps bob online, well past the grace
	// period (polled with ping round trips, not slept).
	bob.devs[0].kill()
	for start := time.Now(); time.Since(start) < 4*200*time.Millisecond; {
		bob.devs[1].none("", func(frame) bool { return false })
		alice.devs[0].none("bob offline", status("offline"))
	}
	if u := statusOf(); u.Status != "online" {
		t.Errorf("bob with one device left: %q", u.Status)
	}

	// The last device stops answering pings: bob goes offline.
	bob.devs[1].stopAnswering()
	f := alice.devs[0].expect("bob offline", status("offline"))
	if f.LastSeenAt == nil {
		t.Errorf("offline presence without last_seen_at: %+v", f)
	}
	if u := statusOf(); u.Status != "offline" || u.LastSeenAt == nil {
		t.Errorf("bob after his last device stopped: %+v", u)
	}

	// Back, then hiding: alice sees bob offline at once.
	ts.dial(bob.c, "bob/2")
	alice.devs[1].expect("bob online", status("online"))
	hide := false
	if _, err := bob.c.UpdateMe(ctx(t), map[string]any{"settings": map[string]any{"show_presence": hide}}); err != nil {
		t.Fatal(err)
	}
	alice.devs[1].expect("bob hidden", status("offline"))
	if u := statusOf(); u.Status != "offline" || u.LastSeenAt != nil {
		t.Errorf("hidden bob: %+v", u)
	}
	me, err := bob.c.Me(ctx(t))
	if err != nil || me.Settings == nil || me.Settings.ShowPresence == nil || *me.Settings.ShowPresence {
		t.Errorf("bob's settings: %+v, %v", me.Settings, err)
	}
}

// A person who hides their presence is not announced when they connect,
// whatever the settings the server read before.
func TestHiddenPresenceAtConnect(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice := ts.person("alice")
	bobC, bob := ts.user("bob")
	r, _, err := alice.c.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "g", MemberIDs: []string{bob.ID}})
	if err != nil {
		t.Fatal(err)
	}
	online := func(f frame) bool { return f.Type == "presence" && f.UserID == bob.ID && f.Status == "online" }
	hide := false
	if _, err := bobC.UpdateMe(ctx(t), map[string]any{"settings": map[string]any{"show_presence": hide}}); err != nil {
		t.Fatal(err)
	}
	dev := ts.dial(bobC, "bob/0")
	// bob's connection is announced to no one: his own message is the
	// barrier that shows alice got everything before it.
	dev.send(map[string]any{"type": "send", "ref": "s1", "room_id": r.ID, "text": "here, quietly"})
	alice.devs[0].expect("bob's message", func(f frame) bool {
		if online(f) {
			t.Errorf("hidden bob announced online: %+v", f)
		}
		return f.Type == "event" && f.Event != nil && f.Event.Message != nil && f.Event.Message.Text == "here, quietly"
	})
}

func TestMentionsAndNotifications(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob, carol := ts.person("alice"), ts.person("bob"), ts.person("carol")
	r := groupOf(t, alice, "g", bob)
	notified := func(reason string) func(frame) bool {
		return func(f frame) bool { return f.Type == "notification" && f.Reason == reason }
	}
	anyNotification := func(f frame) bool { return f.Type == "notification" }
	send := must[client.Message](t)

	// carol is not a member: mentioning her notifies nobody.
	m := send(sendMsg(t, alice, r.ID, "hi @"+carol.u.Username))
	if len(m.Mentions) != 0 {
		t.Errorf("mention of a non-member: %v", m.Mentions)
	}
	for _, p := range []*person{alice, bob, carol} {
		p.devs[0].none("notification", anyNotification)
	}

	// bob is, in another letter case: he alone is notified, on each device.
	m = send(sendMsg(t, alice, r.ID, "hi @"+strings.ToUpper(bob.u.Username)+"!"))
	if len(m.Mentions) != 1 || m.Mentions[0] != bob.u.ID {
		t.Errorf("mentions = %v, want [%s]", m.Mentions, bob.u.ID)
	}
	for _, d := range bob.devs {
		f := d.expect("mention", notified("mention"))
		if f.RoomID != r.ID || f.Message == nil || f.Message.ID != m.ID {
			t.Errorf("notification: %+v", f)
		}
	}
	alice.devs[0].none("notification", anyNotification)
	carol.devs[0].none("notification", anyNotification)

	// An edit that adds a mention notifies the member it adds, once.
	plain := send(sendMsg(t, alice, r.ID, "see this"))
	edited := must[client.Message](t)(alice.c.Edit(ctx(t), r.ID, plain.ID, "see this @"+bob.u.Username))
	if len(edited.Mentions) != 1 || edited.Mentions[0] != bob.u.ID {
		t.Errorf("mentions after the edit = %v", edited.Mentions)
	}
	bob.devs[0].expect("mention added by an edit", notified("mention"))
	must[client.Message](t)(alice.c.Edit(ctx(t), r.ID, plain.ID, "see this @"+bob.u.Username+" again"))
	bob.devs[0].none("a second notification for the same mention", anyNotification)

	// Without a mention, the default (mentions) notifies nobody in a
	// group; "all" adds reason message.
	send(sendMsg(t, alice, r.ID, "plain"))
	bob.devs[0].none("notification", anyNotification)
	if _, err := bob.c.UpdateRoomSettings(ctx(t), r.ID, map[string]any{"notify": "all"}); err != nil {
		t.Fatal(err)
	}
	send(sendMsg(t, alice, r.ID, "plain again"))
	for _, d := range bob.devs {
		d.expect("message notification", notified("message"))
	}

	// A silenced room counts unread messages but notifies nothing.
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	rs, err := bob.c.UpdateRoomSettings(ctx(t), r.ID, map[string]any{"silenced_until": until})
	if err != nil || rs.Notify != "all" || rs.SilencedUntil == nil {
		t.Fatalf("silence: %+v, %v", rs, err)
	}
	before := must[client.Room](t)(bob.c.Room(ctx(t), r.ID)).UnreadCount
	send(sendMsg(t, alice, r.ID, "@"+bob.u.Username+" are you there?"))
	for _, d := range bob.devs {
		d.none("notification in a silenced room", anyNotification)
	}
	if got := must[client.Room](t)(bob.c.Room(ctx(t), r.ID)); got.UnreadCount != before+1 || got.MentionCount == 0 {
		t.Errorf("silenced room counts: %+v", got)
	}

	// Direct messages notify by default.
	d, _, err := alice.c.CreateRoom(ctx(t), client.NewRoom{Kind: "direct", UserID: carol.u.ID})
	if err != nil {
		t.Fatal(err)
	}
	send(sendMsg(t, alice, d.ID, "psst"))
	carol.devs[1].expect("direct notification", notified("direct"))
	bad := map[string]any{"notify": "sometimes"}
	if _, err := carol.c.UpdateRoomSettings(ctx(t), d.ID, bad); err == nil {
		t.Error("notify: sometimes was accepted")
	}
}

// TestMentionNotifiesOncePerMessage: a member hears of a message that
// mentions them once, whatever later edits do with the mention; a member an
// edit mentions for the first time is still notified.
func TestMentionNotifiesOncePerMessage(t *testing.T) {
	ts := newTestServer(t, withConfig(stateConfig))
	alice, bob, carol := ts.person("alice"), ts.person("bob"), ts.person("carol")
	r := groupOf(t, alice, "g", bob, carol)
	about := func(m client.Message) func(frame) bool {
		return func(f frame) bool {
			return f.Type == "notification" && f.Reason == "mention" && f.Message != nil && f.Message.ID == m.ID
		}
	}
	edit := func(m client.Message, text string) {
		t.Helper()
		must[client.Message](t)(alice.c.Edit(ctx(t), r.ID, m.ID, text))
	}
	once := func(p *person, m client.Message) {
		t.Helper()
		for _, d := range p.devs {
			d.expect("mention", about(m))
			d.none("second notification", about(m))
		}
	}
	never := func(p *person, m client.Message, after string) {
		t.Helper()
		for _, d := range p.devs {
			d.none("notification after "+after, about(m))
		}
	}
	atBob, atCarol := "@"+bob.u.Username, "@"+carol.u.Username

	m := must[client.Message](t)(sendMsg(t, alice, r.ID, "hi "+atBob))
	once(bob, m)
	edit(m, "hi")
	never(bob, m, "removing the mention")
	edit(m, "hi "+atBob)
	never(bob, m, "putting the mention back")
	edit(m, "hi "+atBob+" and "+atCarol)
	once(carol, m)
	never(bob, m, "an edit that adds someone else")

	// The same for a mention an edit made first.
	plain := must[client.Message](t)(sendMsg(t, alice, r.ID, "see this"))
	edit(plain, "see this "+atBob)
	once(bob, plain)
	edit(plain, "see this")
	edit(plain, "see this "+atBob)
	never(bob, plain, "removing and putting back a mention an edit made")
}

// TestRoomSettingsNulls: notify may be left out, which keeps it, but not
// null; silenced_until: null stops silencing, as the OpenAPI document says.
func TestRoomSettingsNulls(t *testing.T) {
	ts := newTestServer(t)
	alice, _ := ts.user("alice")
	r, _, err := alice.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "g"})
	if err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	set := func(patch map[string]any) (client.RoomSettings, error) {
		return alice.UpdateRoomSettings(ctx(t), r.ID, patch)
	}
	must[client.RoomSettings](t)(set(map[string]any{"notify": "none", "silenced_until": until}))

	for _, patch := range []map[string]any{{"notify": nil}, {"notify": nil, "silenced_until": nil}} {
		_, err := set(patch)
		if e := apiError(t, err, 400, "invalid_request"); !strings.Contains(e.Message, `"notify"`) {
			t.Errorf("%v: message %q does not name notify", patch, e.Message)
		}
	}
	got := must[client.Room](t)(alice.Room(ctx(t), r.ID))
	if got.Notify != "none" || got.SilencedUntil == nil || !got.SilencedUntil.Equal(until) {
		t.Errorf("settings after refused patches: notify %q, silenced until %v", got.Notify, got.SilencedUntil)
	}

	rs := must[client.RoomSettings](t)(set(map[string]any{"silenced_until": nil}))
	if rs.Notify != "none" || rs.SilencedUntil != nil {
		t.Errorf("after silenced_until: null: %+v", rs)
	}
	if got := must[client.Room](t)(alice.Room(ctx(t), r.ID)); got.SilencedUntil != nil {
		t.Errorf("room still silenced until %v", got.SilencedUntil)
	}
}

// TestProfileAndRoomNulls: a field of PATCH /me or PATCH /rooms/{id} may
// be left out, which keeps it, but not null, which would read the same.
func TestProfileAndRoomNulls(t *testing.T) {
	ts := newTestServer(t)
	alice, _ := ts.user("alice")
	r, _, err := alice.CreateRoom(ctx(t), client.NewRoom{Kind: "group", Name: "g", Topic: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"display_name", "settings"} {
		_, err := alice.UpdateMe(ctx(t), map[string]any{key: nil})
		if e := apiError(t, err, 400, "invalid_request"); !strings.Contains(e.Message, `"`+key+`"`) {
			t.Errorf("PATCH /me %s: null: message %q does not name it", key, e.Message)
		}
	}
	for _, key := range []string{"name", "topic"} {
		_, err := alice.UpdateRoom(ctx(t), r.ID, map[string]any{key: nil})
		if e := apiError(t, err, 400, "invalid_request"); !strings.Contains(e.Message, `"`+key+`"`) {
			t.Errorf("PATCH /rooms/{id} %s: null: message %q does not name it", key, e.Message)
		}
	}
	got := must[client.Room](t)(alice.Room(ctx(t), r.ID))
	if got.Name != "g" || got.Topic != "t" {
		t.Errorf("room after refused patches: %q, %q", got.Name, got.Topic)
	}
}

func TestLargeRoomReceiptsGoToTheSender(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *config.Config) {
		stateConfig(c)
		c.LargeRoom = 2
	}))
	alice, bob, carol := ts.person("alice"), ts.person("bob"), ts.person("carol")
	r := groupOf(t, alice, "big", bob, carol)
	m := must[client.Message](t)(sendMsg(t, alice, r.ID, "to everyone"))

	if err := bob.c.MarkRead(ctx(t), r.ID, m.Seq); err != nil {
		t.Fatal(err)
	}
	alice.devs[0].expect("bob's receipt", isReceipt("read", r.ID, bob.u.ID, m.Seq))
	carol.devs[0].none("a receipt for someone else's message", func(f frame) bool { return f.Type == "receipt" })
	rcs, _, err := carol.c.Receipts(ctx(t), r.ID, "", 10)
	if err != nil || len(rcs) != 3 {
		t.Fatalf("receipts of a large room: %+v, %v", rcs, err)
	}
}

func TestReceiptsAreCoalescedAndDelivered(t *testing.T) {
	ts := newTestServer(t, withConfig(func(c *config.Config) {
		stateConfig(c)
		c.ReceiptInterval = time.Hour // nothing after the first comes by itself
	}))
	alice, bob := ts.person("alice"), ts.person("bob")
	r := groupOf(t, alice, "g", bob)
	var last client.Message
	for i := range 3 {
		last = must[client.Message](t)(sendMsg(t, alice, r.ID, fmt.Sprint(i)))
	}
	for seq := last.Seq - 2; seq <= last.Seq; seq++ {
		if err := bob.c.MarkRead(ctx(t), r.ID, seq); err != nil {
			t.Fatal(err)
		}
	}
	alice.devs[0].expect("the first receipt", isReceipt("read", r.ID, bob.u.ID, last.Seq-2))
	alice.devs[0].none("a second receipt within the interval", func(f frame) bool {
		return f.Type == "receipt" && f.Kind == "read" && f.UserID == bob.u.ID
	})

	// Fetching messages counts as delivery: the sender hears of it.
	if _, _, err := bob.c.Messages(ctx(t), r.ID, client.Page{}); err != nil {
		t.Fatal(err)
	}
	rcs, _, err := alice.c.Receipts(ctx(t), r.ID, "", 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, rc := range rcs {
		if rc.UserID == bob.u.ID && rc.DeliveredSeq != last.Seq {
			t.Errorf("bob's delivered position: %+v, want %d", rc, last.Seq)
		}
	}
}

// TestLastSeenSurvivesRestart: a node that has not seen someone since it
// started reads their last-seen time from the store, where the node that
// saw them go offline wrote it.
func TestLastSeenSurvivesRestart(t *testing.T) {
	ts := newTestServer(t)
	a, _ := ts.user("watcher")
	_, gone := ts.user("gone")
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	if err := ts.srv.Service().Store().SetLastSeen(ctx(t), gone.ID, at); err != nil {
		t.Fatal(err)
	}
	u := must[client.User](t)(a.User(ctx(t), gone.ID))
	if u.Status != "offline" || u.LastSeenAt == nil || !u.LastSeenAt.Equal(at) {
		t.Errorf("user = %+v, want offline, last seen %v", u, at)
	}
}
