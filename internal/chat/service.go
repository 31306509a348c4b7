package chat

import (
	"context"
	"errors"
	"log/slog"
	"time"
)

// Service is Parley's domain logic: it authorises each request at the moment
// it happens, validates input, persists through the Store and announces
// committed events on the Bus. Transports (REST, WebSocket) call it and
// nothing else changes state.
type Service struct {
	store     Store
	bus       Bus
	clock     Clock
	hasher    *Hasher
	tokenIdle time.Duration
	largeRoom int
	presence  PresenceSource
	logins    *loginGuard
	log       *slog.Logger
}

// Options configures a Service. Store and Bus are required.
type Options struct {
	Store Store
	Bus   Bus
	// Clock defaults to SystemClock.
	Clock Clock
	// Hasher defaults to one hash at a time per CPU at DefaultHashCost.
	Hasher *Hasher
	// TokenIdle is how long an unused token stays valid (default 30 days).
	TokenIdle time.Duration
	// LoginAttempts failed logins of one username within LoginWindow
	// make further attempts wait (defaults 10 and 15 minutes).
	LoginAttempts int
	LoginWindow   time.Duration
	// LargeRoom is the member count above which receipts go only to the
	// sender of the message concerned (default DefaultLargeRoom).
	LargeRoom int
	// Presence, if set, gives the status of users fetched.
	Presence PresenceSource
	// Log defaults to slog.Default().
	Log *slog.Logger
}

// NewService returns a Service.
func NewService(o Options) *Service {
	s := &Service{store: o.Store, bus: o.Bus, clock: o.Clock, hasher: o.Hasher, tokenIdle: o.TokenIdle,
		largeRoom: o.LargeRoom, presence: o.Presence, log: o.Log}
	if s.largeRoom <= 0 {
		s.largeRoom = DefaultLargeRoom
	}
	s.logins = newLoginGuard(o.LoginAttempts, o.LoginWindow)
	if s.clock == nil {
		s.clock = SystemClock{}
	}
	if s.hasher == nil {
		s.hasher = NewHasher(0, HashCost{})
	}
	if s.tokenIdle <= 0 {
		s.tokenIdle = 30 * 24 * time.Hour
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// Store returns the service's store, for readers that need no
// authorisation (health checks, the hub's own bookkeeping).
func (s *Service) Store() Store { return s.store }

// Now returns the service clock's time.
func (s *Service) Now() time.Time { return s.clock.Now() }

// publish announces committed events. The bus is a hint, so a failure is
// logged and otherwise ignored: receivers catch up from the store.
func (s *Service) publish(ctx context.Context, events ...Event) {
	for i := range events {
		if err := s.bus.Publish(ctx, Notice{Event: &events[i]}); err != nil {
			s.log.Warn("bus publish failed", "room_id", events[i].RoomID, "seq", events[i].Seq, "err", err)
		}
	}
}

// member returns the caller's membership of roomID, or ErrNotFound: rooms
// one cannot see do not exist, so their ids cannot be probed.
func (s *Service) member(ctx context.Context, a Auth, roomID string) (Member, error) {
	m, err := s.store.Member(ctx, roomID, a.User.ID)
	if errors.Is(err, ErrNotFound) {
		return Member{}, Errorf(CodeNotFound, "room not found")
	}
	return m, err
}

// isAdmin reports whether role may manage a room.
func isAdmin(role string) bool { return role == RoleOwner || role == RoleAdmin }
