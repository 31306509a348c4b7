package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/parley-chat/parley/client"
)

// benchPassword is the password of every account the tool creates.
const benchPassword = "bench-password"

// Plan is what a run sets up on the server before the load starts; shards
// read it from a file instead of setting up again.
type Plan struct {
	Users []PlanUser `json:"users"`
	Rooms []PlanRoom `json:"rooms"`
	// Token is the admin's, for readers of history.
	Token string `json:"token"`
}

// PlanUser is one account and its token.
type PlanUser struct {
	ID    string `json:"id"`
	Token string `json:"token"`
}

// PlanRoom is one room and its members, as indexes into Plan.Users.
type PlanRoom struct {
	ID      string `json:"id"`
	Members []int  `json:"members"`
	LastSeq int64  `json:"last_seq"`
}

// setup creates the accounts and rooms a scenario needs.
func setup(ctx context.Context, o Options, log io.Writer) (*Plan, error) {
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	admin, err := signInAdmin(ctx, client.New(o.Targets[0], hc), o)
	if err != nil {
		return nil, err
	}
	p := &Plan{Token: admin.Token()}
	users := o.Sessions
	switch o.Scenario {
	case "fanout", "persistence":
		users = o.Rooms * o.Members
	case "history":
		users = 0
	}
	if users > 0 {
		fmt.Fprintf(log, "setting up %d users…\n", users)
		if p.Users, err = bulkUsers(ctx, admin, users); err != nil {
			return nil, err
		}
	}
	if o.Members > 0 && users > 0 {
		fmt.Fprintf(log, "setting up rooms of %d…\n", o.Members)
		if p.Rooms, err = makeRooms(ctx, admin, p.Users, o.Members); err != nil {
			return nil, err
		}
	}
	if o.Scenario == "history" {
		room, err := seedHistory(ctx, admin, o)
		if err != nil {
			return nil, err
		}
		p.Rooms = []PlanRoom{room}
	}
	return p, nil
}

// signInAdmin logs the admin in, or registers it on a server without
// accounts (the first account is the server admin).
func signInAdmin(ctx context.Context, anon *client.Client, o Options) (*client.Client, error) {
	c, u, err := anon.Login(ctx, o.AdminUser, o.AdminPassword)
	var e *client.Error
	if errors.As(err, &e) && e.Code == "invalid_credentials" {
		c, u, err = anon.Register(ctx, o.AdminUser, o.AdminPassword, "")
	}
	if err != nil {
		return nil, fmt.Errorf("sign in as admin %q: %w", o.AdminUser, err)
	}
	if !u.IsAdmin {
		return nil, fmt.Errorf("%s is not a server admin: run 'parley admin grant %s' or use a fresh server", o.AdminUser, o.AdminUser)
	}
	return c, nil
}

// bulkUsers creates n accounts under a prefix of its own, 10,000 per call.
func bulkUsers(ctx context.Context, admin *client.Client, n int) ([]PlanUser, error) {
	var b [4]byte
	rand.Read(b[:])
	run := "b" + hex.EncodeToString(b[:])
	var users []PlanUser
	for part := 0; len(users) < n; part++ {
		count := min(n-len(users), 10_000)
		var out struct {
			Users []PlanUser `json:"users"`
		}
		body := map[string]any{"prefix": fmt.Sprintf("%s_%d_", run, part), "count": count, "password": benchPassword}
		if _, err := admin.Do(ctx, http.MethodPost, "/api/v1/admin/users/bulk", body, &out); err != nil {
			return nil, fmt.Errorf("bulk users: %w", err)
		}
		users = append(users, out.Users...)
	}
	return users, nil
}

// makeRooms puts consecutive users into group rooms of size, created by
// their first member; a last partial group gets a room too.
func makeRooms(ctx context.Context, admin *client.Client, users []PlanUser, size int) ([]PlanRoom, error) {
	var rooms []PlanRoom
	for i := 0; i < len(users); i += size {
		r := PlanRoom{}
		for j := i; j < min(i+size, len(users)); j++ {
			r.Members = append(r.Members, j)
		}
		rooms = append(rooms, r)
	}
	sem := make(chan struct{}, 8)
	errs := make([]error, len(rooms))
	var wg sync.WaitGroup
	for i := range rooms {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r := &rooms[i]
			var ids []string
			for _, m := range r.Members[1:] {
				ids = append(ids, users[m].ID)
			}
			owner := admin.WithToken(users[r.Members[0]].Token)
			room, _, err := owner.CreateRoom(ctx, client.NewRoom{Kind: "group", Name: fmt.Sprint("bench ", i), MemberIDs: ids})
			r.ID, r.LastSeq, errs[i] = room.ID, room.LastSeq, err
		})
	}
	wg.Wait()
	return rooms, errors.Join(errs...)
}

// seedHistory creates a room and sends o.Messages messages to it.
func seedHistory(ctx context.Context, admin *client.Client, o Options) (PlanRoom, error) {
	room, _, err := admin.CreateRoom(ctx, client.NewRoom{Kind: "group", Name: "bench history"})
	if err != nil {
		return PlanRoom{}, fmt.Errorf("create room: %w", err)
	}
	s, err := client.DialSession(ctx, o.Targets[0], admin.Token(), client.SessionOptions{OnEvent: func(client.Event) {}})
	if err != nil {
		return PlanRoom{}, err
	}
	defer s.Close()
	work := make(chan int)
	errs := make(chan error, 64)
	var wg sync.WaitGroup
	for range 64 {
		wg.Go(func() {
			for i := range work {
				if _, err := s.Send(ctx, room.ID, fmt.Sprintf("history message %d, of a typical length give or take a few words", i), ""); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for i := range o.Messages {
		select {
		case work <- i:
		case err := <-errs:
			close(work)
			wg.Wait()
			return PlanRoom{}, fmt.Errorf("seed history: %w", err)
		}
	}
	close(work)
	wg.Wait()
	r, err := admin.Room(ctx, room.ID)
	return PlanRoom{ID: room.ID, LastSeq: r.LastSeq}, err
}
