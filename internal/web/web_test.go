package web_test

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"strings"
	"testing"

	"github.com/parley-chat/parley/internal/web"
)

func get(t *testing.T, h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestSecurityHeaders(t *testing.T) {
	h := web.Handler()
	for _, target := range []string{"/", "/js/app.js", "/rooms/x", "/nope.js"} {
		rec := get(t, h, http.MethodGet, target, nil)
		csp := rec.Header().Get("Content-Security-Policy")
		if csp != web.ContentSecurityPolicy {
			t.Errorf("%s: Content-Security-Policy = %q", target, csp)
		}
		if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options = %q", target, got)
		}
		if got := rec.Header().Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy = %q", target, got)
		}
	}

	directives := map[string]string{}
	for _, d := range strings.Split(web.ContentSecurityPolicy, ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		directives[name] = value
	}
	want := map[string]string{
		"default-src":     "'self'",
		"script-src":      "'self'",
		"style-src":       "'self'",
		"img-src":         "'self' data:",
		"connect-src":     "'self' ws: wss:",
		"object-src":      "'none'",
		"base-uri":        "'none'",
		"frame-ancestors": "'none'",
	}
	for name, value := range want {
		if directives[name] != value {
			t.Errorf("CSP %s = %q, want %q", name, directives[name], value)
		}
	}
	if strings.Contains(directives["script-src"], "unsafe") {
		t.Errorf("script-src allows unsafe sources: %q", directives["script-src"])
	}
}

func TestRoutes(t *testing.T) {
	h := web.Handler()
	index := get(t, h, http.MethodGet, "/", nil).Body.String()
	if !strings.Contains(index, `<script type="module" src="/js/app.js">`) {
		t.Fatalf("/ is not the index page:\n%.300s", index)
	}

	tests := []struct {
		method, path string
		status       int
		ctype        string
		index        bool
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", true},
		{"GET", "/index.html", 200, "text/html; charset=utf-8", true},
		{"GET", "/rooms/01JABCDEF", 200, "text/html; charset=utf-8", true},
		{"GET", "/settings/deep/path", 200, "text/html; charset=utf-8", true},
		{"HEAD", "/rooms/x", 200, "text/html; charset=utf-8", false},
		{"GET", "/js/app.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/js/ui/timeline.js", 200, "text/javascript; charset=utf-8", false},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", false},
		{"GET", "/favicon.svg", 200, "image/svg+xml", false},
		{"GET", "/js/../style.css", 200, "text/css; charset=utf-8", false},
		{"GET", "/missing.js", 404, "", false},
		{"GET", "/js/missing.js", 404, "", false},
		{"GET", "/api/v2/rooms", 404, "", false},
		{"GET", "/api", 404, "", false},
		{"POST", "/", 405, "", false},
		{"DELETE", "/rooms/x", 405, "", false},
	}
	for _, tt := range tests {
		rec := get(t, h, tt.method, tt.path, nil)
		if rec.Code != tt.status {
			t.Errorf("%s %s: status %d, want %d", tt.method, tt.path, rec.Code, tt.status)
			continue
		}
		if tt.ctype != "" && rec.Header().Get("Content-Type") != tt.ctype {
			t.Errorf("%s %s: Content-Type %q, want %q", tt.method, tt.path, rec.Header().Get("Content-Type"), tt.ctype)
		}
		if tt.index && rec.Body.String() != index {
			t.Errorf("%s %s: not the index page", tt.method, tt.path)
		}
		if tt.status == 405 && rec.Header().Get("Allow") != "GET, HEAD" {
			t.Errorf("%s %s: Allow = %q", tt.method, tt.path, rec.Header().Get("Allow"))
		}
	}
}

func TestRevalidation(t *testing.T) {
	h := web.Handler()
	first := get(t, h, http.MethodGet, "/js/app.js", nil)
	etag := first.Header().Get("ETag")
	if etag == "" || first.Header().Get("Cache-Control") != "no-cache" {
		t.Fatalf("ETag %q, Cache-Control %q", etag, first.Header().Get("Cache-Control"))
	}
	again := get(t, h, http.MethodGet, "/js/app.js", http.Header{"If-None-Match": {etag}})
	if again.Code != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: status %d, want 304", again.Code)
	}
	other := get(t, h, http.MethodGet, "/style.css", nil).Header().Get("ETag")
	if other == etag {
		t.Errorf("two files share the ETag %s", etag)
	}
}

var (
	htmlRef   = regexp.MustCompile(`(?:src|href)="([^"]+)"`)
	jsImport  = regexp.MustCompile(`(?m)^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'`)
	inlineJS  = regexp.MustCompile(`(?i)<script\b[^>]*>\s*[^<\s]|\son[a-z]+\s*=|javascript:`)
	styleAttr = regexp.MustCompile(`(?i)<[^>]+\sstyle\s*=|<style\b`)
	// Ways to turn a string into markup or code. The client builds DOM
	// nodes and sets text only.
	unsafeJS    = regexp.MustCompile(`\.innerHTML|\.outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function\(|setAttribute\('style'|createContextualFragment`)
	leadComment = regexp.MustCompile(`^(?://|/\*|<!doctype html>\s*<!--|<svg[^>]*>\s*<!--)`)
)

// TestStaticFiles checks the embedded client without a browser: every file
// that index.html or a module refers to exists, nothing inline would need
// the CSP loosened, no script turns strings into markup, and every file
// starts by saying what it holds.
func TestStaticFiles(t *testing.T) {
	files := web.Files()
	exists := func(p string) bool {
		_, err := fs.Stat(files, strings.TrimPrefix(p, "/"))
		return err == nil
	}

	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range htmlRef.FindAllStringSubmatch(string(index), -1) {
		ref := m[1]
		if !strings.HasPrefix(ref, "/") {
			t.Errorf("index.html: %q is relative; SPA paths such as /rooms/x would break it", ref)
			continue
		}
		if !exists(ref) {
			t.Errorf("index.html refers to %s, which is not embedded", ref)
		}
	}
	if loc := inlineJS.FindIndex(index); loc != nil {
		t.Errorf("index.html has inline script the CSP forbids: %q", index[loc[0]:min(loc[1]+20, len(index))])
	}
	if loc := styleAttr.FindIndex(index); loc != nil {
		t.Errorf("index.html has inline style the CSP forbids: %q", index[loc[0]:min(loc[1]+20, len(index))])
	}

	var modules int
	err = fs.WalkDir(files, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(files, p)
		if err != nil {
			return err
		}
		if !leadComment.Match(data) && path.Ext(p) != ".png" {
			t.Errorf("%s does not start with a comment saying what it holds", p)
		}
		if path.Ext(p) != ".js" {
			return nil
		}
		modules++
		if loc := unsafeJS.FindIndex(data); loc != nil {
			t.Errorf("%s uses %q", p, data[loc[0]:loc[1]])
		}
		for _, m := range jsImport.FindAllStringSubmatch(string(data), -1) {
			spec := m[1] + m[2]
			if !strings.HasPrefix(spec, "./") && !strings.HasPrefix(spec, "../") {
				t.Errorf("%s imports %q: only relative modules of the client exist", p, spec)
				continue
			}
			if target := path.Join(path.Dir(p), spec); !exists(target) {
				t.Errorf("%s imports %s, which is not embedded", p, target)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if modules < 5 {
		t.Errorf("found %d JavaScript modules; is the embed pattern right?", modules)
	}
}
