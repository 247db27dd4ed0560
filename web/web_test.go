package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	indexBody = `<!doctype html><title>Hearth</title><script type="module" src="/assets/index-Ab12.js"></script>`
	jsBody    = `console.log("hearth")`
	cssBody   = `body{color:red}`
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	_, _ = w.Write([]byte(s))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// testSite is a build as Vite and scripts/precompress.mjs leave it. The br
// variants are stand-in bytes: the handler never decodes them.
func testSite(t *testing.T) *Site {
	t.Helper()
	fsys := fstest.MapFS{
		"index.html":              {Data: []byte(indexBody)},
		"index.html.gz":           {Data: gz(t, indexBody)},
		"index.html.br":           {Data: []byte("br:index")},
		"favicon.svg":             {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`)},
		"assets/index-Ab12.js":    {Data: []byte(jsBody)},
		"assets/index-Ab12.js.gz": {Data: gz(t, jsBody)},
		"assets/index-Ab12.js.br": {Data: []byte("br:js")},
		"assets/index-Cd34.css":   {Data: []byte(cssBody)},
		"assets/font-Ef56.woff2":  {Data: []byte("wOF2")},
		"assets/archive-Gh78.gz":  {Data: gz(t, "a real gzip asset with no original")},
		".gitkeep":                {Data: nil},
		".vite/manifest.json":     {Data: []byte(`{}`)},
	}
	s, err := New(fsys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func do(h http.Handler, method, target string, header map[string]string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

const (
	ctHTML = "text/html; charset=utf-8"
	ctJS   = "text/javascript; charset=utf-8"
	ctJSON = "application/json"
)

// TestRoutes: what each path answers, with which type and cache policy.
func TestRoutes(t *testing.T) {
	s := testSite(t)
	cases := []struct {
		name, method, path string
		status             int
		contentType        string
		cache              string
		body               string // a substring; "" checks nothing
	}{
		{"root", "GET", "/", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"index by name", "GET", "/index.html", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"deep link to a channel", "GET", "/channels/111111111111111111/222222222222222222", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"DM deep link", "GET", "/channels/@me/333", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"invite with a server name", "GET", "/invite/Ab3xYz@127.0.0.1:18081", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"login", "GET", "/login", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"trailing slash", "GET", "/login/", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"dot file hidden", "GET", "/.gitkeep", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"vite manifest hidden", "GET", "/.vite/manifest.json", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"prefix that only looks reserved", "GET", "/apiary", 200, ctHTML, "no-cache", "<title>Hearth"},
		{"deep link HEAD", "HEAD", "/channels/1/2", 200, ctHTML, "no-cache", ""},
		{"hashed script", "GET", "/assets/index-Ab12.js", 200, ctJS, "public, max-age=31536000, immutable", jsBody},
		{"hashed style", "GET", "/assets/index-Cd34.css", 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", cssBody},
		{"hashed font", "GET", "/assets/font-Ef56.woff2", 200, "font/woff2", "public, max-age=31536000, immutable", "wOF2"},
		{"gzip file without an original is a file", "GET", "/assets/archive-Gh78.gz", 200, "application/gzip", "public, max-age=31536000, immutable", ""},
		{"unhashed root file", "GET", "/favicon.svg", 200, "image/svg+xml", "no-cache", "<svg"},
		{"missing asset is a real 404", "GET", "/assets/index-Old9.js", 404, "text/plain; charset=utf-8", "no-cache", "no such file"},
		{"missing asset HEAD", "HEAD", "/assets/index-Old9.js", 404, "text/plain; charset=utf-8", "no-cache", ""},
		{"assets folder", "GET", "/assets/", 404, "text/plain; charset=utf-8", "no-cache", ""},
		{"assets folder bare", "GET", "/assets", 404, "text/plain; charset=utf-8", "no-cache", ""},
		{"precompressed variant not served by name", "GET", "/assets/index-Ab12.js.gz", 404, "text/plain; charset=utf-8", "no-cache", ""},
		{"dot-dot cleaned into assets", "GET", "/x/../assets/nope.js", 404, "text/plain; charset=utf-8", "no-cache", ""},
		{"POST refused", "POST", "/channels/1/2", 405, ctJSON, "no-cache", `"405: Method Not Allowed"`},
		{"PUT refused", "PUT", "/", 405, ctJSON, "no-cache", `"code":0`},
	}
	for _, prefix := range reservedPrefixes() {
		for _, p := range []string{prefix, prefix + "/", prefix + "/unknown/deeper"} {
			cases = append(cases, struct {
				name, method, path string
				status             int
				contentType        string
				cache              string
				body               string
			}{"reserved " + p, "GET", p, 404, ctJSON, "no-cache", `{"code":0,"message":"404: Not Found"}`})
		}
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(s, c.method, c.path, nil)
			if w.Code != c.status {
				t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
			}
			h := w.Header()
			if got := h.Get("Content-Type"); got != c.contentType {
				t.Errorf("Content-Type %q, want %q", got, c.contentType)
			}
			if got := h.Get("Cache-Control"); got != c.cache {
				t.Errorf("Cache-Control %q, want %q", got, c.cache)
			}
			if c.body != "" && !strings.Contains(w.Body.String(), c.body) {
				t.Errorf("body %q lacks %q", w.Body, c.body)
			}
			if c.method == "HEAD" && w.Body.Len() != 0 {
				t.Errorf("HEAD answered a body of %d bytes", w.Body.Len())
			}
			if c.status == 405 && h.Get("Allow") != "GET, HEAD" {
				t.Errorf("Allow %q", h.Get("Allow"))
			}
		})
	}
}

// TestSecurityHeaders: every answer, page, asset or error, carries them.
func TestSecurityHeaders(t *testing.T) {
	s := testSite(t)
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
			"img-src * data: blob:; media-src * blob:; connect-src * http: https: ws: wss:; font-src 'self' data:; " +
			"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
	}
	for _, p := range []string{"/", "/channels/1/2", "/assets/index-Ab12.js", "/assets/missing.js", "/api/x", "/favicon.svg"} {
		for _, m := range []string{"GET", "HEAD", "DELETE"} {
			w := do(s, m, p, nil)
			for k, v := range want {
				if got := w.Header().Get(k); got != v {
					t.Errorf("%s %s: %s = %q, want %q", m, p, k, got, v)
				}
			}
		}
	}
	// The policy's parts the client relies on, spelled out so that an
	// edit of CSP that drops one fails here with its reason.
	for _, part := range []string{
		"script-src 'self';",     // no inline or remote script
		"img-src * data: blob:;", // other homeservers' images, upload previews
		"media-src * blob:;",     // other homeservers' video and audio
		"ws: wss:",               // gateways of other homeservers
		"object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'",
	} {
		if !strings.Contains(CSP, part) {
			t.Errorf("CSP lacks %q", part)
		}
	}
	if strings.Contains(CSP, "unsafe-eval") || strings.Contains(CSP, "script-src 'self' 'unsafe-inline'") {
		t.Error("CSP lets script run from strings")
	}
}

// TestPrecompressed: the variant the request accepts, its own ETag, the
// original's type, and Vary on every answer of a file that has variants.
func TestPrecompressed(t *testing.T) {
	s := testSite(t)
	cases := []struct {
		name, path, accept string
		encoding           string // "" for identity
		body               string // the exact body
	}{
		{"brotli and gzip", "/assets/index-Ab12.js", "gzip, deflate, br, zstd", "br", "br:js"},
		{"gzip only", "/assets/index-Ab12.js", "gzip", "gzip", string(gz(t, jsBody))},
		{"x-gzip", "/assets/index-Ab12.js", "x-gzip", "gzip", string(gz(t, jsBody))},
		{"brotli refused by q=0", "/assets/index-Ab12.js", "br;q=0, gzip", "gzip", string(gz(t, jsBody))},
		{"gzip preferred by q", "/assets/index-Ab12.js", "gzip;q=0.9, br;q=0.5", "gzip", string(gz(t, jsBody))},
		{"wildcard", "/assets/index-Ab12.js", "*", "br", "br:js"},
		{"wildcard but not brotli", "/assets/index-Ab12.js", "br;q=0, *;q=0.1", "gzip", string(gz(t, jsBody))},
		{"identity only", "/assets/index-Ab12.js", "identity", "", jsBody},
		{"nothing accepted", "/assets/index-Ab12.js", "", "", jsBody},
		{"unknown coding", "/assets/index-Ab12.js", "zstd", "", jsBody},
		{"malformed q", "/assets/index-Ab12.js", "br;q=lots", "", jsBody},
		{"case-insensitive", "/assets/index-Ab12.js", "GZIP", "gzip", string(gz(t, jsBody))},
		{"index for a deep link", "/channels/1/2", "gzip", "gzip", string(gz(t, indexBody))},
		{"index brotli", "/", "br", "br", "br:index"},
		{"file without variants", "/assets/index-Cd34.css", "br, gzip", "", cssBody},
	}
	etags := map[string]string{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := do(s, "GET", c.path, map[string]string{"Accept-Encoding": c.accept})
			h := w.Header()
			if w.Code != 200 || h.Get("Content-Encoding") != c.encoding || w.Body.String() != c.body {
				t.Fatalf("status %d, Content-Encoding %q, body %q; want %q, %q", w.Code, h.Get("Content-Encoding"), w.Body, c.encoding, c.body)
			}
			hasVariants := c.path != "/assets/index-Cd34.css"
			if got := h.Get("Vary") == "Accept-Encoding"; got != hasVariants {
				t.Errorf("Vary = %q", h.Get("Vary"))
			}
			if strings.HasPrefix(c.path, "/assets/index-Ab12") && h.Get("Content-Type") != ctJS {
				t.Errorf("Content-Type %q", h.Get("Content-Type"))
			}
			if h.Get("Content-Length") != "" && h.Get("Content-Length") != strconv.Itoa(len(c.body)) {
				t.Errorf("Content-Length %q for %d bytes", h.Get("Content-Length"), len(c.body))
			}
			etag := h.Get("ETag")
			if !strings.HasPrefix(etag, `"`) {
				t.Fatalf("ETag %q", etag)
			}
			// One ETag per representation: the same bytes, the same tag;
			// other bytes, another tag.
			for body, other := range etags {
				if (body == c.body) != (other == etag) {
					t.Errorf("ETag %q for %q, %q for %q", etag, c.body, other, body)
				}
			}
			etags[c.body] = etag
		})
	}
}

// TestRevalidation: a client that has the page or an asset gets 304 for
// the same representation and the full answer for another.
func TestRevalidation(t *testing.T) {
	s := testSite(t)
	for _, c := range []struct{ path, accept string }{
		{"/", ""}, {"/", "br"}, {"/channels/1/2", "gzip"}, {"/assets/index-Ab12.js", "br"}, {"/assets/index-Cd34.css", ""},
	} {
		first := do(s, "GET", c.path, map[string]string{"Accept-Encoding": c.accept})
		etag := first.Header().Get("ETag")
		again := do(s, "GET", c.path, map[string]string{"Accept-Encoding": c.accept, "If-None-Match": etag})
		if again.Code != http.StatusNotModified || again.Body.Len() != 0 {
			t.Errorf("%s (%q) with its ETag: %d, %d bytes; want 304", c.path, c.accept, again.Code, again.Body.Len())
		}
		if again.Header().Get("Cache-Control") != first.Header().Get("Cache-Control") {
			t.Errorf("%s: 304 Cache-Control %q", c.path, again.Header().Get("Cache-Control"))
		}
		other := do(s, "GET", c.path, map[string]string{"Accept-Encoding": "identity", "If-None-Match": etag})
		if c.accept != "" && other.Code != 200 {
			t.Errorf("%s: identity with the %s ETag: %d, want 200", c.path, c.accept, other.Code)
		}
	}
	// Range requests work on the representation served.
	w := do(s, "GET", "/assets/index-Ab12.js", map[string]string{"Range": "bytes=0-6"})
	if w.Code != http.StatusPartialContent || w.Body.String() != jsBody[:7] {
		t.Errorf("range: %d %q", w.Code, w.Body)
	}
}

// TestNewRefusesATreeWithoutIndex: a broken build is an error at start,
// not a blank page at run time.
func TestNewRefusesATreeWithoutIndex(t *testing.T) {
	if _, err := New(fstest.MapFS{"assets/a.js": {Data: []byte("x")}}); err == nil {
		t.Fatal("New accepted a tree without index.html")
	}
}

// TestEmbedded: the embedded tree always has a page, built or not, and the
// handler serves it for a deep link.
func TestEmbedded(t *testing.T) {
	h := Handler()
	w := do(h, "GET", "/channels/1/2", nil)
	if w.Code != 200 || !strings.Contains(w.Body.String(), "<title>Hearth") {
		t.Fatalf("embedded deep link: %d %s", w.Code, w.Body)
	}
}

// TestPrecompressedLength: over a real connection, a precompressed answer
// carries Content-Length (not chunked), HEAD too, and a Range request for
// a coded variant gets the whole variant rather than a wrong length.
func TestPrecompressedLength(t *testing.T) {
	srv := httptest.NewServer(testSite(t))
	defer srv.Close()
	// A transport that leaves Accept-Encoding as set and the body coded.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	cases := []struct {
		name, method, path, accept, rng string
		status                          int
		body                            string
	}{
		{"gzip", "GET", "/assets/index-Ab12.js", "gzip", "", 200, string(gz(t, jsBody))},
		{"brotli", "GET", "/assets/index-Ab12.js", "br", "", 200, "br:js"},
		{"index brotli", "GET", "/channels/1/2", "br", "", 200, "br:index"},
		{"identity", "GET", "/assets/index-Ab12.js", "", "", 200, jsBody},
		{"head gzip", "HEAD", "/assets/index-Ab12.js", "gzip", "", 200, ""},
		{"range over gzip", "GET", "/assets/index-Ab12.js", "gzip", "bytes=0-3", 200, string(gz(t, jsBody))},
		{"range over identity", "GET", "/assets/index-Ab12.js", "", "bytes=0-3", 206, jsBody[:4]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(t.Context(), c.method, srv.URL+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Accept-Encoding", c.accept)
			if c.rng != "" {
				req.Header.Set("Range", c.rng)
			}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatal(err)
			}
			if res.StatusCode != c.status || string(b) != c.body {
				t.Fatalf("%d %q; want %d %q", res.StatusCode, b, c.status, c.body)
			}
			if len(res.TransferEncoding) != 0 {
				t.Errorf("Transfer-Encoding %v; want a Content-Length", res.TransferEncoding)
			}
			want := len(c.body)
			if c.method == "HEAD" {
				want = len(gz(t, jsBody))
			}
			if got := res.Header.Get("Content-Length"); got != strconv.Itoa(want) {
				t.Errorf("Content-Length %q; want %d", got, want)
			}
		})
	}
}
