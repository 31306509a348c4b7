package chat

import (
	"context"
	"time"
)

// Store keeps everything Parley knows and is its source of truth. Every
// implementation passes the suite in internal/store/storetest.
//
// Contract shared by all methods:
//   - Failures are normalised: a missing row is ErrNotFound, a uniqueness
//     violation is ErrConflict (or the more precise error a method names),
//     both wrapped with %w; anything else is an internal error.
//   - A method that changes a room's timeline appends exactly one event (or
//     the events it names) in the same transaction as the change, with the
//     room's next seq. Seqs of a room run 1, 2, 3, … with no gaps, in commit
//     order. A method returns only after its change is durable as configured.
//   - Times are stored with at least millisecond precision and returned in UTC.
type Store interface {
	Accounts
	Rooms
	Timeline
	State

	// Ping reports whether the store is reachable.
	Ping(ctx context.Context) error
	// Close waits for writes in flight and releases the store.
	Close() error
}

// Accounts keeps users and their tokens.
type Accounts interface {
	// CreateUser stores u with its password hash. The first user ever stored
	// is made a server admin, atomically with its creation. A username that
	// exists in any letter case gives ErrUsernameTaken.
	CreateUser(ctx context.Context, u User, passwordHash string) (User, error)
	// User returns the user with id.
	User(ctx context.Context, id string) (User, error)
	// Credentials returns a user and its password hash by username, in any
	// letter case.
	Credentials(ctx context.Context, username string) (Credentials, error)
	// SearchUsers returns up to limit users whose username starts with
	// prefix (in any letter case), ordered by lower-case username.
	SearchUsers(ctx context.Context, prefix string, limit int) ([]User, error)
	// UpdateUser stores u's display name.
	UpdateUser(ctx context.Context, u User) (User, error)
	// SetPassword replaces a user's password hash and deletes every token of
	// theirs except the one whose hash is keep (nil keeps none).
	SetPassword(ctx context.Context, userID, passwordHash string, keep []byte) error
	// GrantAdmin makes the user with username a server admin.
	GrantAdmin(ctx context.Context, username string) (User, error)

	// CreateToken stores t.
	CreateToken(ctx context.Context, t Token) error
	// TokenUser returns the user of the token with hash, if it was last used
	// at or after notBefore; an older or missing token is ErrNotFound. It
	// also returns when the token was last used.
	TokenUser(ctx context.Context, hash []byte, notBefore time.Time) (User, time.Time, error)
	// TouchToken records that the token with hash was used at.
	TouchToken(ctx context.Context, hash []byte, at time.Time) error
	// DeleteToken deletes the token with hash; a missing one is not an error.
	DeleteToken(ctx context.Context, hash []byte) error
}

// Rooms keeps rooms and their members.
type Rooms interface {
	// CreateRoom stores r with its members and appends one member.joined
	// event per member, in the order given (the creator first), from seq 1.
	// A direct room whose pair already has one gives ErrConflict.
	CreateRoom(ctx context.Context, r Room, members []Member) (Room, []Event, error)
	// DirectRoom returns the direct room of users a and b.
	DirectRoom(ctx context.Context, a, b string) (Room, error)
	// Room returns the room with id.
	Room(ctx context.Context, id string) (Room, error)
	// Member returns userID's membership of roomID; ErrNotFound if none.
	Member(ctx context.Context, roomID, userID string) (Member, error)
	// RoomView returns roomID as member userID sees it. UnreadCount counts
	// the messages after their read position that others sent and that are
	// not deleted; LastMessage is the newest message, a tombstone if it was
	// deleted; Peer, for a direct room, is the other user of the pair.
	// The fields of the member's state (MentionCount, ReadSeq, Notify,
	// SilencedUntil) are left zero: RoomStates has them.
	RoomView(ctx context.Context, roomID, userID string) (RoomView, error)
	// RoomViews returns every room userID is a member of, as they see it,
	// most recently active first.
	RoomViews(ctx context.Context, userID string) ([]RoomView, error)
	// RoomSeqs returns the ids and last seqs of every room userID is a
	// member of.
	RoomSeqs(ctx context.Context, userID string) (map[string]int64, error)
	// SessionStart is RoomSeqs and UserSettings read together: what a
	// connecting session needs, in one read.
	SessionStart(ctx context.Context, userID string) (map[string]int64, UserSettings, error)
	// LastSeqs returns the last seq of each of the rooms named that exists.
	LastSeqs(ctx context.Context, roomIDs []string) (map[string]int64, error)
	// Members returns up to limit members of roomID ordered by user id,
	// starting after the user id after ("" for the first page).
	Members(ctx context.Context, roomID, after string, limit int) ([]Member, error)
	// MemberIDs returns the user ids of every member of roomID.
	MemberIDs(ctx context.Context, roomID string) ([]string, error)
	// Directory returns up to limit public rooms whose name contains q (in
	// any letter case), ordered by lower-case name then id, starting after
	// the room with id after ("" for the first page).
	Directory(ctx context.Context, q, after string, limit int) ([]Room, error)

	// AddMember makes m.User.ID a member of m.RoomID with m.Role and appends
	// member.joined, acted by actorID. An existing member gives
	// ErrAlreadyMember. The new member's read position starts at the event.
	AddMember(ctx context.Context, m Member, actorID string) (Event, error)
	// RemoveMember ends userID's membership of roomID and appends typ
	// (member.left or member.removed), acted by actorID. If the owner goes,
	// the longest-standing admin (else member) becomes owner and a
	// member.updated event follows. A room left empty is kept.
	RemoveMember(ctx context.Context, roomID, userID, actorID, typ string, at time.Time) ([]Event, error)
	// UpdateRoom changes the name and topic of roomID to those given (nil
	// keeps the current value) and appends room.updated.
	UpdateRoom(ctx context.Context, roomID string, name, topic *string, actorID string, at time.Time) (Event, error)
}

// Appended is the outcome of Timeline.AppendMessage.
type Appended struct {
	Message Message
	Event   Event // its message.created
	// Created is false when the message repeated a client id; Message and
	// Event are then the original's.
	Created bool
	// Room is the room as the append left it (its LastSeq is Message.Seq),
	// so that what follows a send needs no read of it. Set when Created.
	Room Room
}

// Timeline keeps the messages and events of rooms.
type Timeline interface {
	// AppendMessage stores m with the room's next seq and appends
	// message.created. If m.ClientID is set and the sender already sent a
	// message with it to the room, nothing is stored: the original and its
	// message.created event come back with Created false. A sender who is
	// not a member of the room (or a room that does not exist) gives
	// ErrNotFound, checked in the same transaction as the append. The
	// sender's read position moves to the message. m.Mentions is stored
	// with it, and counts in the mentioned members' RoomView.MentionCount
	// while unread.
	AppendMessage(ctx context.Context, m Message) (Appended, error)
	// EditMessage replaces the text and mentions of a message and appends
	// message.edited. Only its sender may edit it (ErrForbidden); a deleted
	// message gives ErrMessageDeleted. firstMentioned lists, in the order
	// of mentions, those no version of the message mentioned before, its
	// first included: the store keeps every member a message ever
	// mentioned, so that each is notified of it once.
	EditMessage(ctx context.Context, roomID, messageID, editorID, text string, mentions []string,
		at time.Time) (msg Message, ev Event, firstMentioned []string, err error)
	// DeleteMessage turns a message into a tombstone and appends
	// message.deleted. A message already deleted changes nothing and gives
	// changed false.
	DeleteMessage(ctx context.Context, roomID, messageID, actorID string, at time.Time) (ev Event, changed bool, err error)
	// Message returns one message of roomID.
	Message(ctx context.Context, roomID, messageID string) (Message, error)
	// Messages returns a page of roomID's messages, ascending by seq, and
	// whether more exist beyond it in the direction of travel (older when
	// Before is set, newer otherwise).
	Messages(ctx context.Context, roomID string, p Page) ([]Message, bool, error)
	// Events returns a page of roomID's events, as Messages does. Each
	// event reads back as the write that appended it returned it, except
	// that the events of a message carry the message as it is now: once a
	// message is deleted, no event holds its text.
	Events(ctx context.Context, roomID string, p Page) ([]Event, bool, error)
}

// State keeps what each member has read and been delivered, their
// settings and the mentions of them.
type State interface {
	// MarkRead moves userID's read position in roomID forward to seq,
	// capped at the room's last seq. An older or equal seq changes
	// nothing: moved is false. It returns the position after the call.
	// A non-member gives ErrNotFound.
	MarkRead(ctx context.Context, roomID, userID string, seq int64) (pos int64, moved bool, err error)
	// MarkDelivered moves each member's delivered position forward to the
	// seq given, as MarkRead does the read position, all in one
	// transaction, and returns those that moved. Positions of people who
	// are not (or no longer) members are ignored.
	MarkDelivered(ctx context.Context, ps []Position) (moved []Position, err error)
	// Receipts returns up to limit members' positions in roomID ordered by
	// user id, starting after the user id after ("" for the first page).
	// A delivered position is never reported below the read position.
	Receipts(ctx context.Context, roomID, after string, limit int) ([]Receipt, error)
	// Unreads returns the unread state of roomID of every member whose read
	// position is below seq, except exceptID.
	Unreads(ctx context.Context, roomID string, seq int64, exceptID string) ([]Unread, error)
	// RoomStates returns userID's unread state and settings of roomID, or
	// of every room they are a member of when roomID is "". UnreadCount
	// is as RoomView's; MentionCount counts those of the unread messages
	// that mention userID. Settings are as stored (Notify "" = default).
	RoomStates(ctx context.Context, userID, roomID string) ([]MemberState, error)
	// SetRoomSettings stores userID's settings for roomID; a non-member
	// gives ErrNotFound.
	SetRoomSettings(ctx context.Context, roomID, userID string, rs RoomSettings) error
	// RoomSettings returns the settings of the members of roomID who set
	// any, by user id; the others have the defaults.
	RoomSettings(ctx context.Context, roomID string) (map[string]RoomSettings, error)
	// UserSettings returns the settings of userID.
	UserSettings(ctx context.Context, userID string) (UserSettings, error)
	// SetUserSettings replaces the settings of userID.
	SetUserSettings(ctx context.Context, userID string, us UserSettings) error
	// SetLastSeen records when userID was last connected.
	SetLastSeen(ctx context.Context, userID string, at time.Time) error
	// LastSeen returns when userID was last connected, zero if never
	// recorded.
	LastSeen(ctx context.Context, userID string) (time.Time, error)
}
