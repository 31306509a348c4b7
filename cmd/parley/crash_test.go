package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/parley-chat/parley/client"
)

// TestKillLosesNothingAcknowledged runs the real binary, sends from several
// goroutines, kills the process with SIGKILL while sends are in flight, and
// checks after a restart that every acknowledged message is there.
func TestKillLosesNothingAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "parley")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	data := t.TempDir()

	proc, base := startParley(t, bin, data)
	anon := client.New(base, nil)
	c, _, err := anon.Register(t.Context(), "crash", "password123", "")
	if err != nil {
		t.Fatal(err)
	}
	room, _, err := c.CreateRoom(t.Context(), client.NewRoom{Kind: "group", Name: "crash"})
	if err != nil {
		t.Fatal(err)
	}

	var acked sync.Map
	var count atomic.Int64
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := 0; ctx.Err() == nil; i++ {
				m, _, err := c.Send(ctx, room.ID, fmt.Sprintf("g%d-%d", g, i), "")
				if err != nil {
					return // the server died mid-request: not acknowledged
				}
				acked.Store(m.ID, m.Seq)
				count.Add(1)
			}
		})
	}
	waitFor(t, func() bool { return count.Load() >= 300 })
	if err := proc.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proc.Wait()
	wg.Wait()

	_, base = startParley(t, bin, data)
	c2, _, err := client.New(base, nil).Login(t.Context(), "crash", "password123")
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]int64{}
	after := int64(0)
	for {
		msgs, more, err := c2.Messages(t.Context(), room.ID, client.Page{After: after, FromStart: true, Limit: 200})
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			stored[m.ID] = m.Seq
			after = m.Seq
		}
		if !more {
			break
		}
	}
	lost := 0
	acked.Range(func(id, seq any) bool {
		if stored[id.(string)] != seq.(int64) {
			lost++
		}
		return true
	})
	t.Logf("%d acknowledged, %d stored after SIGKILL", count.Load(), len(stored))
	if lost > 0 {
		t.Fatalf("%d acknowledged messages lost", lost)
	}
}

var addrLine = regexp.MustCompile(`addr=(\S+)`)

// startParley starts the binary on a random port and returns once it
// serves. The process is killed when the test ends.
func startParley(t *testing.T, bin, data string) (*exec.Cmd, string) {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--listen", "127.0.0.1:0", "--data-dir", data)
	cmd.Env = append(os.Environ(), "PARLEY_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := addrLine.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatal("server did not report its address")
	}
	return nil, ""
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
