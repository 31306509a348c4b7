package chat

import (
	"strings"
	"sync"
	"time"
)

// loginGuard refuses logins to a username that has failed too often of
// late, so that its password cannot be guessed at the rate argon2id allows.
// It counts per username, not per address: guessing one account's password
// from many addresses is what it stops. A flood over many usernames is
// bounded by the Hasher instead.
type loginGuard struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	fails map[string]*failures
}

// failures counts one username's failed logins in the window ending at
// until.
type failures struct {
	n     int
	until time.Time
}

// maxTracked bounds the usernames a guard remembers; past it, expired
// entries are swept.
const maxTracked = 100_000

func newLoginGuard(max int, window time.Duration) *loginGuard {
	if max <= 0 {
		max = 10
	}
	if window <= 0 {
		window = 15 * time.Minute
	}
	return &loginGuard{max: max, window: window, fails: map[string]*failures{}}
}

// wait returns how long username must wait before its next attempt, or 0.
func (g *loginGuard) wait(username string, now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	f := g.fails[strings.ToLower(username)]
	if f == nil || f.n < g.max || !now.Before(f.until) {
		return 0
	}
	return f.until.Sub(now)
}

// failed records a failed login of username.
func (g *loginGuard) failed(username string, now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	key := strings.ToLower(username)
	f := g.fails[key]
	if f == nil || !now.Before(f.until) {
		if len(g.fails) >= maxTracked {
			g.sweepLocked(now)
		}
		f = &failures{until: now.Add(g.window)}
		g.fails[key] = f
	}
	f.n++
}

// succeeded forgets username's failures.
func (g *loginGuard) succeeded(username string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.fails, strings.ToLower(username))
}

func (g *loginGuard) sweepLocked(now time.Time) {
	for k, f := range g.fails {
		if !now.Before(f.until) {
			delete(g.fails, k)
		}
	}
}
