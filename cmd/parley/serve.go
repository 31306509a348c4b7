package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/server"
)

// serve runs the server until ctx is cancelled.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger) error {
	return server.Run(ctx, cfg, log)
}

// serveCmd runs "parley serve": it stops gracefully on SIGINT or SIGTERM; a
// second signal kills the process at once.
func serveCmd(args []string, d deps) error {
	cfg, err := config.Load(args, d.getenv)
	if err != nil {
		return loadError(err)
	}
	log, err := newLogger(d.stderr, cfg.LogLevel)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop() // restore the default handlers for the second signal
	}()
	return d.serve(ctx, cfg, log)
}

// newLogger returns a logger writing logfmt-style text to w at level: as
// easy to read in a terminal as to parse by machine.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, err
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l})), nil
}

// loadError marks a configuration error as a usage error, except for a
// request for help, which passes through.
func loadError(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return err
	}
	return usageError{err}
}
