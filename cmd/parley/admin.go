package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"syscall"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
	"github.com/parley-chat/parley/internal/store/sqlite"
)

// adminCmd runs "parley admin SUBCOMMAND".
func adminCmd(args []string, d deps) error {
	if len(args) == 0 {
		return usageErrorf("admin needs a subcommand: grant")
	}
	switch args[0] {
	case "grant":
		return grantCmd(args[1:], d)
	case "-h", "-help", "--help":
		return flag.ErrHelp
	}
	return usageErrorf("unknown admin subcommand %q", args[0])
}

// grantCmd runs "parley admin grant USERNAME [options]".
func grantCmd(args []string, d deps) error {
	cfg, rest, err := config.LoadWithArgs(args, d.getenv)
	if err != nil {
		return loadError(err)
	}
	if len(rest) != 1 {
		return usageErrorf("usage: parley admin grant USERNAME [--data-dir DIR]")
	}
	username := rest[0]

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	u, err := d.grant(ctx, cfg, username)
	if errors.Is(err, chat.ErrNotFound) {
		return fmt.Errorf("no user named %q in %s", username, describeStore(cfg))
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(d.stdout, "%s (id %s) is now a server admin\n", u.Username, u.ID)
	return nil
}

// grantAdmin makes username a server admin in the store cfg names.
func grantAdmin(ctx context.Context, cfg config.Config, username string) (u chat.User, err error) {
	path := cfg.DatabasePath()
	if path == "" {
		// TODO(postgres): open the PostgreSQL store once it exists.
		return chat.User{}, errors.New("admin grant supports only the SQLite store for now")
	}
	// Opening would create an empty database; a wrong --data-dir deserves
	// a clearer answer than "no such user".
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return chat.User{}, fmt.Errorf("no database at %s: check --data-dir or PARLEY_DATA_DIR", path)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: path, Durability: cfg.Durability})
	if err != nil {
		return chat.User{}, fmt.Errorf("open store: %w", err)
	}
	defer func() {
		if cerr := st.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("close store: %w", cerr)
		}
	}()
	return st.GrantAdmin(ctx, username)
}

// describeStore names the database of cfg for messages, without any
// password a URL may hold.
func describeStore(cfg config.Config) string {
	if p := cfg.DatabasePath(); p != "" {
		return p
	}
	return "the PostgreSQL database"
}
