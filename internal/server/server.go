// Package server wires Parley's parts into one running server: the store,
// the bus, the domain service, the hub and the HTTP handlers.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/parley-chat/parley/internal/api"
	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/fanout/local"
	"github.com/parley-chat/parley/internal/hub"
	"github.com/parley-chat/parley/internal/store/sqlite"
	"github.com/parley-chat/parley/internal/web"
	"github.com/parley-chat/parley/internal/ws"
)

// Server is one Parley node.
type Server struct {
	cfg     config.Config
	log     *slog.Logger
	store   chat.Store
	svc     *chat.Service
	hub     *hub.Hub
	ws      *ws.Handler
	handler http.Handler
}

// Deps are the parts tests may replace. Zero values mean the real thing.
type Deps struct {
	// HashCost of password hashes; tests lower it.
	HashCost chat.HashCost
	// Clock, for tests that drive time.
	Clock chat.Clock
}

// New opens the store and builds the server. Close releases it.
func New(ctx context.Context, cfg config.Config, log *slog.Logger, deps Deps) (*Server, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	store, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	bus := local.New()
	h := hub.New(hub.Options{
		Store: store, Bus: bus, ResyncInterval: cfg.ResyncInterval,
		ReceiptInterval: cfg.ReceiptInterval, PresenceGrace: cfg.PresenceGrace, TrackDelivery: true,
		LargeRoom: cfg.LargeRoom,
		Log:       log,
	})
	svc := chat.NewService(chat.Options{
		Store:         store,
		Bus:           bus,
		Clock:         deps.Clock,
		Hasher:        chat.NewHasher(cfg.HashConcurrency, deps.HashCost),
		TokenIdle:     cfg.TokenIdle,
		LoginAttempts: cfg.LoginAttempts,
		LoginWindow:   cfg.LoginWindow,
		LargeRoom:     cfg.LargeRoom,
		Presence:      h,
		Log:           log,
	})
	h.Start()
	sock := ws.NewHandler(ws.Options{
		Service:       svc,
		Hub:           h,
		AuthTimeout:   cfg.WSAuthTimeout,
		PingInterval:  cfg.WSPingInterval,
		PongTimeout:   cfg.WSPongTimeout,
		WriteTimeout:  cfg.WSWriteTimeout,
		QueueSize:     cfg.WSQueue,
		ReadLimit:     cfg.WSReadLimit,
		ResumeLimit:   cfg.ResumeLimit,
		TypingTimeout: cfg.TypingTimeout,
		Log:           log,
	})
	s := &Server{cfg: cfg, log: log, store: store, svc: svc, hub: h, ws: sock}
	s.handler = api.New(api.Options{
		Service: svc, MaxBody: cfg.MaxBody, Log: log, WebSocket: sock, Web: web.Handler(),
	})
	return s, nil
}

func openStore(ctx context.Context, cfg config.Config, log *slog.Logger) (chat.Store, error) {
	if cfg.Database != "" && cfg.DatabasePath() == "" {
		// TODO(postgres): the PostgreSQL store comes with the scale-out work.
		return nil, errors.New("--database: only SQLite is supported so far")
	}
	store, err := sqlite.Open(ctx, sqlite.Options{Path: cfg.DatabasePath(), Durability: cfg.Durability, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return store, nil
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// Service returns the domain service.
func (s *Server) Service() *chat.Service { return s.svc }

// Shutdown stops accepting WebSocket sessions and closes live ones with
// 1001 after their queued frames are written, telling clients to reconnect
// and resume. HTTP requests in flight are the http.Server's to finish.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.ws.Shutdown(ctx)
}

// Close closes any sessions still open, stops the hub and releases the
// store after writes in flight are committed.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.WSWriteTimeout)
	defer cancel()
	err := s.ws.Shutdown(ctx)
	s.hub.Close()
	return errors.Join(err, s.store.Close())
}

// Run serves on cfg.Listen until ctx is cancelled, then shuts down
// gracefully: it stops accepting, finishes requests in flight, closes
// sessions with 1001 and closes the store, so nothing acknowledged is lost.
func Run(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	s, err := New(ctx, cfg, log, Deps{})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.Close()
		return fmt.Errorf("listen: %w", err)
	}
	log.Info("parley serving", "addr", ln.Addr().String(), "database", s.cfg.DatabasePath(), "durability", s.cfg.Durability)

	// Bodies are at most 1 MiB, so a client that takes 30 s to send one is
	// holding a connection, not uploading; WebSocket connections set their
	// own deadlines once upgraded.
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	done := make(chan error, 1)
	go func() { done <- hs.Serve(ln) }()

	// Profiles are served on a listener of their own, never on the public
	// one, and only when asked for; it closes with the process.
	if s.cfg.PprofListen != "" {
		pln, err := net.Listen("tcp", s.cfg.PprofListen)
		if err != nil {
			hs.Close()
			s.Close()
			return fmt.Errorf("pprof listen: %w", err)
		}
		mux := http.NewServeMux()
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
		ps := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
		defer ps.Close()
		go ps.Serve(pln)
		log.Info("pprof serving", "addr", pln.Addr().String())
	}

	select {
	case err := <-done:
		s.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	if err := s.Shutdown(sctx); !errors.Is(err, context.DeadlineExceeded) {
		errs = append(errs, err)
	}
	if err := hs.Shutdown(sctx); errors.Is(err, context.DeadlineExceeded) {
		// Requests still running are cut off; what they had committed
		// stays committed, and the store is closed cleanly below.
		log.Warn("shutdown timeout: closing connections still open")
		hs.Close()
	} else {
		errs = append(errs, err)
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, err)
	}
	errs = append(errs, s.Close())
	return errors.Join(errs...)
}
