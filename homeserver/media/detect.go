package media

import (
	"bytes"
	"unicode/utf8"
)

// Detect names the type of a file from its first bytes (512 are enough),
// never from its name or a declared type. It knows the images Sniff knows,
// common audio, video and document formats, and plain text; anything else,
// including anything that looks like HTML, XML or SVG, is
// application/octet-stream or text/plain, so that no upload can be served as
// a document a browser would run.
func Detect(head []byte) string {
	for _, f := range formats {
		if f.magic(head) {
			return f.contentType
		}
	}
	for _, m := range magics {
		if len(head) >= m.offset+len(m.prefix) && bytes.Equal(head[m.offset:m.offset+len(m.prefix)], m.prefix) {
			return m.contentType
		}
	}
	if looksLikeText(head) {
		return "text/plain; charset=utf-8"
	}
	return "application/octet-stream"
}

type magic struct {
	offset      int
	prefix      []byte
	contentType string
}

var magics = []magic{
	{0, []byte("%PDF-"), "application/pdf"},
	{0, []byte("PK\x03\x04"), "application/zip"},
	{0, []byte("\x1f\x8b"), "application/gzip"},
	{4, []byte("ftypqt"), "video/quicktime"},
	{4, []byte("ftyp"), "video/mp4"},
	{0, []byte{0x1A, 0x45, 0xDF, 0xA3}, "video/webm"},
	{0, []byte("OggS"), "audio/ogg"},
	{0, []byte("ID3"), "audio/mpeg"},
	{0, []byte{0xFF, 0xFB}, "audio/mpeg"},
	{0, []byte("fLaC"), "audio/flac"},
	{0, []byte("RIFF"), "application/octet-stream"}, // WAV/AVI: not worth telling apart
}

// looksLikeText accepts valid UTF-8 without NULs or most control bytes.
func looksLikeText(b []byte) bool {
	if len(b) == 0 {
		return true
	}
	// A cut in the middle of a rune at the end is not a reason to refuse.
	for i := 0; i < 3 && len(b) > 0 && !utf8.Valid(b); i++ {
		b = b[:len(b)-1]
	}
	if !utf8.Valid(b) {
		return false
	}
	for _, c := range b {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return false
		}
	}
	return true
}

// Inline reports whether a detected type may be shown in a browser rather
// than downloaded: images, audio, video and plain text (served with nosniff).
func Inline(contentType string) bool {
	for _, p := range []string{"image/", "audio/", "video/", "text/plain"} {
		if len(contentType) >= len(p) && contentType[:len(p)] == p {
			return true
		}
	}
	return false
}
