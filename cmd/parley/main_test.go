package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/config"
)

// fake records what the commands asked of the server and the store.
type fake struct {
	stdout, stderr bytes.Buffer
	env            map[string]string
	served         *config.Config
	granted        string
	grantCfg       config.Config
	serveErr       error
}

func (f *fake) deps() deps {
	return deps{
		stdout: &f.stdout,
		stderr: &f.stderr,
		getenv: func(k string) string { return f.env[k] },
		serve: func(ctx context.Context, cfg config.Config, log *slog.Logger) error {
			if ctx.Err() != nil || log == nil {
				return errors.New("serve got a done context or no logger")
			}
			f.served = &cfg
			return f.serveErr
		},
		grant: func(ctx context.Context, cfg config.Config, username string) (chat.User, error) {
			f.grantCfg = cfg
			if username != "alice" {
				return chat.User{}, fmt.Errorf("grant admin: %w", chat.ErrNotFound)
			}
			f.granted = username
			return chat.User{ID: "u1", Username: "alice", IsAdmin: true}, nil
		},
	}
}

func TestServe(t *testing.T) {
	for _, args := range [][]string{nil, {"serve"}, {"--listen", ":9000"}, {"serve", "--listen=:9000"}} {
		f := &fake{env: map[string]string{"PARLEY_DATA_DIR": "/var/lib/parley"}}
		if code := run(args, f.deps()); code != exitOK {
			t.Errorf("run(%q) = %d, stderr %q", args, code, f.stderr.String())
			continue
		}
		if f.served == nil {
			t.Errorf("run(%q) did not serve", args)
			continue
		}
		if f.served.DataDir != "/var/lib/parley" || f.served.WSQueue != 512 {
			t.Errorf("run(%q) served with %+v", args, *f.served)
		}
		if len(args) > 0 && args[len(args)-1] != "serve" && f.served.Listen != ":9000" {
			t.Errorf("run(%q) listens on %q", args, f.served.Listen)
		}
	}
}

func TestServeFailure(t *testing.T) {
	f := &fake{serveErr: errors.New("listen tcp :8080: address already in use")}
	if code := run(nil, f.deps()); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	if !strings.Contains(f.stderr.String(), "address already in use") {
		t.Errorf("stderr %q", f.stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"serve", "--durability", "never"}, "durability"},
		{[]string{"serve", "extra"}, `"extra"`},
		{[]string{"--bogus"}, "bogus"},
		{[]string{"admin"}, "grant"},
		{[]string{"admin", "revoke", "bob"}, `"revoke"`},
		{[]string{"admin", "grant"}, "USERNAME"},
		{[]string{"admin", "grant", "a", "b"}, "USERNAME"},
	}
	for _, tt := range tests {
		f := &fake{}
		if code := run(tt.args, f.deps()); code != exitUsage {
			t.Errorf("run(%q) = %d, want %d", tt.args, code, exitUsage)
		}
		if !strings.Contains(f.stderr.String(), tt.want) || f.served != nil {
			t.Errorf("run(%q): stderr %q, want it to mention %q", tt.args, f.stderr.String(), tt.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"--help"}, {"-h"}, {"serve", "--help"}, {"admin", "--help"}, {"admin", "grant", "-h"}} {
		f := &fake{}
		if code := run(args, f.deps()); code != exitOK {
			t.Errorf("run(%q) = %d, want 0", args, code)
		}
		out := f.stdout.String()
		for _, want := range []string{"admin grant USERNAME", "--ws-pong-timeout", "PARLEY_DATA_DIR"} {
			if !strings.Contains(out, want) {
				t.Errorf("run(%q) printed no %q:\n%s", args, want, out)
			}
		}
		if f.served != nil {
			t.Errorf("run(%q) served", args)
		}
	}
}

func TestVersion(t *testing.T) {
	f := &fake{}
	if code := run([]string{"version"}, f.deps()); code != exitOK {
		t.Fatalf("exit code %d", code)
	}
	if !strings.HasPrefix(f.stdout.String(), "parley dev") {
		t.Errorf("version printed %q", f.stdout.String())
	}
}

func TestAdminGrant(t *testing.T) {
	for _, args := range [][]string{
		{"admin", "grant", "alice", "--data-dir", "/srv/p"},
		{"admin", "grant", "--data-dir=/srv/p", "alice"},
	} {
		f := &fake{}
		if code := run(args, f.deps()); code != exitOK {
			t.Errorf("run(%q) = %d, stderr %q", args, code, f.stderr.String())
		}
		if f.granted != "alice" || f.grantCfg.DatabasePath() != "/srv/p/parley.db" {
			t.Errorf("run(%q) granted %q in %q", args, f.granted, f.grantCfg.DatabasePath())
		}
		if !strings.Contains(f.stdout.String(), "alice") {
			t.Errorf("run(%q) printed %q", args, f.stdout.String())
		}
	}
}

func TestAdminGrantUnknownUser(t *testing.T) {
	f := &fake{env: map[string]string{"PARLEY_DATA_DIR": "/srv/p"}}
	if code := run([]string{"admin", "grant", "bob"}, f.deps()); code != exitError {
		t.Errorf("exit code %d, want %d", code, exitError)
	}
	if got := f.stderr.String(); !strings.Contains(got, `no user named "bob"`) || !strings.Contains(got, "/srv/p/parley.db") {
		t.Errorf("stderr %q", got)
	}
}

func TestGrantAdminMissingDatabase(t *testing.T) {
	cfg := config.Config{DataDir: t.TempDir()}.WithDefaults()
	_, err := grantAdmin(context.Background(), cfg, "alice")
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("grantAdmin in an empty directory: %v", err)
	}
}

func TestNewLogger(t *testing.T) {
	var b bytes.Buffer
	log, err := newLogger(&b, "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", "v")
	if got := b.String(); strings.Contains(got, "hidden") || !strings.Contains(got, "msg=shown k=v") {
		t.Errorf("log output %q", got)
	}
}
