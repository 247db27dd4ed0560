package homeserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"hearth/homeserver/media"
	"hearth/homeserver/password"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/blobs"
)

// Optional is a field of a partial update: Set says whether the request
// named it at all, so that "absent" and "null" differ as in Discord's PATCH.
type Optional[T any] struct {
	Set   bool
	Null  bool
	Value T
}

// ptr is the value when set, nil when not: the wire's "absent means leave
// it" form.
func (o Optional[T]) ptr() *T {
	if !o.Set {
		return nil
	}
	v := o.Value
	return &v
}

// ProfileUpdate is a PATCH of one's own account. Username and NewPassword
// need the current Password.
type ProfileUpdate struct {
	Username    Optional[string]
	GlobalName  Optional[string]
	Avatar      Optional[string] // a data URI
	Bio         Optional[string]
	Banner      Optional[string] // a data URI
	Pronouns    Optional[string]
	AccentColor Optional[int]
	Password    string
	NewPassword Optional[string]
}

// AvatarMax is the largest avatar image accepted, in bytes.
const AvatarMax = 10 << 20

// UpdateProfile changes the caller's account. A password change ends every
// other session of the user and returns the token to keep using (the
// current one); otherwise the token is "".
func (h *Homeserver) UpdateProfile(ctx context.Context, p Principal, up ProfileUpdate, currentToken string) (User, string, error) {
	stored, err := h.store.UserByID(ctx, p.User.ID)
	if err != nil {
		return User{}, "", storeErr("update profile", err)
	}
	u := stored
	v := &ValidationError{}
	needsPassword := false
	if up.Username.Set {
		if up.Username.Null {
			v.Add("username", "BASE_TYPE_REQUIRED", "This field is required")
		} else if up.Username.Value != u.Username {
			validateUsername(v, "username", up.Username.Value)
			u.Username = up.Username.Value
			needsPassword = !u.Bot
		}
	}
	if up.GlobalName.Set {
		name := up.GlobalName.Value
		if n := utf8.RuneCountInString(name); !up.GlobalName.Null && (n < 1 || n > GlobalNameMax) {
			v.Add("global_name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between 1 and %d in length.", GlobalNameMax))
		}
		u.GlobalName = name
	}
	if up.Bio.Set {
		if utf8.RuneCountInString(up.Bio.Value) > BioMax {
			v.Add("bio", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", BioMax))
		}
		u.Bio = up.Bio.Value
	}
	if up.Pronouns.Set {
		if utf8.RuneCountInString(up.Pronouns.Value) > PronounsMax {
			v.Add("pronouns", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", PronounsMax))
		}
		u.Pronouns = up.Pronouns.Value
	}
	if up.AccentColor.Set {
		if up.AccentColor.Null {
			u.AccentColor = nil
		} else if c := up.AccentColor.Value; c < 0 || c > 0xFFFFFF {
			v.Add("accent_color", "NUMBER_TYPE_MAX", "Must be between 0 and 16777215.")
		} else {
			u.AccentColor = &c
		}
	}
	if up.NewPassword.Set {
		validatePassword(v, "new_password", up.NewPassword.Value)
		needsPassword = true
	}
	var avatar []byte
	if up.Avatar.Set {
		if up.Avatar.Null || up.Avatar.Value == "" {
			u.Avatar = ""
		} else {
			avatar, u.Avatar, err = decodeImage(up.Avatar.Value, AvatarMax)
			if err != nil {
				v.Add("avatar", "AVATAR_INVALID", err.Error())
			}
		}
	}
	var banner []byte
	if up.Banner.Set {
		if up.Banner.Null || up.Banner.Value == "" {
			u.Banner = ""
		} else {
			banner, u.Banner, err = decodeImage(up.Banner.Value, AvatarMax)
			if err != nil {
				v.Add("banner", "BANNER_INVALID", err.Error())
			}
		}
	}
	if err := v.Err(); err != nil {
		return User{}, "", err
	}
	if needsPassword {
		if stored.PasswordHash == "" {
			return User{}, "", Invalid("password", "PASSWORD_DOES_NOT_MATCH", "Password does not match.")
		}
		var ok bool
		var err error
		if werr := h.hash(ctx, func() { ok, err = password.Verify(up.Password, stored.PasswordHash) }); werr != nil {
			return User{}, "", werr
		}
		if err != nil {
			return User{}, "", fmt.Errorf("update profile: %w", err)
		}
		if !ok {
			return User{}, "", Invalid("password", "PASSWORD_DOES_NOT_MATCH", "Password does not match.")
		}
	}
	if up.NewPassword.Set {
		if werr := h.hash(ctx, func() { u.PasswordHash, err = password.Hash(up.NewPassword.Value, h.cfg.Password) }); werr != nil {
			return User{}, "", werr
		}
		if err != nil {
			return User{}, "", fmt.Errorf("update profile: %w", err)
		}
	}
	if avatar != nil {
		if _, _, err := h.cfg.Blobs.Put(ctx, bytes.NewReader(avatar), AvatarMax); err != nil {
			return User{}, "", storeErr("store avatar", err)
		}
	}
	if banner != nil {
		if _, _, err := h.cfg.Blobs.Put(ctx, bytes.NewReader(banner), AvatarMax); err != nil {
			return User{}, "", storeErr("store banner", err)
		}
	}
	var ended []snowflake.ID
	err = h.update(ctx, func(tx storage.Tx, _ *events) error {
		if err := tx.UpdateUser(ctx, u); err != nil {
			return err
		}
		if up.NewPassword.Set {
			ids, err := tx.DeleteUserSessions(ctx, u.ID, p.Session)
			ended = ids
			if err != nil {
				return err
			}
			return passwordChanged(ctx, tx, u.ID)
		}
		return nil
	})
	if errors.Is(err, storage.ErrConflict) {
		return User{}, "", errUsernameTaken("username")
	}
	if err != nil {
		return User{}, "", storeErr("update profile", err)
	}
	for _, id := range ended {
		h.sessions.Remove(id)
	}
	h.sessionsEnded(u.ID, ended)
	h.cache.userChanged(u.ID)
	h.userUpdated(u)
	if up.NewPassword.Set {
		h.log.Info("password changed; other sessions ended", "user_id", u.ID, "sessions_ended", len(ended))
		return userFrom(u), currentToken, nil
	}
	return userFrom(u), "", nil
}

// decodeImage checks an image data URI (avatar, icon) and returns its bytes
// and the hash clients put in its URL: the hex SHA-256 of the image, prefixed
// "a_" when it is animated, as Discord marks animated images.
func decodeImage(uri string, max int) ([]byte, string, error) {
	b, err := media.DecodeDataURI(uri, max)
	if errors.Is(err, media.ErrTooLarge) {
		return nil, "", problem(fmt.Sprintf("Image must be at most %d KiB.", max>>10))
	}
	if err != nil {
		return nil, "", problem("Invalid image data.")
	}
	img, err := media.Sniff(b)
	if err != nil {
		return nil, "", problem("Invalid image data: must be PNG, JPEG, GIF or WebP.")
	}
	sum := sha256.Sum256(b)
	hash := hex.EncodeToString(sum[:])
	if img.Animated {
		hash = "a_" + hash
	}
	return b, hash, nil
}

// File is a stored file opened for serving.
type File struct {
	io.ReadSeekCloser
	ContentType string
	Size        int64
}

// Avatar opens a user's avatar for serving; hash is as in the user's avatar
// field, and only the current avatar is served.
func (h *Homeserver) Avatar(ctx context.Context, userID snowflake.ID, hash string) (File, error) {
	u, err := h.store.UserByID(ctx, userID)
	if err == nil && u.Bot && hash != "" && u.Avatar != hash {
		// A webhook's messages keep the avatars they were posted with.
		if f, ok, err := h.webhookAvatarFile(ctx, userID, hash); ok || err != nil {
			return f, err
		}
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Avatar == "" || u.Avatar != hash)) {
		return File{}, fmt.Errorf("avatar: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, storeErr("avatar", err)
	}
	f, err := h.openImage(ctx, trimAnimated(hash))
	if errors.Is(err, ErrNotFound) && u.Origin != "" {
		return h.remoteAvatar(ctx, u)
	}
	return f, err
}

// Banner opens a user's profile banner for serving, as Avatar.
func (h *Homeserver) Banner(ctx context.Context, userID snowflake.ID, hash string) (File, error) {
	u, err := h.store.UserByID(ctx, userID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (u.Banner == "" || u.Banner != hash)) {
		return File{}, fmt.Errorf("banner: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, storeErr("banner", err)
	}
	return h.openImage(ctx, trimAnimated(hash))
}

func trimAnimated(hash string) string { return strings.TrimPrefix(hash, "a_") }

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }

// openImage opens a stored image blob, with its type read from its bytes.
func (h *Homeserver) openImage(ctx context.Context, hash string) (File, error) {
	f, err := h.cfg.Blobs.Open(ctx, hash)
	if errors.Is(err, blobs.ErrNotFound) {
		return File{}, fmt.Errorf("image %s: %w", hash, ErrNotFound)
	}
	if err != nil {
		return File{}, storeErr("open image", err)
	}
	head := make([]byte, 64<<10)
	n, _ := io.ReadFull(f, head)
	img, err := media.Sniff(head[:n])
	ct := img.ContentType
	if err != nil {
		// Only images are stored under these routes, but a truncated read
		// must never be served as something a browser would render.
		ct = "application/octet-stream"
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return File{}, fmt.Errorf("open image: %w", err)
	}
	return File{ReadSeekCloser: f, ContentType: ct, Size: f.Size()}, nil
}

// AvatarURL is where this server serves a user's current avatar (a remote
// user's too: it copies it from their server when first asked), or "" when
// they have none.
func (h *Homeserver) AvatarURL(u User) string {
	if u.Avatar == "" {
		return ""
	}
	return fmt.Sprintf("%s/avatars/%d/%s.png", h.cfg.PublicURL, u.ID, u.Avatar)
}
