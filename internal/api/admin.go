package api

import (
	"net/http"

	"github.com/parley-chat/parley/internal/chat"
)

// bulkUsers creates many accounts with one password, for load tests.
func (s *server) bulkUsers(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Prefix   string `json:"prefix"`
		Count    int    `json:"count"`
		Password string `json:"password"`
	}
	if err := s.decode(w, r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}

	users, err := s.svc.BulkUsers(r.Context(), auth(r), req.Prefix, req.Count, req.Password)
	s.respond(w, r, http.StatusCreated, struct {
		Users []chat.BulkUser `json:"users"`
	}{users}, err)
}
