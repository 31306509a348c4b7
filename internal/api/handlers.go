package api

import (
	"encoding/base64"
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
)

type authResponse struct {
	Token string   `json:"token"`
	User  selfView `json:"user"`
}

// selfView is one's own profile: a user with what only its owner sees.
type selfView struct {
	chat.User
	IsAdmin bool `json:"is_admin,omitempty"`
}

func self(u chat.User) selfView { return selfView{u, u.IsAdmin} }

func (s *server) register(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username    string `json:"username"`
		Password    string `json:"password"`
		DisplayName string `json:"display_name"`
		InviteCode  string `json:"invite_code"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	u, token, err := s.svc.Register(r.Context(), chat.Registration(req))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, authResponse{token, self(u)})
}

func (s *server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	u, token, err := s.svc.Login(r.Context(), req.Username, req.Password)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, authResponse{token, self(u)})
}

func (s *server) logout(w http.ResponseWriter, r *http.Request) {
	if err := s.svc.Logout(r.Context(), auth(r)); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) me(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.Me(r.Context(), auth(r))
	s.respond(w, r, http.StatusOK, self(u), err)
}

func (s *server) updateMe(w http.ResponseWriter, r *http.Request) {
	var req struct {
		DisplayName *string            `json:"display_name" strictjson:"nonnull"`
		Settings    *chat.UserSettings `json:"settings" strictjson:"nonnull"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	u, err := s.svc.UpdateMe(r.Context(), auth(r), chat.ProfilePatch{
		DisplayName: req.DisplayName, Settings: req.Settings,
	})
	s.respond(w, r, http.StatusOK, self(u), err)
}

func (s *server) changePassword(w http.ResponseWriter, r *http.Request) {
	var req struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	if err := s.svc.ChangePassword(r.Context(), auth(r), req.CurrentPassword, req.NewPassword); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) searchUsers(w http.ResponseWriter, r *http.Request) {
	limit, err := limitParam(r, 20, 100)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	users, err := s.svc.SearchUsers(r.Context(), auth(r), r.URL.Query().Get("q"), limit)
	s.respond(w, r, http.StatusOK, map[string]any{"users": nonNil(users)}, err)
}

func (s *server) user(w http.ResponseWriter, r *http.Request) {
	u, err := s.svc.User(r.Context(), auth(r), r.PathValue("id"))
	s.respond(w, r, http.StatusOK, u, err)
}

func (s *server) createRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Kind      string   `json:"kind"`
		UserID    string   `json:"user_id"`
		Name      string   `json:"name"`
		Topic     string   `json:"topic"`
		MemberIDs []string `json:"member_ids"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	room, created, err := s.svc.CreateRoom(r.Context(), auth(r), chat.NewRoom(req))
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(w, r, status, room, err)
}

func (s *server) rooms(w http.ResponseWriter, r *http.Request) {
	rooms, err := s.svc.Rooms(r.Context(), auth(r))
	s.respond(w, r, http.StatusOK, map[string]any{"rooms": nonNil(rooms)}, err)
}

func (s *server) room(w http.ResponseWriter, r *http.Request) {
	room, err := s.svc.Room(r.Context(), auth(r), r.PathValue("id"))
	s.respond(w, r, http.StatusOK, room, err)
}

func (s *server) updateRoom(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name  *string `json:"name" strictjson:"nonnull"`
		Topic *string `json:"topic" strictjson:"nonnull"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	room, err := s.svc.UpdateRoom(r.Context(), auth(r), r.PathValue("id"), chat.RoomPatch(req))
	s.respond(w, r, http.StatusOK, room, err)
}

func (s *server) join(w http.ResponseWriter, r *http.Request) {
	room, err := s.svc.Join(r.Context(), auth(r), r.PathValue("id"))
	s.respond(w, r, http.StatusOK, room, err)
}

func (s *server) members(w http.ResponseWriter, r *http.Request) {
	after, limit, err := cursorParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	members, next, err := s.svc.Members(r.Context(), auth(r), r.PathValue("id"), after, limit)
	s.respond(w, r, http.StatusOK, listPage{"members": nonNil(members)}.withNext(next), err)
}

func (s *server) addMember(w http.ResponseWriter, r *http.Request) {
	var req struct {
		UserID string `json:"user_id"`
		Role   string `json:"role"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	m, err := s.svc.AddMember(r.Context(), auth(r), r.PathValue("id"), req.UserID, req.Role)
	s.respond(w, r, http.StatusCreated, m, err)
}

func (s *server) removeMember(w http.ResponseWriter, r *http.Request) {
	err := s.svc.RemoveMember(r.Context(), auth(r), r.PathValue("id"), r.PathValue("user_id"))
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *server) directory(w http.ResponseWriter, r *http.Request) {
	after, limit, err := cursorParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	rooms, next, err := s.svc.Directory(r.Context(), auth(r), r.URL.Query().Get("q"), after, limit)
	s.respond(w, r, http.StatusOK, listPage{"rooms": nonNil(rooms)}.withNext(next), err)
}

func (s *server) send(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text     string `json:"text"`
		ClientID string `json:"client_id"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	msg, created, err := s.svc.Send(r.Context(), auth(r), r.PathValue("id"), req.Text, req.ClientID)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	s.respond(w, r, status, msg, err)
}

func (s *server) edit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Text string `json:"text"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	msg, err := s.svc.Edit(r.Context(), auth(r), r.PathValue("id"), r.PathValue("message_id"), req.Text)
	s.respond(w, r, http.StatusOK, msg, err)
}

func (s *server) deleteMessage(w http.ResponseWriter, r *http.Request) {
	err := s.svc.Delete(r.Context(), auth(r), r.PathValue("id"), r.PathValue("message_id"))
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *server) messages(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	msgs, more, err := s.svc.Messages(r.Context(), auth(r), r.PathValue("id"), p)
	s.respond(w, r, http.StatusOK, map[string]any{"messages": nonNil(msgs), "has_more": more}, err)
}

func (s *server) events(w http.ResponseWriter, r *http.Request) {
	p, err := page(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	events, more, err := s.svc.Events(r.Context(), auth(r), r.PathValue("id"), p)
	s.respond(w, r, http.StatusOK, map[string]any{"events": nonNil(events), "has_more": more}, err)
}

// respond writes v with status, or err if there is one. A nil v with no
// error writes no body (204).
func (s *server) respond(w http.ResponseWriter, r *http.Request, status int, v any, err error) {
	switch {
	case err != nil:
		s.writeError(w, r, err)
	case v == nil:
		w.WriteHeader(status)
	default:
		writeJSON(w, status, v)
	}
}

// listPage is a page of a cursor-paged list; next is added when there is
// a next page.
type listPage map[string]any

func (p listPage) withNext(next string) listPage {
	if next != "" {
		p["next"] = base64.RawURLEncoding.EncodeToString([]byte(next))
	}
	return p
}

// cursorParams reads the opaque after cursor and the limit of a
// cursor-paged list.
func cursorParams(r *http.Request) (string, int, error) {
	limit, err := limitParam(r, 50, 200)
	if err != nil {
		return "", 0, err
	}
	raw := r.URL.Query().Get("after")
	after, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || len(after) > 64 {
		return "", 0, chat.Invalid("after", "invalid", "must be a cursor from a previous page's next")
	}
	return string(after), limit, nil
}

func limitParam(r *http.Request, def, max int64) (int, error) {
	n, err := queryInt(r, "limit")
	switch {
	case err != nil:
		return 0, err
	case r.URL.Query().Get("limit") == "":
		n = def
	case n < 1:
		return 0, chat.Invalid("limit", "invalid", "must be at least 1")
	case n > max:
		n = max
	}
	return int(n), nil
}

// nonNil makes an empty list encode as [] rather than null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
