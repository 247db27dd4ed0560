package media

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// typicalPhoto is a 2000 × 1500 JPEG at quality 85 with smooth gradients
// and sensor-like noise: about the size (~1 MB) and entropy of a phone
// photo, unlike a flat test card that would decode unrealistically fast.
func typicalPhoto(b *testing.B) []byte {
	b.Helper()
	const w, h = 2000, 1500
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	rng := rand.New(rand.NewPCG(1, 2))
	for y := range h {
		for x := range w {
			v := 60 + 120*x/w + 40*y/h + rng.IntN(24)
			img.Y[img.YOffset(x, y)] = uint8(min(v, 255))
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			i := img.COffset(x*2, y*2)
			img.Cb[i] = uint8(100 + 50*x/(w/2) + rng.IntN(8))
			img.Cr[i] = uint8(150 - 40*y/(h/2) + rng.IntN(8))
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	return buf.Bytes()
}

// BenchmarkScalePhoto: a 2000 × 1500 JPEG to a 400 px box (400 × 300),
// cold (decode, scale, encode, keep on disk) and cached (open the kept
// copy), through Scaler.Scale as the file routes call it.
func BenchmarkScalePhoto(b *testing.B) {
	src := typicalPhoto(b)
	hash := hashOf(src)
	b.Logf("source %d×%d JPEG, %d bytes", 2000, 1500, len(src))
	box := Box{Width: 400, Height: 400}
	b.Run("cold", func(b *testing.B) {
		s := newScaler(b, ScalerConfig{})
		kept := filepath.Join(s.cfg.Dir, hash[:2], hash, "400x300")
		b.SetBytes(int64(len(src)))
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			c, err := s.Scale(context.Background(), hash, bytes.NewReader(src), box)
			if err != nil || c == nil {
				b.Fatalf("%v %v", c, err)
			}
			c.Close()
			b.StopTimer()
			if err := os.Remove(kept); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		if st := s.Stats(); st.Hits != 0 {
			b.Fatalf("cold run hit the cache: %+v", st)
		}
	})
	b.Run("cached", func(b *testing.B) {
		s := newScaler(b, ScalerConfig{})
		c, err := s.Scale(context.Background(), hash, bytes.NewReader(src), box)
		if err != nil || c == nil {
			b.Fatal(err)
		}
		b.Logf("copy %s %d×%d, %d bytes", c.ContentType, c.Width, c.Height, c.Size)
		c.Close()
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			c, err := s.Scale(context.Background(), hash, bytes.NewReader(src), box)
			if err != nil || c == nil {
				b.Fatal(err)
			}
			c.Close()
		}
	})
	// The parts of a cold run, for where its time goes.
	b.Run("decode", func(b *testing.B) {
		defer reportCPU(b)()
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(src)); err != nil {
				b.Fatal(err)
			}
		}
	})
	img, _ := jpeg.Decode(bytes.NewReader(src))
	b.Run("downscale", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			downscale(img, 400, 300)
		}
	})
	// What golang.org/x/image/draw's Catmull-Rom kernel costs for the same
	// shrink, for the README's comparison.
	b.Run("xdraw-catmullrom", func(b *testing.B) {
		b.ReportAllocs()
		defer reportCPU(b)()
		for b.Loop() {
			dst := image.NewRGBA(image.Rect(0, 0, 400, 300))
			xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Bounds(), xdraw.Src, nil)
		}
	})
}

// reportCPU adds the CPU time per operation (cpu-ms/op) to a benchmark's
// figures; call the function it returns when the loop is done.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if used := cpuTime() - start; used > 0 && b.N > 0 {
			b.ReportMetric(float64(used.Microseconds())/1000/float64(b.N), "cpu-ms/op")
		}
	}
}
