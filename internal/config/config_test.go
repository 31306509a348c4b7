package config

import (
	"bytes"
	"errors"
	"flag"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// env returns a getenv over vars.
func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestDefaults(t *testing.T) {
	c, err := Load(nil, env(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Listen:          ":8080",
		DataDir:         "./parley-data",
		Durability:      "full",
		LogLevel:        "info",
		TokenIdle:       720 * time.Hour,
		HashConcurrency: runtime.NumCPU(),
		MaxBody:         1 << 20,
		WSAuthTimeout:   10 * time.Second,
		WSPingInterval:  20 * time.Second,
		WSPongTimeout:   45 * time.Second,
		WSWriteTimeout:  10 * time.Second,
		WSQueue:         512,
		WSReadLimit:     65536,
		ResumeLimit:     1000,
		ResyncInterval:  30 * time.Second,
		ShutdownTimeout: 15 * time.Second,
		TypingTimeout:   6 * time.Second,
		PresenceGrace:   10 * time.Second,
		ReceiptInterval: time.Second,
		LoginAttempts:   10,
		LoginWindow:     15 * time.Minute,
		LargeRoom:       100,
	}
	if c != want {
		t.Errorf("Load() = %+v\nwant %+v", c, want)
	}
	if d := Default(); d != want {
		t.Errorf("Default() = %+v\nwant %+v", d, want)
	}
	if got := c.DatabasePath(); got != "parley-data/parley.db" {
		t.Errorf("DatabasePath() = %q", got)
	}
}

func TestZeroMeansDefault(t *testing.T) {
	c := Config{DataDir: "/srv/parley", WSQueue: 8}.WithDefaults()
	if c.DataDir != "/srv/parley" || c.WSQueue != 8 {
		t.Errorf("WithDefaults changed set fields: %+v", c)
	}
	if c.Listen != ":8080" || c.WSPongTimeout != 45*time.Second {
		t.Errorf("WithDefaults left zero fields: %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Error(err)
	}
	if got := c.DatabasePath(); got != "/srv/parley/parley.db" {
		t.Errorf("DatabasePath() = %q", got)
	}
	if got := (Config{}).DatabasePath(); got != "parley-data/parley.db" {
		t.Errorf("zero Config's DatabasePath() = %q", got)
	}
}

func TestEnvOverridesDefault(t *testing.T) {
	c, err := Load(nil, env(map[string]string{
		"PARLEY_LISTEN":           "127.0.0.1:9000",
		"PARLEY_DURABILITY":       "relaxed",
		"PARLEY_WS_PONG_TIMEOUT":  "50s",
		"PARLEY_MAX_BODY":         "2048",
		"PARLEY_HASH_CONCURRENCY": "3",
		"PARLEY_DATABASE":         "postgres://u@db/parley",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9000" || c.Durability != "relaxed" || c.WSPongTimeout != 50*time.Second ||
		c.MaxBody != 2048 || c.HashConcurrency != 3 || c.Database != "postgres://u@db/parley" {
		t.Errorf("Load() = %+v", c)
	}
	if got := c.DatabasePath(); got != "" {
		t.Errorf("DatabasePath() with postgres = %q, want empty", got)
	}
}

func TestFlagOverridesEnv(t *testing.T) {
	vars := env(map[string]string{"PARLEY_LISTEN": ":9000", "PARLEY_RESUME_LIMIT": "600"})
	c, err := Load([]string{"--listen", ":9001", "-resume-limit=700", "--token-idle=1h30m"}, vars)
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != ":9001" || c.ResumeLimit != 700 || c.TokenIdle != 90*time.Minute {
		t.Errorf("Load() = %+v", c)
	}
}

func TestInvalidNamesOption(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want string // in the error
	}{
		{args: []string{"--durability", "sometimes"}, want: "durability"},
		{env: map[string]string{"PARLEY_DURABILITY": "sometimes"}, want: "PARLEY_DURABILITY"},
		{args: []string{"--log-level", "loud"}, want: "log-level"},
		{args: []string{"--ws-pong-timeout", "60s"}, want: "ws-pong-timeout"},
		{args: []string{"--ws-pong-timeout", "15s"}, want: "ws-pong-timeout"},
		{args: []string{"--ws-ping-interval", "50s"}, want: "ws-pong-timeout"},
		{args: []string{"--ws-queue", "many"}, want: "ws-queue"},
		{env: map[string]string{"PARLEY_WS_QUEUE": "many"}, want: "PARLEY_WS_QUEUE"},
		{args: []string{"--ws-queue", "-1"}, want: "ws-queue"},
		{args: []string{"--token-idle", "30"}, want: "token-idle"},
		{env: map[string]string{"PARLEY_TOKEN_IDLE": "30"}, want: "PARLEY_TOKEN_IDLE"},
		{args: []string{"--resume-limit", "499"}, want: "resume-limit"},
		{args: []string{"--ws-read-limit", "10"}, want: "ws-read-limit"},
		{args: []string{"--listen", "8080"}, want: "listen"},
		{args: []string{"--pprof-listen", "6060"}, want: "pprof-listen"},
		{args: []string{"--database", "mysql://x"}, want: "database"},
		{args: []string{"--no-such-option", "x"}, want: "no-such-option"},
		{args: []string{"serve"}, want: `"serve"`},
	}
	for _, tt := range tests {
		_, err := Load(tt.args, env(tt.env))
		if err == nil {
			t.Errorf("Load(%q, %v) succeeded", tt.args, tt.env)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Load(%q, %v) = %q, want it to name %q", tt.args, tt.env, err, tt.want)
		}
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		if _, err := Load([]string{arg}, env(nil)); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("Load(%q) = %v, want flag.ErrHelp", arg, err)
		}
	}
}

func TestUsageListsEveryOption(t *testing.T) {
	var b bytes.Buffer
	Usage(&b)
	blocks := map[string]string{}
	for _, block := range strings.Split(b.String(), "\n  --")[1:] {
		name, _, _ := strings.Cut(block, "\n")
		blocks[name] = block
	}
	names := map[string]bool{}
	for _, o := range options {
		names[o.name] = true
		block, ok := blocks[o.name]
		if !ok {
			t.Errorf("usage lacks --%s:\n%s", o.name, b.String())
		}
		def := o.def
		if def == "" {
			def = `""`
		}
		for _, want := range []string{"default " + def, "env " + o.env(), o.help} {
			if !strings.Contains(block, want) {
				t.Errorf("usage of --%s lacks %q:\n%s", o.name, want, block)
			}
		}
	}
	// Every field of Config has an option.
	if fields := reflect.TypeFor[Config]().NumField(); len(names) != len(options) || len(options) != fields {
		t.Errorf("%d options, %d distinct; want one per field of Config, %d", len(options), len(names), fields)
	}
	for _, n := range []string{"listen", "data-dir", "database", "durability", "log-level", "token-idle",
		"hash-concurrency", "max-body", "ws-auth-timeout", "ws-ping-interval", "ws-pong-timeout",
		"ws-write-timeout", "ws-queue", "ws-read-limit", "resume-limit", "resync-interval", "shutdown-timeout",
		"typing-timeout", "presence-grace", "receipt-interval", "large-room", "pprof-listen",
		"login-attempts", "login-window"} {
		if !names[n] {
			t.Errorf("no option %q", n)
		}
	}
}

func TestDefaultsAreValid(t *testing.T) {
	var c Config
	for _, o := range options {
		if err := o.set(&c, o.def); err != nil {
			t.Errorf("default of %s: %v", o.name, err)
		}
	}
}

func TestPositionalArgs(t *testing.T) {
	tests := [][]string{
		{"alice", "--data-dir", "/d"},
		{"--data-dir", "/d", "alice"},
		{"--data-dir=/d", "--", "alice"},
	}
	for _, args := range tests {
		c, rest, err := LoadWithArgs(args, env(nil))
		if err != nil {
			t.Errorf("LoadWithArgs(%q): %v", args, err)
			continue
		}
		if c.DataDir != "/d" || len(rest) != 1 || rest[0] != "alice" {
			t.Errorf("LoadWithArgs(%q) = %q, %q", args, c.DataDir, rest)
		}
	}
	_, rest, err := LoadWithArgs([]string{"a", "--", "--b"}, env(nil))
	if err != nil || len(rest) != 2 || rest[1] != "--b" {
		t.Errorf("after --: %q, %v", rest, err)
	}
}
