package clientapi_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	st "hearth/server/servertest"
)

// photo is a w × h opaque image: its left half red, its right half blue.
func photo(w, h int, alpha bool) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.NRGBA{220, 30, 30, 255}
			if x >= w/2 {
				c = color.NRGBA{30, 30, 220, 255}
			} else if alpha {
				c.A = 0
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decoded checks an answer is an image of the given type and returns it.
func decoded(t *testing.T, r st.Response, contentType string) image.Image {
	t.Helper()
	if r.Status != 200 || r.Header.Get("Content-Type") != contentType {
		t.Fatalf("answer %d %q, want 200 %q: %.200s", r.Status, r.Header.Get("Content-Type"), contentType, r.Body)
	}
	img, _, err := image.Decode(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatalf("answer does not decode: %v", err)
	}
	return img
}

// TestScaledImages: attachments, avatars and emoji answer ?width=&height=
// (and ?size=) with a scaled copy kept on disk, as Discord's media proxy
// does; bad sizes are a 50035; what is not a scalable image is served as
// it is.
func TestScaledImages(t *testing.T) {
	dataDir := t.TempDir()
	s := st.Start(t, st.Options{DataDir: dataDir})
	owner := s.Register(t, "owner", "correct horse")
	g := newGuild(t, s, owner, "Photos")

	jpg := jpegBytes(t, photo(600, 400, false))
	withAlpha := pngBytes(t, photo(300, 200, true))
	text := []byte("just some text, not a picture\n")
	gif := []byte("GIF89a\x02\x00\x02\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff,\x00\x00\x00\x00\x02\x00\x02\x00\x00\x02\x02\x84Q\x00;")
	m := ok(t, multipartSend(t, s, owner, g.general, `{"content":"album"}`, map[string][]byte{
		"photo.jpg": jpg, "logo.png": withAlpha, "notes.txt": text, "wave.gif": gif,
	}), 200)
	links := map[string]string{}
	for _, a := range m["attachments"].([]any) {
		a := a.(map[string]any)
		links[a["filename"].(string)] = mustPath(t, a["url"].(string))
	}
	with := func(link, query string) string {
		sep := "?"
		if strings.Contains(link, "?") {
			sep = "&"
		}
		return link + sep + query
	}

	t.Run("photo", func(t *testing.T) {
		r := s.Do(t, "GET", with(links["photo.jpg"], "width=150&height=150"), "", nil)
		img := decoded(t, r, "image/jpeg")
		if b := img.Bounds(); b.Dx() != 150 || b.Dy() != 100 {
			t.Fatalf("scaled to %v, want 150×100 (aspect kept)", b)
		}
		if r.Header.Get("Cache-Control") != "public, max-age=86400" || r.Header.Get("X-Content-Type-Options") != "nosniff" ||
			!strings.Contains(r.Header.Get("Content-Security-Policy"), "sandbox") || r.Header.Get("ETag") == "" ||
			!strings.HasPrefix(r.Header.Get("Content-Disposition"), "inline") || len(r.Body) >= len(jpg) {
			t.Fatalf("headers %v, %d bytes of %d", r.Header, len(r.Body), len(jpg))
		}
		if red, _, blue, _ := img.At(10, 50).RGBA(); red < blue {
			t.Fatal("left half is not red")
		}
		// One side only.
		if b := decoded(t, s.Do(t, "GET", with(links["photo.jpg"], "height=40"), "", nil), "image/jpeg").Bounds(); b.Dx() != 60 || b.Dy() != 40 {
			t.Fatalf("height=40 gave %v", b)
		}
		// Never enlarged: a box bigger than the photo answers the original.
		r = s.Do(t, "GET", with(links["photo.jpg"], "width=4096&height=4096"), "", nil)
		if r.Status != 200 || !bytes.Equal(r.Body, jpg) {
			t.Fatalf("a box larger than the photo: %d, %d bytes", r.Status, len(r.Body))
		}
		// Revalidation by ETag.
		etag := s.Do(t, "GET", with(links["photo.jpg"], "width=150"), "", nil).Header.Get("ETag")
		req := with(links["photo.jpg"], "width=150")
		if res := doWith(t, s, req, map[string]string{"If-None-Match": etag}); res.Status != 304 {
			t.Fatalf("If-None-Match: %d", res.Status)
		}
	})

	t.Run("transparency stays png", func(t *testing.T) {
		img := decoded(t, s.Do(t, "GET", with(links["logo.png"], "width=30"), "", nil), "image/png")
		if b := img.Bounds(); b.Dx() != 30 || b.Dy() != 20 {
			t.Fatalf("scaled to %v", b)
		}
		if _, _, _, a := img.At(2, 10).RGBA(); a != 0 {
			t.Fatalf("transparent half has alpha %d", a)
		}
	})

	t.Run("kept on disk and served from there", func(t *testing.T) {
		link := with(links["photo.jpg"], "width=200")
		decoded(t, s.Do(t, "GET", link, "", nil), "image/jpeg")
		kept, _ := filepath.Glob(filepath.Join(dataDir, "scaled", "*", "*", "200x133"))
		if len(kept) != 1 {
			t.Fatalf("copies kept: %v", kept)
		}
		// Replace the kept copy: the next answer is the kept file, so the
		// second request decoded nothing.
		stand := pngBytes(t, photo(200, 133, true))
		if err := os.WriteFile(kept[0], stand, 0o600); err != nil {
			t.Fatal(err)
		}
		r := s.Do(t, "GET", link, "", nil)
		if !bytes.Equal(r.Body, stand) || r.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("second request was not served from the kept copy (%q, %d bytes)", r.Header.Get("Content-Type"), len(r.Body))
		}
	})

	t.Run("bad sizes", func(t *testing.T) {
		for _, q := range []string{"width=0", "width=-5", "height=4097", "width=abc", "width=1.5", "size=99999", "width=10&height=x"} {
			r := s.Do(t, "GET", with(links["photo.jpg"], q), "", nil)
			st.Expect(t, r, 400, st.Code(50035))
			field := strings.SplitN(q, "=", 2)[0]
			if strings.Contains(q, "height=x") {
				field = "height"
			}
			errs, _ := r.JSON(t)["errors"].(map[string]any)
			if _, ok := errs[field]; !ok {
				t.Errorf("%s: errors %v do not name %s", q, errs, field)
			}
		}
		// Empty values ask for nothing.
		if r := s.Do(t, "GET", with(links["photo.jpg"], "width=&height="), "", nil); !bytes.Equal(r.Body, jpg) {
			t.Fatalf("empty sizes: %d, %d bytes", r.Status, len(r.Body))
		}
	})

	t.Run("not scaled", func(t *testing.T) {
		r := s.Do(t, "GET", with(links["notes.txt"], "width=10&height=10"), "", nil)
		if r.Status != 200 || !bytes.Equal(r.Body, text) || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/plain") {
			t.Fatalf("text with a size: %d %q %q", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		r = s.Do(t, "GET", with(links["wave.gif"], "width=1"), "", nil)
		if r.Status != 200 || !bytes.Equal(r.Body, gif) || r.Header.Get("Content-Type") != "image/gif" {
			t.Fatalf("gif with a size: %d %q", r.Status, r.Header.Get("Content-Type"))
		}
		// The link's MAC still guards a scaled copy.
		bad := strings.Replace(links["photo.jpg"], "hm=", "hm=0", 1)
		st.Expect(t, s.Do(t, "GET", with(bad, "width=10"), "", nil), 404, st.Code(0))
	})

	t.Run("avatar and emoji by size", func(t *testing.T) {
		avatar := pngBytes(t, photo(256, 256, false))
		me := ok(t, s.Do(t, "PATCH", "/api/v10/users/@me", owner, map[string]any{"avatar": dataURI("image/png", avatar)}), 200)
		r := s.Do(t, "GET", fmt.Sprintf("/avatars/%s/%s.png?size=64", me["id"], me["avatar"]), "", nil)
		if b := decoded(t, r, "image/jpeg").Bounds(); b.Dx() != 64 || b.Dy() != 64 {
			t.Fatalf("avatar size=64: %v", b)
		}
		if r.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
			t.Fatalf("avatar Cache-Control %q", r.Header.Get("Cache-Control"))
		}
		e := ok(t, s.Do(t, "POST", "/api/v10/guilds/"+g.id+"/emojis", owner, map[string]any{"name": "dot", "image": dataURI("image/png", withAlpha)}), 201)
		img := decoded(t, s.Do(t, "GET", "/emojis/"+e["id"].(string)+".png?size=48", "", nil), "image/png")
		if b := img.Bounds(); b.Dx() != 48 || b.Dy() != 32 {
			t.Fatalf("emoji size=48: %v", b)
		}
	})
}

// doWith is a GET with extra headers.
func doWith(t *testing.T, s *st.Server, path string, header map[string]string) st.Response {
	t.Helper()
	req, err := http.NewRequest("GET", s.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return st.Response{Status: res.StatusCode, Header: res.Header, Body: b}
}
