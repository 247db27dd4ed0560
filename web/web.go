// Package web serves the web client's built files, embedded in the binary.
//
// The client is a single-page app built by Vite into dist/: index.html plus
// content-hashed files under assets/. dist/ is not committed (only
// dist/.gitkeep is, so that the embed pattern always matches); on a clean
// clone without Node, static/ holds a page that says what this server is.
//
// Rules (each has a test in web_test.go):
//   - a file that exists is served; a path under /assets/ that does not is a
//     real 404, so a stale chunk fails loudly instead of parsing HTML as JS;
//   - any other unknown GET or HEAD path answers index.html, so deep links
//     (/channels/{guild}/{channel}, /invite/{code}, /login) reload to the
//     same screen;
//   - paths owned by the server's other faces (/api, /gateway, /_hearth,
//     /.well-known, the file routes, /metrics, /healthz, /readyz) are never
//     answered with the page, even when the mux hands them here (an unknown
//     federation path, /metrics/x): they get a JSON 404 instead;
//   - index.html and other unhashed files are revalidated on every use
//     (no-cache with an ETag); hashed /assets/ are immutable for a year;
//   - precompressed x.br and x.gz beside a file (written at build time by
//     scripts/precompress.mjs) are served when Accept-Encoding allows, with
//     Vary: Accept-Encoding and an ETag per encoding;
//   - every answer carries the CSP, nosniff and Referrer-Policy headers.
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

// files is the build output and the placeholder. "all:" keeps dist/.gitkeep
// in the pattern's match, so that a clone that never ran the build still
// compiles.
//
//go:embed all:dist static
var files embed.FS

// CSP is the page's Content-Security-Policy. Scripts come only from this
// origin and no inline script runs. connect-src lists http:, https:, ws:
// and wss: beside '*' because the client signs in to other homeservers
// (REST over http(s), the gateway over ws(s)) and '*' alone does not cover
// WebSocket schemes in every browser. Images and media may come from any
// homeserver (remote avatars, attachments) and from blob: (upload
// previews); inline styles are allowed for Svelte's style: directives and
// transitions.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src * data: blob:; media-src * blob:; connect-src * http: https: ws: wss:; font-src 'self' data:; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Cache-Control values.
const (
	cacheImmutable   = "public, max-age=31536000, immutable"
	cacheRevalidate  = "no-cache"
	indexName        = "index.html"
	assetsDir        = "assets/"
	encodingBrotli   = "br"
	encodingGzip     = "gzip"
	defaultMediaType = "application/octet-stream"
)

// reservedPrefixes are the path prefixes the server's other faces own.
// The mux routes most of them before "/", but not every path below them (an
// unknown federation endpoint, /.well-known/other, /metrics/x); those must
// get a plain 404, never the page, or a client would parse HTML as JSON.
func reservedPrefixes() [11]string {
	return [...]string{
		"/api", "/gateway", "/_hearth", "/.well-known",
		"/attachments", "/avatars", "/icons", "/emojis",
		"/metrics", "/healthz", "/readyz",
	}
}

// Site serves one file tree as the web client.
type Site struct {
	files map[string]*file
}

// file is one servable file and its precompressed variants.
type file struct {
	contentType string
	cache       string
	identity    variant
	br, gz      *variant
}

// variant is one encoding of a file's bytes.
type variant struct {
	data []byte
	etag string
}

// Embedded returns the built client (dist) when the build ran, else the
// placeholder page (static).
func Embedded() fs.FS {
	dir := "static"
	if _, err := fs.Stat(files, "dist/"+indexName); err == nil {
		dir = "dist"
	}
	sub, err := fs.Sub(files, dir)
	if err != nil {
		panic(err) // the embed directive guarantees both folders
	}
	return sub
}

// Handler serves the embedded client (see Embedded).
func Handler() http.Handler {
	h, err := New(Embedded())
	if err != nil {
		panic(err) // both trees hold an index.html: the build and the tests guarantee it
	}
	return h
}

// New reads every file of fsys into memory once (the client is a few
// hundred kilobytes) with its ETags, so serving takes no locks and no
// reads. Names starting with a dot (.gitkeep, Vite's .vite/ manifest) are
// not served. fsys must hold index.html.
func New(fsys fs.FS) (*Site, error) {
	h := &Site{files: map[string]*file{}}
	raw := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if name != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		raw[name] = b
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("web: read client files: %w", err)
	}
	if _, ok := raw[indexName]; !ok {
		return nil, errors.New("web: the client files hold no index.html")
	}
	for name, b := range raw {
		// x.br and x.gz are variants of x when x exists; a .gz with no
		// original beside it is an ordinary file.
		if base, ok := strings.CutSuffix(name, ".br"); ok && raw[base] != nil {
			continue
		}
		if base, ok := strings.CutSuffix(name, ".gz"); ok && raw[base] != nil {
			continue
		}
		f := &file{contentType: contentType(name), cache: cacheRevalidate, identity: newVariant(b)}
		if strings.HasPrefix(name, assetsDir) {
			// Vite names every file under assets/ by its content hash.
			f.cache = cacheImmutable
		}
		if c, ok := raw[name+".br"]; ok {
			v := newVariant(c)
			f.br = &v
		}
		if c, ok := raw[name+".gz"]; ok {
			v := newVariant(c)
			f.gz = &v
		}
		h.files[name] = f
	}
	return h, nil
}

func newVariant(b []byte) variant {
	sum := sha256.Sum256(b)
	return variant{data: b, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`}
}

// contentType names a file's type by its extension, from a fixed table so
// that the answer does not depend on the host's /etc/mime.types.
func contentType(name string) string {
	switch strings.ToLower(path.Ext(name)) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".js", ".mjs":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".json", ".map":
		return "application/json"
	case ".webmanifest":
		return "application/manifest+json"
	case ".txt":
		return "text/plain; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	case ".png":
		return "image/png"
	case ".jpg", ".jpeg":
		return "image/jpeg"
	case ".gif":
		return "image/gif"
	case ".webp":
		return "image/webp"
	case ".avif":
		return "image/avif"
	case ".ico":
		return "image/x-icon"
	case ".woff2":
		return "font/woff2"
	case ".woff":
		return "font/woff"
	case ".ttf":
		return "font/ttf"
	case ".wasm":
		return "application/wasm"
	case ".mp3":
		return "audio/mpeg"
	case ".ogg", ".oga":
		return "audio/ogg"
	case ".wav":
		return "audio/wav"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return defaultMediaType
}

// ServeHTTP implements http.Handler.
func (h *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", CSP)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		jsonError(w, http.StatusMethodNotAllowed, "405: Method Not Allowed")
		return
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)
	if isReserved(p) {
		jsonError(w, http.StatusNotFound, "404: Not Found")
		return
	}
	name := strings.TrimPrefix(p, "/")
	if name == "" {
		name = indexName
	}
	f, ok := h.files[name]
	if !ok {
		if name+"/" == assetsDir || strings.HasPrefix(name, assetsDir) {
			hd.Set("Cache-Control", cacheRevalidate)
			hd.Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			if r.Method != http.MethodHead {
				_, _ = io.WriteString(w, "404: no such file in this build of the web client\n")
			}
			return
		}
		f = h.files[indexName]
	}
	h.serve(w, r, f)
}

func (h *Site) serve(w http.ResponseWriter, r *http.Request, f *file) {
	hd := w.Header()
	hd.Set("Content-Type", f.contentType)
	hd.Set("Cache-Control", f.cache)
	v := &f.identity
	if f.br != nil || f.gz != nil {
		hd.Add("Vary", "Accept-Encoding")
		if enc, cv := pickEncoding(r.Header.Get("Accept-Encoding"), f); cv != nil {
			hd.Set("Content-Encoding", enc)
			v = cv
		}
	}
	hd.Set("ETag", v.etag)
	if v != &f.identity {
		// ServeContent leaves Content-Length out when Content-Encoding is
		// set (it cannot know the coded size), so the answer would be
		// chunked; we know it. A Range over the coded bytes is of no use to
		// a browser and would make that length wrong: the whole variant is
		// sent instead, which a Range request may always get.
		hd.Set("Content-Length", strconv.Itoa(len(v.data)))
		if r.Header.Get("Range") != "" {
			r = r.Clone(r.Context())
			r.Header.Del("Range")
		}
	}
	// ServeContent answers If-None-Match (304), Range and HEAD; the zero
	// time leaves Last-Modified out: the ETag is the validator.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(v.data))
}

// pickEncoding chooses the precompressed variant the request accepts with
// the highest q-value, brotli first on a tie; nil means identity.
func pickEncoding(accept string, f *file) (string, *variant) {
	if accept == "" {
		return "", nil
	}
	qs := map[string]float64{}
	for part := range strings.SplitSeq(accept, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding == "" {
			continue
		}
		q := 1.0
		for param := range strings.SplitSeq(params, ";") {
			k, val, ok := strings.Cut(strings.TrimSpace(param), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "q") {
				if n, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
					q = n
				} else {
					q = 0
				}
			}
		}
		qs[coding] = q
	}
	accepts := func(coding string) float64 {
		if q, ok := qs[coding]; ok {
			return q
		}
		if coding == encodingGzip {
			if q, ok := qs["x-gzip"]; ok {
				return q
			}
		}
		return qs["*"] // zero when absent: not acceptable
	}
	best, bestQ, bestV := "", 0.0, (*variant)(nil)
	if f.br != nil {
		if q := accepts(encodingBrotli); q > bestQ {
			best, bestQ, bestV = encodingBrotli, q, f.br
		}
	}
	if f.gz != nil {
		if q := accepts(encodingGzip); q > bestQ {
			best, bestV = encodingGzip, f.gz
		}
	}
	return best, bestV
}

func isReserved(p string) bool {
	for _, prefix := range reservedPrefixes() {
		if p == prefix || strings.HasPrefix(p, prefix+"/") {
			return true
		}
	}
	return false
}

// jsonError answers in Discord's error shape, as the API beside it does.
func jsonError(w http.ResponseWriter, status int, message string) {
	hd := w.Header()
	hd.Set("Content-Type", "application/json")
	hd.Set("Cache-Control", cacheRevalidate)
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"code":0,"message":%q}`, message)
}
