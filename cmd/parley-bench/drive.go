package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
)

// Report is a run's merged results with the server's usage around it.
type Report struct {
	Part
	ServerBefore Usage   `json:"server_before"` // before connecting
	ServerReady  Usage   `json:"server_ready"`  // connected, before the load
	ServerAfter  Usage   `json:"server_after"`  // after the load
	Trials       []Trial `json:"trials,omitempty"`
	MaxRate      float64 `json:"max_rate,omitempty"`
}

// Trial is one rate tried by --find-max.
type Trial struct {
	Rate float64 `json:"rate"`
	Pass bool    `json:"pass"`
	Why  string  `json:"why,omitempty"`
	Part Part    `json:"part"`
	CPU  float64 `json:"server_cpu_seconds"`
}

// drive sets up, runs the load in this process or in shards, and reads
// the server's usage at each step.
func drive(ctx context.Context, o Options, stderr io.Writer) (*Report, error) {
	plan, err := setup(ctx, o, stderr)
	if err != nil {
		return nil, err
	}
	rep := &Report{}
	if rep.ServerBefore, err = readUsage(o.ServerPID); err != nil {
		return nil, fmt.Errorf("--server-pid: %w", err)
	}
	if o.Procs > 1 {
		return rep, driveShards(ctx, o, plan, rep, stderr)
	}
	load := newLoad(o, plan, 0, stderr)
	defer load.Close()
	fmt.Fprintln(stderr, "connecting…")
	if err := load.Prepare(ctx); err != nil {
		return nil, err
	}
	prepared := partOf(load)
	rep.ServerReady, _ = readUsage(o.ServerPID)
	if o.FindMax {
		return rep, findMax(ctx, o, load, rep, stderr)
	}
	fmt.Fprintln(stderr, "running…")
	p, err := load.Run(ctx, o.Rate)
	rep.ServerAfter, _ = readUsage(o.ServerPID)
	rep.Part = p
	if prepared != nil {
		rep.Part.Connect = prepared.Connect
	}
	return rep, err
}

// partOf returns what Prepare measured, for loads that measure it.
func partOf(l Load) *Part {
	if c, ok := l.(*connLoad); ok {
		return &c.part
	}
	return nil
}

// driveShards runs o.Procs copies of this program, each with a share of
// the plan. Each shard connects, says "ready" on stdout and waits for "go"
// on stdin, so that the server is measured with every session open and
// the load starts together; then it prints its Part as JSON.
func driveShards(ctx context.Context, o Options, plan *Plan, rep *Report, stderr io.Writer) error {
	f, err := os.CreateTemp("", "parley-bench-plan-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := json.NewEncoder(f).Encode(plan); err != nil {
		return err
	}
	f.Close()
	self, err := os.Executable()
	if err != nil {
		return err
	}
	type shard struct {
		cmd  *exec.Cmd
		in   io.WriteCloser
		out  *bufio.Scanner
		part Part
		err  error
	}
	shards := make([]*shard, o.Procs)
	for i := range shards {
		args := append([]string{o.Scenario}, os.Args[2:]...)
		args = append(args, "--plan", f.Name(), "--shard", strconv.Itoa(i))
		cmd := exec.CommandContext(ctx, self, args...)
		cmd.Stderr = prefixWriter(stderr, fmt.Sprintf("[shard %d] ", i))
		in, _ := cmd.StdinPipe()
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start shard %d: %w", i, err)
		}
		sc := bufio.NewScanner(out)
		sc.Buffer(nil, 64<<20)
		shards[i] = &shard{cmd: cmd, in: in, out: sc}
	}
	for i, s := range shards {
		if !s.out.Scan() || s.out.Text() != "ready" {
			return fmt.Errorf("shard %d did not get ready: %w", i, s.cmd.Wait())
		}
	}
	rep.ServerReady, _ = readUsage(o.ServerPID)
	for _, s := range shards {
		io.WriteString(s.in, "go\n")
	}
	var wg sync.WaitGroup
	for _, s := range shards {
		wg.Go(func() {
			if !s.out.Scan() {
				s.err = errors.New("no result")
				return
			}
			s.err = json.Unmarshal(s.out.Bytes(), &s.part)
		})
	}
	wg.Wait()
	// Every shard has sent its results and still holds its sessions.
	rep.ServerAfter, _ = readUsage(o.ServerPID)
	for _, s := range shards {
		s.in.Close()
		if err := s.cmd.Wait(); err != nil && s.err == nil {
			s.err = err
		}
	}
	var errs []error
	for i, s := range shards {
		if s.err != nil {
			errs = append(errs, fmt.Errorf("shard %d: %w", i, s.err))
		}
		rep.Part.merge(s.part)
	}
	return errors.Join(errs...)
}

// runShard is the child side of driveShards.
func runShard(ctx context.Context, o Options, stdout, stderr io.Writer) error {
	b, err := os.ReadFile(o.Plan)
	if err != nil {
		return err
	}
	var plan Plan
	if err := json.Unmarshal(b, &plan); err != nil {
		return err
	}
	load := newLoad(o, &plan, o.Shard, stderr)
	if err := load.Prepare(ctx); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "ready")
	in := bufio.NewScanner(os.Stdin)
	if !in.Scan() || in.Text() != "go" {
		return errors.New("parent went away")
	}
	p, err := load.Run(ctx, o.Rate)
	if pp := partOf(load); pp != nil {
		p.Connect = pp.Connect
	}
	out, _ := json.Marshal(p)
	fmt.Fprintf(stdout, "%s\n", out)
	// Wait for the parent to read the server before disconnecting.
	in.Scan()
	load.Close()
	return err
}

// prefixWriter returns a writer that copies lines to w with a prefix.
func prefixWriter(w io.Writer, prefix string) io.Writer {
	pr, pw := io.Pipe()
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			fmt.Fprintf(w, "%s%s\n", prefix, sc.Text())
		}
	}()
	return pw
}
