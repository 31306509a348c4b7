// Package api serves Parley's REST API under /api/v1.
package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/parley-chat/parley/internal/api/openapi"
	"github.com/parley-chat/parley/internal/chat"
)

// Options configures the API handler.
type Options struct {
	Service *chat.Service
	// MaxBody bounds request bodies in bytes (default 1 MiB).
	MaxBody int64
	// WebSocket serves GET /api/v1/ws, if set.
	WebSocket http.Handler
	// Web serves everything outside /api/v1 and the health checks, if set.
	Web http.Handler
	Log *slog.Logger
}

type server struct {
	mux     *http.ServeMux
	svc     *chat.Service
	maxBody int64
	log     *slog.Logger
}

// New returns the HTTP handler of the whole server.
func New(o Options) http.Handler {
	s := &server{svc: o.Service, maxBody: o.MaxBody, log: o.Log}
	if s.maxBody <= 0 {
		s.maxBody = 1 << 20
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	mux := http.NewServeMux()
	s.mux = mux
	s.routes(mux, o)
	return s.middleware(mux)
}

// routes lists every endpoint: the API's table of contents.
func (s *server) routes(mux *http.ServeMux, o Options) {
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /api/v1/openapi.json", s.openapi)
	if o.WebSocket != nil {
		mux.Handle("GET /api/v1/ws", o.WebSocket)
	}

	mux.HandleFunc("POST /api/v1/auth/register", s.register)
	mux.HandleFunc("POST /api/v1/auth/login", s.login)
	mux.HandleFunc("POST /api/v1/auth/logout", s.authed(s.logout))

	mux.HandleFunc("GET /api/v1/me", s.authed(s.me))
	mux.HandleFunc("PATCH /api/v1/me", s.authed(s.updateMe))
	mux.HandleFunc("POST /api/v1/me/password", s.authed(s.changePassword))
	mux.HandleFunc("GET /api/v1/me/unread", s.authed(s.unread))
	mux.HandleFunc("GET /api/v1/users", s.authed(s.searchUsers))
	mux.HandleFunc("GET /api/v1/users/{id}", s.authed(s.user))

	mux.HandleFunc("POST /api/v1/rooms", s.authed(s.createRoom))
	mux.HandleFunc("GET /api/v1/rooms", s.authed(s.rooms))
	mux.HandleFunc("GET /api/v1/rooms/directory", s.authed(s.directory))
	mux.HandleFunc("GET /api/v1/rooms/{id}", s.authed(s.room))
	mux.HandleFunc("PATCH /api/v1/rooms/{id}", s.authed(s.updateRoom))
	mux.HandleFunc("POST /api/v1/rooms/{id}/join", s.authed(s.join))
	mux.HandleFunc("GET /api/v1/rooms/{id}/members", s.authed(s.members))
	mux.HandleFunc("POST /api/v1/rooms/{id}/members", s.authed(s.addMember))
	mux.HandleFunc("DELETE /api/v1/rooms/{id}/members/{user_id}", s.authed(s.removeMember))
	mux.HandleFunc("PATCH /api/v1/rooms/{id}/settings", s.authed(s.roomSettings))
	mux.HandleFunc("POST /api/v1/rooms/{id}/read", s.authed(s.markRead))
	mux.HandleFunc("GET /api/v1/rooms/{id}/receipts", s.authed(s.receipts))

	mux.HandleFunc("POST /api/v1/rooms/{id}/messages", s.authed(s.send))
	mux.HandleFunc("GET /api/v1/rooms/{id}/messages", s.authed(s.messages))
	mux.HandleFunc("PATCH /api/v1/rooms/{id}/messages/{message_id}", s.authed(s.edit))
	mux.HandleFunc("DELETE /api/v1/rooms/{id}/messages/{message_id}", s.authed(s.deleteMessage))
	mux.HandleFunc("GET /api/v1/rooms/{id}/events", s.authed(s.events))

	mux.HandleFunc("POST /api/v1/admin/users/bulk", s.authed(s.bulkUsers))

	mux.HandleFunc("/api/v1/", s.notFound)
	if o.Web != nil {
		mux.Handle("/", o.Web)
	}
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyAuth
)

func requestID(r *http.Request) string {
	id, _ := r.Context().Value(keyRequestID).(string)
	return id
}

func auth(r *http.Request) chat.Auth {
	a, _ := r.Context().Value(keyAuth).(chat.Auth)
	return a
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController (and the WebSocket upgrade) reach
// the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware gives every request an id, turns panics into 500s and logs
// one line per request: debug when it went well, warn for client errors,
// error for server errors.
func (s *server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := newRequestID()
		r = r.WithContext(context.WithValue(r.Context(), keyRequestID, id))
		w.Header().Set("X-Request-Id", id)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.Error("panic", "request_id", id, "panic", p, "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.writeError(sw, r, chat.Errorf(chat.CodeInternal, "internal error"))
				}
			}
			s.logRequest(r, sw.status, time.Since(start))
		}()
		next.ServeHTTP(sw, r)
	})
}

func (s *server) logRequest(r *http.Request, status int, took time.Duration) {
	level := slog.LevelDebug
	switch {
	case status >= 500:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	if !s.log.Enabled(r.Context(), level) {
		return
	}
	s.log.Log(r.Context(), level, "request",
		slog.Group("request", "id", requestID(r), "method", r.Method, "path", r.URL.Path),
		slog.Group("response", "status", status, "duration", took))
}

// authed requires a valid bearer token.
func (s *server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := BearerToken(r)
		if !ok {
			s.writeError(w, r, chat.ErrUnauthorized)
			return
		}
		a, err := s.svc.Authenticate(r.Context(), token)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), keyAuth, a)))
	}
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, token, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func newRequestID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (s *server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.svc.Store().Ping(ctx); err != nil {
		s.log.Warn("store not ready", "err", err)
		s.writeError(w, r, chat.Errorf("unavailable", "store unreachable"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *server) openapi(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openapi.Document)
}

func (s *server) notFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowed(r); len(allow) > 0 {
		w.Header().Set("Allow", strings.Join(allow, ", "))
		s.writeError(w, r, chat.Errorf("method_not_allowed", "%s is not allowed here; use %s",
			r.Method, strings.Join(allow, " or ")))
		return
	}
	s.writeError(w, r, chat.Errorf(chat.CodeNotFound, "no such endpoint"))
}

// allowed lists the methods that have a route for r's path.
func (s *server) allowed(r *http.Request) []string {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "/api/v1/" && pattern != "/" && pattern != "" {
			allow = append(allow, m)
		}
	}
	return allow
}
