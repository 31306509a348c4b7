package sqlite

import (
	"database/sql"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// The checkpointer copies the WAL back into the database file in the
// background, on a connection of its own, so that the writer's commits do
// not pay for it. With SQLite's automatic checkpoints (every 1,000 pages),
// the commit that crossed the mark ran the checkpoint, an fsync of the
// database file included, while every op of its batch and of the batches
// queued behind it waited. In rooms of 10 at half the maximum send rate,
// turning automatic checkpoints off cut p99 send→deliver from 49 ms to
// 15 ms (docs/benchmarks.md). A checkpoint changes no committed data and
// no durability: a commit is durable once its WAL frames are synced.
//
// The writer keeps a much larger automatic checkpoint (writerAutoCheckpoint)
// as a safety net, so that the WAL stays bounded if this one falls behind,
// for example while a long read holds an old snapshot.
type checkpointer struct {
	db   *sql.DB
	log  *slog.Logger
	stop chan struct{}
	done chan struct{}
	once sync.Once

	// frames counts the WAL frames checkpointed, for tests.
	frames atomic.Int64
}

// checkpointEvery is the time between two background checkpoints. PASSIVE
// checkpoints wait for no one: frames a reader still needs wait for the
// next round. Every 200 ms cost BenchmarkAppendMessage (full, one writer)
// 18% of its throughput, copying the same hot pages over and over; every
// second costs nothing measurable and keeps the latency gain.
const checkpointEvery = time.Second

// writerAutoCheckpoint is the writer's own automatic checkpoint, in pages
// (4 KiB each: 64 MiB of WAL).
const writerAutoCheckpoint = 16384

func startCheckpointer(db *sql.DB, log *slog.Logger) *checkpointer {
	c := &checkpointer{db: db, log: log, stop: make(chan struct{}), done: make(chan struct{})}
	go c.run()
	return c
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		var busy, logFrames, done int64
		err := c.db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &logFrames, &done)
		if err != nil {
			c.log.Warn("sqlite checkpoint failed", "err", err)
			continue
		}
		c.frames.Add(max(done, 0))
	}
}

// close stops the checkpoints and closes the connection; it may be called
// more than once.
func (c *checkpointer) close() error {
	c.once.Do(func() { close(c.stop) })
	<-c.done
	return c.db.Close()
}
