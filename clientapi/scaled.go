package clientapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"mime"
	"net/http"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"hearth/homeserver"
	"hearth/homeserver/media"
)

// Scaled images, as Discord's media proxy serves them: a file route with
// ?width= and/or ?height= (or ?size=, which Discord's CDN takes for
// avatars, icons and emoji, as both) answers the image fitted inside that
// box, aspect kept, never enlarged (spec/client-api.md, "Files"). Values
// are whole numbers from 1 to 4096; anything else is a 50035 Invalid Form
// Body naming the field, so that a client bug shows instead of silently
// costing full-size downloads. Files that are not PNG, JPEG or still WebP
// (GIFs, video, SVG-looking text, documents) are served as they are.

// scaleBox reads the size a request asks for; ok is false when it asks
// for none.
func scaleBox(c *gin.Context) (box media.Box, ok bool, err error) {
	v := &homeserver.ValidationError{}
	read := func(field string) int {
		s := c.Query(field)
		if s == "" {
			return 0
		}
		n, perr := strconv.Atoi(s)
		switch {
		case perr != nil:
			v.Add(field, "NUMBER_TYPE_COERCE", "Value \""+truncate(s, 32)+"\" is not int.")
		case n < 1:
			v.Add(field, "NUMBER_TYPE_MIN", "int value should be greater than or equal to 1.")
		case n > media.MaxDimension:
			v.Add(field, "NUMBER_TYPE_MAX", "int value should be less than or equal to "+strconv.Itoa(media.MaxDimension)+".")
		default:
			return n
		}
		return 0
	}
	size := read("size")
	box = media.Box{Width: read("width"), Height: read("height")}
	if err := v.Err(); err != nil {
		return media.Box{}, false, err
	}
	if box.Width == 0 && box.Height == 0 && size > 0 {
		box = media.Box{Width: size, Height: size}
	}
	return box, box.Width > 0 || box.Height > 0, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// contentHash names a stored file by its content: the blob store keeps
// files under their SHA-256, so the name of the file it opened is the hash
// (no read needed). Anything else is hashed as it is read.
func contentHash(f homeserver.File) (string, error) {
	if named, ok := f.ReadSeekCloser.(interface{ Name() string }); ok {
		if h := filepath.Base(named.Name()); isHex64(h) {
			return h, nil
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func isHex64(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// serveScaled answers the request with a scaled copy of f when it asks for
// one and one can be made; it reports whether it answered. headers sets
// the route's own headers (type, cache, disposition) on an answer.
func (a *API) serveScaled(c *gin.Context, f homeserver.File, headers func(h http.Header, contentType string)) bool {
	box, ok, err := scaleBox(c)
	if err != nil {
		a.fail(c, err)
		return true
	}
	if !ok || a.scaler == nil || !media.Scalable(f.ContentType) {
		return false
	}
	hash, err := contentHash(f)
	if err != nil {
		a.fail(c, err)
		return true
	}
	cp, err := a.scaler.Scale(c.Request.Context(), hash, f, box)
	switch {
	case errors.Is(err, media.ErrBusy):
		c.Header("Retry-After", "1")
		c.AbortWithStatusJSON(http.StatusServiceUnavailable, apiError{Code: 0, Message: "503: too many images being resized; try again"})
		return true
	case err != nil:
		if c.Request.Context().Err() != nil {
			c.Abort() // the client went away
			return true
		}
		a.fail(c, err)
		return true
	case cp == nil:
		// No downscale needed, or the source cannot be scaled: the
		// original answers. f was read: rewind it.
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			a.fail(c, err)
			return true
		}
		return false
	}
	defer cp.Close()
	h := c.Writer.Header()
	headers(h, cp.ContentType)
	h.Set("ETag", cp.ETag)
	http.ServeContent(c.Writer, c.Request, "", time.Time{}, cp)
	return true
}

// scaledName gives a downloaded copy the extension of its type.
func scaledName(name, contentType string) string {
	ext := ".jpg"
	if contentType == "image/png" {
		ext = ".png"
	}
	return strings.TrimSuffix(path.Base(name), path.Ext(name)) + ext
}

// attachmentDisposition is the Content-Disposition of an attachment.
func attachmentDisposition(contentType, name string) string {
	disposition := "attachment"
	if media.Inline(contentType) {
		disposition = "inline"
	}
	return mime.FormatMediaType(disposition, map[string]string{"filename": path.Base(name)})
}
