package sqlite

import (
	"context"
	"database/sql"
	"sync"
)

// stmts keeps prepared statements by their text. Every statement of this
// package is a constant (or one of a few variants), and preparing one costs
// about as much as running it, so each is prepared once per connection
// rather than on every call. database/sql prepares a Stmt again by itself
// on each pool connection that runs it.
type stmts struct {
	db *sql.DB
	mu sync.RWMutex
	m  map[string]*sql.Stmt
}

func newStmts(db *sql.DB) *stmts {
	return &stmts{db: db, m: make(map[string]*sql.Stmt)}
}

// lookup returns q if it has been prepared, else nil.
func (c *stmts) lookup(q string) *sql.Stmt {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.m[q]
}

// prepare returns q prepared, preparing it if needed.
func (c *stmts) prepare(ctx context.Context, q string) (*sql.Stmt, error) {
	if s := c.lookup(q); s != nil {
		return s, nil
	}
	s, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[q]; ok {
		s.Close() // another goroutine won the race
		return old, nil
	}
	c.m[q] = s
	return s, nil
}

// query runs q on the pool. If q cannot be prepared, it runs unprepared so
// that the caller gets the real error from the database.
func (c *stmts) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if s, err := c.prepare(ctx, q); err == nil {
		return s.QueryContext(ctx, args...)
	}
	return c.db.QueryContext(ctx, q, args...)
}

func (c *stmts) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if s, err := c.prepare(ctx, q); err == nil {
		return s.QueryRowContext(ctx, args...)
	}
	return c.db.QueryRowContext(ctx, q, args...)
}

// querier is what the read helpers need: the read pool or a write
// transaction, so that ops can read inside their transaction.
type querier interface {
	query(ctx context.Context, q string, args ...any) (*sql.Rows, error)
	queryRow(ctx context.Context, q string, args ...any) *sql.Row
}

var (
	_ querier = (*stmts)(nil)
	_ querier = (*wtx)(nil)
)
