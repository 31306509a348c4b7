package chat

import (
	"context"
	"errors"
)

// Paging limits for timelines.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 200
)

// Send posts a message to a room. A repeated ClientID from the same sender
// in the same room returns the original message with created false and
// stores nothing.
func (s *Service) Send(ctx context.Context, a Auth, roomID, text, clientID string) (Message, bool, error) {
	if err := CheckMessageText(text); err != nil {
		return Message{}, false, err
	}
	if err := checkName("client_id", clientID, MaxClientIDLen, true); err != nil {
		return Message{}, false, err
	}
	mentions, err := s.mentions(ctx, roomID, text)
	if err != nil {
		return Message{}, false, err
	}
	// The store checks membership in the append's transaction: one read
	// fewer per send, and no window between the check and the write.
	now := s.clock.Now()
	ap, err := s.store.AppendMessage(ctx, Message{
		ID: NewID(now), RoomID: roomID, SenderID: a.User.ID, Text: text, ClientID: clientID,
		CreatedAt: now, Mentions: mentions,
	})
	if errors.Is(err, ErrNotFound) {
		return Message{}, false, Errorf(CodeNotFound, "room not found")
	}
	if err != nil {
		return Message{}, false, err
	}
	if ap.Created {
		s.publish(ctx, ap.Event)
		s.afterSend(ctx, a, ap)
	}
	return ap.Message, ap.Created, nil
}

// Edit replaces the text of one of the caller's own messages. Its mentions
// are found again; members that no version of it mentioned before are
// notified, so that nobody is notified twice of one message.
func (s *Service) Edit(ctx context.Context, a Auth, roomID, messageID, text string) (Message, error) {
	if err := CheckMessageText(text); err != nil {
		return Message{}, err
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return Message{}, err
	}
	mentions, err := s.mentions(ctx, roomID, text)
	if err != nil {
		return Message{}, err
	}
	msg, ev, first, err := s.store.EditMessage(ctx, roomID, messageID, a.User.ID, text, mentions, s.clock.Now())
	if errors.Is(err, ErrNotFound) {
		return Message{}, Errorf(CodeNotFound, "message not found")
	}
	if err != nil {
		return Message{}, err
	}
	s.publish(ctx, ev)
	s.notifyMentioned(ctx, msg, first)
	return msg, nil
}

// Delete turns a message into a tombstone. Its sender and the room's owner
// and admins may delete it; deleting it again succeeds and changes nothing.
func (s *Service) Delete(ctx context.Context, a Auth, roomID, messageID string) error {
	m, err := s.member(ctx, a, roomID)
	if err != nil {
		return err
	}
	msg, err := s.store.Message(ctx, roomID, messageID)
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "message not found")
	}
	if err != nil {
		return err
	}
	if msg.SenderID != a.User.ID && !s.moderates(ctx, roomID, m) {
		return ErrForbidden
	}
	ev, changed, err := s.store.DeleteMessage(ctx, roomID, messageID, a.User.ID, s.clock.Now())
	if err != nil {
		return err
	}
	if changed {
		s.publish(ctx, ev)
		s.afterDelete(ctx, msg)
	}
	return nil
}

// CheckPage validates a page request and fills in the default limit.
func CheckPage(p Page) (Page, error) {
	switch {
	case p.Before != 0 && p.After != 0:
		return p, Errorf(CodeInvalidRequest, "give before or after, not both")
	case p.Before < 0:
		return p, Invalid("before", "invalid", "must be a positive seq")
	case p.After < 0:
		return p, Invalid("after", "invalid", "must be zero or a positive seq")
	case p.Limit < 0:
		return p, Invalid("limit", "invalid", "must be positive")
	case p.Limit == 0:
		p.Limit = DefaultPageLimit
	case p.Limit > MaxPageLimit:
		p.Limit = MaxPageLimit
	}
	return p, nil
}

// Messages returns a page of a room's messages, ascending by seq, and
// whether more exist in the direction of travel.
func (s *Service) Messages(ctx context.Context, a Auth, roomID string, p Page) ([]Message, bool, error) {
	p, err := CheckPage(p)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return nil, false, err
	}
	msgs, more, err := s.store.Messages(ctx, roomID, p)
	if err == nil && len(msgs) > 0 {
		s.fetched(ctx, a, msgs[len(msgs)-1])
	}
	return msgs, more, err
}

// Events returns a page of a room's events, as Messages does.
func (s *Service) Events(ctx context.Context, a Auth, roomID string, p Page) ([]Event, bool, error) {
	p, err := CheckPage(p)
	if err != nil {
		return nil, false, err
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return nil, false, err
	}
	return s.store.Events(ctx, roomID, p)
}

// moderates reports whether member m may delete others' messages: owner and
// admins may, except in direct rooms, where the creator's ownership must not
// let one person delete the other's words.
func (s *Service) moderates(ctx context.Context, roomID string, m Member) bool {
	if !isAdmin(m.Role) {
		return false
	}
	r, err := s.store.Room(ctx, roomID)
	return err == nil && r.Kind != KindDirect
}
