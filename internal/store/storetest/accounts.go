package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func testFirstUserIsAdmin(f *fixture) {
	first, second := f.user("first"), f.user("second")
	if !first.IsAdmin || second.IsAdmin {
		f.Errorf("IsAdmin: first %v, second %v; want true, false", first.IsAdmin, second.IsAdmin)
	}
	got, err := f.s.User(f.ctx, first.ID)
	f.must(err, "User")
	if !got.IsAdmin {
		f.Errorf("stored first user is not an admin")
	}
}

// Many first users at once: exactly one becomes admin.
func testFirstUserIsAdminConcurrently(f *fixture) {
	const n = 8
	at := f.tick()
	admins := make(chan string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			u, err := f.s.CreateUser(f.ctx, chat.User{
				ID: chat.NewID(at), Username: fmt.Sprintf("user%d", i), CreatedAt: at,
			}, "hash")
			if err != nil {
				f.Errorf("CreateUser: %v", err)
			} else if u.IsAdmin {
				admins <- u.ID
			}
		})
	}
	wg.Wait()
	if len(admins) != 1 {
		f.Errorf("%d of %d first users became admins, want 1", len(admins), n)
	}
}

func testUserRoundTrip(f *fixture) {
	at := time.Date(2024, 2, 29, 23, 59, 58, 987_000_000, zone)
	in := chat.User{ID: chat.NewID(at), Username: "Zoë", DisplayName: "Zoë Z", CreatedAt: at}
	u, err := f.s.CreateUser(f.ctx, in, "secret hash")
	f.must(err, "CreateUser")
	f.checkUTC(u.CreatedAt, at, "CreatedAt")
	if u.ID != in.ID || u.Username != in.Username || u.DisplayName != in.DisplayName {
		f.Errorf("CreateUser = %+v, want %+v", u, in)
	}
	got, err := f.s.User(f.ctx, u.ID)
	f.must(err, "User")
	f.same(got, u, "User")
	c, err := f.s.Credentials(f.ctx, "Zoë")
	f.must(err, "Credentials")
	f.same(c.User, u, "Credentials user")
	if c.PasswordHash != "secret hash" {
		f.Errorf("PasswordHash = %q, want %q", c.PasswordHash, "secret hash")
	}
}

// Usernames keep their case but are unique, and found, in any case.
func testUsernameIgnoresCase(f *fixture) {
	alice := f.user("Alice")
	f.user("Élodie")
	for _, name := range []string{"alice", "ALICE", "aLiCe", "éLODIE"} {
		_, err := f.s.CreateUser(f.ctx, chat.User{
			ID: chat.NewID(f.tick()), Username: name, CreatedAt: f.now,
		}, "hash")
		f.wantErr(err, chat.ErrUsernameTaken, "CreateUser %q", name)
	}
	c, err := f.s.Credentials(f.ctx, "aLICE")
	f.must(err, "Credentials")
	if c.User.ID != alice.ID || c.User.Username != "Alice" {
		f.Errorf("Credentials(aLICE) = %+v, want Alice as typed", c.User)
	}
}

func testUserNotFound(f *fixture) {
	f.user("someone")
	_, err := f.s.User(f.ctx, "no-such-id")
	f.wantErr(err, chat.ErrNotFound, "User")
	_, err = f.s.Credentials(f.ctx, "nobody")
	f.wantErr(err, chat.ErrNotFound, "Credentials")
	_, err = f.s.UpdateUser(f.ctx, chat.User{ID: "no-such-id", DisplayName: "x"})
	f.wantErr(err, chat.ErrNotFound, "UpdateUser")
	err = f.s.SetPassword(f.ctx, "no-such-id", "hash", nil)
	f.wantErr(err, chat.ErrNotFound, "SetPassword")
	_, err = f.s.GrantAdmin(f.ctx, "nobody")
	f.wantErr(err, chat.ErrNotFound, "GrantAdmin")
	err = f.s.CreateToken(f.ctx, chat.Token{Hash: []byte("h"), UserID: "no-such-id",
		CreatedAt: f.now, LastUsed: f.now})
	f.wantErr(err, chat.ErrNotFound, "CreateToken for a missing user")
}

func testSearchUsers(f *fixture) {
	for _, name := range []string{"rob", "BOBCAT", "alice", "Bobby", "bob"} {
		f.user(name)
	}
	cases := []struct {
		prefix string
		limit  int
		want   []string
	}{
		{"BOB", 10, []string{"bob", "Bobby", "BOBCAT"}},
		{"bob", 2, []string{"bob", "Bobby"}},
		{"bobc", 10, []string{"BOBCAT"}},
		{"", 10, []string{"alice", "bob", "Bobby", "BOBCAT", "rob"}},
		{"zed", 10, nil},
	}
	for _, c := range cases {
		users, err := f.s.SearchUsers(f.ctx, c.prefix, c.limit)
		f.must(err, "SearchUsers %q", c.prefix)
		var got []string
		for _, u := range users {
			got = append(got, u.Username)
		}
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			f.Errorf("SearchUsers(%q, %d) = %v, want %v", c.prefix, c.limit, got, c.want)
		}
	}
}

func testUpdateUser(f *fixture) {
	admin, u := f.user("admin"), f.user("carol")
	changed := u
	changed.DisplayName = "Carol C."
	got, err := f.s.UpdateUser(f.ctx, changed)
	f.must(err, "UpdateUser")
	f.same(got, changed, "UpdateUser")
	stored, err := f.s.User(f.ctx, u.ID)
	f.must(err, "User")
	f.same(stored, changed, "User after update")
	other, err := f.s.User(f.ctx, admin.ID)
	f.must(err, "User")
	f.same(other, admin, "other user after update")
}

func testGrantAdmin(f *fixture) {
	f.user("first")
	u := f.user("Dave")
	if u.IsAdmin {
		f.Fatalf("second user is an admin")
	}
	got, err := f.s.GrantAdmin(f.ctx, "DAVE")
	f.must(err, "GrantAdmin")
	u.IsAdmin = true
	f.same(got, u, "GrantAdmin")
	stored, err := f.s.User(f.ctx, u.ID)
	f.must(err, "User")
	f.same(stored, u, "User after GrantAdmin")
}

func testTokens(f *fixture) {
	u := f.user("erin")
	created := f.tick()
	hash := []byte("hash of erin's token")
	f.must(f.s.CreateToken(f.ctx, chat.Token{Hash: hash, UserID: u.ID,
		CreatedAt: created, LastUsed: created}), "CreateToken")

	// The cut-off is inclusive: a token last used at notBefore is valid.
	got, used, err := f.s.TokenUser(f.ctx, hash, created)
	f.must(err, "TokenUser")
	f.same(got, u, "TokenUser")
	f.checkUTC(used, created, "last used")
	_, _, err = f.s.TokenUser(f.ctx, hash, created.Add(time.Millisecond))
	f.wantErr(err, chat.ErrNotFound, "TokenUser past the cut-off")

	touched := f.tick()
	f.must(f.s.TouchToken(f.ctx, hash, touched), "TouchToken")
	_, used, err = f.s.TokenUser(f.ctx, hash, touched)
	f.must(err, "TokenUser after touch")
	f.checkUTC(used, touched, "last used after touch")

	f.must(f.s.DeleteToken(f.ctx, hash), "DeleteToken")
	_, _, err = f.s.TokenUser(f.ctx, hash, created)
	f.wantErr(err, chat.ErrNotFound, "TokenUser of a deleted token")
	f.must(f.s.DeleteToken(f.ctx, hash), "DeleteToken of a missing token")
	f.wantErr(f.s.TouchToken(f.ctx, hash, f.tick()), chat.ErrNotFound, "TouchToken of a missing token")
}

func testSetPasswordKeepsOnlyKeep(f *fixture) {
	u, other := f.user("frank"), f.user("grace")
	token := func(owner chat.User, name string) []byte {
		h := []byte(name)
		f.must(f.s.CreateToken(f.ctx, chat.Token{Hash: h, UserID: owner.ID,
			CreatedAt: f.now, LastUsed: f.now}), "CreateToken")
		return h
	}
	k1, k2, k3 := token(u, "k1"), token(u, "k2"), token(u, "k3")
	theirs := token(other, "theirs")
	valid := func(h []byte) bool {
		_, _, err := f.s.TokenUser(f.ctx, h, f.now)
		return err == nil
	}

	f.must(f.s.SetPassword(f.ctx, u.ID, "new hash", k2), "SetPassword")
	if valid(k1) || !valid(k2) || valid(k3) || !valid(theirs) {
		f.Errorf("after SetPassword keeping k2: k1 %v, k2 %v, k3 %v, other user's %v; want false, true, false, true",
			valid(k1), valid(k2), valid(k3), valid(theirs))
	}
	c, err := f.s.Credentials(f.ctx, "frank")
	f.must(err, "Credentials")
	if c.PasswordHash != "new hash" {
		f.Errorf("PasswordHash = %q, want %q", c.PasswordHash, "new hash")
	}
	f.must(f.s.SetPassword(f.ctx, u.ID, "newer hash", nil), "SetPassword keeping none")
	if valid(k2) {
		f.Errorf("SetPassword with keep nil left a token")
	}
}
