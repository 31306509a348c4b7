package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Auth is an authenticated caller: the user and the hash of the token they
// presented.
type Auth struct {
	User      User
	TokenHash []byte
}

// Registration is what a new person sends to create an account.
type Registration struct {
	Username    string
	Password    string
	DisplayName string
	// InviteCode is accepted and ignored until invite-only mode exists.
	InviteCode string
}

// tokenTouchEvery bounds how often a token's last use is written (or a
// tenth of the idle time, if shorter): idle
// expiry is measured in days, so minute precision costs nothing and saves a
// write on most requests.
const tokenTouchEvery = time.Minute

// Register creates an account and signs it in.
func (s *Service) Register(ctx context.Context, r Registration) (User, string, error) {
	if !ValidUsername(r.Username) {
		return User{}, "", Invalid("username", "invalid", "must be 3–32 letters, digits, '_', '.' or '-'")
	}
	if err := checkPassword("password", r.Password); err != nil {
		return User{}, "", err
	}
	if r.DisplayName == "" {
		r.DisplayName = r.Username
	}
	if err := checkName("display_name", r.DisplayName, MaxDisplayNameRunes, false); err != nil {
		return User{}, "", err
	}
	hash, err := s.hasher.Hash(ctx, r.Password)
	if err != nil {
		return User{}, "", err
	}
	now := s.clock.Now()
	u, err := s.store.CreateUser(ctx, User{
		ID: NewID(now), Username: r.Username, DisplayName: r.DisplayName, CreatedAt: now,
	}, hash)
	if err != nil {
		return User{}, "", err
	}
	token, err := s.issueToken(ctx, u.ID)
	return u, token, err
}

// Login checks a username and password and issues a new token. Every
// failure looks the same, whether or not the user exists, and takes as long.
func (s *Service) Login(ctx context.Context, username, password string) (User, string, error) {
	now := s.clock.Now()
	if wait := s.logins.wait(username, now); wait > 0 {
		return User{}, "", &Error{Code: CodeRateLimited, RetryAfter: wait,
			Message: "too many failed logins for this username; try again later"}
	}
	c, err := s.store.Credentials(ctx, username)
	if errors.Is(err, ErrNotFound) || !ValidUsername(username) {
		s.hasher.Dummy(ctx, password)
		s.logins.failed(username, now)
		return User{}, "", ErrInvalidCredentials
	}
	if err != nil {
		return User{}, "", err
	}
	ok, err := s.hasher.Check(ctx, password, c.PasswordHash)
	if err != nil {
		return User{}, "", err
	}
	if !ok {
		s.logins.failed(username, now)
		return User{}, "", ErrInvalidCredentials
	}
	s.logins.succeeded(username)
	token, err := s.issueToken(ctx, c.User.ID)
	return c.User, token, err
}

// Authenticate returns the caller a token belongs to. A token that is
// unknown, revoked or idle for longer than the configured time is refused.
func (s *Service) Authenticate(ctx context.Context, token string) (Auth, error) {
	if token == "" || len(token) > 128 {
		return Auth{}, ErrUnauthorized
	}
	hash := HashToken(token)
	now := s.clock.Now()
	u, lastUsed, err := s.store.TokenUser(ctx, hash, now.Add(-s.tokenIdle))
	if errors.Is(err, ErrNotFound) {
		return Auth{}, ErrUnauthorized
	}
	if err != nil {
		return Auth{}, err
	}
	if now.Sub(lastUsed) > min(tokenTouchEvery, s.tokenIdle/10) {
		if err := s.store.TouchToken(ctx, hash, now); err != nil {
			return Auth{}, err
		}
	}
	return Auth{User: u, TokenHash: hash}, nil
}

// Logout revokes the caller's token and closes its sessions.
func (s *Service) Logout(ctx context.Context, a Auth) error {
	if err := s.store.DeleteToken(ctx, a.TokenHash); err != nil {
		return err
	}
	s.revoke(ctx, Revoke{UserID: a.User.ID, TokenHash: a.TokenHash})
	return nil
}

// ChangePassword replaces the caller's password and revokes every other
// token of theirs; the token in use keeps working.
func (s *Service) ChangePassword(ctx context.Context, a Auth, current, next string) error {
	if err := checkPassword("new_password", next); err != nil {
		return err
	}
	c, err := s.store.Credentials(ctx, a.User.Username)
	if err != nil {
		return err
	}
	ok, err := s.hasher.Check(ctx, current, c.PasswordHash)
	if err != nil {
		return err
	}
	if !ok {
		return Invalid("current_password", "wrong", "is not your current password")
	}
	hash, err := s.hasher.Hash(ctx, next)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, a.User.ID, hash, a.TokenHash); err != nil {
		return err
	}
	s.revoke(ctx, Revoke{UserID: a.User.ID, Except: a.TokenHash})
	return nil
}

// Me returns the caller as stored now.
func (s *Service) Me(ctx context.Context, a Auth) (User, error) {
	u, err := s.store.User(ctx, a.User.ID)
	if err != nil {
		return User{}, err
	}
	return s.withSettings(ctx, u)
}

// withSettings sets u's own settings on u.
func (s *Service) withSettings(ctx context.Context, u User) (User, error) {
	us, err := s.store.UserSettings(ctx, u.ID)
	if err != nil {
		return User{}, err
	}
	u.Settings = &us
	return u, nil
}

// ProfilePatch holds the profile fields to change; nil keeps a field.
type ProfilePatch struct {
	DisplayName *string
	// Settings holds the settings to change; nil fields keep theirs.
	Settings *UserSettings
}

// Themes a person may choose for the web client.
var themes = []string{"system", "light", "dark"}

// UpdateMe changes the caller's profile and settings.
func (s *Service) UpdateMe(ctx context.Context, a Auth, p ProfilePatch) (User, error) {
	u, err := s.store.User(ctx, a.User.ID)
	if err != nil {
		return User{}, err
	}
	if p.DisplayName != nil {
		if err := checkName("display_name", *p.DisplayName, MaxDisplayNameRunes, false); err != nil {
			return User{}, err
		}
	}
	if p.Settings != nil && p.Settings.Theme != "" && !slices.Contains(themes, p.Settings.Theme) {
		return User{}, Invalid("settings.theme", "invalid", "must be system, light or dark")
	}
	if p.DisplayName != nil {
		u.DisplayName = *p.DisplayName
		if u, err = s.store.UpdateUser(ctx, u); err != nil {
			return User{}, err
		}
	}
	if p.Settings != nil {
		if err := s.updateSettings(ctx, u.ID, *p.Settings); err != nil {
			return User{}, err
		}
	}
	return s.withSettings(ctx, u)
}

// updateSettings merges patch into userID's settings. Hiding or showing
// one's presence while online tells the people who share a room at once.
func (s *Service) updateSettings(ctx context.Context, userID string, patch UserSettings) error {
	us, err := s.store.UserSettings(ctx, userID)
	if err != nil {
		return err
	}
	shown := us.PresenceShown()
	if patch.Theme != "" {
		us.Theme = patch.Theme
	}
	if patch.ShowPresence != nil {
		us.ShowPresence = patch.ShowPresence
	}
	if err := s.store.SetUserSettings(ctx, userID, us); err != nil {
		return err
	}
	if s.presence == nil || shown == us.PresenceShown() {
		return nil
	}
	if online, _ := s.presence.Presence(userID); online {
		status := StatusOffline
		if us.PresenceShown() {
			status = StatusOnline
		}
		s.notice(ctx, Notice{Presence: &PresenceNotice{UserID: userID, Status: status}})
	}
	return nil
}

// User returns another person's public profile.
func (s *Service) User(ctx context.Context, a Auth, id string) (User, error) {
	u, err := s.store.User(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, Errorf(CodeNotFound, "user not found")
	}
	u.IsAdmin = false
	if err == nil {
		s.withPresence(ctx, &u)
	}
	return u, err
}

// SearchUsers returns up to limit people whose username starts with prefix.
func (s *Service) SearchUsers(ctx context.Context, a Auth, prefix string, limit int) ([]User, error) {
	if err := checkText("q", prefix, MaxUsernameLen, true); err != nil {
		return nil, err
	}
	users, err := s.store.SearchUsers(ctx, prefix, limit)
	for i := range users {
		users[i].IsAdmin = false
		s.withPresence(ctx, &users[i])
	}
	return users, err
}

// HashToken returns the hash under which a token is stored.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// issueToken creates a 256-bit random token for userID.
func (s *Service) issueToken(ctx context.Context, userID string) (string, error) {
	b := make([]byte, 32)
	rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	now := s.clock.Now()
	err := s.store.CreateToken(ctx, Token{Hash: HashToken(token), UserID: userID, CreatedAt: now, LastUsed: now})
	if err != nil {
		return "", fmt.Errorf("create token: %w", err)
	}
	return token, nil
}

func (s *Service) revoke(ctx context.Context, r Revoke) {
	if err := s.bus.Publish(ctx, Notice{Revoke: &r}); err != nil {
		s.log.Warn("bus publish revoke failed", "user_id", r.UserID, "err", err)
	}
}

func checkPassword(field, p string) error {
	switch {
	case len([]rune(p)) < MinPasswordLen:
		return Invalid(field, "too_short", "must be at least 8 characters")
	case len(p) > MaxPasswordLen:
		return Invalid(field, "too_long", "must be at most 1024 bytes")
	}
	return nil
}
