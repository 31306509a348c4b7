package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/server"
)

var updateScreenshots = flag.Bool("update-screenshots", false,
	"write docs/screenshot-light.png and docs/screenshot-dark.png from TestScreenshots")

// waitFor bounds every wait of the browser tests; none sleeps.
const waitFor = 20 * time.Second

// browserBinary returns the browser named by PARLEY_TEST_BROWSER, or skips.
func browserBinary(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("PARLEY_TEST_BROWSER")
	if bin == "" {
		t.Skip("browser tests need PARLEY_TEST_BROWSER set to a Chromium binary, " +
			"e.g. PARLEY_TEST_BROWSER=$(command -v chromium)")
	}
	return bin
}

// site is a real Parley server on a real port, with the web client mounted
// the way the lead will mount it: the API, WebSocket and health checks from
// the server's handler, everything else from web.Handler. It can be stopped
// and started again on the same address and data directory.
type site struct {
	t     *testing.T
	dir   string
	addr  string
	stack *stack
	hs    *http.Server
	done  chan error
}

// stack is a Parley server's handler and how to stop it.
type stack struct {
	handler http.Handler
	// shutdown closes live sessions with 1001; close releases the store.
	shutdown func(context.Context) error
	close    func() error
}

// newStack builds the server of the tests on the data directory dir.
var newStack = func(t *testing.T, dir string) (*stack, error) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := server.New(t.Context(), config.Config{DataDir: dir}, log,
		server.Deps{HashCost: chat.HashCost{Time: 1, Memory: 64}})
	if err != nil {
		return nil, err
	}
	return &stack{handler: srv.Handler(), shutdown: srv.Shutdown, close: srv.Close}, nil
}

func startSite(t *testing.T) *site {
	t.Helper()
	browserBinary(t) // skip before starting anything
	s := &site{t: t, dir: t.TempDir(), addr: "127.0.0.1:0"}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *site) start() {
	t := s.t
	t.Helper()
	st, err := newStack(t, s.dir)
	if err != nil {
		t.Fatalf("start the server: %v", err)
	}
	ln, err := net.Listen("tcp", s.addr)
	if err != nil {
		st.close()
		t.Fatalf("listen on %s: %v", s.addr, err)
	}
	s.addr = ln.Addr().String()
	s.stack = st
	s.hs = &http.Server{Handler: st.handler, ReadHeaderTimeout: 10 * time.Second}
	s.done = make(chan error, 1)
	go func() { s.done <- s.hs.Serve(ln) }()
}

// stop shuts the server down as the binary does on SIGTERM: live sessions
// are told to go away (1001), the listener and connections close, then the
// store.
func (s *site) stop() {
	if s.stack == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.stack.shutdown(ctx); err != nil {
		s.t.Errorf("server shutdown: %v", err)
	}
	s.hs.Close()
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		s.t.Errorf("serve: %v", err)
	}
	if err := s.stack.close(); err != nil {
		s.t.Errorf("close server: %v", err)
	}
	s.stack = nil
}

func (s *site) url() string { return "http://" + s.addr }

// api returns a Go client of the site, signed in as nobody.
func (s *site) api() *client.Client {
	return client.New(s.url(), &http.Client{Timeout: waitFor})
}

// servesWebSocket reports whether the server answers at /api/v1/ws. The
// live parts of the tests need it; until it is mounted the client polls.
func (s *site) servesWebSocket() bool {
	resp, err := http.Get(s.url() + "/api/v1/ws")
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode != http.StatusNotFound
}

// servesConversationState reports whether the server has the read
// markers, receipts and typing of the conversation-state work: until it
// does, the tests skip their checks of typing indicators and read marks.
func (s *site) servesConversationState(token string) bool {
	req, _ := http.NewRequest(http.MethodGet, s.url()+"/api/v1/me/unread", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// person is one browser with its own profile, so its own localStorage.
type person struct {
	t       *testing.T
	name    string
	site    *site
	ctx     context.Context
	dialogs atomic.Int32
	mu      sync.Mutex
	errors  []string
}

func newPerson(t *testing.T, s *site, name string) *person {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(browserBinary(t)),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1200, 760),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() {
		cancelTab()
		cancelAlloc()
	})
	p := &person{t: t, name: name, site: s, ctx: ctx}
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s (PARLEY_TEST_BROWSER=%s): %v", name, os.Getenv("PARLEY_TEST_BROWSER"), err)
	}
	// A dialog would stall the page; count it and dismiss it.
	err := chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			p.dialogs.Add(1)
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{})
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError && !expectedConsoleError(m) {
				p.mu.Lock()
				p.errors = append(p.errors, m.String())
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(p.checkConsole)
	return p
}

// expectedConsoleError says whether the browser logged an error the test
// causes on purpose: failed connections while the server restarts, and
// the 404s of endpoints the server does not have yet.
func expectedConsoleError(m chromedp.ConsoleMessage) bool {
	return m.Source == "network"
}

func (p *person) checkConsole() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errors {
		p.t.Errorf("%s's browser console: %s", p.name, e)
	}
}

func (p *person) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.t.Fatalf("%s: %s: %v", p.name, what, err)
	}
}

// waitUntil polls a JavaScript expression in the page until it is truthy.
func (p *person) waitUntil(what, expr string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor+5*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Poll[chromedp.Void](expr,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(waitFor)))
	if err != nil {
		p.t.Fatalf("%s: waiting for %s: %v", p.name, what, err)
	}
}

// eval evaluates a JavaScript expression in the page.
func eval[T any](p *person, expr string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		p.t.Fatalf("%s: evaluate %s: %v", p.name, expr, err)
	}
	return v
}

// js quotes s as a JavaScript string literal.
func js(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// Page helpers. Selectors and texts are those a person sees.

func (p *person) open() {
	p.t.Helper()
	p.do("open the site", chromedp.Navigate(p.site.url()))
}

func (p *person) register() {
	p.t.Helper()
	p.open()
	p.do("register",
		chromedp.WaitVisible(chromedp.CSS("#auth-form")),
		chromedp.Click(chromedp.CSS("#auth-switch")),
		chromedp.WaitVisible(chromedp.CSS("#auth-display")),
		chromedp.SendKeys(chromedp.CSS("#auth-username"), p.name),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "password123"),
		chromedp.SendKeys(chromedp.CSS("#auth-display"), strings.ToUpper(p.name[:1])+p.name[1:]),
		chromedp.Click(chromedp.CSS("#auth-submit")),
		chromedp.WaitVisible(chromedp.CSS("#chat-view")),
	)
}

// token reads the session the client keeps in localStorage.
func (p *person) token() string {
	p.t.Helper()
	return eval[string](p, `JSON.parse(localStorage.getItem('parley.session')).token`)
}

func (p *person) openRoom(name string) {
	p.t.Helper()
	sel := fmt.Sprintf(`[...document.querySelectorAll('#room-list .room')].find(b => b.querySelector('.room-name').textContent === %s)`, js(name))
	p.waitUntil("room "+name+" in the list", sel)
	eval[chromedp.Void](p, sel+`.click()`)
	p.waitUntil("room "+name+" open", `document.querySelector('#room-title').textContent === `+js(name))
}

// say types text in the composer and presses Enter.
func (p *person) say(text string) {
	p.t.Helper()
	p.do("type "+text, chromedp.SendKeys(chromedp.CSS("#composer-input"), text))
	p.pressEnter(false)
}

// pressEnter presses Enter, or Shift+Enter, in the focused element as a
// keyboard does: one keyDown that carries the text, so that a handler that
// prevents its default prevents the new line too. (SendKeys sends the text
// as a separate char event, which no handler can prevent.)
func (p *person) pressEnter(shift bool) {
	p.t.Helper()
	var mod int64
	if shift {
		mod = 8
	}
	key := input.DispatchKeyEventParams{
		Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13, Modifiers: mod,
	}
	down, up := key, key
	down.Type, down.Text, down.UnmodifiedText = input.DispatchKeyEventTypeKeyDown, "\r", "\r"
	up.Type = input.DispatchKeyEventTypeKeyUp
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	for _, ev := range []input.DispatchKeyEventParams{down, up} {
		if _, err := chromedp.Call(ctx, input.DispatchKeyEvent, ev); err != nil {
			p.t.Fatalf("%s: press Enter: %v", p.name, err)
		}
	}
}

// messageCount is how many messages of the open room hold text.
func (p *person) messageCount(text string) int {
	p.t.Helper()
	return eval[int](p, fmt.Sprintf(`[...document.querySelectorAll('#messages li.msg .msg-body')].filter(b => b.textContent.includes(%s)).length`, js(text)))
}

// waitMessage waits until the open room shows a sent (not pending)
// message with text.
func (p *person) waitMessage(text string) {
	p.t.Helper()
	p.waitUntil("message "+js(text), fmt.Sprintf(
		`[...document.querySelectorAll('#messages li.msg:not(.pending) .msg-body')].some(b => b.textContent.includes(%s))`, js(text)))
}

func (p *person) screenshot(name string) {
	p.t.Helper()
	dir := os.Getenv("PARLEY_ARTIFACTS")
	if dir == "" {
		dir = p.t.TempDir()
	}
	p.saveScreenshot(filepath.Join(dir, name))
}

func (p *person) saveScreenshot(path string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		p.t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		p.t.Fatal(err)
	}
	p.t.Logf("screenshot %s", path)
}

// colorScheme makes the page see prefers-color-scheme as scheme.
func (p *person) colorScheme(scheme string) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, waitFor)
	defer cancel()
	_, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	})
	if err != nil {
		p.t.Fatal(err)
	}
}

// TestDirectChat: two people register in the UI, one finds the other by
// username and they talk; messages, edits and deletions appear live on
// the other side, with typing and read marks where the server has them.
func TestDirectChat(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	bob := newPerson(t, s, "bob")
	alice.register()
	bob.register()
	live := s.servesWebSocket()
	state := s.servesConversationState(alice.token())
	if !live {
		t.Log("the server has no WebSocket yet: messages arrive by polling")
	}

	alice.do("start a direct chat with bob",
		chromedp.Click(chromedp.CSS("#open-direct")),
		chromedp.SendKeys(chromedp.CSS("#direct-search"), "bo"),
		chromedp.WaitVisible(chromedp.CSS(`#direct-results button[data-username="bob"]`)),
		chromedp.Click(chromedp.CSS(`#direct-results button[data-username="bob"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#dlg-direct")),
	)
	alice.waitUntil("bob's chat open", `document.querySelector('#room-title').textContent === 'Bob'`)
	alice.waitUntil("focus in the composer", `document.activeElement.id === 'composer-input'`)
	alice.say("Hello **Bob**")
	alice.waitMessage("Hello Bob")
	alice.waitUntil("bold rendered", `document.querySelector('#messages li.msg.own strong')?.textContent === 'Bob'`)

	bob.waitUntil("alice's chat in bob's list with 1 unread",
		`[...document.querySelectorAll('#room-list .room')].some(b => b.textContent.includes('Alice') && b.querySelector('.badge')?.textContent.startsWith('1'))`)
	bob.waitUntil("unread count in the tab title", `document.title === '(1) Parley'`)
	bob.openRoom("Alice")
	bob.waitMessage("Hello Bob")
	bob.waitUntil("title without unread", `document.title === 'Parley'`)

	if state && live {
		bob.do("type without sending", chromedp.SendKeys(chromedp.CSS("#composer-input"), "Hi"))
		alice.waitUntil("bob typing", `document.querySelector('#typing').textContent === 'Bob is typing…'`)
		alice.waitUntil("alice's message seen", `document.querySelector('#messages li.msg.own .msg-status[data-state="read"]') !== null`)
	} else {
		t.Log("the server does not serve conversation state yet: typing and read marks not checked")
		bob.do("type", chromedp.SendKeys(chromedp.CSS("#composer-input"), "Hi"))
	}
	// Shift+Enter starts a new line; Enter sends.
	bob.do("type", chromedp.SendKeys(chromedp.CSS("#composer-input"), " Alice"))
	bob.pressEnter(true)
	bob.say("second line")
	alice.waitMessage("Hi Alice")
	if got := eval[string](alice, `[...document.querySelectorAll('#messages li.msg .msg-body')].find(b => b.textContent.includes('Hi Alice')).textContent`); got != "Hi Alice\nsecond line" {
		t.Errorf("bob's two-line message shows as %q", got)
	}
	if state && live {
		alice.waitUntil("typing cleared", `document.querySelector('#typing').textContent === ''`)
	}

	// Alice edits her message, then deletes it; Bob sees both live.
	alice.do("edit the last message",
		chromedp.Focus(chromedp.CSS("#composer-input")),
		chromedp.KeyEvent(kb.ArrowUp), // in an empty composer: edit the last message
		chromedp.WaitVisible(chromedp.CSS("textarea.edit-input")),
		chromedp.SetValue(chromedp.CSS("textarea.edit-input"), "Hello Bob, again"),
		chromedp.Focus(chromedp.CSS("textarea.edit-input")),
	)
	alice.pressEnter(false)
	bob.waitUntil("the edit", `[...document.querySelectorAll('#messages li.msg')].some(li => li.textContent.includes('Hello Bob, again') && li.textContent.includes('(edited)'))`)
	alice.waitUntil("delete button", `document.querySelector('#messages li.msg.own:not(.deleted) button[aria-label="Delete message"]') !== null`)
	eval[chromedp.Void](alice, `document.querySelector('#messages li.msg.own:not(.deleted) button[aria-label="Delete message"]').click()`)
	alice.do("confirm", chromedp.Click(chromedp.CSS(".msg-actions.confirm button.danger")))
	bob.waitUntil("the tombstone", `[...document.querySelectorAll('#messages li.msg.deleted')].some(li => li.textContent.includes('This message was deleted.'))`)
	if n := bob.messageCount("Hello Bob"); n != 0 {
		t.Errorf("bob still sees the deleted text %d times", n)
	}

	// A reload keeps the session and shows each message once.
	bob.do("reload", chromedp.Reload())
	bob.waitMessage("Hi Alice")
	if n := bob.messageCount("Hi Alice"); n != 1 {
		t.Errorf("after a reload bob sees %q %d times", "Hi Alice", n)
	}
	alice.screenshot("direct-alice.png")
	bob.screenshot("direct-bob.png")
}

// TestRooms: one person creates a group room with another in it, then a
// public room; the other finds that in the directory, joins, and mentions
// the first with autocomplete; the owner adds a third person and removes
// the second.
func TestRooms(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	carol := newPerson(t, s, "carol")
	alice.register()
	carol.register()
	dave, _, err := s.api().Register(t.Context(), "dave", "password123", "Dave")
	if err != nil {
		t.Fatal(err)
	}

	alice.do("create a group room with carol",
		chromedp.Click(chromedp.CSS("#open-create")),
		chromedp.SendKeys(chromedp.CSS("#create-name"), "Team"),
		chromedp.SendKeys(chromedp.CSS("#create-search"), "car"),
		chromedp.WaitVisible(chromedp.CSS(`#create-results button[data-username="carol"]`)),
		chromedp.Click(chromedp.CSS(`#create-results button[data-username="carol"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#create-chosen button[aria-label="Remove Carol"]`)),
		chromedp.Click(chromedp.CSS("#create-submit")),
		chromedp.WaitNotVisible(chromedp.CSS("#dlg-create")),
	)
	alice.waitUntil("Team open", `document.querySelector('#room-title').textContent === 'Team'`)
	carol.waitUntil("Team in carol's list", `document.querySelector('#room-list').textContent.includes('Team')`)

	alice.do("create a public room",
		chromedp.Click(chromedp.CSS("#open-create")),
		chromedp.SendKeys(chromedp.CSS("#create-name"), "General"),
		chromedp.SendKeys(chromedp.CSS("#create-topic"), "Anything goes"),
		chromedp.Click(chromedp.CSS(`#dlg-create input[value="public"]`)),
		chromedp.Click(chromedp.CSS("#create-submit")),
		chromedp.WaitNotVisible(chromedp.CSS("#dlg-create")),
	)
	alice.waitUntil("General open", `document.querySelector('#room-title').textContent === 'General'`)

	carol.do("find General in the directory",
		chromedp.Click(chromedp.CSS("#open-directory")),
		chromedp.SendKeys(chromedp.CSS("#directory-search"), "Gen"),
		chromedp.WaitVisible(chromedp.CSS(`#directory-results button[aria-label="Join General"]`)),
		chromedp.Click(chromedp.CSS(`#directory-results button[aria-label="Join General"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#dlg-directory")),
	)
	carol.waitUntil("General open", `document.querySelector('#room-title').textContent === 'General'`)
	carol.waitUntil("member count", `document.querySelector('#room-sub').textContent.includes('2 members')`)

	carol.do("mention alice",
		chromedp.SendKeys(chromedp.CSS("#composer-input"), "hi @ali"),
		chromedp.WaitVisible(chromedp.CSS(`#mentions li[aria-selected="true"]`)),
		chromedp.SendKeys(chromedp.CSS("#composer-input"), "\t"),
	)
	if v := eval[string](carol, `document.querySelector('#composer-input').value`); v != "hi @alice " {
		t.Errorf("after autocompletion the composer holds %q", v)
	}
	carol.say("welcome me :)")
	alice.waitMessage("hi @alice welcome me :)")
	alice.waitUntil("the mention highlighted", `document.querySelector('#messages li.msg.mentioned .mention.self')?.textContent === '@alice'`)

	alice.do("add dave",
		chromedp.Click(chromedp.CSS("#open-details")),
		chromedp.SendKeys(chromedp.CSS("#details-search"), "dav"),
		chromedp.WaitVisible(chromedp.CSS(`#details-results button[data-username="dave"]`)),
		chromedp.Click(chromedp.CSS(`#details-results button[data-username="dave"]`)),
	)
	alice.waitUntil("dave listed", `document.querySelector('#details-members').textContent.includes('@dave')`)
	rooms, err := dave.Rooms(t.Context())
	if err != nil || len(rooms) != 1 || rooms[0].Name != "General" {
		t.Errorf("dave's rooms after alice added him: %+v, %v", rooms, err)
	}
	alice.waitUntil("carol listed", `document.querySelector('#details-members button[aria-label="Remove Carol from the room"]') !== null`)
	eval[chromedp.Void](alice, `document.querySelector('#details-members button[aria-label="Remove Carol from the room"]').click()`)
	alice.waitUntil("carol gone from the members", `document.querySelector('#details-members').textContent.includes('Carol') === false`)
	if s.servesWebSocket() {
		carol.waitUntil("General gone from carol's list", `document.querySelector('#room-list').textContent.includes('General') === false`)
		carol.waitUntil("carol back at the room list", `document.querySelector('#no-room').hidden === false`)
	}
}

// TestHostileMessagesAreInert: markup and script links in messages, sent
// through the API by someone else and typed in the UI, show as text.
func TestHostileMessagesAreInert(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	alice.register()

	mallory, room := apiDirectWith(t, s, "mallory", "alice")
	hostile := []string{
		`<img src=x onerror=alert(1)>`,
		`[x](javascript:alert(1))`,
		`javascript:alert(1)`,
		`[y](JaVaScRiPt:alert(1)) and [z]( javascript:alert(1))`,
		"<script>alert(2)</script>\n```\n<img src=x onerror=alert(2)>\n```",
		`> <svg onload=alert(1)>`,
		`[data](data:text/html,<script>alert(1)</script>) https://example.com/ok`,
	}
	for _, text := range hostile {
		if _, _, err := mallory.Send(t.Context(), room.ID, text, ""); err != nil {
			t.Fatal(err)
		}
	}

	alice.openRoom("mallory")
	alice.waitMessage("https://example.com/ok")
	alice.say(`<img src=x onerror=alert(3)> [x](javascript:alert(3))`)
	alice.waitMessage(`<img src=x onerror=alert(3)>`)

	for _, text := range []string{`<img src=x onerror=alert(1)>`, `[x](javascript:alert(1))`, `<script>alert(2)</script>`, `<svg onload=alert(1)>`, `(data:text/html,<script>alert(1)</script>)`} {
		if n := alice.messageCount(text); n != 1 {
			t.Errorf("%q shows as text %d times, want 1", text, n)
		}
	}
	checks := map[string]string{
		"img, svg, script or iframe in the messages": `document.querySelectorAll('#messages img, #messages svg, #messages script, #messages iframe').length`,
		"links that are not http, https or mailto":   `[...document.querySelectorAll('#messages a')].filter(a => !['http:', 'https:', 'mailto:'].includes(new URL(a.href).protocol)).length`,
		"elements with event handler attributes":     `[...document.querySelectorAll('#messages *')].filter(el => [...el.attributes].some(a => a.name.startsWith('on'))).length`,
	}
	for what, expr := range checks {
		if n := eval[int](alice, expr); n != 0 {
			t.Errorf("%d %s", n, what)
		}
	}
	if n := eval[int](alice, `document.querySelectorAll('#messages a[href="https://example.com/ok"]').length`); n != 1 {
		t.Errorf("the https link is a link %d times, want 1", n)
	}
	if n := alice.dialogs.Load(); n != 0 {
		t.Errorf("%d JavaScript dialogs opened", n)
	}
}

// TestReconnectAfterRestart: the server restarts on the same address and
// data; the page reconnects by itself, sends what was typed meanwhile,
// and shows what it missed exactly once.
func TestReconnectAfterRestart(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	alice.register()
	live := s.servesWebSocket()

	bob, room := apiDirectWith(t, s, "bob", "alice")
	if _, _, err := bob.Send(t.Context(), room.ID, "before the restart", ""); err != nil {
		t.Fatal(err)
	}
	alice.openRoom("bob")
	alice.waitMessage("before the restart")
	if live {
		alice.waitUntil("connected", `document.body.dataset.conn === 'open'`)
	}

	s.stop()
	if live {
		alice.waitUntil("offline", `document.body.dataset.conn !== 'open'`)
	}
	alice.say("typed while offline")
	alice.waitUntil("pending message", `[...document.querySelectorAll('#messages li.msg.pending')].some(li => li.textContent.includes('typed while offline'))`)

	s.start()
	if _, _, err := bob.Send(t.Context(), room.ID, "sent while you were away", ""); err != nil {
		t.Fatal(err)
	}
	if live {
		alice.waitUntil("reconnected", `document.body.dataset.conn === 'open'`)
	}
	alice.waitMessage("sent while you were away")
	alice.waitMessage("typed while offline")
	alice.waitUntil("nothing pending", `document.querySelectorAll('#messages li.msg.pending').length === 0`)
	for _, text := range []string{"before the restart", "sent while you were away", "typed while offline"} {
		if n := alice.messageCount(text); n != 1 {
			t.Errorf("alice sees %q %d times, want once", text, n)
		}
	}
	msgs, _, err := bob.Messages(t.Context(), room.ID, client.Page{})
	if err != nil {
		t.Fatal(err)
	}
	var got int
	for _, m := range msgs {
		if m.Text == "typed while offline" {
			got++
		}
	}
	if got != 1 {
		t.Errorf("the server stored the offline message %d times, want once", got)
	}
	alice.screenshot("reconnected.png")
}

// TestHistoryAndPreferences: a long history loads upwards as the person
// scrolls, each message once and in order; the emoji picker, a room's
// notification preference and the theme work and survive a reload;
// signing out forgets the session and signing in brings it back.
func TestHistoryAndPreferences(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	alice.register()
	bob, room := apiDirectWith(t, s, "bob", "alice")
	const n = 130
	for i := 1; i <= n; i++ {
		if _, _, err := bob.Send(t.Context(), room.ID, fmt.Sprintf("message %d", i), ""); err != nil {
			t.Fatal(err)
		}
	}

	alice.openRoom("bob")
	alice.waitMessage(fmt.Sprintf("message %d", n))
	alice.waitUntil("the whole history, scrolling up", `(() => {
		document.querySelector('#timeline').scrollTop = 0;
		return document.querySelector('#history-status').textContent.includes('beginning');
	})()`)
	texts := eval[[]string](alice, `[...document.querySelectorAll('#messages li.msg .msg-body')].map(b => b.textContent)`)
	if len(texts) != n {
		t.Errorf("%d messages shown, want %d", len(texts), n)
	}
	for i, text := range texts {
		if want := fmt.Sprintf("message %d", i+1); text != want {
			t.Errorf("message %d shows %q, want %q", i, text, want)
			break
		}
	}

	alice.do("pick an emoji",
		chromedp.Click(chromedp.CSS("#emoji-button")),
		chromedp.WaitVisible(chromedp.CSS(`#emoji-picker button[aria-label="thumbs up"]`)),
		chromedp.Click(chromedp.CSS(`#emoji-picker button[aria-label="thumbs up"]`)),
		chromedp.WaitNotVisible(chromedp.CSS("#emoji-picker")),
	)
	alice.waitUntil("emoji in the composer, focus back", `document.activeElement.id === 'composer-input' && document.activeElement.value === '👍'`)

	choose := func(sel, value string) {
		eval[chromedp.Void](alice, fmt.Sprintf(`(() => {
			const el = document.querySelector(%s);
			el.value = %s;
			el.dispatchEvent(new Event('change', { bubbles: true }));
		})()`, js(sel), js(value)))
	}
	alice.do("open the room details", chromedp.Click(chromedp.CSS("#open-details")), chromedp.WaitVisible(chromedp.CSS("#details-notify")))
	choose("#details-notify", "none")
	alice.do("close the details", chromedp.Click(chromedp.CSS(`#dlg-details button[value="cancel"]`)), chromedp.WaitNotVisible(chromedp.CSS("#dlg-details")))
	alice.waitUntil("room marked as silent", `document.querySelector('#room-list .room .muted-icon') !== null`)

	alice.do("open the settings", chromedp.Click(chromedp.CSS("#open-settings")), chromedp.WaitVisible(chromedp.CSS("#settings-theme")))
	choose("#settings-theme", "dark")
	alice.waitUntil("dark theme", `document.documentElement.dataset.theme === 'dark' && getComputedStyle(document.body).colorScheme === 'dark'`)
	alice.do("reload", chromedp.Reload())
	alice.waitMessage(fmt.Sprintf("message %d", n))
	alice.waitUntil("dark theme after a reload", `document.documentElement.dataset.theme === 'dark'`)
	alice.waitUntil("room still silent after a reload", `document.querySelector('#room-list .room .muted-icon') !== null`)

	alice.do("sign out",
		chromedp.Click(chromedp.CSS("#open-settings")),
		chromedp.WaitVisible(chromedp.CSS("#logout")),
		chromedp.Click(chromedp.CSS("#logout")),
		chromedp.WaitVisible(chromedp.CSS("#auth-form")),
	)
	if got := eval[*string](alice, `localStorage.getItem('parley.session')`); got != nil {
		t.Errorf("the session is still stored after signing out: %s", *got)
	}
	alice.do("sign in",
		chromedp.SendKeys(chromedp.CSS("#auth-username"), "alice"),
		chromedp.SendKeys(chromedp.CSS("#auth-password"), "password123"),
		chromedp.Click(chromedp.CSS("#auth-submit")),
		chromedp.WaitVisible(chromedp.CSS("#chat-view")),
	)
	alice.openRoom("bob")
	alice.waitMessage(fmt.Sprintf("message %d", n))
}

// TestMarkdown renders messages in the browser and compares the DOM built
// with what the subset promises.
func TestMarkdown(t *testing.T) {
	s := startSite(t)
	p := newPerson(t, s, "reader")
	p.open()
	p.waitUntil("the page", `document.readyState === 'complete'`)

	tests := []struct{ in, want string }{
		{"plain", "<p>plain</p>"},
		{"**bold** and *it* and _it_", "<p><strong>bold</strong> and <em>it</em> and <em>it</em></p>"},
		{"snake_case_name stays", "<p>snake_case_name stays</p>"},
		{"2 * 3 * 4", "<p>2 * 3 * 4</p>"},
		{"`a <b> c`", "<p><code>a &lt;b&gt; c</code></p>"},
		{"``with ` tick``", "<p><code>with ` tick</code></p>"},
		{"```\n**no** <i>\n```", "<pre><code>**no** &lt;i&gt;</code></pre>"},
		{"```go\nx := 1", `<pre><code data-lang="go">x := 1</code></pre>`},
		{"> quoted\n> **more**\nafter", "<blockquote><p>quoted\n<strong>more</strong></p></blockquote><p>after</p>"},
		{"one\n\ntwo", "<p>one</p><p>two</p>"},
		{"<b>x</b> &amp;", "<p>&lt;b&gt;x&lt;/b&gt; &amp;amp;</p>"},
		{"see https://example.com/a_(b).", `<p>see <a href="https://example.com/a_(b)" rel="noopener noreferrer nofollow" target="_blank">https://example.com/a_(b)</a>.</p>`},
		{"[site](https://example.com)", `<p><a href="https://example.com/" rel="noopener noreferrer nofollow" target="_blank">site</a></p>`},
		{"mail mailto:a@example.com", `<p>mail <a href="mailto:a@example.com" rel="noopener noreferrer nofollow" target="_blank">mailto:a@example.com</a></p>`},
		{"[x](javascript:alert(1))", "<p>[x](javascript:alert(1))</p>"},
		{"[x](vbscript:y) [y](/relative)", "<p>[x](vbscript:y) [y](/relative)</p>"},
		{"javascript:alert(1)", "<p>javascript:alert(1)</p>"},
		{"ftp://example.com", "<p>ftp://example.com</p>"},
		{"hi @bob and @nobody, mail a@bob.com", `<p>hi <span class="mention">@bob</span> and @nobody, mail a@bob.com</p>`},
		{"\\*not italic\\*", "<p>*not italic*</p>"},
		{">>>>>> deep", "<blockquote><blockquote><blockquote><p>&gt;&gt;&gt; deep</p></blockquote></blockquote></blockquote>"},
	}
	for _, tt := range tests {
		got := eval[string](p, fmt.Sprintf(`import('/js/markdown.js').then(m => {
			const d = document.createElement('div');
			d.append(m.render(%s, { mention: (n) => n === 'bob' ? { self: false } : null }));
			return d.innerHTML;
		})`, js(tt.in)))
		if got != tt.want {
			t.Errorf("render(%q)\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

// TestScreenshots draws a typical conversation in light and dark, at
// desktop and phone width. With -update-screenshots it refreshes the
// screenshots in docs/.
func TestScreenshots(t *testing.T) {
	s := startSite(t)
	alice := newPerson(t, s, "alice")
	alice.register()
	api := s.api()
	bob, _, err := api.Register(t.Context(), "bob", "password123", "Bob Marley")
	if err != nil {
		t.Fatal(err)
	}
	carol, _, err := api.Register(t.Context(), "carol", "password123", "Carol Danvers")
	if err != nil {
		t.Fatal(err)
	}
	find := func(name string) string {
		users, err := bob.SearchUsers(t.Context(), name)
		if err != nil || len(users) == 0 {
			t.Fatalf("search %s: %v", name, err)
		}
		return users[0].ID
	}
	aliceID, carolID := find("alice"), find("carol")
	room, _, err := bob.CreateRoom(t.Context(), client.NewRoom{
		Kind: "group", Name: "Release 1.0", Topic: "Shipping on Friday", MemberIDs: []string{aliceID, carolID},
	})
	if err != nil {
		t.Fatal(err)
	}
	direct, _, err := carol.CreateRoom(t.Context(), client.NewRoom{Kind: "direct", UserID: aliceID})
	if err != nil {
		t.Fatal(err)
	}
	say := func(c *client.Client, roomID, text string) {
		if _, _, err := c.Send(t.Context(), roomID, text, ""); err != nil {
			t.Fatal(err)
		}
	}
	say(bob, room.ID, "Morning! The **release branch** is cut.")
	say(carol, room.ID, "Great. I ran the load test overnight:\n```\n10k sessions, p99 delivery 38 ms\n```")
	say(bob, room.ID, "> p99 delivery 38 ms\n\nThat's *well* under budget 🎉")
	say(carol, room.ID, "@alice can you check the notes at https://example.com/notes before we tag?")
	say(carol, direct.ID, "Coffee later?")

	alice.openRoom("Release 1.0")
	alice.waitMessage("can you check the notes")
	alice.say("On it — I'll post the `v1.0.0` tag here when it's done 👍")
	alice.waitMessage("tag here when")
	eval[chromedp.Void](alice, `document.activeElement.blur()`)
	alice.do("move the pointer off the messages", chromedp.MouseEvent(chromedp.MouseMoved, 1, 1))

	shots := []struct {
		name, scheme  string
		width, height int64
		docs          string
	}{
		{"screenshot-light.png", "light", 1200, 760, "screenshot-light.png"},
		{"screenshot-dark.png", "dark", 1200, 760, "screenshot-dark.png"},
		{"phone-light.png", "light", 390, 780, ""},
		{"phone-dark.png", "dark", 390, 780, ""},
	}
	for _, sh := range shots {
		alice.colorScheme(sh.scheme)
		opts := []chromedp.EmulateViewportOption{}
		if sh.width < 600 {
			opts = append(opts, chromedp.EmulateMobile, chromedp.EmulatePortrait)
		}
		alice.do("resize", chromedp.EmulateViewport(sh.width, sh.height, opts...))
		alice.waitUntil("layout", fmt.Sprintf(`window.matchMedia('(prefers-color-scheme: %s)').matches && window.innerWidth === %d`, sh.scheme, sh.width))
		alice.waitUntil("scrolled to the end", `(() => {
			const s = document.querySelector('#timeline');
			s.scrollTop = s.scrollHeight;
			return s.scrollHeight - s.scrollTop - s.clientHeight < 2;
		})()`)
		if *updateScreenshots && sh.docs != "" {
			alice.saveScreenshot(filepath.Join("..", "..", "docs", sh.docs))
		} else {
			alice.screenshot(sh.name)
		}
	}
}

// apiDirectWith registers name through the REST API and starts a direct
// room with the user called peer, as another client than the browser would.
func apiDirectWith(t *testing.T, s *site, name, peer string) (*client.Client, client.Room) {
	t.Helper()
	c, _, err := s.api().Register(t.Context(), name, "password123", "")
	if err != nil {
		t.Fatal(err)
	}
	users, err := c.SearchUsers(t.Context(), peer)
	if err != nil || len(users) != 1 {
		t.Fatalf("search %s: %v %v", peer, users, err)
	}
	room, _, err := c.CreateRoom(t.Context(), client.NewRoom{Kind: "direct", UserID: users[0].ID})
	if err != nil {
		t.Fatal(err)
	}
	return c, room
}
