package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Member limits.
const (
	NickMax    = 32
	MaxTimeout = 28 * 24 * time.Hour
	MembersMax = 1000
)

// memberOf loads a member with its user, as a Discord member object.
func (h *Homeserver) memberOf(ctx context.Context, r storage.Reader, guildID, userID snowflake.ID) (storage.Member, storage.User, error) {
	m, err := r.Member(ctx, guildID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return m, storage.User{}, fmt.Errorf("member %d: %w", userID, ErrUnknownMember)
	}
	if err != nil {
		return m, storage.User{}, err
	}
	u, err := r.UserByID(ctx, userID)
	if err != nil {
		return m, u, err
	}
	return m, u, nil
}

// Members lists members by user ID after after; limit 1 to 1000.
func (h *Homeserver) Members(ctx context.Context, p Principal, guildID, after snowflake.ID, limit int) ([]discord.Member, error) {
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return nil, err
	}
	if err := h.requireMembersIntent(ctx, p); err != nil {
		return nil, err
	}
	if limit < 1 || limit > MembersMax {
		return nil, Invalid("limit", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 1 and %d.", MembersMax))
	}
	ms, err := h.store.Members(ctx, guildID, after, limit)
	if err != nil {
		return nil, storeErr("members", err)
	}
	out := make([]discord.Member, 0, len(ms))
	for _, m := range ms {
		u, err := h.store.UserByID(ctx, m.UserID)
		if err != nil {
			return nil, storeErr("members", err)
		}
		out = append(out, discordMember(m, u))
	}
	return out, nil
}

// Member returns one member.
func (h *Homeserver) Member(ctx context.Context, p Principal, guildID, userID snowflake.ID) (discord.Member, error) {
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return discord.Member{}, err
	}
	m, u, err := h.memberOf(ctx, h.store, guildID, userID)
	if err != nil {
		return discord.Member{}, domainErr("member", err)
	}
	return discordMember(m, u), nil
}

// MemberUpdate is a PATCH of a member.
type MemberUpdate struct {
	Nick  Optional[string]
	Roles Optional[[]snowflake.ID]
	// CommunicationDisabledUntil sets (or, null, lifts) a timeout.
	CommunicationDisabledUntil Optional[time.Time]
	Mute                       Optional[bool]
	Deaf                       Optional[bool]
	// AddRole and RemoveRole change one role against the member's roles
	// as they are in the transaction (not as a caller read them), so that
	// concurrent single-role changes do not undo each other.
	AddRole    snowflake.ID
	RemoveRole snowflake.ID
}

// UpdateMember changes a member: the nick (MANAGE_NICKNAMES, or
// CHANGE_NICKNAME for oneself), roles (MANAGE_ROLES, each added or removed
// role below the caller's highest), a timeout (MODERATE_MEMBERS, on members
// the caller outranks and who are not administrators), mute and deafen.
func (h *Homeserver) UpdateMember(ctx context.Context, p Principal, guildID, userID snowflake.ID, up MemberUpdate) (discord.Member, error) {
	return do(ctx, h, write[discord.Member]{op: "update member", guild: guildID,
		here: func(ctx context.Context) (discord.Member, error) {
			return h.updateMemberHere(ctx, p, guildID, userID, up)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Member, error) {
			return h.forwardMemberEdit(ctx, p, g, userID, up)
		}})
}

// updateMemberHere carries out UpdateMember on this server's own log.
func (h *Homeserver) updateMemberHere(ctx context.Context, p Principal, guildID, userID snowflake.ID, up MemberUpdate) (discord.Member, error) {
	var out discord.Member
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := tx.LockMember(ctx, guildID, userID); errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("member %d: %w", userID, ErrUnknownMember)
		} else if err != nil {
			return err
		}
		m, u, err := h.memberOf(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		self := userID == p.User.ID
		before := m
		if up.AddRole != 0 || up.RemoveRole != 0 {
			roles := []snowflake.ID{}
			for _, id := range m.Roles {
				if id != up.RemoveRole && id != up.AddRole {
					roles = append(roles, id)
				}
			}
			if up.AddRole != 0 {
				roles = append(roles, up.AddRole)
			}
			up.Roles = Optional[[]snowflake.ID]{Set: true, Value: roles}
		}
		var changes []discord.AuditLogChange
		action := AuditMemberUpdate
		if up.Nick.Set {
			if n := utf8.RuneCountInString(up.Nick.Value); n > NickMax {
				return Invalid("nick", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", NickMax))
			}
			switch {
			case self && a.base.Has(permission.ChangeNickname), a.base.Has(permission.ManageNicknames) && (self || a.outranks(m)):
			default:
				return fmt.Errorf("change nickname: %w", ErrMissingPermission)
			}
			changes = append(changes, change("nick", m.Nick, up.Nick.Value))
			m.Nick = up.Nick.Value
		}
		if up.Roles.Set {
			if err := a.require(permission.ManageRoles); err != nil {
				return err
			}
			next, err := rolesChange(a, m.Roles, up.Roles.Value)
			if err != nil {
				return err
			}
			m.Roles = next
			action = AuditMemberRoleUpdate
		}
		if up.CommunicationDisabledUntil.Set {
			if err := a.require(permission.ModerateMembers); err != nil {
				return err
			}
			until := up.CommunicationDisabledUntil.Value
			if !until.IsZero() && until.After(h.now().Add(MaxTimeout)) {
				return Invalid("communication_disabled_until", "COMMUNICATION_DISABLED_TIMESTAMP_TOO_FAR", "Timeouts can last at most 28 days.")
			}
			if self || !a.outranks(m) || h.isAdmin(a, m) {
				return fmt.Errorf("timeout member: %w", ErrMissingPermission)
			}
			changes = append(changes, change("communication_disabled_until", timeOrNil(m.CommunicationDisabledUntil), timeOrNil(until)))
			m.CommunicationDisabledUntil = until
		}
		if up.Mute.Set || up.Deaf.Set {
			if up.Mute.Set {
				if err := a.require(permission.MuteMembers); err != nil {
					return err
				}
				m.Mute = up.Mute.Value
			}
			if up.Deaf.Set {
				if err := a.require(permission.DeafenMembers); err != nil {
					return err
				}
				m.Deaf = up.Deaf.Value
			}
		}
		if err := tx.UpdateMember(ctx, m); err != nil {
			return err
		}
		out = discordMember(m, u)
		if action == AuditMemberRoleUpdate {
			added, removed := diffIDs(before.Roles, m.Roles)
			changes = append(changes, change("$add", nil, roleRefs(a, added)), change("$remove", nil, roleRefs(a, removed)))
		}
		if err := h.audit(ctx, ev, guildID, p.User.ID, action, userID, changes, nil); err != nil {
			return err
		}
		payload := out
		payload.GuildID = &guildID
		return ev.Append(ctx, guildID, "GUILD_MEMBER_UPDATE", payload)
	})
	return out, domainErr("update member", err)
}

func timeOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC().Format(time.RFC3339)
}

func (h *Homeserver) isAdmin(a *access, m storage.Member) bool {
	if m.UserID == a.guild.OwnerID {
		return true
	}
	return permission.Base(h.permInput(a.guild, a.byID, m)).Has(permission.Administrator)
}

// rolesChange checks a new role list against the old: every role added or
// removed must exist, not be @everyone, and be below the caller's highest.
func rolesChange(a *access, old, next []snowflake.ID) ([]snowflake.ID, error) {
	seen := map[snowflake.ID]bool{}
	var clean []snowflake.ID
	for _, id := range next {
		if seen[id] {
			continue
		}
		seen[id] = true
		if _, ok := a.byID[id]; !ok || id == a.guild.ID {
			return nil, fmt.Errorf("role %d: %w", id, ErrUnknownRole)
		}
		clean = append(clean, id)
	}
	added, removed := diffIDs(old, clean)
	for _, id := range append(added, removed...) {
		r, ok := a.byID[id]
		if ok && r.Position >= a.top() {
			return nil, fmt.Errorf("role %d is not below the caller's highest role: %w", id, ErrMissingPermission)
		}
		if ok && r.Managed {
			// A bot's own role is its alone, as on Discord: given when
			// it is added, gone when it leaves.
			return nil, fmt.Errorf("role %d is managed by an integration: %w", id, ErrMissingPermission)
		}
	}
	return clean, nil
}

func diffIDs(old, next []snowflake.ID) (added, removed []snowflake.ID) {
	in := func(list []snowflake.ID, id snowflake.ID) bool {
		for _, x := range list {
			if x == id {
				return true
			}
		}
		return false
	}
	for _, id := range next {
		if !in(old, id) {
			added = append(added, id)
		}
	}
	for _, id := range old {
		if !in(next, id) {
			removed = append(removed, id)
		}
	}
	return added, removed
}

func roleRefs(a *access, ids []snowflake.ID) []map[string]string {
	out := make([]map[string]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, map[string]string{"id": id.String(), "name": a.byID[id].Name})
	}
	return out
}

// AddMemberRole gives a member one role (PUT .../roles/{role}).
func (h *Homeserver) AddMemberRole(ctx context.Context, p Principal, guildID, userID, roleID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "add member role", guild: guildID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.addMemberRoleHere(ctx, p, guildID, userID, roleID))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardRole(ctx, p, g, wire.ActRoleAdd, userID, roleID))
		}})
}

// addMemberRoleHere carries out AddMemberRole on this server's own log.
func (h *Homeserver) addMemberRoleHere(ctx context.Context, p Principal, guildID, userID, roleID snowflake.ID) error {
	_, err := h.UpdateMember(ctx, p, guildID, userID, MemberUpdate{AddRole: roleID})
	return err
}

// RemoveMemberRole takes one role from a member (DELETE .../roles/{role}).
func (h *Homeserver) RemoveMemberRole(ctx context.Context, p Principal, guildID, userID, roleID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "remove member role", guild: guildID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.removeMemberRoleHere(ctx, p, guildID, userID, roleID))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardRole(ctx, p, g, wire.ActRoleRemove, userID, roleID))
		}})
}

// removeMemberRoleHere carries out RemoveMemberRole on this server's own log.
func (h *Homeserver) removeMemberRoleHere(ctx context.Context, p Principal, guildID, userID, roleID snowflake.ID) error {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return err
	}
	if _, ok := a.byID[roleID]; !ok || roleID == guildID {
		return fmt.Errorf("remove role: %w", ErrUnknownRole)
	}
	_, err = h.UpdateMember(ctx, p, guildID, userID, MemberUpdate{RemoveRole: roleID})
	return err
}

// Kick removes a member (KICK_MEMBERS, on members the caller outranks).
func (h *Homeserver) Kick(ctx context.Context, p Principal, guildID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "kick", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.kickHere(ctx, p, guildID, userID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardMember(ctx, p, g, wire.ActKick, userID, wire.ActData{}))
		}})
}

// kickHere carries out Kick on this server's own log.
func (h *Homeserver) kickHere(ctx context.Context, p Principal, guildID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.KickMembers); err != nil {
			return err
		}
		m, _, err := h.memberOf(ctx, tx, guildID, userID)
		if err != nil {
			return err
		}
		if userID == p.User.ID || !a.outranks(m) {
			return fmt.Errorf("kick member %d: %w", userID, ErrMissingPermission)
		}
		if err := h.removeMember(ctx, tx, ev, guildID, userID); err != nil {
			return err
		}
		return h.audit(ctx, ev, guildID, p.User.ID, AuditMemberKick, userID, nil, nil)
	})
	return domainErr("kick", err)
}

// BanOptions are the extras of a ban.
type BanOptions struct {
	// DeleteMessageSeconds deletes the user's messages of that window
	// (0 to 604800; at most 1,000 messages), keeping them in the history.
	DeleteMessageSeconds int
}

// Ban bans a user (BAN_MEMBERS); a member must be outranked by the caller.
// A user who is not a member can be banned too, to keep them out.
func (h *Homeserver) Ban(ctx context.Context, p Principal, guildID, userID snowflake.ID, o BanOptions) error {
	return doErr(ctx, h, write[none]{op: "ban", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.banHere(ctx, p, guildID, userID, o)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardMember(ctx, p, g, wire.ActBan, userID, wire.ActData{DeleteMessageSeconds: o.DeleteMessageSeconds}))
		}})
}

// banHere carries out Ban on this server's own log.
func (h *Homeserver) banHere(ctx context.Context, p Principal, guildID, userID snowflake.ID, o BanOptions) error {
	if o.DeleteMessageSeconds < 0 || o.DeleteMessageSeconds > 604800 {
		return Invalid("delete_message_seconds", "NUMBER_TYPE_MAX", "Must be between 0 and 604800.")
	}
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.BanMembers); err != nil {
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("ban: %w", ErrUnknownUser)
		}
		if err != nil {
			return err
		}
		if userID == p.User.ID || userID == a.guild.OwnerID {
			return fmt.Errorf("ban %d: %w", userID, ErrMissingPermission)
		}
		m, err := tx.Member(ctx, guildID, userID)
		member := err == nil
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		if member && !a.outranks(m) {
			return fmt.Errorf("ban %d: %w", userID, ErrMissingPermission)
		}
		if err := tx.CreateBan(ctx, storage.Ban{GuildID: guildID, UserID: userID, Reason: reasonOf(ctx), CreatedAt: h.now()}); err != nil {
			return err
		}
		if member {
			if err := h.removeMember(ctx, tx, ev, guildID, userID); err != nil {
				return err
			}
		}
		if o.DeleteMessageSeconds > 0 {
			if err := h.deleteRecent(ctx, tx, ev, guildID, userID, p.User.ID, time.Duration(o.DeleteMessageSeconds)*time.Second); err != nil {
				return err
			}
		}
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditMemberBanAdd, userID, nil,
			map[string]any{"delete_message_seconds": fmt.Sprint(o.DeleteMessageSeconds)}); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_BAN_ADD", discord.BanEvent{GuildID: guildID, User: discordUser(u)})
	})
	return domainErr("ban", err)
}

// maxBanCleanup bounds how many messages one ban deletes.
const maxBanCleanup = 1000

// deleteRecent deletes a banned user's messages of the last window, keeping
// each in the history as any delete does.
func (h *Homeserver) deleteRecent(ctx context.Context, tx storage.Tx, ev *events, guildID, userID, moderator snowflake.ID, window time.Duration) error {
	refs, err := tx.AuthorMessages(ctx, guildID, userID, snowflake.FromTime(h.now().Add(-window)), maxBanCleanup)
	if err != nil {
		return err
	}
	byChannel := map[snowflake.ID][]snowflake.ID{}
	var order []snowflake.ID
	for _, ref := range refs {
		m, err := tx.Message(ctx, ref.ChannelID, ref.ID)
		if err != nil {
			return err
		}
		if err := h.keepRevision(ctx, tx, storage.InGuild(guildID), m, moderator, true); err != nil {
			return err
		}
		if _, ok := byChannel[ref.ChannelID]; !ok {
			order = append(order, ref.ChannelID)
		}
		byChannel[ref.ChannelID] = append(byChannel[ref.ChannelID], ref.ID)
	}
	gid := guildID
	for _, ch := range order {
		ids := byChannel[ch]
		if _, err := tx.DeleteMessages(ctx, storage.InGuild(guildID), ch, ids); err != nil {
			return err
		}
		if err := ev.Append(ctx, guildID, "MESSAGE_DELETE_BULK", discord.MessageDeleteBulkEvent{IDs: ids, ChannelID: ch, GuildID: &gid}); err != nil {
			return err
		}
	}
	return nil
}

// Unban lifts a ban (BAN_MEMBERS).
func (h *Homeserver) Unban(ctx context.Context, p Principal, guildID, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "unban", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.unbanHere(ctx, p, guildID, userID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardMember(ctx, p, g, wire.ActUnban, userID, wire.ActData{}))
		}})
}

// unbanHere carries out Unban on this server's own log.
func (h *Homeserver) unbanHere(ctx context.Context, p Principal, guildID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.BanMembers); err != nil {
			return err
		}
		if err := tx.DeleteBan(ctx, guildID, userID); err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return ErrUnknownBan
			}
			return err
		}
		u, err := tx.UserByID(ctx, userID)
		if err != nil {
			return err
		}
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditMemberBanRemove, userID, nil, nil); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_BAN_REMOVE", discord.BanEvent{GuildID: guildID, User: discordUser(u)})
	})
	return domainErr("unban", err)
}

// Bans lists bans (BAN_MEMBERS).
func (h *Homeserver) Bans(ctx context.Context, p Principal, guildID, after snowflake.ID, limit int) ([]discord.Ban, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return nil, err
	}
	if err := a.require(permission.BanMembers); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		limit = 1000
	}
	bans, err := h.store.Bans(ctx, guildID, after, limit)
	if err != nil {
		return nil, storeErr("bans", err)
	}
	out := make([]discord.Ban, 0, len(bans))
	for _, b := range bans {
		u, err := h.store.UserByID(ctx, b.UserID)
		if err != nil {
			return nil, storeErr("bans", err)
		}
		out = append(out, discord.Ban{Reason: discord.Nullable(b.Reason), User: discordUser(u)})
	}
	return out, nil
}

// GetBan returns one ban (BAN_MEMBERS).
func (h *Homeserver) GetBan(ctx context.Context, p Principal, guildID, userID snowflake.ID) (discord.Ban, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return discord.Ban{}, err
	}
	if err := a.require(permission.BanMembers); err != nil {
		return discord.Ban{}, err
	}
	b, err := h.store.Ban(ctx, guildID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return discord.Ban{}, ErrUnknownBan
	}
	if err != nil {
		return discord.Ban{}, storeErr("ban", err)
	}
	u, err := h.store.UserByID(ctx, userID)
	if err != nil {
		return discord.Ban{}, storeErr("ban", err)
	}
	return discord.Ban{Reason: discord.Nullable(b.Reason), User: discordUser(u)}, nil
}

// requireMembersIntent refuses the member list to a bot whose application
// lacks the GUILD_MEMBERS intent, as Discord does: a bot may list a
// guild's members over REST only if it may receive them on its gateway.
func (h *Homeserver) requireMembersIntent(ctx context.Context, p Principal) error {
	if !p.User.Bot {
		return nil
	}
	allowed, _, err := h.AllowedIntents(ctx, p.User.ID)
	if err != nil {
		return err
	}
	if allowed&IntentGuildMembers == 0 {
		return fmt.Errorf("member list without the GUILD_MEMBERS intent: %w", ErrMissingAccess)
	}
	return nil
}

// SearchMembersMax bounds GET /guilds/{id}/members/search's limit.
const SearchMembersMax = 1000

// SearchMembers lists up to limit members whose username or nickname
// starts with query (case-insensitive), as Discord's member search does.
func (h *Homeserver) SearchMembers(ctx context.Context, p Principal, guildID snowflake.ID, query string, limit int) ([]discord.Member, error) {
	if query == "" {
		return nil, Invalid("query", "BASE_TYPE_REQUIRED", "This field is required")
	}
	if limit < 1 || limit > SearchMembersMax {
		return nil, Invalid("limit", "NUMBER_TYPE_MAX", fmt.Sprintf("Must be between 1 and %d.", SearchMembersMax))
	}
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return nil, err
	}
	if err := h.requireMembersIntent(ctx, p); err != nil {
		return nil, err
	}
	ms, err := h.GuildMembers(ctx, p, guildID, query, nil, limit)
	if ms == nil && err == nil {
		ms = []discord.Member{}
	}
	return ms, err
}

// EndTemporaryMemberships removes a user from the guilds they joined
// through a temporary invite and were given no role in since; the gateway
// calls it when the user's last session disconnects, as Discord does. A
// member given a role meanwhile stays, and is no longer temporary.
func (h *Homeserver) EndTemporaryMemberships(ctx context.Context, userID snowflake.ID) error {
	guilds, err := h.store.TemporaryGuilds(ctx, userID)
	if err != nil {
		return storeErr("temporary guilds", err)
	}
	var errs []error
	for _, gid := range guilds {
		// Only a guild's own server marks members temporary (its invite
		// was used here), so there is no replica half.
		err := doErr(ctx, h, write[none]{op: "end temporary membership", guild: gid,
			here: func(ctx context.Context) (none, error) { return nothing(h.endTemporaryHere(ctx, gid, userID)) }})
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// endTemporaryHere carries out EndTemporaryMemberships for one guild of
// this server's.
func (h *Homeserver) endTemporaryHere(ctx context.Context, guildID, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		if err := tx.LockMember(ctx, guildID, userID); errors.Is(err, storage.ErrNotFound) {
			return nil // left or removed meanwhile; the mark went with them
		} else if err != nil {
			return err
		}
		m, err := tx.Member(ctx, guildID, userID)
		if err != nil {
			return err
		}
		g, err := tx.GuildByID(ctx, guildID)
		if err != nil {
			return err
		}
		if len(m.Roles) > 0 || g.OwnerID == userID {
			return tx.SetTemporaryMember(ctx, guildID, userID, false)
		}
		return h.removeMember(ctx, tx, ev, guildID, userID)
	})
	return domainErr("end temporary membership", err)
}
