package sqlite

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/parley-chat/parley/internal/chat"
)

// Times are stored as integer milliseconds since the epoch, UTC.

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

// norm returns t as the store will give it back, so that what a write
// returns equals what later reads return.
func norm(t time.Time) time.Time { return fromMS(ms(t)) }

// key is the form of a name that uniqueness and look-ups compare.
func key(name string) string { return strings.ToLower(name) }

// nullString stores "" as NULL, so that unset client ids do not collide.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// eventData is the JSON kept in events.data: what an event carries besides
// its columns and its message (which stays in messages; see eventCols). It
// has its own types because the chat types hide some fields from JSON
// (User.CreatedAt) and an event must read back as appended.
type eventData struct {
	UserID string            `json:"user_id,omitempty"`
	User   *userData         `json:"user,omitempty"`
	Role   string            `json:"role,omitempty"`
	Room   *chat.RoomProfile `json:"room,omitempty"`
}

type userData struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	IsAdmin     bool   `json:"is_admin,omitempty"`
	CreatedAt   int64  `json:"created_at"`
}

func encodeEvent(e chat.Event) ([]byte, error) {
	d := eventData{UserID: e.UserID, Role: e.Role, Room: e.Room}
	if u := e.User; u != nil {
		d.User = &userData{
			ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
			IsAdmin: u.IsAdmin, CreatedAt: ms(u.CreatedAt),
		}
	}
	if d == (eventData{}) {
		return []byte("{}"), nil // every message event: spare the encoder
	}
	return json.Marshal(d)
}

// decodeEvent fills in e from data.
func decodeEvent(e *chat.Event, data []byte) error {
	if string(data) == "{}" {
		return nil
	}
	var d eventData
	if err := json.Unmarshal(data, &d); err != nil {
		return fmt.Errorf("sqlite: event %s/%d: %w", e.RoomID, e.Seq, err)
	}
	e.UserID, e.Role, e.Room = d.UserID, d.Role, d.Room
	if u := d.User; u != nil {
		e.User = &chat.User{
			ID: u.ID, Username: u.Username, DisplayName: u.DisplayName,
			IsAdmin: u.IsAdmin, CreatedAt: fromMS(u.CreatedAt),
		}
	}
	return nil
}

// Errors are normalised here, at the edge: callers see chat's sentinels.

// notFound says that what (formatted) does not exist.
func notFound(format string, args ...any) error {
	return fmt.Errorf("sqlite: "+format+": %w", append(args, chat.ErrNotFound)...)
}

// rowErr normalises the error of reading one row: a missing row is
// chat.ErrNotFound; what (formatted) names the row for both.
func rowErr(err error, format string, args ...any) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return notFound(format, args...)
	}
	return fmt.Errorf("sqlite: "+format+": %w", append(args, err)...)
}

// isUnique reports whether err is a violation of a UNIQUE or PRIMARY KEY
// constraint whose description contains on ("table.column"; "" for any).
func isUnique(err error, on string) bool {
	c := code(err)
	if c != sqlite3.SQLITE_CONSTRAINT_UNIQUE && c != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return false
	}
	return strings.Contains(err.Error(), on)
}

// isForeignKey reports whether err is a violation of a foreign key: a row
// referred to a parent that does not exist.
func isForeignKey(err error) bool {
	return code(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func code(err error) int {
	var e *sqlite.Error
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}
