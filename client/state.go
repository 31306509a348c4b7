package client

import (
	"context"
	"net/http"
	"net/url"
	"time"
)

// Receipt is how far one member of a room has read and has had events
// delivered.
type Receipt struct {
	UserID       string `json:"user_id"`
	ReadSeq      int64  `json:"read_seq"`
	DeliveredSeq int64  `json:"delivered_seq"`
}

// Unread is the unread state of one room.
type Unread struct {
	RoomID       string `json:"room_id"`
	UnreadCount  int    `json:"unread_count"`
	MentionCount int    `json:"mention_count"`
	ReadSeq      int64  `json:"read_seq"`
}

// UnreadTotals are the unread and mention counts over all one's rooms.
type UnreadTotals struct {
	UnreadCount  int      `json:"unread_count"`
	MentionCount int      `json:"mention_count"`
	Rooms        []Unread `json:"rooms"`
}

// RoomSettings are one's notification settings for a room.
type RoomSettings struct {
	Notify        string     `json:"notify"`
	SilencedUntil *time.Time `json:"silenced_until,omitempty"`
}

func roomPath(roomID, rest string) string {
	return "/api/v1/rooms/" + url.PathEscape(roomID) + rest
}

// MarkRead marks a room read up to seq; an older seq changes nothing.
func (c *Client) MarkRead(ctx context.Context, roomID string, seq int64) error {
	_, err := c.Do(ctx, http.MethodPost, roomPath(roomID, "/read"), map[string]int64{"seq": seq}, nil)
	return err
}

// Receipts returns a page of a room's receipts and the cursor of the next
// page ("" on the last).
func (c *Client) Receipts(ctx context.Context, roomID, after string, limit int) ([]Receipt, string, error) {
	var out struct {
		Receipts []Receipt `json:"receipts"`
		Next     string    `json:"next"`
	}
	_, err := c.Do(ctx, http.MethodGet, roomPath(roomID, "/receipts")+cursorQuery("", after, limit), nil, &out)
	return out.Receipts, out.Next, err
}

// Unread returns one's unread totals.
func (c *Client) Unread(ctx context.Context) (UnreadTotals, error) {
	var t UnreadTotals
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/me/unread", nil, &t)
	return t, err
}

// UpdateRoomSettings changes one's settings for a room: patch holds
// notify and silenced_until (null to stop silencing).
func (c *Client) UpdateRoomSettings(ctx context.Context, roomID string, patch map[string]any) (RoomSettings, error) {
	var rs RoomSettings
	_, err := c.Do(ctx, http.MethodPatch, roomPath(roomID, "/settings"), patch, &rs)
	return rs, err
}
