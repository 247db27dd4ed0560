package media

import (
	"bytes"
	"image/gif"
	"runtime"
	"strings"
	"testing"
)

// gifBomb declares two 65535×65535 frames in 45 bytes.
const gifBomb = "GIF89a\xff\xff\xff\xff\x00\x00\x00" +
	",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00" +
	",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00;"

// TestSniffGIFBombAllocatesLittle: FuzzSniff's finding, kept. Sniffing a
// tiny GIF that declares huge frames allocated their pixels (4 GiB each);
// it now costs kilobytes, and still tells the GIF is animated.
func TestSniffGIFBombAllocatesLittle(t *testing.T) {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	img, err := Sniff([]byte(gifBomb))
	runtime.ReadMemStats(&after)
	if err != nil || !img.Animated || img.Width != 65535 {
		t.Fatalf("Sniff = %+v, %v", img, err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Fatalf("sniffing 45 bytes allocated %d bytes", n)
	}
}

// FuzzSniff: Sniff recognises an image or refuses it, never panics, and
// agrees with Detect on the type; an image it admits has dimensions.
func FuzzSniff(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := Sniff(b)
		if err != nil {
			return
		}
		if img.Width <= 0 || img.Height <= 0 || img.Ext == "" {
			t.Fatalf("Sniff admitted %+v", img)
		}
		if d := Detect(b); d != img.ContentType {
			t.Fatalf("Sniff says %s, Detect %s", img.ContentType, d)
		}
		// The frame count agrees with image/gif's wherever that decodes
		// (and is small enough to try).
		if img.Ext == "gif" && img.Width*img.Height <= 1<<16 {
			if g, err := gif.DecodeAll(bytes.NewReader(b)); err == nil && len(g.Image) != gifFrames(b) {
				t.Fatalf("gifFrames = %d, image/gif decodes %d frames", gifFrames(b), len(g.Image))
			}
		}
	})
}

// FuzzDetect: Detect names one of the types it knows, and never one a
// browser would run.
func FuzzDetect(f *testing.F) {
	known := map[string]bool{"application/octet-stream": true, "text/plain; charset=utf-8": true}
	for _, f := range formats {
		known[f.contentType] = true
	}
	for _, m := range magics {
		known[m.contentType] = true
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d := Detect(b)
		if !known[d] || strings.Contains(d, "html") || strings.Contains(d, "xml") {
			t.Fatalf("Detect(%q) = %q", b, d)
		}
	})
}

// FuzzDecodeDataURI: no data URI decodes to more than the limit.
func FuzzDecodeDataURI(f *testing.F) {
	f.Fuzz(func(t *testing.T, s string, limit uint16) {
		out, err := DecodeDataURI(s, int(limit))
		if err == nil && len(out) > int(limit) {
			t.Fatalf("%d bytes decoded under a limit of %d", len(out), limit)
		}
	})
}
