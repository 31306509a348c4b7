package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/parley-chat/parley/internal/chat"
)

func (s *server) markRead(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Seq *int64 `json:"seq"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.Seq == nil {
		s.writeError(w, r, chat.Invalid("seq", "required", "is the seq read up to"))
		return
	}

	err := s.svc.MarkRead(r.Context(), auth(r), r.PathValue("id"), *req.Seq)
	s.respond(w, r, http.StatusNoContent, nil, err)
}

func (s *server) receipts(w http.ResponseWriter, r *http.Request) {
	after, limit, err := cursorParams(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}

	rcs, next, err := s.svc.Receipts(r.Context(), auth(r), r.PathValue("id"), after, limit)
	s.respond(w, r, http.StatusOK, listPage{"receipts": nonNil(rcs)}.withNext(next), err)
}

func (s *server) unread(w http.ResponseWriter, r *http.Request) {
	t, err := s.svc.Unread(r.Context(), auth(r))
	s.respond(w, r, http.StatusOK, t, err)
}

func (s *server) roomSettings(w http.ResponseWriter, r *http.Request) {
	// notify may be left out but not null: null would read as absent
	// and keep the setting. silenced_until: null stops silencing.
	var req struct {
		Notify        *string         `json:"notify" strictjson:"nonnull"`
		SilencedUntil json.RawMessage `json:"silenced_until"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	p := chat.RoomSettingsPatch{Notify: req.Notify, SetSilence: req.SilencedUntil != nil}
	if p.SetSilence && string(req.SilencedUntil) != "null" {
		var t time.Time
		if err := json.Unmarshal(req.SilencedUntil, &t); err != nil {
			s.writeError(w, r, chat.Invalid("silenced_until", "invalid", "must be an RFC 3339 time or null"))
			return
		}
		p.SilencedUntil = &t
	}

	rs, err := s.svc.SetRoomSettings(r.Context(), auth(r), r.PathValue("id"), p)
	s.respond(w, r, http.StatusOK, rs, err)
}
