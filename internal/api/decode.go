package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/strictjson"
)

// decode reads a JSON request body into v, strictly: one JSON object, no
// unknown fields, no trailing data, at most the configured size, valid
// UTF-8. encoding/json would silently replace invalid UTF-8, so it is
// checked on the raw bytes first.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return chat.Errorf(chat.CodePayloadTooLarge, "request body exceeds %d bytes", s.maxBody)
	}
	if err != nil {
		return chat.Errorf(chat.CodeInvalidRequest, "could not read request body")
	}
	return DecodeBody(body, v)
}

// DecodeBody decodes a request body as decode does, for callers that hold
// the bytes already.
func DecodeBody(body []byte, v any) error {
	if !utf8.Valid(body) {
		return invalidUTF8(body)
	}
	switch err := strictjson.Decode(body, v); {
	case err == nil:
		return nil
	case errors.Is(err, strictjson.ErrInvalidUTF8):
		return &chat.Error{Code: chat.CodeValidationFailed, Message: "invalid UTF-8: a \\u escape names half a surrogate pair"}
	default:
		return chat.Errorf(chat.CodeInvalidRequest, "malformed JSON: %s", strictjson.Describe(err))
	}
}

// invalidUTF8 names the top-level fields whose values hold invalid UTF-8,
// as a validation failure, so a client learns which input to fix.
func invalidUTF8(body []byte) error {
	var fields map[string]json.RawMessage
	if json.Unmarshal(body, &fields) != nil {
		return chat.Errorf(chat.CodeInvalidRequest, "request body is not valid UTF-8 JSON")
	}
	e := &chat.Error{Code: chat.CodeValidationFailed, Message: "invalid UTF-8", Fields: map[string]chat.FieldError{}}
	for name, raw := range fields {
		if !utf8.Valid(raw) || !utf8.ValidString(name) {
			e.Fields[string(bytes.ToValidUTF8([]byte(name), []byte("\uFFFD")))] = chat.FieldError{
				Code: "invalid_utf8", Message: "must be valid UTF-8",
			}
		}
	}
	return e
}

// queryInt parses an optional integer query parameter.
func queryInt(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		// Larger than any seq or limit: as good as the largest.
		if strings.HasPrefix(v, "-") {
			return 0, chat.Invalid(name, "invalid", "must not be negative")
		}
		return 1<<63 - 1, nil
	}
	if err != nil {
		return 0, chat.Invalid(name, "invalid", "must be an integer")
	}
	return n, nil
}

// page reads before, after and limit. With neither cursor it selects the
// newest page.
func page(r *http.Request) (chat.Page, error) {
	q := r.URL.Query()
	hasBefore, hasAfter := q.Get("before") != "", q.Get("after") != ""
	if hasBefore && hasAfter {
		return chat.Page{}, chat.Errorf(chat.CodeInvalidRequest, "give before or after, not both")
	}
	before, err := queryInt(r, "before")
	if err != nil {
		return chat.Page{}, err
	}
	after, err := queryInt(r, "after")
	if err != nil {
		return chat.Page{}, err
	}
	limit, err := limitParam(r, chat.DefaultPageLimit, chat.MaxPageLimit)
	if err != nil {
		return chat.Page{}, err
	}
	p := chat.Page{Before: before, After: after, Limit: limit}
	switch {
	case hasBefore && before <= 0:
		return p, chat.Invalid("before", "invalid", "must be a positive seq")
	case !hasAfter && !hasBefore:
		p.Before = chat.NewestPage
	}
	return chat.CheckPage(p)
}
