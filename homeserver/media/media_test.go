package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"testing"
)

func pngBytes(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	img.Set(0, 0, color.RGBA{255, 0, 0, 255})
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func gifBytes(t *testing.T, frames int) []byte {
	t.Helper()
	g := &gif.GIF{}
	for range frames {
		g.Image = append(g.Image, image.NewPaletted(image.Rect(0, 0, 4, 3), color.Palette{color.Black, color.White}))
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestSniff(t *testing.T) {
	p := pngBytes(t, 7, 5)
	cases := []struct {
		name    string
		in      []byte
		want    Image
		wantErr bool
	}{
		{"png", p, Image{ContentType: "image/png", Ext: "png", Width: 7, Height: 5}, false},
		{"gif still", gifBytes(t, 1), Image{ContentType: "image/gif", Ext: "gif", Width: 4, Height: 3}, false},
		{"gif animated", gifBytes(t, 2), Image{ContentType: "image/gif", Ext: "gif", Width: 4, Height: 3, Animated: true}, false},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), Image{}, true},
		{"html named png", []byte("<html><body>hi</body></html>"), Image{}, true},
		{"png magic then garbage", append([]byte("\x89PNG\r\n\x1a\n"), []byte("<script>")...), Image{}, true},
		{"empty", nil, Image{}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := Sniff(c.in)
			if (err != nil) != c.wantErr || got != c.want {
				t.Fatalf("Sniff = %+v, %v; want %+v, error %v", got, err, c.want, c.wantErr)
			}
			if err != nil && !errors.Is(err, ErrNotImage) {
				t.Fatalf("error %v is not ErrNotImage", err)
			}
		})
	}
}

func TestDecodeDataURI(t *testing.T) {
	p := pngBytes(t, 2, 2)
	uri := "data:image/png;base64," + base64.StdEncoding.EncodeToString(p)
	got, err := DecodeDataURI(uri, 1<<20)
	if err != nil || !bytes.Equal(got, p) {
		t.Fatalf("DecodeDataURI = %d bytes, %v", len(got), err)
	}
	if _, err := DecodeDataURI(uri, 10); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("limit not enforced: %v", err)
	}
	for _, bad := range []string{"", "image/png;base64,AAAA", "data:image/png,AAAA", "data:image/png;base64", "data:image/png;base64,!!!"} {
		if _, err := DecodeDataURI(bad, 1<<20); err == nil {
			t.Errorf("DecodeDataURI(%q) accepted", bad)
		}
	}
}

func TestDetect(t *testing.T) {
	cases := []struct {
		in   []byte
		want string
	}{
		{pngBytes(t, 1, 1), "image/png"},
		{[]byte("%PDF-1.7 ..."), "application/pdf"},
		{[]byte("hello world\n"), "text/plain; charset=utf-8"},
		{[]byte("<html><script>alert(1)</script></html>"), "text/plain; charset=utf-8"},
		{[]byte("\x00\x01\x02binary"), "application/octet-stream"},
		{append([]byte{0, 0, 0, 0x18}, []byte("ftypmp42")...), "video/mp4"},
		{[]byte("OggS\x00"), "audio/ogg"},
	}
	for _, c := range cases {
		if got := Detect(c.in); got != c.want {
			t.Errorf("Detect(%q) = %q, want %q", c.in[:min(len(c.in), 12)], got, c.want)
		}
	}
	if Inline("application/pdf") || !Inline("image/png") || !Inline("text/plain; charset=utf-8") {
		t.Fatal("Inline")
	}
}
