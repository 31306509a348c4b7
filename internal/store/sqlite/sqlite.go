// Package sqlite keeps Parley in one SQLite file. It implements chat.Store
// with one writer goroutine that commits concurrent writes together (see
// writer.go) and a pool of read-only connections, so readers never wait for
// the writer and the writer never waits for readers (WAL).
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/parley-chat/parley/internal/chat"
)

// Durability values of Options.
const (
	// DurabilityFull makes every acknowledged write survive power loss:
	// each commit waits for fsync of the WAL (synchronous=FULL).
	DurabilityFull = "full"
	// DurabilityRelaxed makes acknowledged writes survive a crash of the
	// process, but the last commits may be lost with power
	// (synchronous=NORMAL: the WAL is synced only at checkpoints).
	DurabilityRelaxed = "relaxed"
)

// Options configures Open.
type Options struct {
	// Path is the database file. Its directory is created if missing.
	Path string
	// Durability is DurabilityFull or DurabilityRelaxed; "" means full.
	Durability string
	// Logger receives the store's logs; nil discards them.
	Logger *slog.Logger
}

// Store is a chat.Store kept in a SQLite file. Its methods are safe for
// concurrent use.
type Store struct {
	read *sql.DB
	rq   *stmts // reads, on the pool of read-only connections
	w    *writer
	ckpt *checkpointer
	log  *slog.Logger
}

var _ chat.Store = (*Store)(nil)

//go:embed migrations/*.sql
var migrations embed.FS

// busyTimeoutMS is how long a connection waits for a lock held by another.
// Only the writer takes write locks, so this covers checkpoints and a second
// process opening the file (such as a backup tool).
const busyTimeoutMS = "5000"

// Open opens the database at o.Path, creating it if needed, brings its
// schema up to date and starts the writer.
func Open(ctx context.Context, o Options) (*Store, error) {
	sync, err := synchronous(o.Durability)
	if err != nil {
		return nil, err
	}
	path, err := prepareDir(o.Path)
	if err != nil {
		return nil, err
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}

	write, err := openWriteDB(path, sync)
	if err != nil {
		return nil, err
	}
	if err := migrate(ctx, write, log); err != nil {
		write.Close()
		return nil, err
	}
	read, err := openReadDB(path)
	if err != nil {
		write.Close()
		return nil, err
	}
	ckptDB, err := openWriteDB(path, sync)
	if err != nil {
		read.Close()
		write.Close()
		return nil, err
	}
	s := &Store{read: read, rq: newStmts(read), log: log}
	s.w = startWriter(write, log)
	s.ckpt = startCheckpointer(ckptDB, log)
	log.Debug("database open", "path", path, "synchronous", sync)
	return s, nil
}

func synchronous(durability string) (string, error) {
	switch durability {
	case "", DurabilityFull:
		return "FULL", nil
	case DurabilityRelaxed:
		return "NORMAL", nil
	}
	return "", fmt.Errorf("sqlite: unknown durability %q (want %q or %q)",
		durability, DurabilityFull, DurabilityRelaxed)
}

// prepareDir makes path absolute and creates its directory.
func prepareDir(path string) (string, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") {
		// Each connection would get a database of its own.
		return "", fmt.Errorf("sqlite: a file path is required, got %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return "", fmt.Errorf("sqlite: %w", err)
	}
	return abs, nil
}

// writerCacheKiB is the page cache of the write connection.
const writerCacheKiB = 64 << 10

// openWriteDB opens the one connection that writes. BEGIN IMMEDIATE takes
// the write lock up front, so a transaction never fails half-way to upgrade.
func openWriteDB(path, sync string) (*sql.DB, error) {
	q := url.Values{
		"_busy_timeout": {busyTimeoutMS},
		"_journal_mode": {"WAL"},
		"_synchronous":  {sync},
		"_foreign_keys": {"on"},
		"_txlock":       {"immediate"},
		"_pragma": {
			// Truncate the WAL after a checkpoint, so that a burst does
			// not leave a large file behind for ever.
			"journal_size_limit(67108864)",
			// Keep the savepoint journal of a batch in memory: on disk it
			// took 8% of the CPU time of BenchmarkAppendMessage (relaxed,
			// 64 writers) in writes; in memory, 4%.
			"temp_store(MEMORY)",
			// The default cache (2 MiB) holds less than the index pages
			// that appends to a few hundred busy rooms keep touching; on
			// a miss the writer reads the page back from the WAL.
			fmt.Sprintf("cache_size(%d)", -writerCacheKiB),
			// Checkpoints run in the background (see checkpointer);
			// this one only bounds the WAL if they fall behind.
			fmt.Sprintf("wal_autocheckpoint(%d)", writerAutoCheckpoint),
		},
	}
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// openReadDB opens the pool of read-only connections.
func openReadDB(path string) (*sql.DB, error) {
	q := url.Values{
		"_busy_timeout": {busyTimeoutMS},
		"_query_only":   {"on"},
	}
	db, err := sql.Open("sqlite", dsn(path, q))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	return db, nil
}

// dsn builds a file: URI, so that a path holding '?' or '#' stays intact.
func dsn(path string, q url.Values) string {
	p := filepath.ToSlash(path)
	if !strings.HasPrefix(p, "/") {
		p = "/" + p // a Windows volume: file:///C:/...
	}
	u := url.URL{Scheme: "file", Path: p, RawQuery: q.Encode()}
	return u.String()
}

// migrate brings the schema up to date before anything else uses it.
func migrate(ctx context.Context, db *sql.DB, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true),
		goose.WithSlog(log.WithGroup("migrate")))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping reports whether the database can be read.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.read.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close commits the writes already submitted, stops the writer and closes
// the database. Writes submitted after Close give ErrClosed.
func (s *Store) Close() error {
	cerr := s.ckpt.close()
	werr := s.w.close()
	rerr := s.read.Close()
	if err := errors.Join(cerr, werr, rerr); err != nil {
		return fmt.Errorf("sqlite: close: %w", err)
	}
	return nil
}
