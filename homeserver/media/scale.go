package media

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"path"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/image/webp"

	"hearth/storage/blobs"
)

// Scaled copies, as Discord's media proxy makes them: an image URL with
// ?width=&height= answers the image fitted inside that box, its aspect
// kept and never enlarged. The copy is JPEG when it is opaque and PNG when
// it has transparency: golang.org/x/image decodes WebP but has no WebP
// encoder, and a cgo libwebp would cost the static, cross-compiled binary.
// GIF and APNG are not scaled (a still of the first frame would stop the
// animation), nor anything but JPEG, PNG and still WebP: the callers serve
// those as they are. SVG is never rasterised.
//
// Copies are kept in a Bucket (a folder on disk under Dir, or a prefix of
// the S3 bucket the uploads are in), under a folder named by the source's
// content hash, one file per size (at most MaxCopies), so that a second
// request opens a file and decodes nothing. Decoding is bounded: an image over MaxPixels is never decoded
// (a decompression bomb is a few kilobytes claiming 100,000 × 100,000
// pixels), and decodes in flight share a memory budget estimated from each
// image's header, so that a flood of requests waits instead of exhausting
// memory.

// MaxDimension bounds a requested width or height.
const MaxDimension = 4096

// ErrBusy means too many scale requests are already waiting.
var ErrBusy = errors.New("media: too many images being scaled; try again")

// ScalerConfig configures a Scaler; zero fields take the defaults.
type ScalerConfig struct {
	// Bucket keeps the scaled copies; when nil, a folder Dir on disk
	// (created if missing) does.
	Bucket blobs.Bucket
	Dir    string
	// MaxPixels bounds the source images decoded; larger ones are served
	// as they are. Default 50 megapixels.
	MaxPixels int64
	// MemoryBudget bounds the estimated memory of decodes in flight.
	// Default 256 MiB.
	MemoryBudget int64
	// Concurrency bounds decodes in flight. Default GOMAXPROCS.
	Concurrency int
	// MaxWaiting bounds requests queued behind them; more get ErrBusy.
	// Default 64.
	MaxWaiting int
	// JPEGQuality of the copies. Default 82.
	JPEGQuality int
	// MaxCopies bounds the sizes kept per source image (the oldest goes),
	// so that asking for every width from 1 to 4096 cannot fill the disk.
	// Default 16.
	MaxCopies int
}

// Scaler makes and keeps scaled copies of images. It is safe for
// concurrent use.
type Scaler struct {
	cfg     ScalerConfig
	copies  blobs.Bucket
	memory  *budget
	slots   chan struct{}
	waiting atomic.Int64

	mu      sync.Mutex
	flights map[string]*flight

	hits, made, originals atomic.Int64
}

// flight is one copy being made; requests for the same copy wait for it.
type flight struct {
	done chan struct{}
	err  error
}

// NewScaler makes a Scaler keeping its copies in cfg.Dir.
func NewScaler(cfg ScalerConfig) (*Scaler, error) {
	copies := cfg.Bucket
	if copies == nil {
		if cfg.Dir == "" {
			return nil, errors.New("media: scaler needs a folder or a bucket")
		}
		d, err := blobs.OpenDisk(cfg.Dir)
		if err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
		copies = d
	}
	if cfg.MaxPixels <= 0 {
		cfg.MaxPixels = 50_000_000
	}
	if cfg.MemoryBudget <= 0 {
		cfg.MemoryBudget = 256 << 20
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.GOMAXPROCS(0)
	}
	if cfg.MaxWaiting <= 0 {
		cfg.MaxWaiting = 64
	}
	if cfg.JPEGQuality <= 0 || cfg.JPEGQuality > 100 {
		cfg.JPEGQuality = 82
	}
	if cfg.MaxCopies <= 0 {
		cfg.MaxCopies = 16
	}
	return &Scaler{
		cfg:     cfg,
		copies:  copies,
		memory:  &budget{free: cfg.MemoryBudget},
		slots:   make(chan struct{}, cfg.Concurrency),
		flights: map[string]*flight{},
	}, nil
}

// ScalerStats counts what a Scaler has answered.
type ScalerStats struct {
	// Hits were answered from a kept copy, Made by decoding and keeping a
	// new one, Originals by the source itself (no downscale needed, not a
	// scalable image, too large, or undecodable).
	Hits, Made, Originals int64
}

// Stats returns the counts so far.
func (s *Scaler) Stats() ScalerStats {
	return ScalerStats{Hits: s.hits.Load(), Made: s.made.Load(), Originals: s.originals.Load()}
}

// Scalable reports whether a detected content type is one Scale can make a
// copy of.
func Scalable(contentType string) bool {
	switch contentType {
	case "image/png", "image/jpeg", "image/webp":
		return true
	}
	return false
}

// Box is a requested size; zero leaves that side free.
type Box struct{ Width, Height int }

// Copy is a scaled copy ready to serve. Close it.
type Copy struct {
	io.ReadSeekCloser
	ContentType   string
	Width, Height int
	// Size is the copy's length in bytes.
	Size int64
	// ETag names this copy: the source's hash and the copy's size.
	ETag string
}

// Fit returns the size of a w × h image fitted inside box, its aspect kept
// (rounded, at least 1 px a side) and never larger than the image.
func Fit(w, h int, box Box) (int, int) {
	scale := 1.0
	if box.Width > 0 && box.Width < w {
		scale = float64(box.Width) / float64(w)
	}
	if box.Height > 0 && float64(box.Height) < float64(h)*scale {
		scale = float64(box.Height) / float64(h)
	}
	if scale >= 1 {
		return w, h
	}
	dw := max(1, int(float64(w)*scale+0.5))
	dh := max(1, int(float64(h)*scale+0.5))
	return min(dw, w), min(dh, h)
}

// Scale returns a copy of the image src fitted inside box, from the kept
// copies when there is one. hash is the source's content hash (hex
// SHA-256): it names the copies. A nil Copy and nil error mean "serve the
// original": no downscale is needed, or the source cannot be scaled.
// ErrBusy and the context's error are the only other answers.
func (s *Scaler) Scale(ctx context.Context, hash string, src io.ReadSeeker, box Box) (*Copy, error) {
	if !validKey(hash) {
		return nil, fmt.Errorf("media: scale: bad content hash %q", hash)
	}
	hdr, err := readHeader(src)
	if err != nil {
		s.originals.Add(1)
		return nil, nil // an unreadable image is served as it is
	}
	if hdr.pixels() > s.cfg.MaxPixels {
		s.originals.Add(1)
		return nil, nil
	}
	ow, oh := hdr.width, hdr.height
	if hdr.orientation >= 5 {
		ow, oh = oh, ow // shown rotated by a quarter turn
	}
	dw, dh := Fit(ow, oh, box)
	// The decode's memory, plus the copy: RGBA, the planes of a JPEG's
	// shrink, and its turned twin.
	need := hdr.memory() + int64(dw)*int64(dh)*12
	if (dw == ow && dh == oh) || need > s.cfg.MemoryBudget {
		s.originals.Add(1)
		return nil, nil
	}
	name := hash[:2] + "/" + hash + "/" + strconv.Itoa(dw) + "x" + strconv.Itoa(dh)
	if c, err := s.openCopy(ctx, name, dw, dh, hash); err == nil {
		s.hits.Add(1)
		return c, nil
	}

	s.mu.Lock()
	f, following := s.flights[name]
	if !following {
		f = &flight{done: make(chan struct{})}
		s.flights[name] = f
	}
	s.mu.Unlock()
	if following {
		select {
		case <-f.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if f.err != nil {
			return s.failed(f.err)
		}
		s.hits.Add(1)
		return s.openCopy(ctx, name, dw, dh, hash)
	}
	f.err = s.make(ctx, src, hdr, need, name, dw, dh)
	close(f.done)
	s.mu.Lock()
	delete(s.flights, name)
	s.mu.Unlock()
	if f.err != nil {
		return s.failed(f.err)
	}
	s.made.Add(1)
	return s.openCopy(ctx, name, dw, dh, hash)
}

// failed sorts a failure to make a copy: waiting too long or too many
// waiting is the caller's to answer; a source that does not decode is
// served as it is.
func (s *Scaler) failed(err error) (*Copy, error) {
	if errors.Is(err, ErrBusy) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return nil, err
	}
	s.originals.Add(1)
	return nil, nil
}

// make decodes src within the memory budget (need bytes of it) and keeps
// its scaled copy at name.
func (s *Scaler) make(ctx context.Context, src io.ReadSeeker, hdr header, need int64, name string, dw, dh int) error {
	if s.waiting.Add(1) > int64(s.cfg.MaxWaiting) {
		s.waiting.Add(-1)
		return ErrBusy
	}
	err := s.memory.acquire(ctx, need)
	if err == nil {
		select {
		case s.slots <- struct{}{}:
		case <-ctx.Done():
			s.memory.release(need)
			err = ctx.Err()
		}
	}
	s.waiting.Add(-1)
	if err != nil {
		return err
	}
	defer func() {
		<-s.slots
		s.memory.release(need)
	}()

	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return err
	}
	img, err := hdr.decode(bufio.NewReaderSize(src, 64<<10))
	if err != nil {
		return fmt.Errorf("media: decode: %w", err)
	}
	// Scale in the stored orientation, then turn the small copy.
	sw, sh := dw, dh
	if hdr.orientation >= 5 {
		sw, sh = dh, dw
	}
	out := orient(downscale(img, sw, sh), hdr.orientation)
	img = nil // the source's memory may go before the encode
	if err := s.write(ctx, name, out); err != nil {
		return err
	}
	s.trim(ctx, path.Dir(name)+"/")
	return nil
}

// trim keeps the MaxCopies newest copies of one source (the keys under
// folder). A copy removed while being served is still read to its end (an
// open file outlives its name; an S3 GET already answering does too).
func (s *Scaler) trim(ctx context.Context, folder string) {
	var copies []blobs.Entry
	if err := s.copies.List(ctx, folder, func(e blobs.Entry) error {
		copies = append(copies, e)
		return nil
	}); err != nil || len(copies) <= s.cfg.MaxCopies {
		return
	}
	slices.SortFunc(copies, func(a, b blobs.Entry) int { return b.ModTime.Compare(a.ModTime) })
	for _, c := range copies[s.cfg.MaxCopies:] {
		_ = s.copies.Remove(ctx, c.Key)
	}
}

// write encodes the copy to a temporary file and places it in the bucket
// whole, so that a reader never sees half a copy.
func (s *Scaler) write(ctx context.Context, name string, img *image.RGBA) error {
	tmp, err := os.CreateTemp(s.copies.StagingDir(), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	w := bufio.NewWriterSize(tmp, 64<<10)
	if img.Opaque() {
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: s.cfg.JPEGQuality})
	} else {
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
	}
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		// A copy is served as immutable: it must not survive a crash
		// half-written under its final name.
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("media: keep scaled copy: %w", err)
	}
	if err := s.copies.Place(ctx, name, tmp.Name()); err != nil {
		return fmt.Errorf("media: keep scaled copy: %w", err)
	}
	return nil
}

// openCopy opens a kept copy and reads its type from its first bytes.
func (s *Scaler) openCopy(ctx context.Context, name string, w, h int, hash string) (*Copy, error) {
	f, err := s.copies.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	var magic [8]byte
	if _, err := io.ReadFull(f, magic[:]); err != nil {
		f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, err
	}
	ct := "image/jpeg"
	if string(magic[:]) == "\x89PNG\r\n\x1a\n" {
		ct = "image/png"
	}
	return &Copy{ReadSeekCloser: f, ContentType: ct, Width: w, Height: h, Size: f.Size(),
		ETag: `"` + hash[:32] + "-" + strconv.Itoa(w) + "x" + strconv.Itoa(h) + `"`}, nil
}

// validKey admits only 64 lowercase hex digits, so that a hash can never
// walk out of the folder.
func validKey(h string) bool {
	if len(h) != 64 {
		return false
	}
	for _, c := range h {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// header is what is read from an image before deciding to decode it.
type header struct {
	format        string // png, jpeg, webp
	width, height int
	model         color.Model
	progressive   bool
	components    int
	orientation   int // EXIF 1..8; 1 when absent
}

func (h header) pixels() int64 { return int64(h.width) * int64(h.height) }

// memory estimates the bytes a decode holds: the decoded image by its
// colour model, plus, for a progressive JPEG, the coefficients it keeps for
// every block (4 bytes a pixel a component), plus the scaler's own rows.
func (h header) memory() int64 {
	perPixel := int64(8)
	switch h.model {
	case color.GrayModel:
		perPixel = 1
	case color.Gray16Model:
		perPixel = 2
	case color.YCbCrModel:
		perPixel = 3
	case color.CMYKModel, color.RGBAModel, color.NRGBAModel:
		perPixel = 4
	}
	if _, ok := h.model.(color.Palette); ok {
		perPixel = 1
	}
	if h.progressive {
		perPixel += 4 * int64(max(h.components, 1))
	}
	return h.pixels()*perPixel + int64(h.width)*24 + 1<<20
}

func (h header) decode(r io.Reader) (image.Image, error) {
	switch h.format {
	case "png":
		return png.Decode(r)
	case "jpeg":
		return jpeg.Decode(r)
	case "webp":
		return webp.Decode(r)
	}
	return nil, ErrNotImage
}

// readHeader reads an image's type, size and colour model (no pixels),
// and for a JPEG its orientation and whether it is progressive.
func readHeader(src io.ReadSeeker) (header, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return header{}, err
	}
	head := make([]byte, 64<<10)
	n, err := io.ReadFull(src, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return header{}, err
	}
	head = head[:n]
	h := header{orientation: 1}
	var cfg image.Config
	switch {
	case len(head) >= 8 && string(head[:8]) == "\x89PNG\r\n\x1a\n":
		if animatedPNG(head) {
			// Go's decoder reads an APNG's first frame only: a copy would
			// stop the animation.
			return header{}, fmt.Errorf("%w: animated PNG", ErrNotImage)
		}
		h.format = "png"
	case len(head) >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF:
		h.format = "jpeg"
		h.orientation, h.progressive, h.components = jpegMarkers(head)
	case len(head) >= 12 && string(head[:4]) == "RIFF" && string(head[8:12]) == "WEBP":
		h.format = "webp"
	default:
		return header{}, ErrNotImage
	}
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return header{}, err
	}
	r := bufio.NewReader(src)
	switch h.format {
	case "png":
		cfg, err = png.DecodeConfig(r)
	case "jpeg":
		cfg, err = jpeg.DecodeConfig(r)
	case "webp":
		cfg, err = webp.DecodeConfig(r)
	}
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
		return header{}, fmt.Errorf("%w: %s header does not decode", ErrNotImage, h.format)
	}
	h.width, h.height, h.model = cfg.Width, cfg.Height, cfg.ColorModel
	return h, nil
}

// animatedPNG reports whether a PNG has an animation control chunk (acTL)
// before its image data, as APNG requires.
func animatedPNG(b []byte) bool {
	i := 8
	for i+8 <= len(b) {
		size := int(b[i])<<24 | int(b[i+1])<<16 | int(b[i+2])<<8 | int(b[i+3])
		switch string(b[i+4 : i+8]) {
		case "acTL":
			return true
		case "IDAT", "IEND":
			return false
		}
		if size < 0 || size > len(b) {
			return false
		}
		i += 12 + size
	}
	return false
}

// jpegMarkers walks a JPEG's segments up to its first scan and reads the
// EXIF orientation (1 when absent or unreadable), whether the frame is
// progressive and its number of components.
func jpegMarkers(b []byte) (orientation int, progressive bool, components int) {
	orientation = 1
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return
		}
		m := b[i+1]
		if m == 0xFF { // fill byte
			i++
			continue
		}
		if m == 0x01 || (m >= 0xD0 && m <= 0xD8) { // standalone markers
			i += 2
			continue
		}
		if m == 0xDA || m == 0xD9 { // start of scan, end of image
			return
		}
		size := int(b[i+2])<<8 | int(b[i+3])
		if size < 2 || i+2+size > len(b) {
			return
		}
		seg := b[i+4 : i+2+size]
		switch {
		case m == 0xE1 && len(seg) > 6 && string(seg[:6]) == "Exif\x00\x00":
			if o := exifOrientation(seg[6:]); o >= 1 && o <= 8 {
				orientation = o
			}
		case m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC:
			progressive = m == 0xC2 || m == 0xC6 || m == 0xCA || m == 0xCE
			if len(seg) >= 6 {
				components = int(seg[5])
			}
		}
		i += 2 + size
	}
	return
}

// exifOrientation reads tag 0x0112 of IFD0 from a TIFF block; 0 when it
// is not there.
func exifOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var u16 func([]byte) int
	var u32 func([]byte) int
	switch string(t[:2]) {
	case "II":
		u16 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 }
		u32 = func(b []byte) int { return int(b[0]) | int(b[1])<<8 | int(b[2])<<16 | int(b[3])<<24 }
	case "MM":
		u16 = func(b []byte) int { return int(b[1]) | int(b[0])<<8 }
		u32 = func(b []byte) int { return int(b[3]) | int(b[2])<<8 | int(b[1])<<16 | int(b[0])<<24 }
	default:
		return 0
	}
	if u16(t[2:4]) != 42 {
		return 0
	}
	ifd := u32(t[4:8])
	if ifd < 8 || ifd+2 > len(t) {
		return 0
	}
	n := u16(t[ifd : ifd+2])
	for k := range n {
		e := ifd + 2 + 12*k
		if e+12 > len(t) {
			return 0
		}
		if u16(t[e:e+2]) == 0x0112 && u16(t[e+2:e+4]) == 3 {
			return u16(t[e+8 : e+10])
		}
	}
	return 0
}

// budget is a first-come, first-served weighted semaphore: decodes wait
// until their estimated memory fits beside the ones in flight.
type budget struct {
	mu      sync.Mutex
	free    int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func (b *budget) acquire(ctx context.Context, n int64) error {
	b.mu.Lock()
	if len(b.waiters) == 0 && b.free >= n {
		b.free -= n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		defer b.mu.Unlock()
		select {
		case <-w.ready: // granted meanwhile: give it back
			b.free += n
		default:
			for i, o := range b.waiters {
				if o == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
		}
		b.grant()
		return ctx.Err()
	}
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	b.free += n
	b.grant()
	b.mu.Unlock()
}

// grant wakes waiters in order while the first one fits.
func (b *budget) grant() {
	for len(b.waiters) > 0 && b.free >= b.waiters[0].n {
		w := b.waiters[0]
		b.free -= w.n
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}

// Sweep removes the kept copies whose source keep says is gone, and
// temporary files a crash left behind (older than an hour). It returns how
// many files it removed. A copy is only reachable through its source's
// route, so this frees space, not access.
func (s *Scaler) Sweep(ctx context.Context, keep func(hash string) bool) (int, error) {
	removed, err := blobs.SweepStaging(ctx, s.copies, ".tmp-", time.Hour)
	if err != nil {
		return removed, err
	}
	err = s.copies.List(ctx, "", func(e blobs.Entry) error {
		hash := path.Base(path.Dir(e.Key)) // copies live in a folder named by their source
		if !validKey(hash) || keep(hash) {
			return nil
		}
		if err := s.copies.Remove(ctx, e.Key); err != nil {
			return err
		}
		removed++
		return nil
	})
	return removed, err
}
