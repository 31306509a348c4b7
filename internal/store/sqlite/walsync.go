package sqlite

import (
	"fmt"
	"log/slog"
	"os"
	"sync"
)

// Under full durability a write is acknowledged once the WAL frames of its
// commit are on disk. SQLite's synchronous=FULL would fsync the WAL inside
// COMMIT, and the one write connection would sit idle for the length of
// every fsync. Instead the writer commits with synchronous=NORMAL, which
// writes the frames but does not sync them, and hands the committed batch
// to the walSyncer: it fsyncs the WAL file and only then answers the batch's
// ops. Meanwhile the writer runs the next batch; batches committed during
// one fsync share the next.
//
// The guarantee is the same as FULL's: an op is answered only after an
// fsync of the WAL that began after its commit had written its frames.
// (NORMAL keeps the database consistent after a power cut; the fsync makes
// the acknowledged commits durable.) One thing differs: other connections
// can read a commit before its fsync ends. Parley publishes a message only
// once the send is acknowledged, so only a read racing the sync itself, such
// as a history page in the same fraction of a millisecond, can see a message
// that a power cut then takes away.
type walSyncer struct {
	path string
	log  *slog.Logger
	// sync makes the WAL durable; a field so that tests can hold it.
	sync func() error

	mu      sync.Mutex
	f       *os.File
	pending []*op // committed, to answer after the next sync
	closed  bool

	kick chan struct{}
	done chan struct{}
}

func startWALSyncer(dbPath string, log *slog.Logger) *walSyncer {
	s := &walSyncer{
		path: dbPath + "-wal",
		log:  log.WithGroup("walsync"),
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	s.sync = s.fsync
	go s.run()
	return s
}

// add hands over ops, whose batch has committed, to be answered once the
// WAL is synced.
func (s *walSyncer) add(ops []*op) {
	s.mu.Lock()
	s.pending = append(s.pending, ops...)
	s.mu.Unlock()
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

func (s *walSyncer) run() {
	defer close(s.done)
	for range s.kick {
		s.mu.Lock()
		ops, closed := s.pending, s.closed
		s.pending = nil
		s.mu.Unlock()
		if len(ops) > 0 {
			answer(ops, s.sync())
		}
		if closed {
			return
		}
	}
}

// close syncs what is pending and stops. The writer calls it once it has
// committed its last batch.
func (s *walSyncer) close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.kick <- struct{}{}
	<-s.done
	if s.f != nil {
		s.f.Close()
	}
}

// fsync syncs the WAL file. The file is opened once and kept; SQLite only
// truncates it while connections are open, but if it was ever replaced,
// the new file is the one synced.
func (s *walSyncer) fsync() error {
	if err := s.open(); err != nil {
		return err
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sqlite: sync %s: %w", s.path, err)
	}
	return nil
}

func (s *walSyncer) open() error {
	if s.f != nil {
		onDisk, err := os.Stat(s.path)
		held, herr := s.f.Stat()
		if err == nil && herr == nil && os.SameFile(onDisk, held) {
			return nil
		}
		s.log.Warn("WAL file replaced: reopening", "path", s.path)
		s.f.Close()
		s.f = nil
	}
	f, err := os.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", s.path, err)
	}
	s.f = f
	return nil
}
