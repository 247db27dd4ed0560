package media

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"
)

// SanitiseFilename keeps a file's base name only, without control
// characters or characters that mean something in paths or headers, at
// most 255 bytes; an empty result is "file".
func SanitiseFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base("/" + name)
	var b strings.Builder
	for _, r := range name {
		switch {
		case r == utf8.RuneError, unicode.IsControl(r), strings.ContainsRune(`/\:*?"<>|;%`, r):
			b.WriteRune('_')
		case unicode.IsSpace(r):
			b.WriteRune('_')
		default:
			b.WriteRune(r)
		}
	}
	out := strings.Trim(b.String(), ". _")
	for len(out) > 255 {
		_, size := utf8.DecodeLastRuneInString(out)
		out = out[:len(out)-size]
	}
	if out == "" {
		return "file"
	}
	return out
}
