package homeserver

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"hearth/snowflake"
	"hearth/storage"
)

// Badges are bits of a user's flags (Discord's public_flags): Discord's
// own bit where Discord has that badge, else a high bit Discord does not
// use (spec/client-api.md, "Badges"). They are granted and revoked by this
// homeserver's administrators, and a user's badges travel with the user to
// other homeservers, which show them as this homeserver's (never as their
// own): a remote user's badge bits are kept apart from the public_flags
// a receiver shows (User.Discord).
const (
	FlagStaff          int64 = 1 << 0
	FlagPartner        int64 = 1 << 1
	FlagBugHunter      int64 = 1 << 3
	FlagEarlySupporter int64 = 1 << 9
	// FlagContributor, FlagInstanceAdmin and FlagBridged are Hearth's.
	FlagContributor   int64 = 1 << 48
	FlagInstanceAdmin int64 = 1 << 49
	FlagBridged       int64 = 1 << 52
)

// BadgeFlags is every badge bit; the rest of a remote user's flags are not
// taken from their server.
const BadgeFlags = FlagStaff | FlagPartner | FlagBugHunter | FlagEarlySupporter | FlagContributor | FlagInstanceAdmin | FlagBridged

// BadgeKind is one badge: its name on the command line and the admin
// route, its bit, and how profiles show it.
type BadgeKind struct {
	// Name is what an administrator names it by.
	Name string
	Flag int64
	// ID is the profile badge's id (Discord's where it has the badge).
	ID string
	// Description is a format of one %s, the homeserver that granted it.
	Description string
}

// BadgeKinds lists the badges in the order profiles show them.
var BadgeKinds = []BadgeKind{
	{"staff", FlagStaff, "staff", "Staff of %s"},
	{"partner", FlagPartner, "partner", "Partner of %s"},
	{"instance-admin", FlagInstanceAdmin, "hearth_instance_admin", "Administrator of %s"},
	{"contributor", FlagContributor, "hearth_contributor", "Contributor to %s"},
	{"bug-hunter", FlagBugHunter, "bug_hunter_level_1", "Bug hunter of %s"},
	{"early-adopter", FlagEarlySupporter, "early_supporter", "Early adopter of %s"},
	{"bridged", FlagBridged, "hearth_bridged", "Bridged to %s"},
}

// badgeKind finds a badge by name.
func badgeKind(name string) (BadgeKind, bool) {
	name = strings.ToLower(strings.TrimSpace(name))
	for _, b := range BadgeKinds {
		if b.Name == name || b.ID == name {
			return b, true
		}
	}
	return BadgeKind{}, false
}

// BadgeNames lists the badge names, for usage texts.
func BadgeNames() string {
	names := make([]string, len(BadgeKinds))
	for i, b := range BadgeKinds {
		names[i] = b.Name
	}
	return strings.Join(names, ", ")
}

// ProfileBadge is a badge of Discord's profile object.
type ProfileBadge struct {
	ID          string `json:"id"`
	Description string `json:"description"`
	// Icon names the badge's image; Hearth serves none (spec/client-api.md).
	Icon string  `json:"icon"`
	Link *string `json:"link,omitempty"`
}

// profileBadges renders flags as the badges of a user of server.
func profileBadges(flags int64, server string) []ProfileBadge {
	out := []ProfileBadge{}
	for _, b := range BadgeKinds {
		if flags&b.Flag != 0 {
			out = append(out, ProfileBadge{ID: b.ID, Description: fmt.Sprintf(b.Description, server), Icon: "hearth-" + b.Name})
		}
	}
	return out
}

// GrantBadge gives a local account a badge.
func (a *Admin) GrantBadge(ctx context.Context, username, badge string) (User, error) {
	u, err := a.localUser(ctx, username)
	if err != nil {
		return User{}, err
	}
	return a.SetBadge(ctx, u.ID, badge, true)
}

// RevokeBadge takes a badge from a local account.
func (a *Admin) RevokeBadge(ctx context.Context, username, badge string) (User, error) {
	u, err := a.localUser(ctx, username)
	if err != nil {
		return User{}, err
	}
	return a.SetBadge(ctx, u.ID, badge, false)
}

// SetBadge grants (on) or revokes a badge of this homeserver's user
// userID and tells the user's sessions (USER_UPDATE). A remote user's
// badges are their own server's to give.
func (a *Admin) SetBadge(ctx context.Context, userID snowflake.ID, badge string, on bool) (User, error) {
	b, ok := badgeKind(badge)
	if !ok {
		return User{}, Invalid("badge", "BASE_TYPE_CHOICES", "Value must be one of "+BadgeNames()+".")
	}
	var u storage.User
	err := a.h.store.Update(ctx, func(tx storage.Tx) error {
		if err := tx.LockUser(ctx, userID); err != nil {
			return err
		}
		cur, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if cur.Origin != "" {
			return fmt.Errorf("%d is a user of %s: %w", userID, cur.Origin, ErrUnknownUser)
		}
		if on {
			cur.Flags |= b.Flag
		} else {
			cur.Flags &^= b.Flag
		}
		u = cur
		return tx.UpdateUser(ctx, cur)
	})
	if errors.Is(err, storage.ErrNotFound) || errors.Is(err, ErrUnknownUser) {
		return User{}, fmt.Errorf("badge of %d: %w", userID, ErrUnknownUser)
	}
	if err != nil {
		return User{}, storeErr("badge", err)
	}
	a.h.cache.userChanged(u.ID)
	a.h.userUpdated(u)
	a.h.log.Info("badge changed", "user_id", u.ID, "badge", b.Name, "granted", on, "by", a.by)
	return userFrom(u), nil
}

// Badges renders a user's badges as their profile shows them.
func (h *Homeserver) Badges(u User) []ProfileBadge {
	server := h.cfg.ServerName
	if u.Origin != "" {
		server = u.Origin
	}
	return profileBadges(u.Flags, server)
}
