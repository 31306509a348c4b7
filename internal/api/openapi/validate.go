package openapi

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// docURL is the name under which the document is known to the JSON Schema
// compiler; it is never fetched.
const docURL = "https://parley.invalid/openapi.json"

// spec is the parsed document with a cache of compiled response schemas.
type spec struct {
	doc    map[string]any
	routes []route

	mu       sync.Mutex
	compiler *jsonschema.Compiler
	schemas  map[string]*jsonschema.Schema // by JSON pointer
}

// route is one path template, with the server prefix it is served under.
type route struct {
	template string   // as in the document, such as /rooms/{id}
	segments []string // of the full path, such as api, v1, rooms, {id}
	item     map[string]any
}

var (
	loadOnce sync.Once
	loaded   *spec
	loadErr  error
)

func load() (*spec, error) {
	loadOnce.Do(func() { loaded, loadErr = parse(Document) })
	return loaded, loadErr
}

// parse reads an OpenAPI document.
func parse(document []byte) (*spec, error) {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(document))
	if err != nil {
		return nil, fmt.Errorf("openapi: parse document: %w", err)
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("openapi: document is not an object")
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(docURL, doc); err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	s := &spec{doc: doc, compiler: c, schemas: map[string]*jsonschema.Schema{}}

	paths, _ := doc["paths"].(map[string]any)
	for tmpl, v := range paths {
		item, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("openapi: path %s is not an object", tmpl)
		}
		servers := item["servers"]
		if servers == nil {
			servers = doc["servers"]
		}
		for _, base := range serverPaths(servers) {
			full := strings.TrimSuffix(base, "/") + tmpl
			s.routes = append(s.routes, route{template: tmpl, segments: split(full), item: item})
		}
	}
	return s, nil
}

// serverPaths returns the path part of each server URL ("/" if none).
func serverPaths(servers any) []string {
	list, _ := servers.([]any)
	var out []string
	for _, sv := range list {
		m, _ := sv.(map[string]any)
		raw, _ := m["url"].(string)
		u, err := url.Parse(raw)
		if err != nil {
			continue
		}
		out = append(out, u.Path)
	}
	if len(out) == 0 {
		out = []string{"/"}
	}
	return out
}

func split(path string) []string {
	return strings.Split(strings.Trim(path, "/"), "/")
}

// ValidateResponse checks a response against the document: the operation
// for method and path (a concrete path such as /api/v1/rooms/abc/messages;
// a query string is ignored) must document status, or have a default
// response, and body must match the response's JSON schema. A response
// documented without content must have an empty body.
func ValidateResponse(method, path string, status int, body []byte) error {
	s, err := load()
	if err != nil {
		return err
	}
	return s.validateResponse(method, path, status, body)
}

func (s *spec) validateResponse(method, path string, status int, body []byte) error {
	path, _, _ = strings.Cut(path, "?")
	where := fmt.Sprintf("%s %s: %d", method, path, status)
	rt, ok := s.match(path)
	if !ok {
		return fmt.Errorf("openapi: %s: path not documented", where)
	}
	m := strings.ToLower(method)
	op, ok := rt.item[m].(map[string]any)
	if !ok {
		return fmt.Errorf("openapi: %s: method not documented for %s", where, rt.template)
	}
	responses, _ := op["responses"].(map[string]any)
	key, ok := responseKey(responses, status)
	if !ok {
		return fmt.Errorf("openapi: %s: status not documented for %s %s", where, method, rt.template)
	}
	ptr := "/paths/" + escape(rt.template) + "/" + m + "/responses/" + key
	resp, ptr, err := s.deref(responses[key], ptr)
	if err != nil {
		return fmt.Errorf("openapi: %s: %w", where, err)
	}
	if err := s.checkBody(resp, ptr, body); err != nil {
		return fmt.Errorf("openapi: %s: %w", where, err)
	}
	return nil
}

// match finds the route of a concrete path. A literal segment beats a
// template, as OpenAPI requires (/rooms/directory before /rooms/{id}).
func (s *spec) match(path string) (route, bool) {
	segs := split(path)
	var best route
	bestScore := -1
	for _, rt := range s.routes {
		if len(rt.segments) != len(segs) {
			continue
		}
		score := 0
		for i, seg := range rt.segments {
			switch {
			case strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}"):
				if segs[i] == "" {
					score = -1
				}
			case seg == segs[i]:
				score++
			default:
				score = -1
			}
			if score < 0 {
				break
			}
		}
		if score > bestScore {
			best, bestScore = rt, score
		}
	}
	return best, bestScore >= 0
}

// responseKey picks the response of status: exact, then a range such as
// 2XX, then default.
func responseKey(responses map[string]any, status int) (string, bool) {
	code := strconv.Itoa(status)
	for _, k := range []string{code, code[:1] + "XX", "default"} {
		if _, ok := responses[k]; ok {
			return k, true
		}
	}
	return "", false
}

// deref follows a local $ref of a response object, returning the object and
// its JSON pointer.
func (s *spec) deref(v any, ptr string) (map[string]any, string, error) {
	for range 10 {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, "", fmt.Errorf("response at %s is not an object", ptr)
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, ptr, nil
		}
		target, ok := strings.CutPrefix(ref, "#")
		if !ok {
			return nil, "", fmt.Errorf("unsupported $ref %q", ref)
		}
		v, ptr = s.lookup(target), target
	}
	return nil, "", fmt.Errorf("$ref loop at %s", ptr)
}

// lookup returns the value at a JSON pointer of the document, or nil.
func (s *spec) lookup(ptr string) any {
	var v any = s.doc
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		v = m[tok]
	}
	return v
}

// checkBody validates body against the response resp found at ptr. A body
// that is not JSON passes when the response also allows another media type
// (such as text/plain from a failed WebSocket handshake).
func (s *spec) checkBody(resp map[string]any, ptr string, body []byte) error {
	content, _ := resp["content"].(map[string]any)
	if len(content) == 0 {
		if len(bytes.TrimSpace(body)) > 0 {
			return fmt.Errorf("body not allowed, got %q", truncate(body))
		}
		return nil
	}
	media, ok := content["application/json"].(map[string]any)
	if !ok {
		return nil // not JSON: nothing to check
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		if len(content) > 1 {
			return nil
		}
		return fmt.Errorf("body is not JSON: %w (%q)", err, truncate(body))
	}
	if _, ok := media["schema"]; !ok {
		return nil
	}
	sch, err := s.schema(ptr + "/content/application~1json/schema")
	if err != nil {
		return err
	}
	if err := sch.Validate(inst); err != nil {
		return fmt.Errorf("body does not match the schema: %w\nbody: %s", err, truncate(body))
	}
	return nil
}

// schema compiles the schema at ptr once.
func (s *spec) schema(ptr string) (*jsonschema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sch, ok := s.schemas[ptr]; ok {
		return sch, nil
	}
	sch, err := s.compiler.Compile(docURL + "#" + encodePointer(ptr))
	if err != nil {
		return nil, fmt.Errorf("compile schema %s: %w", ptr, err)
	}
	s.schemas[ptr] = sch
	return sch, nil
}

// escape escapes one JSON pointer token.
func escape(tok string) string {
	return strings.ReplaceAll(strings.ReplaceAll(tok, "~", "~0"), "/", "~1")
}

// encodePointer makes a JSON pointer safe in a URL fragment.
func encodePointer(ptr string) string {
	toks := strings.Split(ptr, "/")
	for i, t := range toks {
		toks[i] = url.PathEscape(t)
	}
	return strings.Join(toks, "/")
}

func truncate(b []byte) string {
	const max = 2000
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}

// operations lists every documented method and path template, for tests.
func (s *spec) operations() []string {
	var ops []string
	for _, rt := range s.routes {
		for m := range rt.item {
			switch m {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, strings.ToUpper(m)+" /"+strings.Join(rt.segments, "/"))
			}
		}
	}
	return ops
}
