// Command parley-bench is a load generator for Parley. It drives a running
// server through the project's Go client (package client) and reports
// throughput, latency, losses and the server's memory and CPU use.
//
//	parley-bench connections [options]   open and hold idle sessions
//	parley-bench fanout [options]        messages to rooms, delivered to every member
//	parley-bench persistence [options]   acknowledged sends, as fast as acks come
//	parley-bench history [options]       page reads of a room's history
//
// Run "parley-bench SCENARIO -h" for the options; docs/benchmarks.md has
// the commands behind the published figures.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"
)

// Options are the command line of one run; every scenario reads the ones
// it needs. Fields are exported so that a shard gets them from its parent
// as JSON.
type Options struct {
	Scenario      string        `json:"scenario"`
	Targets       []string      `json:"targets"`
	AdminUser     string        `json:"admin_user"`
	AdminPassword string        `json:"-"`
	Duration      time.Duration `json:"duration"`
	JSON          string        `json:"-"`
	CPUProfile    string        `json:"-"`
	SourceAddrs   []string      `json:"source_addrs,omitempty"`
	Procs         int           `json:"procs"`
	ServerPID     int           `json:"server_pid,omitempty"`

	// connections
	Sessions    int     `json:"sessions,omitempty"`
	ConnectRate float64 `json:"connect_rate,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`

	// fanout and persistence
	Rooms    int           `json:"rooms,omitempty"`
	Members  int           `json:"members,omitempty"`
	Senders  int           `json:"senders,omitempty"`
	Rate     float64       `json:"rate,omitempty"`
	Inflight int           `json:"inflight,omitempty"`
	Drain    time.Duration `json:"drain,omitempty"`
	FindMax  bool          `json:"find_max,omitempty"`
	P99Limit time.Duration `json:"p99_limit,omitempty"`
	// Receivers is "client" (every member a client.Session) or "raw"
	// (members that do not send only count frames; see rawReceiver).
	Receivers string `json:"receivers,omitempty"`

	// history
	Messages int `json:"messages,omitempty"`
	Readers  int `json:"readers,omitempty"`
	PageSize int `json:"page_size,omitempty"`

	// Set on shards by their parent.
	Shard int    `json:"shard"`
	Plan  string `json:"-"`
}

const usage = `usage: parley-bench SCENARIO [options]

scenarios:
  connections   open and hold idle sessions
  fanout        messages to rooms, delivered to every member
  persistence   acknowledged sends, as fast as acks come
  history       page reads of a room's history

"parley-bench SCENARIO -h" lists a scenario's options;
docs/benchmarks.md has the commands behind the published figures.
`

// errUsage is returned when the command line names no scenario.
var errUsage = errors.New("no scenario given")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "parley-bench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
		fmt.Fprint(stdout, usage)
		return nil
	}
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	o, err := parseOptions(args[0], args[1:], stderr)
	if err != nil {
		return err
	}
	// Refuse what would otherwise fail only after the set-up or the run.
	if _, err := readUsage(o.ServerPID); err != nil {
		return fmt.Errorf("--server-pid: %w", err)
	}
	var jsonOut *os.File
	if o.JSON != "" && o.Plan == "" {
		if jsonOut, err = os.Create(o.JSON); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
		defer jsonOut.Close()
	}
	if o.CPUProfile != "" {
		f, err := os.Create(o.CPUProfile)
		if err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if o.Plan != "" {
		return runShard(ctx, o, stdout, stderr)
	}
	res, err := drive(ctx, o, stderr)
	if err != nil {
		return err
	}
	printReport(stdout, o, res)
	if jsonOut != nil {
		b, err := json.MarshalIndent(struct {
			Options Options `json:"options"`
			Figures Figures `json:"figures"`
			*Report
		}{o, figuresOf(o, res), res}, "", "  ")
		if err != nil {
			return fmt.Errorf("--json: %w", err)
		}
		if _, err := jsonOut.Write(append(b, '\n')); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
		return jsonOut.Close()
	}
	return nil
}

func parseOptions(scenario string, args []string, stderr io.Writer) (Options, error) {
	o := Options{Scenario: scenario}
	fs := flag.NewFlagSet("parley-bench "+scenario, flag.ContinueOnError)
	fs.SetOutput(stderr)
	targets := fs.String("targets", "http://127.0.0.1:8080", "comma-separated base URLs of the nodes; sessions are spread over them")
	fs.StringVar(&o.AdminUser, "admin-user", "benchadmin", "admin account: logged in, or registered if the server has no account yet")
	fs.StringVar(&o.AdminPassword, "admin-password", "bench-admin-password", "the admin account's password")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "how long the load runs: sending, reading pages or, for connections, holding the sessions")
	fs.StringVar(&o.JSON, "json", "", "also write the results to this file as JSON")
	fs.StringVar(&o.CPUProfile, "cpuprofile", "", "write the generator's own CPU profile (of this process only) to this file")
	addrs := fs.String("source-addrs", "", "comma-separated local IPs to dial from, such as 127.0.0.1,127.0.0.2")
	fs.IntVar(&o.Procs, "procs", 1, "run the load in this many processes (shards) and merge their results")
	fs.IntVar(&o.ServerPID, "server-pid", 0, "pid of the server, to read its memory and CPU from /proc")
	fs.StringVar(&o.Plan, "plan", "", "internal: the set-up file a shard reads")
	fs.IntVar(&o.Shard, "shard", 0, "internal: this shard's index")

	switch scenario {
	case "connections":
		fs.IntVar(&o.Sessions, "sessions", 1000, "sessions to open, each as its own user")
		fs.Float64Var(&o.ConnectRate, "connect-rate", 0, "new sessions per second (0: as fast as --concurrency allows)")
		fs.IntVar(&o.Concurrency, "concurrency", 256, "connection attempts in flight")
		fs.IntVar(&o.Members, "room-size", 0, "put the users in rooms of this size (0: no rooms)")
	case "fanout", "persistence":
		rooms, members, senders, inflight := 10, 10, 10, 32
		rate := 1000.0
		if scenario == "persistence" {
			rooms, members, senders, inflight, rate = 64, 1, 64, 4, 0
		}
		fs.IntVar(&o.Rooms, "rooms", rooms, "rooms")
		fs.IntVar(&o.Members, "members", members, "members per room, each with one session")
		fs.IntVar(&o.Senders, "senders", senders, "sending sessions, spread over the rooms")
		fs.Float64Var(&o.Rate, "rate", rate, "target sends per second, all senders together (0: each sender keeps --inflight sends outstanding)")
		fs.IntVar(&o.Inflight, "inflight", inflight, "most unacknowledged sends per sender")
		fs.DurationVar(&o.Drain, "drain", 5*time.Second, "after sending, how long to wait for deliveries still on their way")
		fs.BoolVar(&o.FindMax, "find-max", false, "search for the highest rate with zero loss and p99 under --p99-limit")
		fs.DurationVar(&o.P99Limit, "p99-limit", 100*time.Millisecond, "the p99 latency a --find-max trial must stay under")
		fs.StringVar(&o.Receivers, "receivers", "client", "members that do not send: client (the Go client, full JSON decoding) or raw (count frames by scanning their bytes, to spare the generator's CPU)")
	case "history":
		fs.IntVar(&o.Messages, "messages", 5000, "messages to put in the room before reading")
		fs.IntVar(&o.Readers, "readers", 16, "concurrent readers")
		fs.IntVar(&o.PageSize, "page", 50, "messages per page (at most 200)")
	default:
		return o, fmt.Errorf("unknown scenario %q: want connections, fanout, persistence or history", scenario)
	}
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	o.Targets = splitList(*targets)
	o.SourceAddrs = splitList(*addrs)
	return o, o.validate()
}

func (o Options) validate() error {
	switch {
	case len(o.Targets) == 0:
		return errors.New("--targets: need at least one URL")
	case o.Duration <= 0:
		return errors.New("--duration must be positive")
	case o.Procs < 1:
		return errors.New("--procs must be at least 1")
	case o.Rate < 0 || o.ConnectRate < 0:
		return errors.New("--rate and --connect-rate must not be negative (0: as fast as possible)")
	case o.Drain < 0:
		return errors.New("--drain must not be negative")
	case o.FindMax && o.P99Limit <= 0:
		return errors.New("--p99-limit must be positive")
	case o.FindMax && o.Procs > 1:
		// TODO(bench): trials across shards need the go/ready handshake
		// once per trial; until then, search by hand with --rate.
		return errors.New("--find-max runs in one process; drop --procs")
	case o.FindMax && o.Rate <= 0:
		return errors.New("--find-max needs a starting --rate")
	case o.Scenario == "fanout" || o.Scenario == "persistence":
		if o.Receivers != "client" && o.Receivers != "raw" {
			return errors.New("--receivers must be client or raw")
		}
		if o.Rooms < 1 || o.Members < 1 || o.Senders < 1 || o.Senders > o.Rooms*o.Members || o.Inflight < 1 {
			return errors.New("need --rooms, --members, --inflight ≥ 1 and 1 ≤ --senders ≤ rooms × members")
		}
		if o.Members > 257 {
			return errors.New("--members: at most 257 (a room is created with at most 256 others)")
		}
	case o.Scenario == "connections" && (o.Sessions < 1 || o.Concurrency < 1):
		return errors.New("--sessions and --concurrency must be at least 1")
	case o.Scenario == "history" && (o.Messages < 1 || o.Readers < 1):
		return errors.New("--messages and --readers must be at least 1")
	case o.Scenario == "history" && (o.PageSize < 1 || o.PageSize > 200):
		return errors.New("--page must be from 1 to 200, the server's largest page")
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
