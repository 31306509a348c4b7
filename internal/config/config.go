// Package config holds every option of the Parley server: its default, its
// flag, its PARLEY_* environment variable and how it is checked, all in one
// table, so that --help and parsing cannot drift apart.
package config

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is the server's configuration. A zero field means "the default",
// which its comment gives; Load and WithDefaults fill them in.
type Config struct {
	// Listen is the TCP address to serve HTTP on. Default ":8080".
	Listen string
	// DataDir holds the server's files. Default "./parley-data".
	DataDir string
	// Database selects the store: empty means the SQLite file
	// <DataDir>/parley.db; a postgres:// URL names a PostgreSQL database.
	// Default "".
	Database string
	// Durability is "full" (an acknowledged message survives power loss) or
	// "relaxed" (it survives a crash of the process). Default "full".
	Durability string
	// LogLevel is debug, info, warn or error. Default "info".
	LogLevel string
	// TokenIdle is how long a token stays valid without use. Default 720h.
	TokenIdle time.Duration
	// HashConcurrency bounds the argon2id hashes running at once. Default
	// runtime.NumCPU().
	HashConcurrency int
	// MaxBody bounds a request body, in bytes. Default 1048576 (1 MiB).
	MaxBody int64
	// WSAuthTimeout is how long a new WebSocket may take to authenticate.
	// Default 10s.
	WSAuthTimeout time.Duration
	// WSPingInterval is how often the server pings a WebSocket client.
	// Default 20s.
	WSPingInterval time.Duration
	// WSPongTimeout is how long a WebSocket may stay silent before it is
	// closed; it is longer than WSPingInterval and under 60s. Default 45s.
	WSPongTimeout time.Duration
	// WSWriteTimeout bounds each write to a WebSocket: a blocked write fails
	// after between half of it and all of it. Default 10s.
	WSWriteTimeout time.Duration
	// WSQueue is how many outgoing frames a session may have waiting before
	// it is closed as too slow. Default 512.
	WSQueue int
	// WSReadLimit bounds an incoming WebSocket frame, in bytes. Default
	// 65536.
	WSReadLimit int64
	// ResumeLimit is how many events per room a resuming WebSocket client is
	// replayed; beyond it the client must fetch over REST. At least 500.
	// Default 1000.
	ResumeLimit int
	// ResyncInterval is how often each node checks rooms' latest seqs to
	// catch up on notices the bus lost. Default 30s.
	ResyncInterval time.Duration
	// ShutdownTimeout bounds a graceful shutdown. Default 15s.
	ShutdownTimeout time.Duration
	// TypingTimeout is how long a typing indicator lasts after its last
	// refresh. Default 6s.
	TypingTimeout time.Duration
	// PresenceGrace is how long a person stays online after their last
	// session closed or stopped answering pings. Default 10s.
	PresenceGrace time.Duration
	// ReceiptInterval is the least time between two receipt frames of one
	// member and room. Default 1s.
	ReceiptInterval time.Duration
	// LoginAttempts is how many failed logins one username may have within
	// LoginWindow before further attempts are refused with 429. Default 10.
	LoginAttempts int
	// LoginWindow is the period LoginAttempts counts over. Default 15m.
	LoginWindow time.Duration
	// LargeRoom is the member count above which a room's receipts go only
	// to the sender of the message concerned. Default 100.
	LargeRoom int
	// PprofListen, if set, is a TCP address on which net/http/pprof serves
	// profiles, apart from the main listener; it is for profiling and
	// should stay on a loopback address. Default "" (off).
	PprofListen string
}

// Values of Config.Durability.
const (
	DurabilityFull    = "full"
	DurabilityRelaxed = "relaxed"
)

// option describes one setting. field returns a pointer to the Config field
// (*string, *int, *int64 or *time.Duration); check, if set, validates the
// value after defaults are applied.
type option struct {
	name    string
	def     string
	help    string
	choices []string
	field   func(c *Config) any
	check   func(c Config) error
}

// options is the one table of every setting, in the order --help lists them.
var options = []option{
	{
		name: "listen", def: ":8080",
		help:  "TCP address to serve HTTP on",
		field: func(c *Config) any { return &c.Listen },
		check: checkListen,
	},
	{
		name: "pprof-listen", def: "",
		help:  "if set, TCP address to serve net/http/pprof profiles on (keep it on loopback)",
		field: func(c *Config) any { return &c.PprofListen },
		check: checkPprofListen,
	},
	{
		name: "data-dir", def: "./parley-data",
		help:  "directory for the server's files, including the SQLite database",
		field: func(c *Config) any { return &c.DataDir },
	},
	{
		name: "database", def: "",
		help:  "empty for SQLite in the data directory, or a postgres:// URL",
		field: func(c *Config) any { return &c.Database },
		check: checkDatabase,
	},
	{
		name: "durability", def: DurabilityFull,
		help:    "how safe an acknowledged write is: full survives power loss, relaxed a process crash",
		choices: []string{DurabilityFull, DurabilityRelaxed},
		field:   func(c *Config) any { return &c.Durability },
	},
	{
		name: "log-level", def: "info",
		help:    "least severe level of log record written",
		choices: []string{"debug", "info", "warn", "error"},
		field:   func(c *Config) any { return &c.LogLevel },
	},
	{
		name: "token-idle", def: "720h",
		help:  "a token expires after this much time unused",
		field: func(c *Config) any { return &c.TokenIdle },
	},
	{
		name: "login-attempts", def: "10",
		help:  "failed logins one username may have within --login-window before the next get 429",
		field: func(c *Config) any { return &c.LoginAttempts },
	},
	{
		name: "login-window", def: "15m",
		help:  "period over which failed logins are counted",
		field: func(c *Config) any { return &c.LoginWindow },
	},
	{
		name: "hash-concurrency", def: "0",
		help:  "most argon2id password hashes run at once (0 = number of CPUs)",
		field: func(c *Config) any { return &c.HashConcurrency },
	},
	{
		name: "max-body", def: "1048576",
		help:  "largest request body accepted, in bytes",
		field: func(c *Config) any { return &c.MaxBody },
	},
	{
		name: "ws-auth-timeout", def: "10s",
		help:  "time a new WebSocket has to authenticate",
		field: func(c *Config) any { return &c.WSAuthTimeout },
	},
	{
		name: "ws-ping-interval", def: "20s",
		help:  "time between pings to a WebSocket client",
		field: func(c *Config) any { return &c.WSPingInterval },
	},
	{
		name: "ws-pong-timeout", def: "45s",
		help:  "a silent WebSocket is closed after this long (more than the ping interval, under 60s)",
		field: func(c *Config) any { return &c.WSPongTimeout },
		check: checkPong,
	},
	{
		name: "ws-write-timeout", def: "10s",
		help:  "time allowed for each write to a WebSocket (a blocked write fails after half of it to all of it)",
		field: func(c *Config) any { return &c.WSWriteTimeout },
	},
	{
		name: "ws-queue", def: "512",
		help:  "outgoing frames a WebSocket session may queue before it is closed as too slow",
		field: func(c *Config) any { return &c.WSQueue },
	},
	{
		name: "ws-read-limit", def: "65536",
		help:  "largest incoming WebSocket message, in bytes (at least 1024)",
		field: func(c *Config) any { return &c.WSReadLimit },
		check: atLeast(1024, func(c Config) int64 { return c.WSReadLimit }),
	},
	{
		name: "resume-limit", def: "1000",
		help:  "events replayed per room when a WebSocket client resumes (at least 500)",
		field: func(c *Config) any { return &c.ResumeLimit },
		check: atLeast(500, func(c Config) int64 { return int64(c.ResumeLimit) }),
	},
	{
		name: "resync-interval", def: "30s",
		help:  "time between checks of rooms' latest seq, to catch up on lost notices",
		field: func(c *Config) any { return &c.ResyncInterval },
	},
	{
		name: "shutdown-timeout", def: "15s",
		help:  "time allowed for a graceful shutdown",
		field: func(c *Config) any { return &c.ShutdownTimeout },
	},
	{
		name: "typing-timeout", def: "6s",
		help:  "a typing indicator expires this long after its last refresh",
		field: func(c *Config) any { return &c.TypingTimeout },
	},
	{
		name: "presence-grace", def: "10s",
		help:  "a person goes offline this long after their last session ends",
		field: func(c *Config) any { return &c.PresenceGrace },
	},
	{
		name: "receipt-interval", def: "1s",
		help:  "least time between two receipt frames of one member and room",
		field: func(c *Config) any { return &c.ReceiptInterval },
	},
	{
		name: "large-room", def: "100",
		help:  "member count above which receipts go only to the sender of the message concerned",
		field: func(c *Config) any { return &c.LargeRoom },
	},
}

// env returns the environment variable of o.
func (o option) env() string {
	return "PARLEY_" + strings.ToUpper(strings.ReplaceAll(o.name, "-", "_"))
}

// label names o in error messages by both its flag and its variable.
func (o option) label() string {
	return "--" + o.name + " (" + o.env() + ")"
}

// set parses s into o's field of c.
func (o option) set(c *Config, s string) error {
	switch p := o.field(c).(type) {
	case *string:
		*p = s
	case *int:
		n, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		*p = n
	case *int64:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid integer %q", s)
		}
		*p = n
	case *time.Duration:
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("invalid duration %q (use a unit, as in 30s or 720h)", s)
		}
		*p = d
	default:
		panic("config: option " + o.name + " has a field of unsupported type")
	}
	return nil
}

// isZero reports whether o's field of c holds its zero value.
func (o option) isZero(c *Config) bool {
	switch p := o.field(c).(type) {
	case *string:
		return *p == ""
	case *int:
		return *p == 0
	case *int64:
		return *p == 0
	case *time.Duration:
		return *p == 0
	}
	return false
}

// isNegative reports whether o's numeric field of c is below zero.
func (o option) isNegative(c *Config) bool {
	switch p := o.field(c).(type) {
	case *int:
		return *p < 0
	case *int64:
		return *p < 0
	case *time.Duration:
		return *p < 0
	}
	return false
}

// value returns o's field of c as text.
func (o option) value(c *Config) string {
	switch p := o.field(c).(type) {
	case *string:
		return *p
	case *int:
		return strconv.Itoa(*p)
	case *int64:
		return strconv.FormatInt(*p, 10)
	case *time.Duration:
		return p.String()
	}
	return ""
}

// flagValue adapts an option of a Config to flag.Value.
type flagValue struct {
	o option
	c *Config
}

func (v flagValue) String() string {
	if v.c == nil {
		return ""
	}
	return v.o.value(v.c)
}

func (v flagValue) Set(s string) error { return v.o.set(v.c, s) }

// Default returns the configuration with every option at its default.
func Default() Config {
	return Config{}.WithDefaults()
}

// WithDefaults returns c with each zero field set to its default, and
// HashConcurrency 0 replaced by the number of CPUs.
func (c Config) WithDefaults() Config {
	for _, o := range options {
		if o.isZero(&c) && o.def != "" {
			if err := o.set(&c, o.def); err != nil {
				panic("config: bad default for " + o.name + ": " + err.Error())
			}
		}
	}
	if c.HashConcurrency == 0 {
		c.HashConcurrency = runtime.NumCPU()
	}
	return c
}

// Validate checks c after defaults are applied. Its error names the option
// at fault by flag and environment variable.
func (c Config) Validate() error {
	var errs []error
	for _, o := range options {
		var err error
		switch {
		case o.isNegative(&c):
			err = errors.New("must not be negative")
		case o.choices != nil && !slices.Contains(o.choices, o.value(&c)):
			err = fmt.Errorf("%q is not one of %s", o.value(&c), strings.Join(o.choices, ", "))
		case o.check != nil:
			err = o.check(c)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", o.label(), err))
		}
	}
	return errors.Join(errs...)
}

// Load returns the configuration given by args (flags, without the program
// or subcommand name) over the environment read through getenv over the
// defaults, validated. It returns flag.ErrHelp for -h or --help, so the
// caller can print Usage and exit successfully. Positional arguments are
// an error.
func Load(args []string, getenv func(string) string) (Config, error) {
	c, rest, err := LoadWithArgs(args, getenv)
	if err != nil {
		return Config{}, err
	}
	if len(rest) > 0 {
		return Config{}, fmt.Errorf("unexpected argument %q", rest[0])
	}
	return c, nil
}

// LoadWithArgs is Load for commands that take positional arguments: these
// may come before, between or after the flags (or after "--"), and are
// returned in order.
func LoadWithArgs(args []string, getenv func(string) string) (Config, []string, error) {
	var c Config
	for _, o := range options {
		s := getenv(o.env())
		if s == "" {
			continue
		}
		if err := o.set(&c, s); err != nil {
			return Config{}, nil, fmt.Errorf("%s: %w", o.env(), err)
		}
	}

	fs := flag.NewFlagSet("parley", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	for _, o := range options {
		fs.Var(flagValue{o: o, c: &c}, o.name, o.help)
	}
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return Config{}, nil, err
		}
		left := fs.Args()
		if n := len(args) - len(left); n > 0 && args[n-1] == "--" {
			rest = append(rest, left...)
			break
		}
		if len(left) == 0 {
			break
		}
		rest = append(rest, left[0])
		args = left[1:]
	}

	c = c.WithDefaults()
	if err := c.Validate(); err != nil {
		return Config{}, nil, err
	}
	return c, rest, nil
}

// Usage writes a description of every option to w: its flag, its default,
// its environment variable and what it does.
func Usage(w io.Writer) {
	fmt.Fprintln(w, "Options (a flag overrides its environment variable, which overrides the default):")
	for _, o := range options {
		def := o.def
		if def == "" {
			def = `""`
		}
		help := o.help
		if o.choices != nil {
			help += " (one of: " + strings.Join(o.choices, ", ") + ")"
		}
		fmt.Fprintf(w, "  --%s\n        %s\n        default %s, env %s\n", o.name, help, def, o.env())
	}
}

// DatabasePath returns the path of the SQLite database file, or "" when
// Database names another kind of database.
func (c Config) DatabasePath() string {
	if c.Database != "" {
		return ""
	}
	dir := c.DataDir
	if dir == "" {
		dir = Default().DataDir
	}
	return filepath.Join(dir, "parley.db")
}

func checkListen(c Config) error {
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("%q is not a host:port address", c.Listen)
	}
	return nil
}

func checkPprofListen(c Config) error {
	if c.PprofListen == "" {
		return nil
	}
	if _, _, err := net.SplitHostPort(c.PprofListen); err != nil {
		return fmt.Errorf("%q is not a host:port address", c.PprofListen)
	}
	return nil
}

func checkDatabase(c Config) error {
	if c.Database == "" {
		return nil
	}
	u, err := url.Parse(c.Database)
	if err != nil || u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("must be empty (SQLite) or a postgres:// URL")
	}
	return nil
}

func checkPong(c Config) error {
	switch {
	case c.WSPongTimeout >= time.Minute:
		return fmt.Errorf("%v must be less than 60s", c.WSPongTimeout)
	case c.WSPongTimeout <= c.WSPingInterval:
		return fmt.Errorf("%v must be longer than --ws-ping-interval (%v)", c.WSPongTimeout, c.WSPingInterval)
	}
	return nil
}

func atLeast(min int64, get func(Config) int64) func(Config) error {
	return func(c Config) error {
		if get(c) < min {
			return fmt.Errorf("%d is below the minimum of %d", get(c), min)
		}
		return nil
	}
}
