package sqlite

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/store/storetest"
)

func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T) chat.Store {
		return openTest(t, Options{})
	})
}

// openTest opens a store in a new file under t.TempDir, closed with t.
func openTest(t testing.TB, o Options) *Store {
	t.Helper()
	if o.Path == "" {
		o.Path = filepath.Join(t.TempDir(), "parley.db")
	}
	s, err := Open(t.Context(), o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

var at = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// seed stores a user and a room of theirs.
func seed(t testing.TB, s *Store) (chat.User, chat.Room) {
	t.Helper()
	ctx := t.Context()
	u, err := s.CreateUser(ctx, chat.User{ID: chat.NewID(at), Username: "alice", CreatedAt: at}, "hash")
	if err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	r, _, err := s.CreateRoom(ctx, chat.Room{ID: chat.NewID(at), Kind: chat.KindGroup, Name: "room", CreatedAt: at},
		[]chat.Member{{User: u, Role: chat.RoleOwner, JoinedAt: at}})
	if err != nil {
		t.Fatalf("CreateRoom: %v", err)
	}
	return u, r
}

// message returns a new message. Its id is made from the real time, as the
// server's are, so that ids arrive in about ascending order.
func message(u chat.User, r chat.Room, text string) chat.Message {
	return chat.Message{ID: chat.NewID(time.Now()), RoomID: r.ID, SenderID: u.ID, Text: text, CreatedAt: at}
}

func TestOpenCreatesDirectory(t *testing.T) {
	s := openTest(t, Options{Path: filepath.Join(t.TempDir(), "a", "b", "parley.db")})
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func TestOpenRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, o := range []Options{
		{Path: filepath.Join(dir, "x.db"), Durability: "sometimes"},
		{Path: ""},
		{Path: ":memory:"},
	} {
		if s, err := Open(t.Context(), o); err == nil {
			s.Close()
			t.Errorf("Open(%+v) succeeded", o)
		}
	}
}

// The pragmas that durability rests on are in force on the write
// connection.
func TestDurability(t *testing.T) {
	for durability, want := range map[string]int{"": 2, DurabilityFull: 2, DurabilityRelaxed: 1} {
		s := openTest(t, Options{Durability: durability})
		ctx := t.Context()
		var sync, fk int
		var journal string
		db := s.w.db // idle between batches, so free to query
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&journal); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA foreign_keys").Scan(&fk); err != nil {
			t.Fatal(err)
		}
		if sync != want || journal != "wal" || fk != 1 {
			t.Errorf("durability %q: synchronous %d, journal %s, foreign keys %d; want %d, wal, 1",
				durability, sync, journal, fk, want)
		}
		u, r := seed(t, s)
		if _, err := s.AppendMessage(ctx, message(u, r, "works")); err != nil {
			t.Errorf("durability %q: AppendMessage: %v", durability, err)
		}
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	u, r := seed(t, s)
	ap, err := s.AppendMessage(t.Context(), message(u, r, "kept"))
	if err != nil {
		t.Fatal(err)
	}
	m := ap.Message
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s = openTest(t, Options{Path: path})
	got, err := s.Message(t.Context(), r.ID, m.ID)
	if err != nil || got.Text != "kept" {
		t.Fatalf("Message after reopening = %+v, %v", got, err)
	}
	next, err := s.AppendMessage(t.Context(), message(u, r, "next"))
	if err != nil || next.Message.Seq != m.Seq+1 {
		t.Errorf("AppendMessage after reopening: seq %d, %v; want %d", next.Message.Seq, err, m.Seq+1)
	}
}

// TestMigrationKeepsWhoWasMentioned: a message stored before the store
// kept who each message ever mentioned starts from its current mentions, so
// an edit after the upgrade does not notify them again.
func TestMigrationKeepsWhoWasMentioned(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	u, r := seed(t, s)
	in := message(u, r, "hi @alice")
	in.Mentions = []string{u.ID}
	ap, err := s.AppendMessage(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	m := ap.Message
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	migrateDownTo(t, path, 3)

	s = openTest(t, Options{Path: path})
	_, _, first, err := s.EditMessage(t.Context(), r.ID, m.ID, u.ID, "hi @alice!", []string{u.ID}, at)
	if err != nil || first != nil {
		t.Errorf("edit after the upgrade: first mentioned %v, %v; want none", first, err)
	}
}

// TestMigrationDropsMessageCopies: events stored with a copy of their
// message (as before migration 6) lose it, the text of a deleted message
// included, and read the message as it is now.
func TestMigrationDropsMessageCopies(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	u, r := seed(t, s)
	in := message(u, r, "kept @alice")
	in.ClientID, in.Mentions = "c-1", []string{u.ID}
	kept, err := s.AppendMessage(t.Context(), in)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := s.EditMessage(t.Context(), r.ID, kept.Message.ID, u.ID, "kept, @alice",
		[]string{u.ID}, at); err != nil {
		t.Fatal(err)
	}
	gone, err := s.AppendMessage(t.Context(), message(u, r, "secret"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.DeleteMessage(t.Context(), r.ID, gone.Message.ID, u.ID, at); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	migrateDownTo(t, path, 5)
	db, err := openWriteDB(path, "FULL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// Going down puts the copies back, each field in the old shape.
	var clientID, mention string
	var edited, deleted, goneDeleted bool
	err = db.QueryRowContext(t.Context(), `SELECT json_extract(data, '$.message.client_id'),
		json_extract(data, '$.message.mentions[0]'), json_extract(data, '$.message.edited_at') IS NOT NULL,
		json_extract(data, '$.message.deleted'),
		(SELECT json_extract(data, '$.message.deleted') FROM events WHERE room_id = ? AND seq = ?)
		FROM events WHERE room_id = ? AND seq = ?`,
		r.ID, gone.Message.Seq, r.ID, kept.Message.Seq).Scan(&clientID, &mention, &edited, &deleted, &goneDeleted)
	if err != nil || clientID != "c-1" || mention != u.ID || !edited || deleted || !goneDeleted {
		t.Errorf("copies after going down: client id %q, mention %q, edited %v, deleted %v and %v (%v)",
			clientID, mention, edited, deleted, goneDeleted, err)
	}
	// What the old schema kept: the deleted text, copied into its event.
	_, err = db.ExecContext(t.Context(), `UPDATE events SET data = json_set(data, '$.message.text', 'secret')
		WHERE room_id = ? AND seq = ?`, r.ID, gone.Message.Seq)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()

	s = openTest(t, Options{Path: path})
	var copies int
	err = s.read.QueryRowContext(t.Context(), `SELECT count(*) FROM events
		WHERE data LIKE '%secret%' OR data LIKE '%kept%'`).Scan(&copies)
	if err != nil || copies != 0 {
		t.Fatalf("%d events still hold a message's text (%v)", copies, err)
	}
	evs, _, err := s.Events(t.Context(), r.ID, chat.Page{After: r.LastSeq, Limit: 10})
	if err != nil || len(evs) != 4 {
		t.Fatalf("Events: %d, %v; want 4", len(evs), err)
	}
	for _, ev := range evs[:2] {
		if m := ev.Message; m == nil || m.Text != "kept, @alice" || m.ClientID != "c-1" || m.EditedAt == nil {
			t.Errorf("%s event of a live message: %+v", ev.Type, m)
		}
	}
	for _, ev := range evs[2:] {
		if m := ev.Message; m == nil || !m.Deleted || m.Text != "" || m.ID != gone.Message.ID {
			t.Errorf("%s event of a deleted message: %+v", ev.Type, m)
		}
	}
}

// migrateDownTo takes the schema of the database at path back to version.
func migrateDownTo(t *testing.T, path string, version int64) {
	t.Helper()
	db, err := openWriteDB(path, "FULL")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.DownTo(t.Context(), version); err != nil {
		t.Fatalf("migrate down to %d: %v", version, err)
	}
}

func TestCancelledContext(t *testing.T) {
	s := openTest(t, Options{})
	u, r := seed(t, s)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.AppendMessage(ctx, message(u, r, "never"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("AppendMessage with a cancelled context: %v", err)
	}
	if got, _ := s.Room(t.Context(), r.ID); got.LastSeq != r.LastSeq {
		t.Errorf("a cancelled append moved LastSeq to %d", got.LastSeq)
	}
}

// blockWriter makes the writer run an op that waits until release is
// closed, and returns once the op is running.
func blockWriter(t *testing.T, s *Store) (release chan struct{}, done chan error) {
	started, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- s.w.do(t.Context(), func(context.Context, *wtx) error {
			close(started)
			<-release
			return nil
		})
	}()
	<-started
	return release, done
}

// A caller that gives up while its op waits in the queue gets its context's
// error and the op never runs; one that gives up while its op runs gets the
// op's outcome.
func TestCancelWhileQueuedOrRunning(t *testing.T) {
	s := openTest(t, Options{})
	release, done := blockWriter(t, s)

	ctx, cancel := context.WithCancel(t.Context())
	ran := false
	queued := make(chan error)
	go func() {
		queued <- s.w.do(ctx, func(context.Context, *wtx) error { ran = true; return nil })
	}()
	cancel()
	if err := <-queued; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while queued: %v", err)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("blocking op: %v", err)
	}

	ctx, cancel = context.WithCancel(t.Context())
	running := make(chan struct{})
	finish := make(chan struct{})
	result := make(chan error)
	u, _ := seed(t, s)
	go func() {
		result <- s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
			close(running)
			<-finish
			_, err := tx.exec(ctx, `UPDATE users SET display_name = 'committed' WHERE id = ?`, u.ID)
			return err
		})
	}()
	<-running
	cancel()
	close(finish)
	if err := <-result; err != nil {
		t.Errorf("cancelled while running, then committed: %v", err)
	}
	if got, _ := s.User(t.Context(), u.ID); got.DisplayName != "committed" {
		t.Errorf("the write of a caller that gave up was not committed")
	}
	if ran {
		t.Errorf("an op cancelled in the queue ran")
	}
}

// Ops queued together commit together, and one that fails rolls back
// alone.
func TestBatchRollsBackFailedOpAlone(t *testing.T) {
	s := openTest(t, Options{})
	release, done := blockWriter(t, s)
	batches := s.w.batches.Load()

	ctx := t.Context()
	names := []string{"before", "fails", "after"}
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Go(func() {
			errs[i] = s.w.do(ctx, func(ctx context.Context, tx *wtx) error {
				_, err := tx.exec(ctx, `INSERT INTO users (id, username, username_key, display_name,
					is_admin, password_hash, created_at) VALUES (?, ?, ?, '', 0, '', 0)`, name, name, name)
				if err == nil && name == "fails" {
					err = errors.New("changed my mind")
				}
				return err
			})
		})
		waitQueued(t, s, i+1) // so that they queue in order
	}
	close(release)
	wg.Wait()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if errs[0] != nil || errs[1] == nil || errs[2] != nil {
		t.Errorf("errors %v, want only the second to fail", errs)
	}
	for _, name := range names {
		_, err := s.Credentials(ctx, name)
		if want := name != "fails"; (err == nil) != want {
			t.Errorf("user %q stored: %v, want %v (%v)", name, err == nil, want, err)
		}
	}
	if n := s.w.batches.Load() - batches; n != 2 {
		t.Errorf("%d batches, want 2 (the blocking op, then the three queued together)", n)
	}
}

// A write that panics fails alone; the writer goes on.
func TestPanickingWriteFailsAlone(t *testing.T) {
	s := openTest(t, Options{})
	err := s.w.do(t.Context(), func(context.Context, *wtx) error { panic("bug") })
	if err == nil || !strings.Contains(err.Error(), "panicked: bug") {
		t.Errorf("panicking write: %v", err)
	}
	u, r := seed(t, s)
	if _, err := s.AppendMessage(t.Context(), message(u, r, "still here")); err != nil {
		t.Errorf("write after a panic: %v", err)
	}
}

// waitQueued waits until n ops wait in the writer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.w.queue) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d ops queued, want %d", len(s.w.queue), n)
		}
		runtime.Gosched()
	}
}

// Close lets every submitted write finish: each call either commits (and
// the data is there after reopening) or fails with ErrClosed.
func TestCloseDrains(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parley.db")
	s, err := Open(t.Context(), Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	u, r := seed(t, s)
	const n = 200
	var ok sync.WaitGroup
	results := make(chan error, n)
	for i := range n {
		ok.Go(func() {
			_, err := s.AppendMessage(t.Context(), message(u, r, fmt.Sprint(i)))
			results <- err
		})
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	ok.Wait()
	close(results)
	committed := 0
	for err := range results {
		switch {
		case err == nil:
			committed++
		case !errors.Is(err, ErrClosed):
			t.Errorf("AppendMessage during Close: %v", err)
		}
	}

	s = openTest(t, Options{Path: path})
	got, err := s.Room(t.Context(), r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastSeq != r.LastSeq+int64(committed) {
		t.Errorf("after reopening LastSeq is %d, want %d + %d acknowledged", got.LastSeq, r.LastSeq, committed)
	}
}

func TestWriteAfterClose(t *testing.T) {
	s, err := Open(t.Context(), Options{Path: filepath.Join(t.TempDir(), "parley.db")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = s.CreateUser(t.Context(), chat.User{ID: "x", Username: "x"}, "")
	if !errors.Is(err, ErrClosed) {
		t.Errorf("CreateUser after Close: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// TestBackgroundCheckpoint checks that the WAL is copied back to the
// database by the checkpointer, not left to the writer's commits.
func TestBackgroundCheckpoint(t *testing.T) {
	s := openTest(t, Options{})
	u, r := seed(t, s)
	for i := range 20 {
		if _, err := s.AppendMessage(t.Context(), message(u, r, fmt.Sprint("m", i))); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.ckpt.frames.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no WAL frames checkpointed after 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var auto int
	if err := s.w.db.QueryRowContext(t.Context(), "PRAGMA wal_autocheckpoint").Scan(&auto); err != nil {
		t.Fatal(err)
	}
	if auto != writerAutoCheckpoint {
		t.Errorf("writer's wal_autocheckpoint = %d, want %d", auto, writerAutoCheckpoint)
	}
}
