package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/parley-chat/parley/internal/chat"
)

// statusOf maps each public error code to its HTTP status: the one table
// that decides what status a failure gets.
var statusOf = map[string]int{
	chat.CodeInvalidRequest:     http.StatusBadRequest,
	chat.CodeValidationFailed:   http.StatusBadRequest,
	chat.CodeUnauthorized:       http.StatusUnauthorized,
	chat.CodeInvalidCredentials: http.StatusUnauthorized,
	chat.CodeForbidden:          http.StatusForbidden,
	chat.CodeNotFound:           http.StatusNotFound,
	chat.CodeConflict:           http.StatusConflict,
	chat.CodeUsernameTaken:      http.StatusConflict,
	chat.CodeAlreadyMember:      http.StatusConflict,
	chat.CodeMessageDeleted:     http.StatusConflict,
	chat.CodePayloadTooLarge:    http.StatusRequestEntityTooLarge,
	chat.CodeRateLimited:        http.StatusTooManyRequests,
	"method_not_allowed":        http.StatusMethodNotAllowed,
	"unavailable":               http.StatusServiceUnavailable,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code      string                     `json:"code"`
	Message   string                     `json:"message"`
	RequestID string                     `json:"request_id"`
	Fields    map[string]chat.FieldError `json:"fields,omitempty"`
}

// writeError answers with err: a public error as it is, anything else as a
// generic 500 whose cause goes only to the log.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e, ok := chat.Public(err)
	status := 0
	if ok {
		status = statusOf[e.Code]
	}
	switch {
	case ok && status != 0:
	case errors.Is(err, context.Canceled) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer and it is no
		// server failure.
		e, status = &chat.Error{Code: "client_closed", Message: "request cancelled"}, 499
	default:
		s.log.Error("request failed", "request_id", requestID(r), "method", r.Method,
			"path", r.URL.Path, "err", err)
		e, status = &chat.Error{Code: chat.CodeInternal, Message: "internal error"}, http.StatusInternalServerError
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int(e.RetryAfter.Seconds()+0.999)))
	}
	writeJSON(w, status, errorBody{errorDetail{
		Code: e.Code, Message: e.Message, RequestID: requestID(r), Fields: e.Fields,
	}})
}
