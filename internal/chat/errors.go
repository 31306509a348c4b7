package chat

import (
	"errors"
	"fmt"
	"time"
)

// Error is a failure that a client may see: a stable machine-readable code
// and a human message safe to show. Anything that is not an *Error is an
// internal failure and is never shown to clients.
type Error struct {
	Code    string
	Message string
	// Fields names the invalid inputs of a validation_failed error.
	Fields map[string]FieldError
	// RetryAfter says when a rate-limited request may be retried.
	RetryAfter time.Duration
}

// FieldError says what is wrong with one input field.
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is makes errors.Is match any *Error with the same code, so a sentinel
// matches the copies that carry a more precise message.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Error codes shared by the REST API and the WebSocket protocol. They are
// part of the public contract: add to them, never rename.
const (
	CodeInvalidRequest     = "invalid_request"
	CodeValidationFailed   = "validation_failed"
	CodeUnauthorized       = "unauthorized"
	CodeInvalidCredentials = "invalid_credentials"
	CodeForbidden          = "forbidden"
	CodeNotFound           = "not_found"
	CodeConflict           = "conflict"
	CodeUsernameTaken      = "username_taken"
	CodeAlreadyMember      = "already_member"
	CodeMessageDeleted     = "message_deleted"
	CodePayloadTooLarge    = "payload_too_large"
	CodeRateLimited        = "rate_limited"
	CodeUnknownType        = "unknown_type"
	CodeInternal           = "internal"
)

// Sentinel errors. Stores normalise their failures into ErrNotFound and
// ErrConflict (wrapped with context); the service adds the rest.
var (
	ErrNotFound           = &Error{Code: CodeNotFound, Message: "not found"}
	ErrConflict           = &Error{Code: CodeConflict, Message: "conflict"}
	ErrForbidden          = &Error{Code: CodeForbidden, Message: "you are not allowed to do that"}
	ErrUnauthorized       = &Error{Code: CodeUnauthorized, Message: "missing, invalid or expired token"}
	ErrInvalidCredentials = &Error{Code: CodeInvalidCredentials, Message: "wrong username or password"}
	ErrUsernameTaken      = &Error{Code: CodeUsernameTaken, Message: "that username is taken"}
	ErrAlreadyMember      = &Error{Code: CodeAlreadyMember, Message: "already a member of this room"}
	ErrMessageDeleted     = &Error{Code: CodeMessageDeleted, Message: "the message has been deleted"}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns a validation_failed error for one field.
func Invalid(field, code, message string) *Error {
	return &Error{
		Code:    CodeValidationFailed,
		Message: field + ": " + message,
		Fields:  map[string]FieldError{field: {Code: code, Message: message}},
	}
}

// Public returns the client-facing error within err, if any.
func Public(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
