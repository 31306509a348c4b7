package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// The writer is the hot path of the server: every message goes through it.
// SQLite allows one writer at a time, and with synchronous=FULL each commit
// waits for an fsync, which costs far more than the statements. So one
// goroutine owns the one write connection and commits every op waiting in
// its queue in one transaction (group commit): while a commit syncs, the
// next batch gathers, and the fsync is shared by the whole batch. Each op
// of a batch of several runs inside its own SAVEPOINT, so a failing op
// rolls back alone.
//
// Measured with BenchmarkAppendMessage on a 2-vCPU VM (ext4): one writer
// with full sync waits on every fsync (about 2,400 messages/s); 64 writers
// share it about 30 ways and reach about 10,600/s, near relaxed durability
// (13,600/s). Past that the limit is the writer's CPU in SQLite, not the
// disk.

// maxBatch bounds the ops of one transaction, which bounds how long the
// first op of a batch waits for the last and how much a failed commit
// takes down with it.
const maxBatch = 256

// queueLen is how many ops may wait for the writer before submitters block.
const queueLen = 4 * maxBatch

// ErrClosed is returned by writes submitted after Close.
var ErrClosed = errors.New("sqlite: store closed")

// opFunc is the body of a write. It runs on the writer goroutine inside the
// batch's transaction and must use only tx.
type opFunc func(ctx context.Context, tx *wtx) error

// States of an op. An op moves from queued to running (taken by the
// writer) or to cancelled (given up by its caller), never both: that is
// what lets a caller give up without ever being told a committed write
// failed.
const (
	opQueued int32 = iota
	opRunning
	opCancelled
)

type op struct {
	ctx   context.Context
	fn    opFunc
	state atomic.Int32
	err   error         // set by the writer before done is closed
	done  chan struct{} // closed when the outcome is known
}

type writer struct {
	db    *sql.DB
	st    *stmts
	log   *slog.Logger
	queue chan *op
	done  chan struct{} // closed when run returns

	mu     sync.RWMutex // held for reading by submitters, for writing by close
	closed bool

	// Counters for benchmarks and debugging.
	batches atomic.Int64
	ops     atomic.Int64
}

func startWriter(db *sql.DB, log *slog.Logger) *writer {
	w := &writer{
		db:    db,
		st:    newStmts(db),
		log:   log.WithGroup("writer"),
		queue: make(chan *op, queueLen),
		done:  make(chan struct{}),
	}
	go w.run()
	return w
}

// do runs fn in the writer and returns its outcome once the transaction it
// ran in has committed. If ctx ends before fn starts, fn is skipped and do
// returns ctx.Err(); once fn has started, do waits for the commit, because
// only then is the outcome known.
func (w *writer) do(ctx context.Context, fn opFunc) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	o := &op{ctx: ctx, fn: fn, done: make(chan struct{})}
	if err := w.submit(ctx, o); err != nil {
		return err
	}
	select {
	case <-o.done:
		return o.err
	case <-ctx.Done():
		if o.state.CompareAndSwap(opQueued, opCancelled) {
			return ctx.Err()
		}
		<-o.done
		return o.err
	}
}

func (w *writer) submit(ctx context.Context, o *op) error {
	w.mu.RLock()
	defer w.mu.RUnlock()
	if w.closed {
		return ErrClosed
	}
	select {
	case w.queue <- o:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops new submissions, lets the writer drain the queue, and closes
// the database.
func (w *writer) close() error {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.queue)
	}
	w.mu.Unlock()
	<-w.done
	return w.db.Close()
}

func (w *writer) run() {
	defer close(w.done)
	batch := make([]*op, 0, maxBatch)
	for o := range w.queue {
		batch = w.collect(append(batch[:0], o))
		w.commit(batch)
		clear(batch) // let answered ops be collected
	}
}

// collect adds to batch the ops already waiting, without blocking.
func (w *writer) collect(batch []*op) []*op {
	for len(batch) < maxBatch {
		select {
		case o, ok := <-w.queue:
			if !ok {
				return batch
			}
			batch = append(batch, o)
		default:
			return batch
		}
	}
	return batch
}

// commit runs the ops of batch in one transaction and answers them.
func (w *writer) commit(batch []*op) {
	start := time.Now()
	err := w.runBatch(batch)
	for _, o := range batch {
		if o.state.Load() != opRunning {
			continue // cancelled: its caller has already returned
		}
		if err != nil && o.err == nil {
			o.err = err
		}
		close(o.done)
	}
	w.batches.Add(1)
	w.ops.Add(int64(len(batch)))
	w.logBatch(len(batch), start, err)
}

// runBatch runs the ops in one transaction and commits it. A non-nil error
// means nothing of the batch was committed.
func (w *writer) runBatch(batch []*op) error {
	// The transaction belongs to the batch, not to any caller: a caller
	// going away must not roll back the others.
	ctx := context.Background()
	tx, err := w.db.BeginTx(ctx, nil)
	if err != nil {
		claimAll(batch)
		return fmt.Errorf("sqlite: begin: %w", err)
	}
	t := &wtx{tx: tx, st: w.st}
	if ok, err := t.runOps(batch); !ok || err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		w.reset()
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	t.prepareMissed(ctx)
	return nil
}

// reset ends whatever transaction a failed commit left open on the write
// connection (SQLite keeps it open after some failures, such as
// SQLITE_BUSY), so that the next batch can begin. With no transaction open
// it fails harmlessly.
func (w *writer) reset() {
	w.db.ExecContext(context.Background(), "ROLLBACK")
}

// claimAll claims the ops not yet claimed, so that they are answered with
// the batch's error rather than left waiting.
func claimAll(ops []*op) {
	for _, o := range ops {
		o.state.CompareAndSwap(opQueued, opRunning)
	}
}

func (w *writer) logBatch(n int, start time.Time, err error) {
	ctx := context.Background()
	if err != nil {
		w.log.LogAttrs(ctx, slog.LevelError, "batch failed",
			slog.Int("ops", n), slog.Any("error", err))
		return
	}
	if w.log.Enabled(ctx, slog.LevelDebug) {
		w.log.LogAttrs(ctx, slog.LevelDebug, "batch committed",
			slog.Int("ops", n), slog.Duration("took", time.Since(start)))
	}
}

// wtx is the transaction of a batch as its ops see it.
type wtx struct {
	tx     *sql.Tx
	st     *stmts
	missed []string // statements to prepare once the connection is free
}

// runOps runs the ops of a batch. ok reports whether the transaction holds
// anything to commit; err, that it can no longer be used.
func (t *wtx) runOps(batch []*op) (ok bool, err error) {
	if len(batch) == 1 {
		return t.runAlone(batch[0]), nil
	}
	for i, o := range batch {
		if !o.state.CompareAndSwap(opQueued, opRunning) {
			continue
		}
		if err := t.run(o); err != nil {
			claimAll(batch[i+1:])
			return false, err
		}
	}
	return true, nil
}

// runAlone runs o, the only op of its batch, and reports whether it
// succeeded. It needs no savepoint: if o fails, rolling back the
// transaction undoes o alone. This is the common case when writes are few;
// it saves two statements of the six that a message takes, about 8% of the
// CPU time of a lone append.
func (t *wtx) runAlone(o *op) bool {
	if !o.state.CompareAndSwap(opQueued, opRunning) {
		return false
	}
	o.err = t.call(o)
	return o.err == nil
}

// run runs o in a savepoint and records its outcome in o.err. It returns an
// error only if the transaction itself can no longer be used.
func (t *wtx) run(o *op) error {
	ctx := context.Background()
	if _, err := t.exec(ctx, "SAVEPOINT op"); err != nil {
		return fmt.Errorf("sqlite: savepoint: %w", err)
	}
	o.err = t.call(o)
	if o.err != nil {
		// If SQLite rolled the transaction back by itself (as on a full
		// disk), the savepoint is gone and this fails: the batch stops
		// rather than run the next ops outside any transaction.
		if _, err := t.exec(ctx, "ROLLBACK TO op"); err != nil {
			return fmt.Errorf("sqlite: rollback to savepoint: %w", err)
		}
	}
	if _, err := t.exec(ctx, "RELEASE op"); err != nil {
		return fmt.Errorf("sqlite: release savepoint: %w", err)
	}
	return nil
}

// call runs o's body. The body runs to completion even if its caller goes
// away, because interrupting a statement could roll back the whole batch. A
// panic becomes o's error: a bug in one op must not stop every write.
func (t *wtx) call(o *op) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sqlite: write panicked: %v\n%s", r, debug.Stack())
		}
	}()
	return o.fn(context.WithoutCancel(o.ctx), t)
}

// stmt returns q prepared for the transaction, or nil if q has not been
// prepared yet on the write connection. It cannot be prepared now: the
// transaction holds the only connection, so q is noted for after the commit.
func (t *wtx) stmt(ctx context.Context, q string) *sql.Stmt {
	if s := t.st.lookup(q); s != nil {
		return t.tx.StmtContext(ctx, s)
	}
	t.missed = append(t.missed, q)
	return nil
}

func (t *wtx) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if s := t.stmt(ctx, q); s != nil {
		return s.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, q, args...)
}

func (t *wtx) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, q, args...)
}

func (t *wtx) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s := t.stmt(ctx, q); s != nil {
		return s.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, q, args...)
}

// prepareMissed prepares the statements the transaction ran unprepared.
// A failure only means the statement stays unprepared.
func (t *wtx) prepareMissed(ctx context.Context) {
	for _, q := range t.missed {
		t.st.prepare(ctx, q)
	}
}
