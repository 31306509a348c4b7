package chat

import (
	"context"
	"errors"
	"strings"
	"time"
)

// DefaultLargeRoom is the member count above which a room's receipts go
// only to the sender of the message concerned.
const DefaultLargeRoom = 100

// maxMentions bounds the distinct @names of one message that are looked
// up; further ones mention nobody.
const maxMentions = 20

// PresenceSource tells whether a person is connected, and when they were
// last, as far as this node knows. The hub implements it.
type PresenceSource interface {
	Presence(userID string) (online bool, lastSeen time.Time)
}

// MarkRead moves the caller's read position in roomID forward to seq. An
// older or repeated seq changes nothing. When it moves, the room's members
// get a read receipt and the caller's sessions their new unread counts.
func (s *Service) MarkRead(ctx context.Context, a Auth, roomID string, seq int64) error {
	if seq < 0 {
		return Invalid("seq", "invalid", "must be zero or a positive seq")
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return err
	}
	pos, moved, err := s.store.MarkRead(ctx, roomID, a.User.ID, seq)
	if errors.Is(err, ErrNotFound) {
		return Errorf(CodeNotFound, "room not found")
	}
	if err != nil || !moved {
		return err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return err
	}
	s.readMoved(ctx, r, a.User.ID, pos)
	return nil
}

// readMoved announces that userID's read position in r moved to pos.
func (s *Service) readMoved(ctx context.Context, r Room, userID string, pos int64) {
	s.publishUnread(ctx, userID, r.ID)
	s.publishReceipt(ctx, r, ReceiptNotice{Kind: ReceiptRead, RoomID: r.ID, UserID: userID, Seq: pos})
}

// publishUnread sends userID's sessions their unread state of roomID.
func (s *Service) publishUnread(ctx context.Context, userID, roomID string) {
	sts, err := s.store.RoomStates(ctx, userID, roomID)
	if err != nil || len(sts) == 0 {
		if err != nil {
			s.log.Warn("unread state failed", "room_id", roomID, "user_id", userID, "err", err)
		}
		return
	}
	s.notice(ctx, Notice{Unread: &UnreadNotice{UserID: userID, Unread: sts[0].Unread}})
}

// publishReceipt announces a receipt of r: to every member, or in a large
// room only to the sender of the message at the receipt's seq.
func (s *Service) publishReceipt(ctx context.Context, r Room, rn ReceiptNotice) {
	if r.MemberCount > s.largeRoom {
		evs, _, err := s.store.Events(ctx, rn.RoomID, Page{After: rn.Seq - 1, Limit: 1})
		if err != nil || len(evs) == 0 || evs[0].Type != EventMessageCreated || evs[0].ActorID == rn.UserID {
			return
		}
		rn.To = evs[0].ActorID
	}
	s.notice(ctx, Notice{Receipt: &rn})
}

// notice publishes n; the bus is a hint, so a failure is only logged.
func (s *Service) notice(ctx context.Context, n Notice) {
	if err := s.bus.Publish(ctx, n); err != nil {
		s.log.Warn("bus publish failed", "err", err)
	}
}

// Receipts returns a page of the read and delivered positions of a room's
// members and the cursor of the next page.
func (s *Service) Receipts(ctx context.Context, a Auth, roomID, after string, limit int) ([]Receipt, string, error) {
	if err := checkCursor(after); err != nil {
		return nil, "", err
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return nil, "", err
	}
	rcs, err := s.store.Receipts(ctx, roomID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	return pageWithCursor(rcs, limit, func(rc Receipt) string { return rc.UserID })
}

// UnreadTotals sums the caller's unread and mention counts over all their
// rooms, for a badge; Rooms has each room's.
type UnreadTotals struct {
	UnreadCount  int      `json:"unread_count"`
	MentionCount int      `json:"mention_count"`
	Rooms        []Unread `json:"rooms"`
}

// Unread returns the caller's unread totals.
func (s *Service) Unread(ctx context.Context, a Auth) (UnreadTotals, error) {
	sts, err := s.store.RoomStates(ctx, a.User.ID, "")
	if err != nil {
		return UnreadTotals{}, err
	}
	t := UnreadTotals{Rooms: make([]Unread, 0, len(sts))}
	for _, st := range sts {
		t.UnreadCount += st.UnreadCount
		t.MentionCount += st.MentionCount
		if st.UnreadCount > 0 || st.MentionCount > 0 {
			t.Rooms = append(t.Rooms, st.Unread)
		}
	}
	return t, nil
}

// RoomSettingsPatch holds the room settings to change: a nil Notify keeps
// it; SetSilence replaces SilencedUntil (nil clears it).
type RoomSettingsPatch struct {
	Notify        *string
	SetSilence    bool
	SilencedUntil *time.Time
}

// SetRoomSettings changes the caller's settings for a room and returns
// them, defaults filled in.
func (s *Service) SetRoomSettings(ctx context.Context, a Auth, roomID string, p RoomSettingsPatch) (RoomSettings, error) {
	if _, err := s.member(ctx, a, roomID); err != nil {
		return RoomSettings{}, err
	}
	sts, err := s.store.RoomStates(ctx, a.User.ID, roomID)
	if err != nil || len(sts) == 0 {
		return RoomSettings{}, errors.Join(err, Errorf(CodeNotFound, "room not found"))
	}
	rs := sts[0].Settings
	if p.Notify != nil {
		switch *p.Notify {
		case NotifyAll, NotifyMentions, NotifyNone:
			rs.Notify = *p.Notify
		default:
			return RoomSettings{}, Invalid("notify", "invalid", "must be all, mentions or none")
		}
	}
	if p.SetSilence {
		rs.SilencedUntil = p.SilencedUntil
		if rs.SilencedUntil != nil {
			t := rs.SilencedUntil.UTC()
			rs.SilencedUntil = &t
		}
	}
	if err := s.store.SetRoomSettings(ctx, roomID, a.User.ID, rs); err != nil {
		return RoomSettings{}, err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return RoomSettings{}, err
	}
	rs.Notify = rs.effectiveNotify(r.Kind)
	return rs, nil
}

// withState fills in the caller's state of each view: counts, read
// position and settings.
func (s *Service) withState(ctx context.Context, userID string, views []RoomView) error {
	roomID := ""
	if len(views) == 1 {
		roomID = views[0].ID
	}
	sts, err := s.store.RoomStates(ctx, userID, roomID)
	if err != nil {
		return err
	}
	byRoom := make(map[string]MemberState, len(sts))
	for _, st := range sts {
		byRoom[st.RoomID] = st
	}
	for i := range views {
		v := &views[i]
		st := byRoom[v.ID]
		v.UnreadCount, v.MentionCount, v.ReadSeq = st.UnreadCount, st.MentionCount, st.ReadSeq
		v.Notify, v.SilencedUntil = st.Settings.effectiveNotify(v.Kind), st.Settings.SilencedUntil
		if v.Peer != nil {
			s.withPresence(ctx, v.Peer)
		}
	}
	return nil
}

// view returns roomID as member userID sees it, with their state.
func (s *Service) view(ctx context.Context, roomID, userID string) (RoomView, error) {
	v, err := s.store.RoomView(ctx, roomID, userID)
	if err != nil {
		return v, err
	}
	vs := []RoomView{v}
	err = s.withState(ctx, userID, vs)
	return vs[0], err
}

// withPresence sets u's status and when they were last seen, unless they
// hide their presence.
func (s *Service) withPresence(ctx context.Context, u *User) {
	if s.presence == nil {
		return
	}
	u.Status = StatusOffline
	online, seen := s.presence.Presence(u.ID)
	if !online && seen.IsZero() {
		// Not seen since this node started: the store remembers.
		stored, err := s.store.LastSeen(ctx, u.ID)
		if err != nil || stored.IsZero() {
			return // nothing to hide: no need to read the settings
		}
		seen = stored
	}
	us, err := s.store.UserSettings(ctx, u.ID)
	if err != nil || !us.PresenceShown() {
		return
	}
	if online {
		u.Status = StatusOnline
	}
	if !seen.IsZero() {
		seen = seen.UTC()
		u.LastSeenAt = &seen
	}
}

// CheckMember returns not_found unless the caller is a member of roomID.
func (s *Service) CheckMember(ctx context.Context, a Auth, roomID string) error {
	_, err := s.member(ctx, a, roomID)
	return err
}

// Typing relays that the caller started or stopped typing in roomID to
// the room's other members. Nothing is stored.
func (s *Service) Typing(ctx context.Context, a Auth, roomID string, typing bool) error {
	if _, err := s.member(ctx, a, roomID); err != nil {
		return err
	}
	s.notice(ctx, Notice{Typing: &TypingNotice{RoomID: roomID, UserID: a.User.ID, Typing: typing}})
	return nil
}

// StopTyping announces that userID stopped typing in roomID, as when their
// typing expired or their session ended; it checks nothing.
func (s *Service) StopTyping(ctx context.Context, roomID, userID string) {
	s.notice(ctx, Notice{Typing: &TypingNotice{RoomID: roomID, UserID: userID}})
}

// mentions returns the ids of the room's members whose @username text
// names, in any letter case, in order of first mention.
func (s *Service) mentions(ctx context.Context, roomID, text string) ([]string, error) {
	var ids []string
	seen := map[string]bool{}
	for _, name := range mentionNames(text) {
		if len(seen) == maxMentions {
			break
		}
		k := strings.ToLower(name)
		if seen[k] {
			continue
		}
		seen[k] = true
		c, err := s.store.Credentials(ctx, name)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		_, err = s.store.Member(ctx, roomID, c.User.ID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, c.User.ID)
	}
	return ids, nil
}

// mentionNames returns the @names of text: an @ not preceded by a name
// character, followed by a valid username.
func mentionNames(text string) []string {
	var names []string
	for i := 0; i < len(text); i++ {
		if text[i] != '@' || i > 0 && isNameByte(text[i-1]) {
			continue
		}
		j := i + 1
		for j < len(text) && isNameByte(text[j]) {
			j++
		}
		// A trailing '.' or '-' ends the sentence, not the name.
		name := strings.TrimRight(text[i+1:j], ".-")
		if ValidUsername(name) {
			names = append(names, name)
		}
		i = j - 1
	}
	return names
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-'
}

// afterSend announces what a new message changes besides its event: the
// sender's read position and unread state, and the notifications of the
// members it concerns. It reads nothing it can know: the append returned
// the room, and a sender has read up to their message, the newest when it
// was stored, so as of that seq they have nothing unread.
func (s *Service) afterSend(ctx context.Context, a Auth, ap Appended) {
	r, msg := ap.Room, ap.Message
	s.notice(ctx, Notice{Unread: &UnreadNotice{UserID: a.User.ID, Unread: Unread{
		UserID: a.User.ID, RoomID: r.ID, ReadSeq: msg.Seq,
	}}})
	// In a large room a read receipt goes only to the sender of the message
	// read, who is the reader here.
	if r.MemberCount <= s.largeRoom {
		s.notice(ctx, Notice{Receipt: &ReceiptNotice{
			Kind: ReceiptRead, RoomID: r.ID, UserID: a.User.ID, Seq: msg.Seq,
		}})
	}
	if err := s.notify(ctx, r, msg); err != nil {
		s.log.Warn("notify failed", "room_id", msg.RoomID, "err", err)
	}
}

// notify sends the notification frames of msg, a new message of r, to
// the members its mentions, the room's kind and their settings call for.
func (s *Service) notify(ctx context.Context, r Room, msg Message) error {
	return s.notifyFor(ctx, r, msg, func(settings map[string]RoomSettings) (map[string]string, error) {
		return s.reasons(ctx, r, msg, settings)
	})
}

// notifyFor sends the notification frames of msg to the members reasons
// names, as their settings allow.
func (s *Service) notifyFor(ctx context.Context, r Room, msg Message,
	reasonsOf func(map[string]RoomSettings) (map[string]string, error)) error {
	settings, err := s.store.RoomSettings(ctx, r.ID)
	if err != nil {
		return err
	}
	reasons, err := reasonsOf(settings)
	if err != nil {
		return err
	}
	now := s.clock.Now()
	for id, reason := range reasons {
		rs := settings[id]
		notify := rs.effectiveNotify(r.Kind)
		switch {
		case id == msg.SenderID, rs.silenced(now), notify == NotifyNone,
			notify == NotifyMentions && reason != ReasonMention:
			continue
		}
		s.notice(ctx, Notice{Notification: &Notification{
			UserID: id, Reason: reason, RoomID: r.ID, Message: msg,
		}})
	}
	return nil
}

// notifyMentioned sends mention notifications, after an edit of msg, to
// the members ids names: those mentioned for the first time.
func (s *Service) notifyMentioned(ctx context.Context, msg Message, ids []string) {
	if len(ids) == 0 {
		return
	}
	added := make(map[string]string, len(ids))
	for _, id := range ids {
		added[id] = ReasonMention
	}
	r, err := s.store.Room(ctx, msg.RoomID)
	if err == nil {
		err = s.notifyFor(ctx, r, msg, func(map[string]RoomSettings) (map[string]string, error) {
			return added, nil
		})
	}
	if err != nil {
		s.log.Warn("notify after edit failed", "room_id", msg.RoomID, "err", err)
	}
}

// reasons returns, for each member msg may notify, why: a mention, else a
// direct message, else a message in a room they want all messages of.
func (s *Service) reasons(ctx context.Context, r Room, msg Message,
	settings map[string]RoomSettings) (map[string]string, error) {
	reasons := map[string]string{}
	for _, id := range msg.Mentions {
		reasons[id] = ReasonMention
	}
	var others []string
	if r.Kind == KindDirect {
		ids, err := s.store.MemberIDs(ctx, r.ID)
		if err != nil {
			return nil, err
		}
		others = ids
	} else {
		for id, rs := range settings {
			if rs.Notify == NotifyAll {
				others = append(others, id)
			}
		}
	}
	for _, id := range others {
		if _, ok := reasons[id]; ok {
			continue
		}
		reasons[id] = ReasonMessage
		if r.Kind == KindDirect {
			reasons[id] = ReasonDirect
		}
	}
	return reasons, nil
}

// afterDelete sends the members for whom msg was unread their new unread
// state.
func (s *Service) afterDelete(ctx context.Context, msg Message) {
	us, err := s.store.Unreads(ctx, msg.RoomID, msg.Seq, msg.SenderID)
	if err != nil {
		s.log.Warn("unreads after delete failed", "room_id", msg.RoomID, "err", err)
		return
	}
	for _, u := range us {
		s.notice(ctx, Notice{Unread: &UnreadNotice{UserID: u.UserID, Unread: u}})
	}
}

// fetched records that the caller fetched the messages up to last: their
// delivered position moves there, and its sender gets a receipt.
func (s *Service) fetched(ctx context.Context, a Auth, last Message) {
	moved, err := s.store.MarkDelivered(ctx, []Position{{RoomID: last.RoomID, UserID: a.User.ID, Seq: last.Seq}})
	if err != nil {
		s.log.Warn("mark delivered failed", "room_id", last.RoomID, "err", err)
		return
	}
	if len(moved) > 0 && last.SenderID != a.User.ID {
		s.notice(ctx, Notice{Receipt: &ReceiptNotice{Kind: ReceiptDelivered, RoomID: last.RoomID,
			UserID: a.User.ID, Seq: last.Seq, To: last.SenderID}})
	}
}
