package ws

import (
	"encoding/json"
	"errors"
	"math"
	"unicode/utf8"

	"github.com/parley-chat/parley/internal/chat"
	"github.com/parley-chat/parley/internal/strictjson"
)

// Frame types. Clients ignore server frame types they do not know.
const (
	// Client to server.
	TypeAuth   = "auth"
	TypeSend   = "send"
	TypeResume = "resume"
	TypePing   = "ping"
	TypeRead   = "read"
	TypeTyping = "typing"

	// Server to client.
	TypeReady = "ready"
	TypeEvent = "event"
	TypeAck   = "ack"
	TypePong  = "pong"
	TypeError = "error"
)

// Frame is a frame from a client. Only the fields of its type are set; a
// field the type does not use is ignored, as are unknown fields.
type Frame struct {
	Type string `json:"type"`
	// Ref, if set, names the frame in the reply to it.
	Ref string `json:"ref,omitempty"`
	// Token authenticates an auth frame.
	Token string `json:"token,omitempty"`
	// RoomID, Text and ClientID are those of a send frame.
	RoomID   string `json:"room_id,omitempty"`
	Text     string `json:"text,omitempty"`
	ClientID string `json:"client_id,omitempty"`
	// Rooms maps room ids to the last seq the client has, in a resume.
	Rooms map[string]int64 `json:"rooms,omitempty"`
	// Seq is the seq read up to, in a read frame (with RoomID).
	Seq int64 `json:"seq,omitempty"`
	// Typing says whether one is typing, in a typing frame (with RoomID).
	Typing bool `json:"typing,omitempty"`
}

// DecodeFrame parses one text frame from a client. A frame that is not
// valid UTF-8, not a JSON object of the right shape, or has no type gives
// an invalid_request *chat.Error; the Frame returned with it then carries
// the ref if one could be read, so that the error can name it.
func DecodeFrame(b []byte) (Frame, error) {
	var f Frame
	err := strictjson.DecodeTolerant(b, &f)
	if !utf8.Valid(b) || errors.Is(err, strictjson.ErrInvalidUTF8) {
		json.Unmarshal(b, &f)
		return Frame{Ref: f.Ref}, chat.Errorf(chat.CodeInvalidRequest, "frame is not valid UTF-8")
	}
	if err != nil {
		json.Unmarshal(b, &f)
		return Frame{Ref: f.Ref}, chat.Errorf(chat.CodeInvalidRequest, "malformed frame: %s", strictjson.Describe(err))
	}
	if f.Type == "" {
		return Frame{Ref: f.Ref}, chat.Errorf(chat.CodeInvalidRequest, "frame has no type")
	}
	return f, nil
}

// serverFrame is every frame the server sends but events, which the hub
// encodes (hub.EncodeEvent).
type serverFrame struct {
	Type         string        `json:"type"`
	Ref          string        `json:"ref,omitempty"`
	User         *chat.User    `json:"user,omitempty"`
	ConnectionID string        `json:"connection_id,omitempty"`
	Message      *chat.Message `json:"message,omitempty"`
	HasMore      []string      `json:"has_more,omitempty"`
	Error        *errorBody    `json:"error,omitempty"`
}

type errorBody struct {
	Code    string                     `json:"code"`
	Message string                     `json:"message"`
	Fields  map[string]chat.FieldError `json:"fields,omitempty"`
	// RetryAfter is in whole seconds, rounded up.
	RetryAfter int64 `json:"retry_after,omitempty"`
}

func encode(f serverFrame) []byte {
	b, err := json.Marshal(f)
	if err != nil {
		// Only strings, slices and the chat types, which always encode.
		panic("ws: encode frame: " + err.Error())
	}
	return b
}

func errorFrame(ref string, e *chat.Error) []byte {
	body := &errorBody{Code: e.Code, Message: e.Message, Fields: e.Fields}
	if e.RetryAfter > 0 {
		body.RetryAfter = int64(math.Ceil(e.RetryAfter.Seconds()))
	}
	return encode(serverFrame{Type: TypeError, Ref: ref, Error: body})
}
