// Command parley runs the Parley chat server and its administrative tasks.
//
//	parley [serve] [options]        run the server
//	parley admin grant USERNAME     make a user a server admin
//	parley version                  print the version
//	parley help                     list the commands and options
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], deps{
		stdout: os.Stdout,
		stderr: os.Stderr,
		getenv: os.Getenv,
		serve:  serve,
		grant:  grantAdmin,
	}))
}

// deps is what the commands need from the outside world; tests replace the
// server and the store.
type deps struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	serve          func(ctx context.Context, cfg config.Config, log *slog.Logger) error
	grant          func(ctx context.Context, cfg config.Config, username string) (chat.User, error)
}

// Exit codes.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// run carries out the command in args and returns the exit code.
func run(args []string, d deps) int {
	cmd, rest := "serve", args
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, rest = args[0], args[1:]
	}

	var err error
	switch cmd {
	case "serve":
		err = serveCmd(rest, d)
	case "admin":
		err = adminCmd(rest, d)
	case "version":
		fmt.Fprintln(d.stdout, versionString())
	case "help":
		usage(d.stdout)
	default:
		err = usageErrorf("unknown command %q", cmd)
	}

	var ue usageError
	switch {
	case err == nil:
		return exitOK
	case errors.Is(err, flag.ErrHelp):
		usage(d.stdout)
		return exitOK
	case errors.As(err, &ue):
		fmt.Fprintf(d.stderr, "parley: %v\nRun 'parley help' for usage.\n", err)
		return exitUsage
	}
	fmt.Fprintf(d.stderr, "parley: %v\n", err)
	return exitError
}

// usageError is a mistake in the command line.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usageErrorf(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

func usage(w io.Writer) {
	fmt.Fprint(w, `Parley is a self-hosted real-time chat server.

Usage:
  parley [serve] [options]               run the server (the default command)
  parley admin grant USERNAME [options]  make USERNAME a server admin
  parley version                         print the version
  parley help                            print this help

`)
	config.Usage(w)
}
