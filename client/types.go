package client

import "time"

// User is a person's public profile. IsAdmin is set only on one's own.
type User struct {
	ID          string     `json:"id"`
	Username    string     `json:"username"`
	DisplayName string     `json:"display_name"`
	IsAdmin     bool       `json:"is_admin,omitempty"`
	Status      string     `json:"status,omitempty"`
	LastSeenAt  *time.Time `json:"last_seen_at,omitempty"`
	// Settings are set only on one's own user.
	Settings *UserSettings `json:"settings,omitempty"`
}

// UserSettings are one's own preferences. A nil ShowPresence means true.
type UserSettings struct {
	Theme        string `json:"theme,omitempty"`
	ShowPresence *bool  `json:"show_presence,omitempty"`
}

// Room is a room as one of its members sees it. For someone who is not a
// member of a public room, only the profile fields are set.
type Room struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Name        string    `json:"name"`
	Topic       string    `json:"topic"`
	CreatedAt   time.Time `json:"created_at"`
	LastSeq     int64     `json:"last_seq"`
	MemberCount int       `json:"member_count"`
	UnreadCount int       `json:"unread_count"`
	LastMessage *Message  `json:"last_message,omitempty"`
	Peer        *User     `json:"peer,omitempty"`
	// MentionCount counts the unread messages that mention you; ReadSeq
	// is your read position; Notify and SilencedUntil your settings.
	MentionCount  int        `json:"mention_count"`
	ReadSeq       int64      `json:"read_seq"`
	Notify        string     `json:"notify,omitempty"`
	SilencedUntil *time.Time `json:"silenced_until,omitempty"`
}

// Member is one person's membership of a room.
type Member struct {
	User     User      `json:"user"`
	Role     string    `json:"role"`
	JoinedAt time.Time `json:"joined_at"`
}

// Message is one message of a room's timeline; a deleted one is a
// tombstone with empty text.
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
	Mentions  []string   `json:"mentions,omitempty"`
}

// Event is one change on a room's timeline, numbered by the room's seq.
type Event struct {
	RoomID    string    `json:"room_id"`
	Seq       int64     `json:"seq"`
	Type      string    `json:"type"`
	ActorID   string    `json:"actor_id"`
	CreatedAt time.Time `json:"created_at"`
	Message   *Message  `json:"message,omitempty"`
	UserID    string    `json:"user_id,omitempty"`
	User      *User     `json:"user,omitempty"`
	Role      string    `json:"role,omitempty"`
	Room      *Room     `json:"room,omitempty"`
}

// Page selects a window of a timeline: at most one of Before and After,
// and a Limit (0 means the server's default of 50; at most 200). With
// neither, the newest page; set FromStart to page from the very start
// (after=0) instead.
type Page struct {
	Before    int64
	After     int64
	FromStart bool
	Limit     int
}
