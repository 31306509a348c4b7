package chat

import (
	"context"
	"errors"
	"slices"
)

// MaxInitialMembers bounds member_ids when creating a room.
const MaxInitialMembers = 256

// NewRoom is a request to create a room: a direct room with UserID, or a
// group or public room with a name and optional members.
type NewRoom struct {
	Kind      string
	UserID    string
	Name      string
	Topic     string
	MemberIDs []string
}

// CreateRoom creates a room with the caller as its owner. For a direct room
// whose pair already has one, it returns that room with created false.
func (s *Service) CreateRoom(ctx context.Context, a Auth, r NewRoom) (RoomView, bool, error) {
	switch r.Kind {
	case KindDirect:
		return s.createDirect(ctx, a, r)
	case KindGroup, KindPublic:
		return s.createNamed(ctx, a, r)
	}
	return RoomView{}, false, Invalid("kind", "invalid", "must be direct, group or public")
}

func (s *Service) createDirect(ctx context.Context, a Auth, r NewRoom) (RoomView, bool, error) {
	switch {
	case r.Name != "" || len(r.MemberIDs) > 0:
		return RoomView{}, false, Invalid("name", "not_allowed", "direct rooms take only user_id")
	case r.UserID == "":
		return RoomView{}, false, Invalid("user_id", "required", "names the other person")
	case r.UserID == a.User.ID:
		return RoomView{}, false, Invalid("user_id", "self", "must be someone else")
	}
	peer, err := s.knownUser(ctx, "user_id", r.UserID)
	if err != nil {
		return RoomView{}, false, err
	}
	if room, err := s.store.DirectRoom(ctx, a.User.ID, peer.ID); err == nil {
		v, err := s.view(ctx, room.ID, a.User.ID)
		return v, false, err
	} else if !errors.Is(err, ErrNotFound) {
		return RoomView{}, false, err
	}
	now := s.clock.Now()
	room := Room{ID: NewID(now), Kind: KindDirect, CreatedAt: now}
	members := []Member{
		{User: a.User, Role: RoleOwner, JoinedAt: now},
		{User: peer, Role: RoleMember, JoinedAt: now},
	}
	return s.storeRoom(ctx, a, room, members)
}

func (s *Service) createNamed(ctx context.Context, a Auth, r NewRoom) (RoomView, bool, error) {
	if r.UserID != "" {
		return RoomView{}, false, Invalid("user_id", "not_allowed", "only direct rooms take user_id")
	}
	if err := checkName("name", r.Name, MaxRoomNameRunes, false); err != nil {
		return RoomView{}, false, err
	}
	if err := checkName("topic", r.Topic, MaxTopicRunes, true); err != nil {
		return RoomView{}, false, err
	}
	if len(r.MemberIDs) > MaxInitialMembers {
		return RoomView{}, false, Invalid("member_ids", "too_many", "at most 256 initial members")
	}
	now := s.clock.Now()
	members := []Member{{User: a.User, Role: RoleOwner, JoinedAt: now}}
	seen := map[string]bool{a.User.ID: true}
	for _, id := range r.MemberIDs {
		if seen[id] {
			continue
		}
		seen[id] = true
		u, err := s.knownUser(ctx, "member_ids", id)
		if err != nil {
			return RoomView{}, false, err
		}
		members = append(members, Member{User: u, Role: RoleMember, JoinedAt: now})
	}
	room := Room{ID: NewID(now), Kind: r.Kind, Name: r.Name, Topic: r.Topic, CreatedAt: now}
	return s.storeRoom(ctx, a, room, members)
}

// storeRoom persists a new room; a direct room created meanwhile by the
// other person wins, and is returned instead.
func (s *Service) storeRoom(ctx context.Context, a Auth, room Room, members []Member) (RoomView, bool, error) {
	room, events, err := s.store.CreateRoom(ctx, room, members)
	if errors.Is(err, ErrConflict) && room.Kind == KindDirect {
		existing, err := s.store.DirectRoom(ctx, members[0].User.ID, members[1].User.ID)
		if err != nil {
			return RoomView{}, false, err
		}
		v, err := s.view(ctx, existing.ID, a.User.ID)
		return v, false, err
	}
	if err != nil {
		return RoomView{}, false, err
	}
	s.publish(ctx, events...)
	v, err := s.view(ctx, room.ID, a.User.ID)
	return v, true, err
}

// knownUser returns the user with id, or a validation error naming field.
func (s *Service) knownUser(ctx context.Context, field, id string) (User, error) {
	u, err := s.store.User(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return User{}, Invalid(field, "unknown_user", "no user has id "+truncate(id, 64))
	}
	u.IsAdmin = false
	return u, err
}

// Rooms returns the caller's rooms, most recently active first.
func (s *Service) Rooms(ctx context.Context, a Auth) ([]RoomView, error) {
	views, err := s.store.RoomViews(ctx, a.User.ID)
	if err != nil {
		return nil, err
	}
	return views, s.withState(ctx, a.User.ID, views)
}

// Room returns a room as the caller may see it: a RoomView for a member, a
// RoomProfile for anyone else if the room is public.
func (s *Service) Room(ctx context.Context, a Auth, id string) (any, error) {
	v, err := s.view(ctx, id, a.User.ID)
	if err == nil {
		return v, nil
	}
	if !errors.Is(err, ErrNotFound) {
		return nil, err
	}
	r, err := s.store.Room(ctx, id)
	if errors.Is(err, ErrNotFound) || err == nil && r.Kind != KindPublic {
		return nil, Errorf(CodeNotFound, "room not found")
	}
	if err != nil {
		return nil, err
	}
	return r.Profile(), nil
}

// RoomPatch holds the room fields to change; nil keeps a field.
type RoomPatch struct {
	Name  *string
	Topic *string
}

// UpdateRoom renames a room or sets its topic. Owner and admins only.
func (s *Service) UpdateRoom(ctx context.Context, a Auth, id string, p RoomPatch) (RoomView, error) {
	m, err := s.member(ctx, a, id)
	if err != nil {
		return RoomView{}, err
	}
	if !isAdmin(m.Role) {
		return RoomView{}, ErrForbidden
	}
	p, err = s.checkPatch(ctx, id, p)
	if err != nil {
		return RoomView{}, err
	}
	if p.Name != nil || p.Topic != nil {
		ev, err := s.store.UpdateRoom(ctx, id, p.Name, p.Topic, a.User.ID, s.clock.Now())
		if err != nil {
			return RoomView{}, err
		}
		s.publish(ctx, ev)
	}
	return s.view(ctx, id, a.User.ID)
}

// checkPatch validates p and drops the fields that would not change, so a
// patch that changes nothing records no event.
func (s *Service) checkPatch(ctx context.Context, id string, p RoomPatch) (RoomPatch, error) {
	r, err := s.store.Room(ctx, id)
	if err != nil {
		return p, err
	}
	if r.Kind == KindDirect && (p.Name != nil || p.Topic != nil) {
		return p, Invalid("name", "not_allowed", "direct rooms have neither name nor topic")
	}
	if p.Topic != nil {
		if err := checkName("topic", *p.Topic, MaxTopicRunes, true); err != nil {
			return p, err
		}
		if *p.Topic == r.Topic {
			p.Topic = nil
		}
	}
	if p.Name != nil {
		if err := checkName("name", *p.Name, MaxRoomNameRunes, false); err != nil {
			return p, err
		}
		if *p.Name == r.Name {
			p.Name = nil
		}
	}
	return p, nil
}

// Members returns a page of a room's members and the cursor of the next
// page ("" when this is the last).
func (s *Service) Members(ctx context.Context, a Auth, roomID, after string, limit int) ([]Member, string, error) {
	if err := checkCursor(after); err != nil {
		return nil, "", err
	}
	if _, err := s.member(ctx, a, roomID); err != nil {
		return nil, "", err
	}
	ms, err := s.store.Members(ctx, roomID, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	for i := range ms {
		s.withPresence(ctx, &ms[i].User)
	}
	return pageWithCursor(ms, limit, func(m Member) string { return m.User.ID })
}

// AddMember adds a person to a room. In group rooms only owner and admins
// may; in public rooms any member may. Only owner and admins may add admins.
func (s *Service) AddMember(ctx context.Context, a Auth, roomID, userID, role string) (Member, error) {
	m, err := s.member(ctx, a, roomID)
	if err != nil {
		return Member{}, err
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return Member{}, err
	}
	if role == "" {
		role = RoleMember
	}
	switch {
	case role != RoleMember && role != RoleAdmin:
		return Member{}, Invalid("role", "invalid", "must be member or admin")
	case r.Kind == KindDirect:
		return Member{}, Errorf(CodeForbidden, "direct rooms have exactly two members")
	case (r.Kind == KindGroup || role == RoleAdmin) && !isAdmin(m.Role):
		return Member{}, ErrForbidden
	}
	u, err := s.knownUser(ctx, "user_id", userID)
	if err != nil {
		return Member{}, err
	}
	return s.join(ctx, Member{RoomID: roomID, User: u, Role: role, JoinedAt: s.clock.Now()}, a.User.ID)
}

func (s *Service) join(ctx context.Context, m Member, actorID string) (Member, error) {
	ev, err := s.store.AddMember(ctx, m, actorID)
	if err != nil {
		return Member{}, err
	}
	s.publish(ctx, ev)
	return s.store.Member(ctx, m.RoomID, m.User.ID)
}

// RemoveMember removes a person from a room; removing oneself is leaving.
// Owner and admins remove members; only the owner removes admins; nobody
// removes the owner. Direct rooms cannot be left.
func (s *Service) RemoveMember(ctx context.Context, a Auth, roomID, userID string) error {
	m, err := s.member(ctx, a, roomID)
	if err != nil {
		return err
	}
	typ := EventMemberLeft
	if userID != a.User.ID {
		typ = EventMemberRemoved
		target, err := s.store.Member(ctx, roomID, userID)
		if errors.Is(err, ErrNotFound) {
			return Errorf(CodeNotFound, "not a member of this room")
		}
		if err != nil {
			return err
		}
		if !canRemove(m.Role, target.Role) {
			return ErrForbidden
		}
	}
	r, err := s.store.Room(ctx, roomID)
	if err != nil {
		return err
	}
	if r.Kind == KindDirect {
		return Errorf(CodeForbidden, "direct rooms cannot be left")
	}
	events, err := s.store.RemoveMember(ctx, roomID, userID, a.User.ID, typ, s.clock.Now())
	if err != nil {
		return err
	}
	s.publish(ctx, events...)
	return nil
}

func canRemove(actor, target string) bool {
	switch actor {
	case RoleOwner:
		return target != RoleOwner
	case RoleAdmin:
		return target == RoleMember
	}
	return false
}

// Join makes the caller a member of a public room. Joining a room one is
// already in changes nothing.
func (s *Service) Join(ctx context.Context, a Auth, roomID string) (RoomView, error) {
	r, err := s.store.Room(ctx, roomID)
	if errors.Is(err, ErrNotFound) || err == nil && r.Kind != KindPublic {
		if _, merr := s.member(ctx, a, roomID); merr == nil {
			return s.view(ctx, roomID, a.User.ID)
		}
		return RoomView{}, Errorf(CodeNotFound, "room not found")
	}
	if err != nil {
		return RoomView{}, err
	}
	m := Member{RoomID: roomID, User: a.User, Role: RoleMember, JoinedAt: s.clock.Now()}
	m.User.IsAdmin = false
	if _, err := s.join(ctx, m, a.User.ID); err != nil && !errors.Is(err, ErrAlreadyMember) {
		return RoomView{}, err
	}
	return s.view(ctx, roomID, a.User.ID)
}

// Directory searches public rooms by name and returns a page of their
// profiles with the cursor of the next page.
func (s *Service) Directory(ctx context.Context, a Auth, q, after string, limit int) ([]RoomProfile, string, error) {
	if err := checkText("q", q, MaxRoomNameRunes, true); err != nil {
		return nil, "", err
	}
	if err := checkCursor(after); err != nil {
		return nil, "", err
	}
	rooms, err := s.store.Directory(ctx, q, after, limit+1)
	if errors.Is(err, ErrNotFound) {
		return nil, "", badCursor()
	}
	if err != nil {
		return nil, "", err
	}
	page, next, err := pageWithCursor(rooms, limit, func(r Room) string { return r.ID })
	profiles := make([]RoomProfile, len(page))
	for i, r := range page {
		profiles[i] = r.Profile()
	}
	return profiles, next, err
}

// pageWithCursor trims a list fetched with one extra item to limit and
// returns the cursor of the next page if the extra item was there.
func pageWithCursor[T any](items []T, limit int, key func(T) string) ([]T, string, error) {
	if len(items) <= limit {
		return items, "", nil
	}
	items = slices.Clip(items[:limit])
	return items, key(items[limit-1]), nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
