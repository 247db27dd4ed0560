package homeserver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"

	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// access is what the domain knows about one user acting in one guild: the
// guild, its roles, the user's membership and guild-level permissions. It is
// loaded inside the transaction of the action it authorises.
type access struct {
	guild  storage.Guild
	roles  []storage.Role
	byID   map[snowflake.ID]storage.Role
	member storage.Member
	userID snowflake.ID
	base   permission.Set
	input  permission.Input
	// mirror: the guild is a bridge's mirror and the user is not its
	// owner, so the permissions Discord keeps (mirrorKept) are refused.
	mirror bool
}

// mirrorKept are the permissions over what Discord decides for a mirror
// guild: roles, channels, the guild's settings, emoji, kicks, bans,
// timeouts and webhooks.
const mirrorKept = permission.ManageRoles | permission.ManageChannels | permission.ManageGuild |
	permission.ManageGuildExpressions | permission.KickMembers | permission.BanMembers |
	permission.ModerateMembers | permission.ManageWebhooks

// loadAccess loads a member's view of a guild. A guild that does not exist
// and one the user is not a member of are both ErrUnknownGuild, so that a
// non-member learns nothing.
func (h *Homeserver) loadAccess(ctx context.Context, r storage.Reader, guildID, userID snowflake.ID) (*access, error) {
	g, err := r.GuildByID(ctx, guildID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("guild %d: %w", guildID, ErrUnknownGuild)
	}
	if err != nil {
		return nil, storeErr("load guild", err)
	}
	m, err := r.Member(ctx, guildID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("guild %d: not a member: %w", guildID, ErrUnknownGuild)
	}
	if err != nil {
		return nil, storeErr("load member", err)
	}
	roles, err := r.GuildRoles(ctx, guildID)
	if err != nil {
		return nil, storeErr("load roles", err)
	}
	a := &access{guild: g, roles: roles, byID: make(map[snowflake.ID]storage.Role, len(roles)), member: m, userID: userID,
		mirror: h.cfg.Mirrors && g.Origin == "" && g.OwnerID != userID}
	for _, role := range roles {
		a.byID[role.ID] = role
	}
	a.input = h.permInput(g, a.byID, m)
	if a.mirror {
		// A local user of a bridge is a Discord user's puppet: Discord
		// already decided what they may do there, and the mirror's roles
		// and overwrites say what Hearth people may do (spec/bridge.md
		// "Authority"), so a puppet counts as holding Administrator; the
		// permissions Discord keeps stay refused (require, requireIn).
		u, err := r.UserByID(ctx, userID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return nil, storeErr("load user", err)
		}
		if err == nil && u.Origin == "" {
			a.input.Roles = append(a.input.Roles, permission.Administrator)
		}
	}
	a.base = permission.Base(a.input)
	return a, nil
}

// permInput gathers what the permission computation needs about a member.
func (h *Homeserver) permInput(g storage.Guild, roles map[snowflake.ID]storage.Role, m storage.Member) permission.Input {
	in := permission.Input{
		GuildID: uint64(g.ID), OwnerID: uint64(g.OwnerID), UserID: uint64(m.UserID),
		Everyone: permission.Set(roles[g.ID].Permissions), TimedOutUntil: m.CommunicationDisabledUntil, Now: h.now(),
	}
	for _, id := range m.Roles {
		if r, ok := roles[id]; ok {
			in.Roles = append(in.Roles, permission.Set(r.Permissions))
			in.RoleIDs = append(in.RoleIDs, uint64(id))
		}
	}
	return in
}

func (a *access) isOwner() bool { return a.guild.OwnerID == a.userID }

// require checks guild-level permissions.
func (a *access) require(p permission.Set) error {
	if a.mirror && p&mirrorKept != 0 {
		return fmt.Errorf("guild %d needs %d: %w", a.guild.ID, p, ErrMirrorAuthority)
	}
	if !a.base.Has(p) {
		return fmt.Errorf("guild %d needs %d: %w", a.guild.ID, p, ErrMissingPermission)
	}
	return nil
}

// in computes the user's permissions in a channel.
func (a *access) in(c storage.Channel) permission.Set {
	return permission.Channel(a.input, overwrites(c))
}

func overwrites(c storage.Channel) []permission.Overwrite {
	out := make([]permission.Overwrite, len(c.Overwrites))
	for i, o := range c.Overwrites {
		out[i] = permission.Overwrite{ID: uint64(o.TargetID), Type: o.Type, Allow: permission.Set(o.Allow), Deny: permission.Set(o.Deny)}
	}
	return out
}

// requireIn checks channel permissions: without VIEW_CHANNEL the channel is
// hidden (ErrMissingAccess); without p it is ErrMissingPermission.
func (a *access) requireIn(c storage.Channel, p permission.Set) error {
	perms := a.in(c)
	if !perms.Has(permission.ViewChannel) {
		return fmt.Errorf("channel %d: %w", c.ID, ErrMissingAccess)
	}
	if a.mirror && p&mirrorKept != 0 {
		return fmt.Errorf("channel %d needs %d: %w", c.ID, p, ErrMirrorAuthority)
	}
	if !perms.Has(p) {
		return fmt.Errorf("channel %d needs %d: %w", c.ID, p, ErrMissingPermission)
	}
	return nil
}

// top is the position of the user's highest role; the owner outranks all.
func (a *access) top() int {
	if a.isOwner() {
		return math.MaxInt
	}
	return topOf(a.member, a.byID)
}

func topOf(m storage.Member, roles map[snowflake.ID]storage.Role) int {
	top := 0
	for _, id := range m.Roles {
		if r, ok := roles[id]; ok && r.Position > top {
			top = r.Position
		}
	}
	return top
}

// outranks reports whether the user may act on a member: the owner on
// anyone but themselves being demoted by others; anyone else only on members
// whose highest role is strictly lower, and never on the owner.
func (a *access) outranks(target storage.Member) bool {
	if target.UserID == a.guild.OwnerID {
		return false
	}
	if a.isOwner() {
		return true
	}
	return topOf(target, a.byID) < a.top()
}

// canGrant reports whether the user holds every bit of p, which is needed to
// give p to a role or an overwrite ("nobody grants a permission they lack").
func (a *access) canGrant(p permission.Set) bool {
	return a.isOwner() || a.base.Has(permission.Administrator) || a.base.Has(p)
}

// accessByChannel loads the guild access of the user through a channel ID:
// an unknown channel and a channel in a guild the user is not in are both
// ErrUnknownChannel.
func (h *Homeserver) accessByChannel(ctx context.Context, r storage.Reader, channelID, userID snowflake.ID) (*access, storage.Channel, error) {
	c, err := r.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && c.GuildID == 0) {
		return nil, c, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return nil, c, storeErr("load channel", err)
	}
	if storage.IsThread(c.Type) {
		// Threads take their permissions from their parent (see
		// threadPerms) and have their own routes; none of the guild
		// channel actions that come through here apply to them.
		return nil, c, Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Not available for threads.")
	}
	a, err := h.loadAccess(ctx, r, c.GuildID, userID)
	if errors.Is(err, ErrUnknownGuild) {
		return nil, c, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return nil, c, err
	}
	if !a.in(c).Has(permission.ViewChannel) {
		return a, c, fmt.Errorf("channel %d: %w", channelID, ErrMissingAccess)
	}
	return a, c, nil
}

type reasonKey struct{}

// WithReason attaches an audit log reason (Discord's X-Audit-Log-Reason) to
// the actions done with ctx.
func WithReason(ctx context.Context, reason string) context.Context {
	if reason == "" {
		return ctx
	}
	if dec, err := url.QueryUnescape(reason); err == nil {
		reason = dec
	}
	return context.WithValue(ctx, reasonKey{}, clip(strings.TrimSpace(reason), 512))
}

func reasonOf(ctx context.Context) string {
	r, _ := ctx.Value(reasonKey{}).(string)
	return r
}
