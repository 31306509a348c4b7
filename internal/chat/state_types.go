package chat

import "time"

// Receipt kinds.
const (
	ReceiptRead      = "read"
	ReceiptDelivered = "delivered"
)

// Receipt is how far one member of a room has read and has had events
// delivered to at least one of their sessions. Both only move forward.
type Receipt struct {
	UserID       string `json:"user_id"`
	ReadSeq      int64  `json:"read_seq"`
	DeliveredSeq int64  `json:"delivered_seq"`
}

// Position is a seq of one member of a room, such as how far events have
// been delivered to them.
type Position struct {
	RoomID string
	UserID string
	Seq    int64
}

// Notification settings of a member for one room (RoomSettings.Notify).
const (
	NotifyAll      = "all"
	NotifyMentions = "mentions"
	NotifyNone     = "none"
)

// RoomSettings is what one member asks of one room. An empty Notify means
// the default: all in direct rooms, mentions elsewhere. Until
// SilencedUntil, the room sends no notifications, but still counts unread
// messages.
type RoomSettings struct {
	Notify        string     `json:"notify"`
	SilencedUntil *time.Time `json:"silenced_until,omitempty"`
}

// effectiveNotify returns what notifies in a room of kind.
func (rs RoomSettings) effectiveNotify(kind string) string {
	switch {
	case rs.Notify != "":
		return rs.Notify
	case kind == KindDirect:
		return NotifyAll
	}
	return NotifyMentions
}

// silenced reports whether rs silences the room at now.
func (rs RoomSettings) silenced(now time.Time) bool {
	return rs.SilencedUntil != nil && rs.SilencedUntil.After(now)
}

// UserSettings are a person's own preferences. A nil ShowPresence means
// true. In a change of them (PATCH /me), a field left out keeps its value
// and null is refused, since it would read the same as left out.
type UserSettings struct {
	Theme        string `json:"theme,omitempty" strictjson:"nonnull"`
	ShowPresence *bool  `json:"show_presence,omitempty" strictjson:"nonnull"`
}

// PresenceShown reports whether the person lets others see their presence.
func (us UserSettings) PresenceShown() bool {
	return us.ShowPresence == nil || *us.ShowPresence
}

// Unread is one member's unread state of a room, as the unread frame
// carries it.
type Unread struct {
	UserID       string `json:"-"`
	RoomID       string `json:"room_id"`
	UnreadCount  int    `json:"unread_count"`
	MentionCount int    `json:"mention_count"`
	ReadSeq      int64  `json:"read_seq"`
}

// MemberState is one member's unread state and settings of one room.
type MemberState struct {
	Unread
	Settings RoomSettings
}

// Presence statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
)

// ReceiptNotice says that a member's read or delivered position in a room
// moved to Seq. To, if set, limits the receipt to that user (the sender of
// the message concerned, in large rooms).
type ReceiptNotice struct {
	Kind   string `json:"kind"`
	RoomID string `json:"room_id"`
	UserID string `json:"user_id"`
	Seq    int64  `json:"seq"`
	To     string `json:"to,omitempty"`
}

// UnreadNotice carries a member's new unread state of a room to their
// sessions.
type UnreadNotice struct {
	UserID string `json:"user_id"`
	Unread Unread `json:"unread"`
}

// Notification is an in-app notification for one member: Reason is
// "mention", "direct" or "message".
type Notification struct {
	UserID  string  `json:"user_id"`
	Reason  string  `json:"reason"`
	RoomID  string  `json:"room_id"`
	Message Message `json:"message"`
}

// Notification reasons.
const (
	ReasonMention = "mention"
	ReasonDirect  = "direct"
	ReasonMessage = "message"
)

// TypingNotice says that UserID started or stopped typing in RoomID.
type TypingNotice struct {
	RoomID string `json:"room_id"`
	UserID string `json:"user_id"`
	Typing bool   `json:"typing"`
}

// PresenceNotice says that UserID went online or offline.
type PresenceNotice struct {
	UserID     string     `json:"user_id"`
	Status     string     `json:"status"`
	LastSeenAt *time.Time `json:"last_seen_at,omitempty"`
}
