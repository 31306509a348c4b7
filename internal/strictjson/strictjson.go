// Package strictjson decodes JSON from untrusted clients more strictly than
// encoding/json: it refuses what encoding/json would silently change or
// accept loosely, so that what Parley stores is exactly what was sent and a
// proxy in front of it reads a request the way Parley does.
package strictjson

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
)

// Errors Decode returns besides those of encoding/json.
var (
	// ErrInvalidUTF8 means the bytes are not UTF-8, or a \u escape names
	// half of a surrogate pair, which encoding/json would replace by U+FFFD.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	ErrTrailing    = errors.New("data after the JSON value")
	// ErrNotObject means the value is not the JSON object a struct needs;
	// encoding/json would take null as an empty one.
	ErrNotObject = errors.New("the value must be a JSON object")
)

// KeyError names a key that is duplicated, matches no field exactly
// (encoding/json matches keys regardless of case and keeps the last of
// duplicates), or is null for a field that refuses null. The key of a
// nested object is named with its path, such as "settings.theme".
type KeyError struct {
	Key    string
	Reason string
}

func (e *KeyError) Error() string { return fmt.Sprintf("key %q: %s", e.Key, e.Reason) }

// Decode decodes one JSON value from b into v, a pointer to a struct: no
// unknown, duplicated or miscased keys, no trailing data, valid UTF-8 with
// no lone surrogate escapes. Keys are checked in v's object and in the
// objects of its struct fields (and theirs), not inside arrays or maps.
//
// A field tagged `strictjson:"nonnull"` refuses an explicit null, which
// encoding/json would take as absent (a pointer stays nil) or as the zero
// value: where leaving a field out means "keep it", null must not mean the
// same thing silently.
func Decode(b []byte, v any) error {
	return decode(b, v, false)
}

// DecodeTolerant is Decode for messages whose unknown keys are ignored, as
// a protocol that grows needs; keys that differ from a field only in case
// are still refused, and so are duplicated ones.
func DecodeTolerant(b []byte, v any) error {
	return decode(b, v, true)
}

func decode(b []byte, v any, tolerant bool) error {
	if !utf8.Valid(b) || !validEscapes(b) {
		return ErrInvalidUTF8
	}
	if err := checkKeys(b, v, tolerant); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	if !tolerant {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return ErrTrailing
	}
	return nil
}

// checkKeys checks the keys of the object in b against v's fields.
// Anything that is not an object is left for the decoder to refuse.
func checkKeys(b []byte, v any, tolerant bool) error {
	fields := fieldsOf(reflect.TypeOf(v))
	dec := json.NewDecoder(bytes.NewReader(b))
	tok, err := dec.Token()
	if err != nil {
		return nil // the decoder describes it
	}
	if tok != json.Delim('{') {
		if fields != nil {
			return ErrNotObject
		}
		return nil
	}
	return checkObject(dec, fields, tolerant, "")
}

// checkObject reads the rest of an object from dec, whose '{' was read,
// and checks its keys against fields, and the keys of its values that are
// objects for struct fields against theirs. path prefixes the keys it
// names. A syntax error ends the check: the decoder describes it.
func checkObject(dec *json.Decoder, fields map[string]field, tolerant bool, path string) error {
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil
		}
		key, _ := tok.(string)
		f, known := fields[key]
		switch {
		case seen[key]:
			return &KeyError{path + key, "appears twice"}
		case fields != nil && !known && (!tolerant || foldsTo(fields, key)):
			return &KeyError{path + key, "is not a known field (names are case-sensitive)"}
		}
		seen[key] = true
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil
		}
		switch {
		case f.nonNull && string(value) == "null":
			return &KeyError{path + key, "must not be null"}
		case f.object != nil && len(value) > 0 && value[0] == '{':
			inner := json.NewDecoder(bytes.NewReader(value))
			inner.Token() // the '{'
			if err := checkObject(inner, fieldsOf(f.object), tolerant, path+key+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

// foldsTo reports whether key matches a field name in another letter case.
func foldsTo(fields map[string]field, key string) bool {
	for name := range fields {
		if strings.EqualFold(name, key) {
			return true
		}
	}
	return false
}

// field is what checkKeys knows of a struct field.
type field struct {
	nonNull bool
	// object is set for a field that holds a struct (or a pointer to one)
	// decoded field by field: a pointer to that struct type, for fieldsOf.
	object reflect.Type
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// objectOf returns a pointer type to the struct that t holds, if t is a
// struct or a pointer to one that encoding/json decodes field by field.
func objectOf(t reflect.Type) reflect.Type {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || reflect.PointerTo(t).Implements(unmarshalerType) {
		return nil
	}
	return reflect.PointerTo(t)
}

// fieldCache holds fieldsOf's answers by type: every WebSocket frame is
// decoded here, and reflecting on its type each time was a fifth of it.
var fieldCache sync.Map // reflect.Type -> map[string]field

// fieldsOf returns the fields of a struct by JSON name, or nil when t is
// not a pointer to a struct. The map is shared: do not change it.
func fieldsOf(t reflect.Type) map[string]field {
	if t == nil {
		return nil
	}
	if f, ok := fieldCache.Load(t); ok {
		return f.(map[string]field)
	}
	f := reflectFields(t)
	fieldCache.Store(t, f)
	return f
}

func reflectFields(t reflect.Type) map[string]field {
	if t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
		return nil
	}
	fields := map[string]field{}
	for f := range t.Elem().Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		fields[name] = field{nonNull: f.Tag.Get("strictjson") == "nonnull", object: objectOf(f.Type)}
	}
	return fields
}

// validEscapes reports whether every \u escape inside the JSON strings of
// b that names a surrogate is half of a well-formed pair.
func validEscapes(b []byte) bool {
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == '"':
			inString = !inString
		case c == '\\' && inString && i+1 < len(b):
			i++
			if b[i] != 'u' {
				continue
			}
			r, ok := hex4(b, i+1)
			if !ok {
				continue // encoding/json refuses it
			}
			i += 4
			switch {
			case r >= 0xDC00 && r <= 0xDFFF:
				return false
			case r >= 0xD800 && r <= 0xDBFF:
				if i+2 >= len(b) || b[i+1] != '\\' || b[i+2] != 'u' {
					return false
				}
				lo, ok := hex4(b, i+3)
				if !ok || lo < 0xDC00 || lo > 0xDFFF {
					return false
				}
				i += 6
			}
		}
	}
	return true
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	return r, true
}

// Describe says what is wrong with JSON that Decode refused, in words safe
// to show a client: positions and field names, never Go's type names.
func Describe(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var key *KeyError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field == "":
		return ErrNotObject.Error()
	case errors.As(err, &typ):
		return fmt.Sprintf("field %q has the wrong type (a JSON %s)", typ.Field, typ.Value)
	case errors.As(err, &key), errors.Is(err, ErrTrailing), errors.Is(err, ErrNotObject),
		errors.Is(err, ErrInvalidUTF8):
		return err.Error()
	case errors.Is(err, io.EOF):
		return "empty input"
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "unexpected end of input"
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// A nested object's unknown key; the message names only the key.
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "invalid JSON"
}
