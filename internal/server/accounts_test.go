package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
	"github.com/parley-chat/parley/internal/config"
)

func TestRegisterLoginLogout(t *testing.T) {
	ts := newTestServer(t)

	first, u1, err := ts.anon.Register(ctx(t), "Alice", "correct horse", "Alice A.")
	if err != nil {
		t.Fatal(err)
	}
	if u1.Username != "Alice" || u1.DisplayName != "Alice A." || u1.ID == "" {
		t.Fatalf("registered user = %+v", u1)
	}
	if len(first.Token()) < 43 {
		t.Fatalf("token %q is shorter than 256 bits", first.Token())
	}
	me := must[client.User](t)(first.Me(ctx(t)))
	if !me.IsAdmin {
		t.Error("first user is not a server admin")
	}
	second, _, err := ts.anon.Register(ctx(t), "bob", "password123", "")
	if err != nil {
		t.Fatal(err)
	}
	if me := must[client.User](t)(second.Me(ctx(t))); me.IsAdmin || me.DisplayName != "bob" {
		t.Errorf("second user = %+v, want no admin and display name defaulting to username", me)
	}

	// Login works in any letter case and keeps the name as typed.
	again, u, err := ts.anon.Login(ctx(t), "aLiCe", "correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if u.Username != "Alice" {
		t.Errorf("login returned username %q", u.Username)
	}

	// Logout revokes that token at once, and only that one.
	if err := again.Logout(ctx(t)); err != nil {
		t.Fatal(err)
	}
	_, err = again.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")
	must[client.User](t)(first.Me(ctx(t)))
}

func TestLoginFailuresLookAlike(t *testing.T) {
	ts := newTestServer(t)
	ts.user("carol")

	_, _, errWrong := ts.anon.Login(ctx(t), "carol1", "wrong password")
	_, _, errNone := ts.anon.Login(ctx(t), "nobody", "wrong password")
	_, _, errInvalid := ts.anon.Login(ctx(t), "no", "wrong password")
	a := apiError(t, errWrong, 401, "invalid_credentials")
	b := apiError(t, errNone, 401, "invalid_credentials")
	c := apiError(t, errInvalid, 401, "invalid_credentials")
	if a.Message != b.Message || b.Message != c.Message {
		t.Errorf("messages differ: %q, %q, %q", a.Message, b.Message, c.Message)
	}
}

func TestUsernameRules(t *testing.T) {
	ts := newTestServer(t)
	for _, name := range []string{"ab", strings.Repeat("a", 33), "with space", "émile", "a/b", "semi;colon", ""} {
		_, _, err := ts.anon.Register(ctx(t), name, "password123", "")
		e := apiError(t, err, 400, "validation_failed")
		if _, ok := e.Fields["username"]; !ok {
			t.Errorf("%q: fields = %v, want username", name, e.Fields)
		}
	}
	for _, name := range []string{"abc", strings.Repeat("z", 32), "a.b-c_d", "X_9"} {
		if _, _, err := ts.anon.Register(ctx(t), name, "password123", ""); err != nil {
			t.Errorf("%q: %v", name, err)
		}
	}
	_, _, err := ts.anon.Register(ctx(t), "ABC", "password123", "")
	apiError(t, err, 409, "username_taken")
}

func TestDisplayNames(t *testing.T) {
	ts := newTestServer(t)
	c, _ := ts.user("dana")

	for _, name := range []string{"Zoë Ångström", "山田太郎", "محمد", "Дарья 🌻"} {
		u, err := c.UpdateMe(ctx(t), map[string]any{"display_name": name})
		if err != nil || u.DisplayName != name {
			t.Errorf("%q: got %q, %v", name, u.DisplayName, err)
		}
	}
	for _, name := range []string{"bad\nname", "tab\there", "bell\a", "evil\u202Eeman", "iso\u2066late", "", strings.Repeat("x", 65)} {
		_, err := c.UpdateMe(ctx(t), map[string]any{"display_name": name})
		e := apiError(t, err, 400, "validation_failed")
		if _, ok := e.Fields["display_name"]; !ok {
			t.Errorf("%q: fields = %v", name, e.Fields)
		}
	}
	// An empty patch keeps everything.
	u := must[client.User](t)(c.UpdateMe(ctx(t), map[string]any{}))
	if u.DisplayName != "Дарья 🌻" {
		t.Errorf("empty patch changed display name to %q", u.DisplayName)
	}
	// invite_code is accepted and ignored.
	var out client.Auth
	_, err := ts.anon.Do(ctx(t), "POST", "/api/v1/auth/register",
		map[string]string{"username": "invited", "password": "password123", "invite_code": "xyz"}, &out)
	if err != nil || out.Token == "" {
		t.Errorf("register with invite_code: %v", err)
	}
}

func TestPasswordChangeRevokesOtherTokens(t *testing.T) {
	ts := newTestServer(t)
	a, u := ts.user("erin")
	b, _ := must2(ts.anon.Login(ctx(t), u.Username, "password123"))

	_, _, err := ts.anon.Register(ctx(t), "shortpw", "1234567", "")
	apiError(t, err, 400, "validation_failed")
	err = a.ChangePassword(ctx(t), "wrong password", "new password 1")
	apiError(t, err, 400, "validation_failed")
	err = a.ChangePassword(ctx(t), "password123", "short")
	apiError(t, err, 400, "validation_failed")

	if err := a.ChangePassword(ctx(t), "password123", "new password 1"); err != nil {
		t.Fatal(err)
	}
	must[client.User](t)(a.Me(ctx(t)))
	_, err = b.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")
	_, _, err = ts.anon.Login(ctx(t), u.Username, "password123")
	apiError(t, err, 401, "invalid_credentials")
	if _, _, err := ts.anon.Login(ctx(t), u.Username, "new password 1"); err != nil {
		t.Fatal(err)
	}
}

func must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}

func TestTokensExpireWhenIdle(t *testing.T) {
	clock := newFakeClock()
	ts := newTestServer(t, withClock(clock), withConfig(func(c *config.Config) { c.TokenIdle = time.Hour }))
	c, _ := ts.user("finn")

	// Use keeps a token alive.
	for range 3 {
		clock.Advance(50 * time.Minute)
		must[client.User](t)(c.Me(ctx(t)))
	}
	clock.Advance(61 * time.Minute)
	_, err := c.Me(ctx(t))
	apiError(t, err, 401, "unauthorized")
}

func TestUserLookup(t *testing.T) {
	ts := newTestServer(t)
	admin, _ := ts.user("gina")
	_, bob := ts.user("Bobby")
	ts.user("bobcat")
	ts.user("rob")

	u := must[client.User](t)(admin.User(ctx(t), bob.ID))
	if u.Username != bob.Username || u.IsAdmin {
		t.Errorf("user = %+v", u)
	}
	_, err := admin.User(ctx(t), "does-not-exist")
	apiError(t, err, 404, "not_found")

	found := must[[]client.User](t)(admin.SearchUsers(ctx(t), "BOB"))
	if len(found) != 2 {
		t.Fatalf("search bob = %+v", found)
	}
	for _, f := range found {
		if !strings.HasPrefix(strings.ToLower(f.Username), "bob") {
			t.Errorf("search returned %q", f.Username)
		}
	}
	if got := must[[]client.User](t)(admin.SearchUsers(ctx(t), "zzz")); len(got) != 0 {
		t.Errorf("search zzz = %+v", got)
	}
}

func TestAuthRequired(t *testing.T) {
	ts := newTestServer(t)
	for _, path := range []string{"/api/v1/me", "/api/v1/rooms", "/api/v1/users?q=a", "/api/v1/rooms/x/messages"} {
		_, err := ts.anon.Do(ctx(t), "GET", path, nil, nil)
		apiError(t, err, 401, "unauthorized")
		_, err = ts.anon.WithToken("not-a-real-token").Do(ctx(t), "GET", path, nil, nil)
		apiError(t, err, 401, "unauthorized")
	}
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json"} {
		if status, err := ts.anon.Do(ctx(t), "GET", path, nil, nil); err != nil || status != http.StatusOK {
			t.Errorf("%s: %d %v", path, status, err)
		}
	}
}

// TestLoginGuessingIsThrottled: after a few failed logins a username is
// refused with 429 and Retry-After, even with the right password, until
// the window passes; unknown usernames answer the same way.
func TestLoginGuessingIsThrottled(t *testing.T) {
	clock := newFakeClock()
	ts := newTestServer(t, withClock(clock), withConfig(func(c *config.Config) {
		c.LoginAttempts, c.LoginWindow = 3, 10*time.Minute
	}))
	_, u := ts.user("victim")

	for _, name := range []string{u.Username, "nobody-here"} {
		for range 3 {
			_, _, err := ts.anon.Login(ctx(t), name, "guess guess")
			apiError(t, err, 401, "invalid_credentials")
		}
		_, _, err := ts.anon.Login(ctx(t), strings.ToUpper(name), "password123")
		if e := apiError(t, err, 429, "rate_limited"); e.RetryAfter == "" {
			t.Errorf("%s: 429 without Retry-After", name)
		}
	}
	clock.Advance(11 * time.Minute)
	if _, _, err := ts.anon.Login(ctx(t), u.Username, "password123"); err != nil {
		t.Fatalf("login after the window: %v", err)
	}
}
