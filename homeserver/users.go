package homeserver

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/snowflake"
	"hearth/storage"
)

// User is an account as the domain shows it: never its password hash.
type User struct {
	ID          snowflake.ID
	Username    string
	GlobalName  string
	Avatar      string
	Banner      string
	Bio         string
	Pronouns    string
	AccentColor *int
	Bot         bool
	Flags       int64
	CreatedAt   time.Time
	// Origin is the homeserver a remote user belongs to; empty when local.
	Origin string
}

func userFrom(u storage.User) User {
	return User{
		ID: u.ID, Username: u.Username, GlobalName: u.GlobalName, Avatar: u.Avatar, Banner: u.Banner, Bio: u.Bio, Pronouns: u.Pronouns,
		AccentColor: u.AccentColor, Bot: u.Bot, Flags: u.Flags, CreatedAt: u.CreatedAt, Origin: u.Origin,
	}
}

// User returns a user by ID; ErrUnknownUser when there is none, or when
// the ID is a webhook's.
func (h *Homeserver) User(ctx context.Context, id snowflake.ID) (User, error) {
	u, err := h.lookupUser(ctx, id)
	if err != nil {
		return User{}, err
	}
	return userFrom(u), nil
}

// lookupUser reads a user that people may look up, befriend or message:
// ErrUnknownUser when there is none, and for the row that authors a
// webhook's messages, which is nobody (Discord answers 10013 Unknown User
// for a webhook's ID, and so does Hearth).
func (h *Homeserver) lookupUser(ctx context.Context, id snowflake.ID) (storage.User, error) {
	u, err := h.store.UserByID(ctx, id)
	if errors.Is(err, storage.ErrNotFound) {
		return u, fmt.Errorf("user %d: %w", id, ErrUnknownUser)
	}
	if err != nil {
		return u, storeErr("get user", err)
	}
	if h.isWebhookUser(ctx, u) {
		return storage.User{}, fmt.Errorf("user %d is a webhook: %w", id, ErrUnknownUser)
	}
	return u, nil
}

// isWebhookUser reports whether a user row is a webhook's (see
// webhooks.go): a local bot named webhook-<its id> with no application (a
// bot renamed so still has its application).
func (h *Homeserver) isWebhookUser(ctx context.Context, u storage.User) bool {
	if !u.Bot || u.Origin != "" || u.Username != webhookUsername(u.ID) {
		return false
	}
	_, err := h.store.Application(ctx, u.ID)
	return errors.Is(err, storage.ErrNotFound)
}

// Limits on account fields, as Discord's where it has one.
const (
	UsernameMin   = 2
	UsernameMax   = 32
	PasswordMin   = 8
	PasswordMax   = 256
	GlobalNameMax = 32
	BioMax        = 190
	PronounsMax   = 40
)

// reservedNames cannot be registered: they would read as mentions or as the
// system.
var reservedNames = map[string]bool{"everyone": true, "here": true, "system": true, "hearth": true}

// validateUsername checks Hearth's username rules: 2 to 32 of ASCII letters,
// digits, '_', '.' and '-', not starting or ending with '.', no "..".
// '@' and ':' are kept out because "name@server" addresses remote users.
func validateUsername(v *ValidationError, field, name string) {
	n := utf8.RuneCountInString(name)
	if n < UsernameMin || n > UsernameMax {
		v.Add(field, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", UsernameMin, UsernameMax))
		return
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			v.Add(field, "USERNAME_INVALID_CHARACTERS", "Username can only contain letters, numbers, underscores, periods and dashes.")
			return
		}
	}
	if strings.Contains(name, "..") || strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".") {
		v.Add(field, "USERNAME_INVALID_CHARACTERS", "Username cannot start or end with a period or contain two periods in a row.")
		return
	}
	if reservedNames[strings.ToLower(name)] || strings.HasPrefix(strings.ToLower(name), deletedPrefix) {
		v.Add(field, "USERNAME_INVALID_CONTAINS", "Username is reserved.")
	}
}

func validatePassword(v *ValidationError, field, pw string) {
	n := utf8.RuneCountInString(pw)
	if n < PasswordMin || n > PasswordMax {
		v.Add(field, "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", PasswordMin, PasswordMax))
	}
}

func errUsernameTaken(field string) error {
	return Invalid(field, "USERNAME_ALREADY_TAKEN", "Username is unavailable. Try another.")
}
