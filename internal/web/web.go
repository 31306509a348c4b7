// Package web serves Parley's browser client: static files embedded in the
// binary, with strict security headers, and the single page's index for
// every path that is not a file, so /rooms/{id} can be reloaded.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static
var static embed.FS

// ContentSecurityPolicy is sent with every response of the web client. It
// allows no inline script or style, so a message that slips HTML past the
// renderer still cannot run anything.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; connect-src 'self' ws: wss:; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// contentTypes maps the extensions the client uses to their types, so the
// answer does not depend on the host's mime.types.
var contentTypes = map[string]string{
	".html":        "text/html; charset=utf-8",
	".js":          "text/javascript; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".ico":         "image/x-icon",
	".json":        "application/json",
	".webmanifest": "application/manifest+json",
	".txt":         "text/plain; charset=utf-8",
}

// file is one embedded file, read once at start.
type file struct {
	data  []byte
	ctype string
	etag  string
}

type handler struct {
	files map[string]file // by URL path, "/js/app.js"
}

// Handler returns the handler of the web client. It answers GET and HEAD
// only: a known file as it is, an unknown path with an extension (an asset
// that does not exist) or under /api/ with 404, and any other path with
// index.html.
func Handler() http.Handler {
	h := &handler{files: map[string]file{}}
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embed directive guarantees the directory
	}
	err = fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(sub, p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		h.files["/"+p] = file{
			data:  data,
			ctype: contentType(p),
			etag:  `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`,
		}
		return nil
	})
	if err != nil {
		panic(err) // reading an embed.FS does not fail
	}
	return h
}

func contentType(name string) string {
	if t, ok := contentTypes[path.Ext(name)]; ok {
		return t
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	hdr.Set("Content-Security-Policy", ContentSecurityPolicy)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("Referrer-Policy", "no-referrer")
	hdr.Set("Cross-Origin-Opener-Policy", "same-origin")

	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}

	p := path.Clean("/" + r.URL.Path)
	f, ok := h.files[p]
	if !ok {
		if p == "/api" || strings.HasPrefix(p, "/api/") || path.Ext(p) != "" {
			http.NotFound(w, r)
			return
		}
		p = "/index.html"
		f = h.files[p]
	}

	// The files have no fingerprint in their names, so browsers revalidate
	// every time; the ETag makes that a 304.
	hdr.Set("Content-Type", f.ctype)
	hdr.Set("ETag", f.etag)
	hdr.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, p, time.Time{}, bytes.NewReader(f.data))
}
