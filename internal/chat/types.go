// Package chat is Parley's domain: the people, rooms and timelines the server
// keeps, the rules that govern them, and the interfaces (Store, Bus) through
// which the rest of the server persists and announces them.
package chat

import "time"

// User is a person with an account. Username keeps the case it was typed in;
// uniqueness and look-ups ignore case.
type User struct {
	ID          string `json:"id"`
	Username    string `json:"username"`
	DisplayName string `json:"display_name"`
	// IsAdmin is shown only to the user themselves (see api's self), so
	// that nobody can list a server's admins.
	IsAdmin   bool      `json:"-"`
	CreatedAt time.Time `json:"-"`
	// Status and LastSeenAt are set on users fetched over REST: "online"
	// or "offline", and when they were last connected, if known and not
	// hidden.
	Status     string     `json:"status,omitempty"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
	// Settings are set only on one's own user.
	Settings *UserSettings `json:"settings,omitempty"`
}

// Credentials is what the store keeps to check a password.
type Credentials struct {
	User         User
	PasswordHash string
}

// Token is a bearer token as stored: only the SHA-256 hash of the secret
// value handed to the client is kept.
type Token struct {
	Hash      []byte
	UserID    string
	CreatedAt time.Time
	LastUsed  time.Time
}

// Room kinds.
const (
	KindDirect = "direct"
	KindGroup  = "group"
	KindPublic = "public"
)

// Member roles, from most to least powerful.
const (
	RoleOwner  = "owner"
	RoleAdmin  = "admin"
	RoleMember = "member"
)

// Room is a conversation. LastSeq is the seq of its newest event.
type Room struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Topic       string    `json:"topic"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeq     int64     `json:"last_seq"`
	MemberCount int       `json:"member_count"`
}

// RoomView is a room as one of its members sees it in their room list.
type RoomView struct {
	Room
	UnreadCount int      `json:"unread_count"`
	LastMessage *Message `json:"last_message,omitempty"`
	Peer        *User    `json:"peer,omitempty"`
	// MentionCount counts the unread messages that mention the member;
	// ReadSeq is their read position.
	MentionCount int   `json:"mention_count"`
	ReadSeq      int64 `json:"read_seq"`
	// Notify and SilencedUntil are the member's settings for the room,
	// with the defaults filled in.
	Notify        string     `json:"notify,omitempty"`
	SilencedUntil *time.Time `json:"silenced_until,omitempty"`
}

// RoomProfile is what anyone signed in may see of a public room.
type RoomProfile struct {
	ID          string `json:"id"`
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Topic       string `json:"topic"`
	MemberCount int    `json:"member_count"`
}

// Profile returns the public face of r.
func (r Room) Profile() RoomProfile {
	return RoomProfile{ID: r.ID, Kind: r.Kind, Name: r.Name, Topic: r.Topic, MemberCount: r.MemberCount}
}

// Member is one person's membership of a room. JoinedSeq is the seq of the
// event that made them a member; ReadSeq is how far they have read.
type Member struct {
	RoomID    string    `json:"-"`
	User      User      `json:"user"`
	Role      string    `json:"role"`
	JoinedAt  time.Time `json:"joined_at"`
	JoinedSeq int64     `json:"-"`
	ReadSeq   int64     `json:"-"`
}

// Message is one message of a room's timeline. Its Seq is the seq of the
// message.created event that brought it; a deleted message keeps its place as
// a tombstone with empty text.
type Message struct {
	ID        string     `json:"id"`
	RoomID    string     `json:"room_id"`
	Seq       int64      `json:"seq"`
	SenderID  string     `json:"sender_id"`
	Text      string     `json:"text"`
	ClientID  string     `json:"client_id,omitempty"`
	CreatedAt time.Time  `json:"created_at"`
	EditedAt  *time.Time `json:"edited_at,omitempty"`
	Deleted   bool       `json:"deleted"`
	// Mentions lists the members the text mentions, by user id.
	Mentions []string `json:"mentions,omitempty"`
}

// Event types. Clients ignore types they do not know, so new ones may be
// added; existing names never change.
const (
	EventMessageCreated = "message.created"
	EventMessageEdited  = "message.edited"
	EventMessageDeleted = "message.deleted"
	EventMemberJoined   = "member.joined"
	EventMemberLeft     = "member.left"
	EventMemberRemoved  = "member.removed"
	EventMemberUpdated  = "member.updated"
	EventRoomUpdated    = "room.updated"
)

// Event is one change on a room's timeline. Seq numbers a room's events 1, 2,
// 3, … in commit order with no gaps. Each event carries what changed:
// message.* the message as it is after the change; member.* the user, and for
// member.joined and member.updated (a new role) the role; room.updated the
// room's new profile.
type Event struct {
	RoomID    string       `json:"room_id"`
	Seq       int64        `json:"seq"`
	Type      string       `json:"type"`
	ActorID   string       `json:"actor_id"`
	CreatedAt time.Time    `json:"created_at"`
	Message   *Message     `json:"message,omitempty"`
	UserID    string       `json:"user_id,omitempty"`
	User      *User        `json:"user,omitempty"`
	Role      string       `json:"role,omitempty"`
	Room      *RoomProfile `json:"room,omitempty"`
}

// Ends reports whether e ends the membership of e.UserID.
func (e Event) Ends() bool {
	return e.Type == EventMemberLeft || e.Type == EventMemberRemoved
}

// Page selects a window of a room's timeline by seq. With Before set
// (positive) it selects items with seq < Before, the newest Limit of them;
// otherwise items with seq > After (0 = from the start), the oldest Limit of
// them. Pass Before = NewestPage for the newest items. Items come back
// ascending by seq in every case.
type Page struct {
	Before int64
	After  int64
	Limit  int
}

// NewestPage as Page.Before selects the newest items of a timeline.
const NewestPage = int64(1<<63 - 1)

// Backward reports whether p travels from newer to older items.
func (p Page) Backward() bool { return p.Before > 0 }
