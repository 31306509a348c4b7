// Package client is a Go client for Parley's REST API and WebSocket
// protocol, for integrators, tools and Parley's own tests.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Client calls one Parley server's REST API as one person (or nobody,
// before Register or Login). It is safe for concurrent use, except that
// SetToken must not race with calls.
type Client struct {
	base  string
	token string
	http  *http.Client
}

// New returns a client for the server at baseURL (for example
// http://localhost:8080). A nil hc means http.DefaultClient.
func New(baseURL string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: strings.TrimRight(baseURL, "/"), http: hc}
}

// WithToken returns a copy of c that authenticates with token.
func (c *Client) WithToken(token string) *Client {
	cp := *c
	cp.token = token
	return &cp
}

// Token returns the token c authenticates with.
func (c *Client) Token() string { return c.token }

// BaseURL returns the server's base URL.
func (c *Client) BaseURL() string { return c.base }

// Error is a failed API call: the HTTP status and the server's error body.
type Error struct {
	Status     int
	Code       string                `json:"code"`
	Message    string                `json:"message"`
	RequestID  string                `json:"request_id"`
	Fields     map[string]FieldError `json:"fields,omitempty"`
	RetryAfter string
}

// FieldError says what is wrong with one input field.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("parley: %d %s: %s (request %s)", e.Status, e.Code, e.Message, e.RequestID)
}

// Do sends a request with a JSON body (nil for none) and decodes a JSON
// response into out (nil to discard it). It returns the HTTP status. Any
// status of 400 or more is returned as an *Error.
func (c *Client) Do(ctx context.Context, method, path string, body, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, fmt.Errorf("encode request: %w", err)
		}
		rd = bytes.NewReader(b)
	}
	return c.DoRaw(ctx, method, path, "application/json", rd, out)
}

// DoRaw is Do with a body sent as it is, for callers that need to send
// exactly the bytes they choose.
func (c *Client) DoRaw(ctx context.Context, method, path, contentType string, body io.Reader, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return 0, fmt.Errorf("new request: %w", err)
	}
	if body != nil {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, fmt.Errorf("read response: %w", err)
	}
	if resp.StatusCode >= 400 {
		return resp.StatusCode, decodeError(resp, data)
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("decode response: %w", err)
		}
	}
	return resp.StatusCode, nil
}

func decodeError(resp *http.Response, data []byte) error {
	var body struct {
		Error Error `json:"error"`
	}
	e := &body.Error
	if err := json.Unmarshal(data, &body); err != nil || e.Code == "" {
		e.Code, e.Message = "unknown", strings.TrimSpace(string(data))
	}
	e.Status = resp.StatusCode
	e.RetryAfter = resp.Header.Get("Retry-After")
	return e
}

// Auth is the answer to Register and Login.
type Auth struct {
	Token string `json:"token"`
	User  User   `json:"user"`
}

// Register creates an account and returns a client signed in as it.
func (c *Client) Register(ctx context.Context, username, password, displayName string) (*Client, User, error) {
	body := map[string]string{"username": username, "password": password}
	if displayName != "" {
		body["display_name"] = displayName
	}
	var a Auth
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/auth/register", body, &a)
	return c.WithToken(a.Token), a.User, err
}

// Login signs in and returns a client that uses the new token.
func (c *Client) Login(ctx context.Context, username, password string) (*Client, User, error) {
	var a Auth
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/auth/login",
		map[string]string{"username": username, "password": password}, &a)
	return c.WithToken(a.Token), a.User, err
}

// Logout revokes the client's token.
func (c *Client) Logout(ctx context.Context) error {
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/auth/logout", nil, nil)
	return err
}

// Me returns the signed-in user.
func (c *Client) Me(ctx context.Context) (User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/me", nil, &u)
	return u, err
}

// UpdateMe changes the signed-in user's profile; fields absent from patch
// are kept.
func (c *Client) UpdateMe(ctx context.Context, patch map[string]any) (User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodPatch, "/api/v1/me", patch, &u)
	return u, err
}

// ChangePassword replaces the password; every other token stops working.
func (c *Client) ChangePassword(ctx context.Context, current, next string) error {
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/me/password",
		map[string]string{"current_password": current, "new_password": next}, nil)
	return err
}

// User returns a person's profile.
func (c *Client) User(ctx context.Context, id string) (User, error) {
	var u User
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/users/"+url.PathEscape(id), nil, &u)
	return u, err
}

// SearchUsers returns people whose username starts with prefix.
func (c *Client) SearchUsers(ctx context.Context, prefix string) ([]User, error) {
	var out struct {
		Users []User `json:"users"`
	}
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/users?q="+url.QueryEscape(prefix), nil, &out)
	return out.Users, err
}

// NewRoom describes a room to create: Kind "direct" with UserID, or
// "group" or "public" with Name and optional Topic and MemberIDs.
type NewRoom struct {
	Kind      string   `json:"kind"`
	UserID    string   `json:"user_id,omitempty"`
	Name      string   `json:"name,omitempty"`
	Topic     string   `json:"topic,omitempty"`
	MemberIDs []string `json:"member_ids,omitempty"`
}

// CreateRoom creates a room. created is false when a direct room for the
// pair already existed and was returned instead.
func (c *Client) CreateRoom(ctx context.Context, r NewRoom) (room Room, created bool, err error) {
	status, err := c.Do(ctx, http.MethodPost, "/api/v1/rooms", r, &room)
	return room, status == http.StatusCreated, err
}

// Rooms lists the rooms the signed-in user is a member of.
func (c *Client) Rooms(ctx context.Context) ([]Room, error) {
	var out struct {
		Rooms []Room `json:"rooms"`
	}
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms", nil, &out)
	return out.Rooms, err
}

// Room returns one room.
func (c *Client) Room(ctx context.Context, id string) (Room, error) {
	var r Room
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms/"+url.PathEscape(id), nil, &r)
	return r, err
}

// UpdateRoom changes the fields in patch (name, topic) and keeps the rest.
func (c *Client) UpdateRoom(ctx context.Context, id string, patch map[string]any) (Room, error) {
	var r Room
	_, err := c.Do(ctx, http.MethodPatch, "/api/v1/rooms/"+url.PathEscape(id), patch, &r)
	return r, err
}

// Members returns a page of a room's members and the cursor of the next
// page ("" on the last).
func (c *Client) Members(ctx context.Context, roomID, after string, limit int) ([]Member, string, error) {
	var out struct {
		Members []Member `json:"members"`
		Next    string   `json:"next"`
	}
	q := cursorQuery("", after, limit)
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms/"+url.PathEscape(roomID)+"/members"+q, nil, &out)
	return out.Members, out.Next, err
}

// AddMember adds a person to a room with role ("" for member).
func (c *Client) AddMember(ctx context.Context, roomID, userID, role string) (Member, error) {
	body := map[string]string{"user_id": userID}
	if role != "" {
		body["role"] = role
	}
	var m Member
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/rooms/"+url.PathEscape(roomID)+"/members", body, &m)
	return m, err
}

// RemoveMember removes a person from a room; one's own id leaves it.
func (c *Client) RemoveMember(ctx context.Context, roomID, userID string) error {
	_, err := c.Do(ctx, http.MethodDelete,
		"/api/v1/rooms/"+url.PathEscape(roomID)+"/members/"+url.PathEscape(userID), nil, nil)
	return err
}

// Join joins a public room.
func (c *Client) Join(ctx context.Context, roomID string) (Room, error) {
	var r Room
	_, err := c.Do(ctx, http.MethodPost, "/api/v1/rooms/"+url.PathEscape(roomID)+"/join", nil, &r)
	return r, err
}

// Directory searches public rooms by name; it returns a page of profiles
// and the cursor of the next page.
func (c *Client) Directory(ctx context.Context, q, after string, limit int) ([]Room, string, error) {
	var out struct {
		Rooms []Room `json:"rooms"`
		Next  string `json:"next"`
	}
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms/directory"+cursorQuery(q, after, limit), nil, &out)
	return out.Rooms, out.Next, err
}

// Send posts a message. created is false when clientID repeated an earlier
// send and the original message came back.
func (c *Client) Send(ctx context.Context, roomID, text, clientID string) (msg Message, created bool, err error) {
	body := map[string]string{"text": text}
	if clientID != "" {
		body["client_id"] = clientID
	}
	status, err := c.Do(ctx, http.MethodPost, "/api/v1/rooms/"+url.PathEscape(roomID)+"/messages", body, &msg)
	return msg, status == http.StatusCreated, err
}

// Edit replaces the text of one's own message.
func (c *Client) Edit(ctx context.Context, roomID, messageID, text string) (Message, error) {
	var m Message
	_, err := c.Do(ctx, http.MethodPatch, messagePath(roomID, messageID), map[string]string{"text": text}, &m)
	return m, err
}

// Delete deletes a message.
func (c *Client) Delete(ctx context.Context, roomID, messageID string) error {
	_, err := c.Do(ctx, http.MethodDelete, messagePath(roomID, messageID), nil, nil)
	return err
}

// Messages returns a page of a room's messages, ascending by seq, and
// whether more exist in the direction of travel.
func (c *Client) Messages(ctx context.Context, roomID string, p Page) ([]Message, bool, error) {
	var out struct {
		Messages []Message `json:"messages"`
		HasMore  bool      `json:"has_more"`
	}
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms/"+url.PathEscape(roomID)+"/messages"+pageQuery(p), nil, &out)
	return out.Messages, out.HasMore, err
}

// Events returns a page of a room's events, as Messages does.
func (c *Client) Events(ctx context.Context, roomID string, p Page) ([]Event, bool, error) {
	var out struct {
		Events  []Event `json:"events"`
		HasMore bool    `json:"has_more"`
	}
	_, err := c.Do(ctx, http.MethodGet, "/api/v1/rooms/"+url.PathEscape(roomID)+"/events"+pageQuery(p), nil, &out)
	return out.Events, out.HasMore, err
}

func messagePath(roomID, messageID string) string {
	return "/api/v1/rooms/" + url.PathEscape(roomID) + "/messages/" + url.PathEscape(messageID)
}

func pageQuery(p Page) string {
	v := url.Values{}
	if p.Before != 0 {
		v.Set("before", strconv.FormatInt(p.Before, 10))
	}
	if p.After != 0 || p.FromStart {
		v.Set("after", strconv.FormatInt(p.After, 10))
	}
	if p.Limit != 0 {
		v.Set("limit", strconv.Itoa(p.Limit))
	}
	return encodeQuery(v)
}

func cursorQuery(q, after string, limit int) string {
	v := url.Values{}
	if q != "" {
		v.Set("q", q)
	}
	if after != "" {
		v.Set("after", after)
	}
	if limit != 0 {
		v.Set("limit", strconv.Itoa(limit))
	}
	return encodeQuery(v)
}

func encodeQuery(v url.Values) string {
	if len(v) == 0 {
		return ""
	}
	return "?" + v.Encode()
}
