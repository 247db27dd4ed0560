package media

import (
	"image"
	"image/color"
	"image/draw"
)

// downscale shrinks src to dw × dh (each no larger than src's side) by area
// averaging: every copy pixel is the mean of the source area it covers,
// source pixels cut by a boundary shared by weight. For shrinking this is
// the right filter (no aliasing, no ringing), and it needs memory for a few
// rows only, where golang.org/x/image/draw's kernels keep an intermediate
// of copy width × source height × 32 bytes (hundreds of megabytes for a
// large photo). Averaging is done on premultiplied sRGB values.
func downscale(src image.Image, dw, dh int) *image.RGBA {
	if img, ok := src.(*image.YCbCr); ok {
		if out := downscaleYCbCr(img, dw, dh); out != nil {
			return out
		}
	}
	return downscaleRGBA(src, dw, dh)
}

// downscaleYCbCr shrinks a decoded JPEG plane by plane, at each plane's
// own resolution (chroma is usually a quarter of luma), and converts to RGB
// only the copy's pixels: YCbCr is an affine function of RGB, so averaging
// before converting gives the same colours for a fraction of the work. nil
// means a layout it does not handle (the caller falls back).
func downscaleYCbCr(src *image.YCbCr, dw, dh int) *image.RGBA {
	w, h := src.Rect.Dx(), src.Rect.Dy()
	if src.Rect.Min != (image.Point{}) {
		return nil
	}
	var cw, ch int
	switch src.SubsampleRatio {
	case image.YCbCrSubsampleRatio444:
		cw, ch = w, h
	case image.YCbCrSubsampleRatio422:
		cw, ch = (w+1)/2, h
	case image.YCbCrSubsampleRatio420:
		cw, ch = (w+1)/2, (h+1)/2
	case image.YCbCrSubsampleRatio440:
		cw, ch = w, (h+1)/2
	default:
		return nil
	}
	if cw < dw || ch < dh {
		return nil // chroma smaller than the copy: that would enlarge it
	}
	ys := make([]uint8, dw*dh)
	cbs := make([]uint8, dw*dh)
	crs := make([]uint8, dw*dh)
	shrinkPlane(ys, dw, dh, src.Y, src.YStride, w, h)
	shrinkPlane(cbs, dw, dh, src.Cb, src.CStride, cw, ch)
	shrinkPlane(crs, dw, dh, src.Cr, src.CStride, cw, ch)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for i := range ys {
		r, g, b := color.YCbCrToRGB(ys[i], cbs[i], crs[i])
		p := dst.Pix[i*4 : i*4+4 : i*4+4]
		p[0], p[1], p[2], p[3] = r, g, b, 0xFF
	}
	return dst
}

// shrinkPlane area-averages one 8-bit plane of w × h (rows stride apart)
// into dst, dw × dh, a row of sums at a time.
func shrinkPlane(dst []uint8, dw, dh int, pix []uint8, stride, w, h int) {
	xs := spans(w, dw)
	ys := spans(h, dh)
	hrow := make([]float32, dw)
	acc := make([]float32, dw)
	next := make([]float32, dw)
	norm := float32(float64(dw) * float64(dh) / (float64(w) * float64(h)))
	cur := 0
	flush := func() {
		out := dst[cur*dw : cur*dw+dw]
		for i, v := range acc {
			out[i] = clamp8(v*norm + 0.5)
		}
		acc, next = next, acc
		clear(next)
		cur++
	}
	for y := range h {
		row := pix[y*stride : y*stride+w]
		clear(hrow)
		for x, s := range xs {
			v := float32(row[x])
			if s.w == 1 {
				hrow[s.i] += v
				continue
			}
			hrow[s.i] += v * s.w
			hrow[s.i+1] += v * (1 - s.w)
		}
		s := ys[y]
		for cur < s.i {
			flush()
		}
		addRow(acc, next, hrow, s.w)
	}
	for cur < dh {
		flush()
	}
}

// addRow adds a source row, shrunk across, to the copy rows it falls in:
// weight w to the current one (acc), the rest to the next.
func addRow(acc, next, hrow []float32, w float32) {
	if w == 1 {
		for i, v := range hrow {
			acc[i] += v
		}
		return
	}
	w2 := 1 - w
	for i, v := range hrow {
		acc[i] += v * w
		next[i] += v * w2
	}
}

func clamp8(v float32) uint8 {
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return uint8(v)
}

// downscaleRGBA shrinks any image through premultiplied RGBA rows.
func downscaleRGBA(src image.Image, dw, dh int) *image.RGBA {
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	xs := spans(sw, dw)
	ys := spans(sh, dh)
	// One source row at a time, converted to premultiplied RGBA by
	// image/draw (which has fast paths for the decoders' YCbCr, Gray,
	// RGBA and NRGBA images).
	row := image.NewRGBA(image.Rect(0, 0, sw, 1))
	hrow := make([]float32, dw*4) // the source row shrunk across
	acc := make([]float32, dw*4)  // copy row cur, being summed
	next := make([]float32, dw*4) // the part of a source row that falls in cur+1
	// Each copy pixel sums (sw/dw)·(sh/dh) source pixels' worth of weight.
	norm := float32(float64(dw) * float64(dh) / (float64(sw) * float64(sh)))
	cur := 0
	flush := func() {
		pix := dst.Pix[cur*dst.Stride : cur*dst.Stride+dw*4]
		for i, v := range acc {
			pix[i] = clamp8(v*norm + 0.5)
		}
		acc, next = next, acc
		clear(next)
		cur++
	}
	for y := range sh {
		draw.Draw(row, row.Rect, src, image.Pt(b.Min.X, b.Min.Y+y), draw.Src)
		clear(hrow)
		p := row.Pix
		for x, s := range xs {
			o := s.i * 4
			r, g, bl, a := float32(p[x*4]), float32(p[x*4+1]), float32(p[x*4+2]), float32(p[x*4+3])
			if s.w == 1 {
				hrow[o] += r
				hrow[o+1] += g
				hrow[o+2] += bl
				hrow[o+3] += a
				continue
			}
			w, w2 := s.w, 1-s.w
			hrow[o] += r * w
			hrow[o+1] += g * w
			hrow[o+2] += bl * w
			hrow[o+3] += a * w
			hrow[o+4] += r * w2
			hrow[o+5] += g * w2
			hrow[o+6] += bl * w2
			hrow[o+7] += a * w2
		}
		s := ys[y]
		for cur < s.i {
			flush()
		}
		addRow(acc, next, hrow, s.w)
	}
	for cur < dh {
		flush()
	}
	return dst
}

// span places one source pixel: weight w of it in copy pixel i, the rest
// (1-w) in i+1.
type span struct {
	i int
	w float32
}

// spans places each of n source pixels into m ≤ n copy pixels.
func spans(n, m int) []span {
	out := make([]span, n)
	scale := float64(n) / float64(m) // source pixels per copy pixel, ≥ 1
	for x := range n {
		i := int(float64(x) / scale)
		if i >= m {
			i = m - 1
		}
		edge := float64(i+1) * scale // where copy pixel i ends, in source pixels
		w := 1.0
		if float64(x+1) > edge && i+1 < m {
			w = min(max(edge-float64(x), 0), 1)
		}
		out[x] = span{i: i, w: float32(w)}
	}
	return out
}

// orient turns an image as EXIF orientation o says it is to be shown
// (2: mirrored, 3: half turn, 4: flipped, 5: mirrored and a quarter turn
// anticlockwise, 6: a quarter turn clockwise, 7: mirrored and a quarter
// turn clockwise, 8: a quarter turn anticlockwise).
func orient(src *image.RGBA, o int) *image.RGBA {
	if o <= 1 || o > 8 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := w, h
	if o >= 5 {
		dw, dh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range h {
		for x := range w {
			var dx, dy int
			switch o {
			case 2:
				dx, dy = w-1-x, y
			case 3:
				dx, dy = w-1-x, h-1-y
			case 4:
				dx, dy = x, h-1-y
			case 5:
				dx, dy = y, x
			case 6:
				dx, dy = h-1-y, x
			case 7:
				dx, dy = h-1-y, w-1-x
			case 8:
				dx, dy = y, w-1-x
			}
			copy(dst.Pix[dy*dst.Stride+dx*4:dy*dst.Stride+dx*4+4], src.Pix[y*src.Stride+x*4:y*src.Stride+x*4+4])
		}
	}
	return dst
}
