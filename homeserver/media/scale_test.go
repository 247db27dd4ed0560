package media

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

var (
	red  = color.NRGBA{220, 20, 20, 255}
	blue = color.NRGBA{20, 20, 220, 255}
)

// halves is a w × h image, its left half one colour and its right half
// another.
func halves(w, h int, left, right color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := left
			if x >= w/2 {
				c = right
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func encodePNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// withOrientation puts an EXIF APP1 segment with the given orientation
// right after a JPEG's SOI, in the given byte order.
func withOrientation(jpg []byte, o int, bigEndian bool) []byte {
	var order binary.AppendByteOrder = binary.LittleEndian
	tiff := []byte("II")
	if bigEndian {
		order, tiff = binary.BigEndian, []byte("MM")
	}
	tiff = order.AppendUint16(tiff, 42)
	tiff = order.AppendUint32(tiff, 8)
	tiff = order.AppendUint16(tiff, 2) // two entries: something, then orientation
	tiff = order.AppendUint16(tiff, 0x010F)
	tiff = order.AppendUint16(tiff, 2)
	tiff = order.AppendUint32(tiff, 4)
	tiff = append(tiff, 'a', 'b', 'c', 0)
	tiff = order.AppendUint16(tiff, 0x0112)
	tiff = order.AppendUint16(tiff, 3)
	tiff = order.AppendUint32(tiff, 1)
	tiff = order.AppendUint16(tiff, uint16(o))
	tiff = append(tiff, 0, 0)
	tiff = order.AppendUint32(tiff, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := append([]byte{0xFF, 0xD8, 0xFF, 0xE1}, byte((len(seg)+2)>>8), byte(len(seg)+2))
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngClaiming is a PNG whose header claims w × h pixels, with a valid CRC
// and no pixel data: a decompression bomb's first bytes.
func pngClaiming(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0) // 8-bit RGBA
	out := []byte("\x89PNG\r\n\x1a\n")
	out = binary.BigEndian.AppendUint32(out, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	out = append(out, chunk...)
	out = binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(chunk))
	return out
}

// apng inserts an acTL chunk (2 frames, looping) after a PNG's IHDR, as
// an animated PNG has.
func apng(t *testing.T, p []byte) []byte {
	t.Helper()
	data := binary.BigEndian.AppendUint32(nil, 2)
	data = binary.BigEndian.AppendUint32(data, 0)
	chunk := append([]byte("acTL"), data...)
	var c []byte
	c = binary.BigEndian.AppendUint32(c, uint32(len(data)))
	c = append(c, chunk...)
	c = binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(chunk))
	ihdrEnd := 8 + 8 + 13 + 4
	out := append([]byte{}, p[:ihdrEnd]...)
	out = append(out, c...)
	return append(out, p[ihdrEnd:]...)
}

func hashOf(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func newScaler(t testing.TB, cfg ScalerConfig) *Scaler {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	s, err := NewScaler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func scale(t testing.TB, s *Scaler, src []byte, box Box) (*Copy, image.Image) {
	t.Helper()
	c, err := s.Scale(context.Background(), hashOf(src), bytes.NewReader(src), box)
	if err != nil {
		t.Fatal(err)
	}
	if c == nil {
		return nil, nil
	}
	defer c.Close()
	img, _, err := image.Decode(c)
	if err != nil {
		t.Fatalf("copy does not decode: %v", err)
	}
	if _, err := c.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	return c, img
}

func TestFit(t *testing.T) {
	cases := []struct {
		w, h   int
		box    Box
		dw, dh int
	}{
		{2000, 1500, Box{400, 0}, 400, 300},
		{2000, 1500, Box{0, 300}, 400, 300},
		{2000, 1500, Box{400, 400}, 400, 300},
		{1500, 2000, Box{400, 400}, 300, 400},
		{2000, 1500, Box{4096, 4096}, 2000, 1500}, // never enlarged
		{2000, 1500, Box{2000, 0}, 2000, 1500},
		{100, 1, Box{10, 10}, 10, 1}, // at least a pixel a side
		{1, 100, Box{10, 10}, 1, 10},
		{3, 3, Box{2, 2}, 2, 2},
		{1000, 10, Box{0, 5}, 500, 5},
	}
	for _, c := range cases {
		if dw, dh := Fit(c.w, c.h, c.box); dw != c.dw || dh != c.dh {
			t.Errorf("Fit(%d×%d, %v) = %d×%d, want %d×%d", c.w, c.h, c.box, dw, dh, c.dw, c.dh)
		}
	}
}

// TestSpans: every source pixel's weight is placed once, and every copy
// pixel gets the same area.
func TestSpans(t *testing.T) {
	for _, c := range [][2]int{{10, 3}, {2000, 400}, {7, 7}, {1500, 299}, {5, 1}, {4097, 4096}} {
		n, m := c[0], c[1]
		per := make([]float64, m)
		for _, s := range spans(n, m) {
			per[s.i] += float64(s.w)
			if s.w < 1 {
				per[s.i+1] += 1 - float64(s.w)
			}
		}
		for i, v := range per {
			if math.Abs(v-float64(n)/float64(m)) > 1e-3 {
				t.Fatalf("spans(%d, %d): copy pixel %d gets %f, want %f", n, m, i, v, float64(n)/float64(m))
			}
		}
	}
}

// TestDownscale: colours keep their place, a shared boundary pixel is
// averaged, transparency is kept.
func TestDownscale(t *testing.T) {
	got := downscale(halves(40, 20, red, blue), 4, 2)
	for y := range 2 {
		for x := range 4 {
			want := red
			if x >= 2 {
				want = blue
			}
			if c := got.RGBAAt(x, y); c != (color.RGBA{want.R, want.G, want.B, 255}) {
				t.Fatalf("pixel %d,%d = %v, want %v", x, y, c, want)
			}
		}
	}
	// 3 → 2: the middle source pixel is split between both copy pixels.
	src := image.NewGray(image.Rect(0, 0, 3, 1))
	src.Pix = []uint8{0, 90, 180}
	mid := downscale(src, 2, 1)
	if a, b := mid.RGBAAt(0, 0).R, mid.RGBAAt(1, 0).R; a != 30 || b != 150 {
		t.Fatalf("3 → 2 averages %d, %d; want 30, 150", a, b)
	}
	seeThrough := halves(10, 10, color.NRGBA{0, 0, 0, 0}, blue)
	half := downscale(seeThrough, 1, 1)
	if c := half.RGBAAt(0, 0); c.A < 126 || c.A > 129 || half.Opaque() {
		t.Fatalf("half transparent averages to %v", c)
	}
}

// TestDownscaleYCbCr: the plane-by-plane path for decoded JPEGs gives the
// colours of the RGBA path, for each chroma layout and odd sizes.
func TestDownscaleYCbCr(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio420, image.YCbCrSubsampleRatio422,
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio440,
	} {
		// A photo-like image: gradients and a little noise, inside the
		// RGB gamut (clamping is where the two paths may differ).
		src := image.NewYCbCr(image.Rect(0, 0, 301, 199), ratio)
		for y := range 199 {
			for x := range 301 {
				src.Y[src.YOffset(x, y)] = uint8(60 + x*100/301 + y*40/199 + (x*7+y*13)%9)
				c := src.COffset(x, y)
				src.Cb[c] = uint8(110 + x*30/301 + (x*3+y)%5)
				src.Cr[c] = uint8(140 - y*30/199 + (x+y*5)%5)
			}
		}
		for _, size := range [][2]int{{100, 66}, {7, 5}, {150, 99}, {300, 198}} {
			fast := downscale(src, size[0], size[1])
			if size[0] <= 150 && downscaleYCbCr(src, size[0], size[1]) == nil {
				t.Fatalf("%v to %v: no fast path", ratio, size)
			}
			slow := downscaleRGBA(src, size[0], size[1])
			worst := 0
			for i := range fast.Pix {
				d := int(fast.Pix[i]) - int(slow.Pix[i])
				worst = max(worst, d, -d)
			}
			// Both round to 8 bits at different steps, and chroma
			// samples straddling a copy pixel's edge are shared at chroma
			// resolution.
			if worst > 6 {
				t.Errorf("%v to %v: channels differ by up to %d", ratio, size, worst)
			}
		}
	}
}

// TestOrient: each EXIF orientation turns the image as a browser shows it.
func TestOrient(t *testing.T) {
	// A 3 × 2 image whose pixels are numbered 0..5 row by row.
	src := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i := range 6 {
		src.Pix[i*4] = uint8(i)
		src.Pix[i*4+3] = 255
	}
	want := map[int][]uint8{ // shown rows, top to bottom
		1: {0, 1, 2, 3, 4, 5},
		2: {2, 1, 0, 5, 4, 3},
		3: {5, 4, 3, 2, 1, 0},
		4: {3, 4, 5, 0, 1, 2},
		5: {0, 3, 1, 4, 2, 5},
		6: {3, 0, 4, 1, 5, 2},
		7: {5, 2, 4, 1, 3, 0},
		8: {2, 5, 1, 4, 0, 3},
	}
	for o, w := range want {
		got := orient(src, o)
		var seq []uint8
		for i := 0; i < len(got.Pix); i += 4 {
			seq = append(seq, got.Pix[i])
		}
		if !bytes.Equal(seq, w) {
			t.Errorf("orientation %d: %v, want %v", o, seq, w)
		}
		if (o >= 5) != (got.Rect.Dx() == 2) {
			t.Errorf("orientation %d: size %v", o, got.Rect)
		}
	}
}

// TestScale: the copy's type, size and pixels for each kind of source.
func TestScale(t *testing.T) {
	s := newScaler(t, ScalerConfig{})
	opaque := halves(200, 100, red, blue)
	alpha := halves(200, 100, color.NRGBA{0, 0, 0, 0}, blue)
	cases := []struct {
		name   string
		src    []byte
		box    Box
		ct     string // "" for the original
		dw, dh int
	}{
		{"jpeg to jpeg", encodeJPEG(t, opaque), Box{50, 50}, "image/jpeg", 50, 25},
		{"opaque png to jpeg", encodePNG(t, opaque), Box{0, 20}, "image/jpeg", 40, 20},
		{"png with alpha stays png", encodePNG(t, alpha), Box{100, 0}, "image/png", 100, 50},
		{"never enlarged", encodePNG(t, opaque), Box{400, 400}, "", 0, 0},
		{"same size", encodeJPEG(t, opaque), Box{200, 100}, "", 0, 0},
		{"not an image", []byte("hello, world"), Box{10, 10}, "", 0, 0},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg" width="999" height="999"/>`), Box{10, 10}, "", 0, 0},
		{"gif", []byte("GIF89a\x10\x00\x10\x00\x00\x00\x00;"), Box{4, 4}, "", 0, 0},
		{"png that does not decode", append(pngClaiming(300, 300), []byte("IDAT garbage")...), Box{10, 10}, "", 0, 0},
		{"animated png", apng(t, encodePNG(t, opaque)), Box{50, 50}, "", 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cp, img := scale(t, s, c.src, c.box)
			if c.ct == "" {
				if cp != nil {
					t.Fatalf("scaled to %s %d×%d, want the original", cp.ContentType, cp.Width, cp.Height)
				}
				return
			}
			if cp == nil {
				t.Fatal("no copy")
			}
			if cp.ContentType != c.ct || img.Bounds().Dx() != c.dw || img.Bounds().Dy() != c.dh || cp.Width != c.dw || cp.Height != c.dh {
				t.Fatalf("copy %s %v (%d×%d), want %s %d×%d", cp.ContentType, img.Bounds(), cp.Width, cp.Height, c.ct, c.dw, c.dh)
			}
			// Left stays left.
			lr, _, lb, _ := img.At(1, c.dh/2).RGBA()
			rr, _, rb, _ := img.At(c.dw-2, c.dh/2).RGBA()
			if c.ct == "image/jpeg" && (lr < lb || rb < rr) {
				t.Fatalf("colours moved: left %d/%d right %d/%d", lr, lb, rr, rb)
			}
			if c.ct == "image/png" {
				if _, _, _, a := img.At(1, 1).RGBA(); a != 0 {
					t.Fatalf("transparent side has alpha %d", a)
				}
			}
		})
	}
}

// TestScaleOrientation: a photo stored sideways with EXIF orientation 6 is
// scaled as shown (portrait), in both EXIF byte orders.
func TestScaleOrientation(t *testing.T) {
	s := newScaler(t, ScalerConfig{})
	stored := encodeJPEG(t, halves(80, 40, red, blue)) // shown turned clockwise: red on top
	for _, big := range []bool{false, true} {
		src := withOrientation(stored, 6, big)
		if o, _, _ := jpegMarkers(src); o != 6 {
			t.Fatalf("orientation read as %d", o)
		}
		cp, img := scale(t, s, src, Box{10, 0})
		if cp == nil || img.Bounds().Dx() != 10 || img.Bounds().Dy() != 20 {
			t.Fatalf("copy %v, want 10×20", img.Bounds())
		}
		tr, _, tb, _ := img.At(5, 1).RGBA()
		br, _, bb, _ := img.At(5, 18).RGBA()
		if tr < tb || bb < br {
			t.Fatalf("not turned: top %d/%d bottom %d/%d", tr, tb, br, bb)
		}
	}
}

// TestScaleCache: the second request for a copy opens the kept file and
// decodes nothing, and two boxes giving the same size share one copy.
func TestScaleCache(t *testing.T) {
	dir := t.TempDir()
	s := newScaler(t, ScalerConfig{Dir: dir})
	src := encodeJPEG(t, halves(300, 200, red, blue))
	first, _ := scale(t, s, src, Box{150, 0})
	if st := s.Stats(); st.Made != 1 || st.Hits != 0 {
		t.Fatalf("after the first request: %+v", st)
	}
	kept := filepath.Join(dir, hashOf(src)[:2], hashOf(src), "150x100")
	if _, err := os.Stat(kept); err != nil {
		t.Fatalf("copy not kept: %v", err)
	}
	second, _ := scale(t, s, src, Box{150, 150}) // another box, the same size
	if st := s.Stats(); st.Made != 1 || st.Hits != 1 {
		t.Fatalf("after the second request: %+v", st)
	}
	if first.ETag != second.ETag || first.ETag == "" {
		t.Fatalf("ETags %q, %q", first.ETag, second.ETag)
	}
	// A source whose bytes are gone is still answered from the copy: the
	// kept file, not the source, is what is read.
	c, err := s.Scale(context.Background(), hashOf(src), bytes.NewReader(src[:len(src)/2]), Box{150, 0})
	if err != nil || c == nil {
		t.Fatalf("cached copy not used: %v", err)
	}
	c.Close()
	// Many requests at once for one new copy make it once.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			c, err := s.Scale(context.Background(), hashOf(src), bytes.NewReader(src), Box{30, 0})
			if err != nil || c == nil {
				t.Errorf("concurrent scale: %v", err)
				return
			}
			c.Close()
		})
	}
	wg.Wait()
	if st := s.Stats(); st.Made != 2 {
		t.Fatalf("8 concurrent requests made %d copies", st.Made-1)
	}
	entries, _ := os.ReadDir(filepath.Dir(kept))
	for _, e := range entries {
		if filepath.Ext(e.Name()) != "" || e.Name()[0] == '.' {
			t.Errorf("left behind: %s", e.Name())
		}
	}
	if staged, _ := os.ReadDir(filepath.Join(dir, "tmp")); len(staged) != 0 {
		t.Errorf("temporary files left behind: %v", staged)
	}
}

// TestScaleRefusesBombs: a header claiming more pixels than allowed is
// never decoded: the original answers, whatever the file holds.
func TestScaleRefusesBombs(t *testing.T) {
	s := newScaler(t, ScalerConfig{MaxPixels: 5_000})
	for _, src := range [][]byte{
		pngClaiming(100_000, 100_000),
		pngClaiming(1<<31-1, 1<<31-1),
		encodePNG(t, halves(100, 100, red, blue)), // decodable, but 10,000 pixels
	} {
		c, err := s.Scale(context.Background(), hashOf(src), bytes.NewReader(src), Box{10, 10})
		if err != nil || c != nil {
			t.Fatalf("bomb: %v, %v", c, err)
		}
	}
	if st := s.Stats(); st.Originals != 3 || st.Made != 0 {
		t.Fatalf("stats %+v", st)
	}
	// Within MaxPixels but over the memory budget: not decoded either.
	small := newScaler(t, ScalerConfig{MemoryBudget: 1 << 20})
	src := encodePNG(t, halves(100, 100, red, blue))
	if c, err := small.Scale(context.Background(), hashOf(src), bytes.NewReader(src), Box{10, 10}); err != nil || c != nil {
		t.Fatalf("over budget: %v, %v", c, err)
	}
	if st := small.Stats(); st.Originals != 1 || st.Made != 0 {
		t.Fatalf("stats %+v", st)
	}
}

// TestScaleWaitsForMemory: decodes beyond the budget wait their turn,
// give up with their request, and past MaxWaiting are refused at once.
func TestScaleWaitsForMemory(t *testing.T) {
	s := newScaler(t, ScalerConfig{MaxWaiting: 1})
	// Hold the whole budget, as decodes in flight would.
	all := s.cfg.MemoryBudget
	if err := s.memory.acquire(context.Background(), all); err != nil {
		t.Fatal(err)
	}
	src := encodeJPEG(t, halves(64, 64, red, blue))
	ctx, cancel := context.WithCancel(context.Background())
	waited := make(chan error, 1)
	go func() {
		_, err := s.Scale(ctx, hashOf(src), bytes.NewReader(src), Box{8, 8})
		waited <- err
	}()
	// Wait (for state, not time) until the first request queues.
	for s.waiting.Load() == 0 {
		select {
		case err := <-waited:
			t.Fatalf("did not wait: %v", err)
		default:
			time.Sleep(time.Millisecond)
		}
	}
	other := encodeJPEG(t, halves(64, 32, red, blue))
	if _, err := s.Scale(context.Background(), hashOf(other), bytes.NewReader(other), Box{8, 8}); !errors.Is(err, ErrBusy) {
		t.Fatalf("past MaxWaiting: %v, want ErrBusy", err)
	}
	cancel()
	if err := <-waited; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
	s.memory.release(all)
	// The budget is whole again: a request goes through.
	if c, err := s.Scale(context.Background(), hashOf(src), bytes.NewReader(src), Box{8, 8}); err != nil || c == nil {
		t.Fatalf("after release: %v, %v", c, err)
	} else {
		c.Close()
	}
	if s.memory.free != all || len(s.memory.waiters) != 0 || s.waiting.Load() != 0 {
		t.Fatalf("budget leaked: free %d of %d, %d waiters, %d waiting", s.memory.free, all, len(s.memory.waiters), s.waiting.Load())
	}
}

// TestBudget: waiters are served in order, and one that gives up leaves
// no hole.
func TestBudget(t *testing.T) {
	b := &budget{free: 10}
	if err := b.acquire(context.Background(), 8); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 2)
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan error, 1)
	go func() { gaveUp <- b.acquire(ctx, 9) }()
	for {
		b.mu.Lock()
		n := len(b.waiters)
		b.mu.Unlock()
		if n == 1 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	go func() {
		if b.acquire(context.Background(), 2) == nil {
			order <- 2
		}
	}()
	for {
		b.mu.Lock()
		n := len(b.waiters)
		b.mu.Unlock()
		if n == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	// 2 would fit, but waits behind 9 (first come, first served).
	select {
	case <-order:
		t.Fatal("a later waiter overtook")
	default:
	}
	cancel()
	if err := <-gaveUp; !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	if <-order != 2 {
		t.Fatal("order")
	}
	b.release(8)
	b.release(2)
	if b.free != 10 {
		t.Fatalf("free %d", b.free)
	}
}

// TestSweep: copies of sources that are gone leave, the others stay, and
// so do fresh temporary files; stale ones leave.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	s := newScaler(t, ScalerConfig{Dir: dir})
	kept := encodeJPEG(t, halves(80, 40, red, blue))
	gone := encodeJPEG(t, halves(60, 40, red, blue))
	for _, src := range [][]byte{kept, gone} {
		for _, w := range []int{10, 20} {
			if c, _ := scale(t, s, src, Box{w, 0}); c == nil {
				t.Fatal("no copy")
			}
		}
	}
	fresh := filepath.Join(dir, "tmp", ".tmp-fresh")
	stale := filepath.Join(dir, "tmp", ".tmp-stale")
	for _, p := range []string{fresh, stale} {
		if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	n, err := s.Sweep(context.Background(), func(h string) bool { return h == hashOf(kept) })
	if err != nil || n != 3 {
		t.Fatalf("Sweep removed %d, %v; want 3 (two copies, one stale temp)", n, err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "*", "*", "*"))
	var names []string
	for _, p := range left {
		names = append(names, filepath.Base(filepath.Dir(p))+"/"+filepath.Base(p))
	}
	want := []string{hashOf(kept) + "/10x5", hashOf(kept) + "/20x10"}
	for _, w := range want {
		if !slices.Contains(names, w) {
			t.Errorf("copy %s of a kept source removed; left %v", w, names)
		}
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("fresh temp removed: %v", err)
	}
	for _, p := range names {
		if strings.HasPrefix(p, hashOf(gone)) {
			t.Errorf("copy of a gone source left: %s", p)
		}
	}
}

// TestMaxCopies: asking for ever more sizes of one image keeps only the
// newest MaxCopies of them.
func TestMaxCopies(t *testing.T) {
	dir := t.TempDir()
	s := newScaler(t, ScalerConfig{Dir: dir, MaxCopies: 3})
	src := encodeJPEG(t, halves(100, 50, red, blue))
	folder := filepath.Join(dir, hashOf(src)[:2], hashOf(src))
	base := time.Now().Add(-time.Hour)
	for i, w := range []int{10, 20, 30, 40} {
		if c, _ := scale(t, s, src, Box{w, 0}); c == nil {
			t.Fatal("no copy")
		}
		// Ages set by hand, so that the order does not hang on the
		// file system's clock resolution.
		at := base.Add(time.Duration(i) * time.Minute)
		if err := os.Chtimes(filepath.Join(folder, strconv.Itoa(w)+"x"+strconv.Itoa(w/2)), at, at); err != nil {
			t.Fatal(err)
		}
	}
	entries, _ := os.ReadDir(folder)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"20x10", "30x15", "40x20"}) {
		t.Fatalf("kept %v, want the three newest", names)
	}
}
