// Package media recognises the images a homeserver accepts (avatars, icons,
// emoji, and later attachments) by their bytes, never by a name or a
// declared type, and decodes the data URIs Discord's API carries them in.
package media

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"

	"golang.org/x/image/webp"
)

// Image is a recognised image.
type Image struct {
	// ContentType is the MIME type the bytes are, such as image/png.
	ContentType string
	// Ext is the file extension Discord uses for it, without the dot.
	Ext           string
	Width, Height int
	Animated      bool
}

// Errors of Sniff and DecodeDataURI.
var (
	ErrNotImage = errors.New("media: not a PNG, JPEG, GIF or WebP image")
	ErrTooLarge = errors.New("media: too large")
	ErrDataURI  = errors.New("media: malformed data URI")
)

type format struct {
	contentType, ext string
	magic            func([]byte) bool
	config           func(io.Reader) (image.Config, error)
}

var formats = []format{
	{"image/png", "png", func(b []byte) bool { return bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) }, png.DecodeConfig},
	{"image/jpeg", "jpg", func(b []byte) bool { return bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}) }, jpeg.DecodeConfig},
	{"image/gif", "gif", func(b []byte) bool {
		return bytes.HasPrefix(b, []byte("GIF87a")) || bytes.HasPrefix(b, []byte("GIF89a"))
	}, gif.DecodeConfig},
	{"image/webp", "webp", func(b []byte) bool {
		return len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP"
	}, webp.DecodeConfig},
}

// Sniff recognises an image by its bytes and reads its dimensions; anything
// else (SVG, HTML, a PNG header on other bytes) is ErrNotImage.
func Sniff(b []byte) (Image, error) {
	for _, f := range formats {
		if !f.magic(b) {
			continue
		}
		cfg, err := f.config(bytes.NewReader(b))
		if err != nil || cfg.Width <= 0 || cfg.Height <= 0 {
			return Image{}, fmt.Errorf("%w: %s header does not decode", ErrNotImage, f.ext)
		}
		img := Image{ContentType: f.contentType, Ext: f.ext, Width: cfg.Width, Height: cfg.Height}
		if f.ext == "gif" {
			img.Animated = gifFrames(b) > 1
		}
		return img, nil
	}
	return Image{}, ErrNotImage
}

// gifFrames counts a GIF's frames by walking its blocks, without decoding
// any pixels: image/gif's DecodeAll allocates each frame's declared size
// (up to 65535×65535, 4 GiB) before reading its data, so a GIF of a few
// dozen bytes would have cost a sniff gigabytes (found by FuzzSniff; the
// input is kept in testdata/fuzz/FuzzSniff). A frame counts only when its
// data is there whole.
func gifFrames(b []byte) int {
	const header = 13 // signature, version, logical screen descriptor
	if len(b) < header {
		return 0
	}
	i := header
	if b[10]&0x80 != 0 { // global colour table
		i += 3 << (b[10]&7 + 1)
	}
	// subBlocks skips data sub-blocks from i to past their terminator,
	// or returns -1 when the data ends first.
	subBlocks := func(i int) int {
		for i < len(b) {
			n := int(b[i])
			i++
			if n == 0 {
				return i
			}
			i += n
		}
		return -1
	}
	frames := 0
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, a header, then sub-blocks
			if i+2 > len(b) {
				return frames
			}
			// Headers as image/gif reads them, so that both count alike:
			// plain text's is 13 bytes whatever its size byte says, an
			// application's is its size byte and that many bytes even
			// when the size is 0; the others have none.
			label, next := b[i+1], i+2
			switch label {
			case 0x01:
				next += 13
			case 0xFF:
				if next >= len(b) {
					return frames
				}
				next += 1 + int(b[next])
			}
			if next > len(b) {
				return frames
			}
			if i = subBlocks(next); i < 0 {
				return frames
			}
		case 0x2C: // image descriptor, local colour table, LZW code size, data
			if i+10 > len(b) {
				return frames
			}
			packed := b[i+9]
			i += 10
			if packed&0x80 != 0 {
				i += 3 << (packed&7 + 1)
			}
			i++ // LZW minimum code size
			if i > len(b) {
				return frames
			}
			if i = subBlocks(i); i < 0 {
				return frames
			}
			frames++
		default: // 0x3B, the trailer, or bytes that are no block
			return frames
		}
	}
	return frames
}

// DecodeDataURI reads "data:image/png;base64,...." as Discord's API sends
// images, refusing more than max decoded bytes. The declared type is not
// trusted: callers Sniff the bytes.
func DecodeDataURI(s string, max int) ([]byte, error) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return nil, ErrDataURI
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, ErrDataURI
	}
	if base64.StdEncoding.DecodedLen(len(data)) > max+3 {
		return nil, ErrTooLarge
	}
	out, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		out, err = base64.RawStdEncoding.DecodeString(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrDataURI, err)
		}
	}
	if len(out) > max {
		return nil, ErrTooLarge
	}
	return out, nil
}
