package homeserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"slices"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Guild limits.
const (
	GuildNameMin        = 2
	GuildNameMax        = 100
	GuildDescriptionMax = 300
	MaxGuildsPerUser    = 200
	IconMax             = 10 << 20
)

// GuildCreateEvent is the GUILD_CREATE payload in the log: the guild with
// its channels. The gateway adds what is per session (members, presences).
type GuildCreateEvent struct {
	discord.Guild
	Channels    []discord.Channel `json:"channels"`
	MemberCount int               `json:"member_count"`
}

// GuildCreate is what a new guild is made from.
type GuildCreate struct {
	Name string
	Icon string // data URI, optional
}

func validateGuildName(v *ValidationError, name string) {
	if n := utf8.RuneCountInString(name); n < GuildNameMin || n > GuildNameMax {
		v.Add("name", "BASE_TYPE_BAD_LENGTH", fmt.Sprintf("Must be between %d and %d in length.", GuildNameMin, GuildNameMax))
	}
}

// CreateGuild makes a guild owned by the caller, with an @everyone role whose
// ID is the guild's, and a "Text Channels" category holding "general".
func (h *Homeserver) CreateGuild(ctx context.Context, p Principal, in GuildCreate) (discord.Guild, error) {
	return h.createGuild(ctx, p, in, true, nil)
}

// createGuild makes a guild, with its default channels when defaults is
// set; also, when given, runs in the same transaction (a bridge's
// mapping of the guild, which must commit with it or not at all).
func (h *Homeserver) createGuild(ctx context.Context, p Principal, in GuildCreate, defaults bool,
	also func(ctx context.Context, tx storage.Tx, g storage.Guild) error) (discord.Guild, error) {
	v := &ValidationError{}
	validateGuildName(v, in.Name)
	icon, iconHash := h.decodeIcon(v, "icon", in.Icon)
	if err := v.Err(); err != nil {
		return discord.Guild{}, err
	}
	mine, err := h.store.UserGuilds(ctx, p.User.ID)
	if err != nil {
		return discord.Guild{}, storeErr("create guild", err)
	}
	if len(mine) >= MaxGuildsPerUser {
		return discord.Guild{}, ErrMaxGuilds
	}
	if err := h.putBlob(ctx, icon); err != nil {
		return discord.Guild{}, err
	}
	now := h.now()
	g := storage.Guild{ID: h.cfg.IDs.Next(), Name: in.Name, Icon: iconHash, OwnerID: p.User.ID, CreatedAt: now}
	everyone := storage.Role{ID: g.ID, GuildID: g.ID, Name: "@everyone", Permissions: int64(permission.Default), CreatedAt: now}
	var chans []storage.Channel
	if defaults {
		category := storage.Channel{ID: h.cfg.IDs.Next(), GuildID: g.ID, Type: ChannelCategory, Name: "Text Channels", CreatedAt: now}
		general := storage.Channel{ID: h.cfg.IDs.Next(), GuildID: g.ID, Type: ChannelText, Name: "general", ParentID: category.ID, CreatedAt: now}
		g.SystemChannelID = general.ID
		chans = []storage.Channel{category, general}
	}
	owner := storage.Member{GuildID: g.ID, UserID: p.User.ID, JoinedAt: now}
	roles := []storage.Role{everyone}
	out := discordGuild(g, roles, nil)
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if also != nil {
			if err := also(ctx, tx, g); err != nil {
				return err
			}
		}
		if err := tx.CreateGuild(ctx, g); err != nil {
			return err
		}
		if err := tx.CreateRole(ctx, everyone); err != nil {
			return err
		}
		for _, c := range chans {
			if err := tx.CreateChannel(ctx, c); err != nil {
				return err
			}
		}
		if err := tx.AddMember(ctx, owner); err != nil {
			return err
		}
		return ev.Append(ctx, g.ID, "GUILD_CREATE", GuildCreateEvent{
			Guild: out, Channels: discordChannels(chans), MemberCount: 1,
		})
	})
	if err != nil {
		return discord.Guild{}, storeErr("create guild", err)
	}
	h.log.Info("guild created", "guild_id", g.ID, "owner_id", p.User.ID)
	return out, nil
}

// decodeIcon checks an optional image data URI.
func (h *Homeserver) decodeIcon(v *ValidationError, field, uri string) ([]byte, string) {
	if uri == "" {
		return nil, ""
	}
	b, hash, err := decodeImage(uri, IconMax)
	if err != nil {
		v.Add(field, "IMAGE_INVALID", err.Error())
		return nil, ""
	}
	return b, hash
}

func (h *Homeserver) putBlob(ctx context.Context, b []byte) error {
	if b == nil {
		return nil
	}
	if _, _, err := h.cfg.Blobs.Put(ctx, bytes.NewReader(b), int64(len(b))); err != nil {
		return storeErr("store image", err)
	}
	return nil
}

// GuildOptions asks for extras on a guild read.
type GuildOptions struct {
	WithCounts bool
}

// Guild returns a guild the caller is a member of.
func (h *Homeserver) Guild(ctx context.Context, p Principal, guildID snowflake.ID, o GuildOptions) (discord.Guild, error) {
	a, err := h.loadAccess(ctx, h.store, guildID, p.User.ID)
	if err != nil {
		return discord.Guild{}, err
	}
	emojis, err := h.store.GuildEmojis(ctx, guildID)
	if err != nil {
		return discord.Guild{}, storeErr("get guild", err)
	}
	out := discordGuild(a.guild, a.roles, emojis)
	if o.WithCounts {
		n, err := h.store.MemberCount(ctx, guildID)
		if err != nil {
			return discord.Guild{}, storeErr("count members", err)
		}
		zero := 0
		out.ApproximateMemberCount, out.ApproximatePresenceCount = &n, &zero
	}
	return out, nil
}

// MyGuilds lists the caller's guilds with their permissions there.
func (h *Homeserver) MyGuilds(ctx context.Context, p Principal, withCounts bool) ([]discord.PartialGuild, error) {
	gs, err := h.store.UserGuilds(ctx, p.User.ID)
	if err != nil {
		return nil, storeErr("my guilds", err)
	}
	out := make([]discord.PartialGuild, 0, len(gs))
	for _, g := range gs {
		a, err := h.loadAccess(ctx, h.store, g.ID, p.User.ID)
		if errors.Is(err, ErrUnknownGuild) {
			continue // left in between
		}
		if err != nil {
			return nil, err
		}
		pg := discord.PartialGuild{
			ID: g.ID, Name: g.Name, Icon: discord.Nullable(g.Icon), Owner: a.isOwner(),
			Permissions: a.base.String(), Features: guildFeatures(g),
		}
		if withCounts {
			n, err := h.store.MemberCount(ctx, g.ID)
			if err != nil {
				return nil, storeErr("count members", err)
			}
			zero := 0
			pg.ApproximateMemberCount, pg.ApproximatePresenceCount = &n, &zero
		}
		out = append(out, pg)
	}
	return out, nil
}

// GuildUpdate is a PATCH of a guild.
type GuildUpdate struct {
	Name              Optional[string]
	Icon              Optional[string]
	Description       Optional[string]
	SystemChannelID   Optional[snowflake.ID]
	VerificationLevel Optional[int]
	Public            Optional[bool]
	OwnerID           Optional[snowflake.ID]
}

// UpdateGuild changes a guild's settings (MANAGE_GUILD); a new owner can only
// be given by the owner, to a member.
func (h *Homeserver) UpdateGuild(ctx context.Context, p Principal, guildID snowflake.ID, up GuildUpdate) (discord.Guild, error) {
	return do(ctx, h, write[discord.Guild]{op: "update guild", guild: guildID,
		here: func(ctx context.Context) (discord.Guild, error) { return h.updateGuildHere(ctx, p, guildID, up) },
		there: func(ctx context.Context, g replicaLog) (discord.Guild, error) {
			return h.forwardGuildEdit(ctx, p, g, up)
		}})
}

// updateGuildHere carries out UpdateGuild on this server's own log.
func (h *Homeserver) updateGuildHere(ctx context.Context, p Principal, guildID snowflake.ID, up GuildUpdate) (discord.Guild, error) {
	var out discord.Guild
	var icon []byte
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if err := a.require(permission.ManageGuild); err != nil {
			return err
		}
		g := a.guild
		var changes []discord.AuditLogChange
		v := &ValidationError{}
		if up.Name.Set {
			validateGuildName(v, up.Name.Value)
			changes = append(changes, change("name", g.Name, up.Name.Value))
			g.Name = up.Name.Value
		}
		if up.Description.Set {
			if utf8.RuneCountInString(up.Description.Value) > GuildDescriptionMax {
				v.Add("description", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", GuildDescriptionMax))
			}
			changes = append(changes, change("description", g.Description, up.Description.Value))
			g.Description = up.Description.Value
		}
		if up.Icon.Set {
			var hash string
			icon, hash = h.decodeIcon(v, "icon", up.Icon.Value)
			changes = append(changes, change("icon_hash", g.Icon, hash))
			g.Icon = hash
		}
		if up.VerificationLevel.Set {
			if l := up.VerificationLevel.Value; l < 0 || l > 4 {
				v.Add("verification_level", "BASE_TYPE_CHOICES", "Value must be one of {0, 1, 2, 3, 4}.")
			}
			changes = append(changes, change("verification_level", g.VerificationLevel, up.VerificationLevel.Value))
			g.VerificationLevel = up.VerificationLevel.Value
		}
		if up.Public.Set {
			changes = append(changes, change("discoverable", g.Public, up.Public.Value))
			g.Public = up.Public.Value
		}
		if up.SystemChannelID.Set {
			id := up.SystemChannelID.Value
			if id != 0 {
				c, err := tx.ChannelByID(ctx, id)
				if err != nil || c.GuildID != guildID || c.Type != ChannelText {
					v.Add("system_channel_id", "CHANNEL_INVALID", "Must be a text channel of this guild.")
				}
			}
			changes = append(changes, change("system_channel_id", g.SystemChannelID.String(), id.String()))
			g.SystemChannelID = id
		}
		if up.OwnerID.Set && up.OwnerID.Value != g.OwnerID {
			if !a.isOwner() {
				return fmt.Errorf("transfer ownership: %w", ErrMissingPermission)
			}
			if _, err := tx.Member(ctx, guildID, up.OwnerID.Value); err != nil {
				v.Add("owner_id", "GUILD_OWNER_INVALID", "The new owner must be a member of the guild.")
			}
			changes = append(changes, change("owner_id", g.OwnerID.String(), up.OwnerID.Value.String()))
			g.OwnerID = up.OwnerID.Value
		}
		if err := v.Err(); err != nil {
			return err
		}
		if err := tx.UpdateGuild(ctx, g); err != nil {
			return err
		}
		emojis, err := tx.GuildEmojis(ctx, guildID)
		if err != nil {
			return err
		}
		out = discordGuild(g, a.roles, emojis)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditGuildUpdate, guildID, changes, nil); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_UPDATE", out)
	})
	if err != nil {
		return discord.Guild{}, domainErr("update guild", err)
	}
	if err := h.putBlob(ctx, icon); err != nil {
		return discord.Guild{}, err
	}
	return out, nil
}

// DeleteGuild deletes a guild; only its owner may.
func (h *Homeserver) DeleteGuild(ctx context.Context, p Principal, guildID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "delete guild", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.deleteGuildHere(ctx, p, guildID)) }})
}

// deleteGuildHere carries out DeleteGuild on this server's own log.
func (h *Homeserver) deleteGuildHere(ctx context.Context, p Principal, guildID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if !a.isOwner() {
			return fmt.Errorf("delete guild: owner only: %w", ErrMissingPermission)
		}
		if err := tx.DeleteGuild(ctx, guildID); err != nil {
			return err
		}
		return ev.Append(ctx, guildID, "GUILD_DELETE", discord.GuildDeleteEvent{ID: guildID})
	})
	if err == nil {
		h.log.Info("guild deleted", "guild_id", guildID, "by", p.User.ID)
	}
	return domainErr("delete guild", err)
}

// LeaveGuild removes the caller from a guild; the owner cannot leave.
func (h *Homeserver) LeaveGuild(ctx context.Context, p Principal, guildID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "leave guild", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.leaveGuildHere(ctx, p, guildID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			if _, err := h.hot.Member(ctx, guildID, p.User.ID); err != nil {
				return nothing(fmt.Errorf("leave guild %d: %w", guildID, ErrUnknownGuild))
			}
			return nothing(h.forwardSimple(ctx, p, g, wire.ActLeave, 0, 0, nil))
		}})
}

// leaveGuildHere carries out LeaveGuild on this server's own log.
func (h *Homeserver) leaveGuildHere(ctx context.Context, p Principal, guildID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if a.isOwner() {
			return ErrOwnerCannotLeave
		}
		return h.removeMember(ctx, tx, ev, guildID, p.User.ID)
	})
	return domainErr("leave guild", err)
}

// removeMember takes a user out of a guild and logs GUILD_MEMBER_REMOVE.
// A bot's managed role goes with it (GUILD_ROLE_DELETE), as on Discord;
// only a bot's: managed roles are given to nobody else.
func (h *Homeserver) removeMember(ctx context.Context, tx storage.Tx, ev *events, guildID, userID snowflake.ID) error {
	m, err := tx.Member(ctx, guildID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("member %d: %w", userID, ErrUnknownMember)
	}
	if err != nil {
		return err
	}
	u, err := tx.UserByID(ctx, userID)
	if err != nil {
		return err
	}
	var managed []snowflake.ID
	if u.Bot && len(m.Roles) > 0 {
		roles, err := tx.GuildRoles(ctx, guildID)
		if err != nil {
			return err
		}
		for _, r := range roles {
			if r.Managed && slices.Contains(m.Roles, r.ID) {
				managed = append(managed, r.ID)
			}
		}
	}
	if err := tx.RemoveMember(ctx, guildID, userID); err != nil {
		if errors.Is(err, storage.ErrNotFound) {
			return fmt.Errorf("member %d: %w", userID, ErrUnknownMember)
		}
		return err
	}
	for _, id := range managed {
		if err := tx.DeleteRole(ctx, storage.InGuild(guildID), id); err != nil {
			return err
		}
		if err := ev.Append(ctx, guildID, "GUILD_ROLE_DELETE", discord.RoleDeleteEvent{GuildID: guildID, RoleID: id}); err != nil {
			return err
		}
	}
	return ev.Append(ctx, guildID, "GUILD_MEMBER_REMOVE", discord.MemberRemoveEvent{GuildID: guildID, User: discordUser(u)})
}

// DiscoverGuilds lists public guilds whose name contains query.
func (h *Homeserver) DiscoverGuilds(ctx context.Context, query string, after snowflake.ID, limit int) ([]discord.GuildPreview, error) {
	if limit <= 0 || limit > 100 {
		limit = 50
	}
	gs, err := h.store.PublicGuilds(ctx, clip(query, 100), after, limit)
	if err != nil {
		return nil, storeErr("discover guilds", err)
	}
	out := make([]discord.GuildPreview, 0, len(gs))
	for _, g := range gs {
		pv := guildPreview(g)
		n, err := h.store.MemberCount(ctx, g.ID)
		if err != nil {
			return nil, storeErr("count members", err)
		}
		zero := 0
		pv.ApproximateMemberCount, pv.ApproximatePresenceCount = &n, &zero
		out = append(out, pv)
	}
	return out, nil
}

// JoinPublicGuild joins a public guild without an invite.
func (h *Homeserver) JoinPublicGuild(ctx context.Context, p Principal, guildID snowflake.ID) (discord.Member, error) {
	return do(ctx, h, write[discord.Member]{op: "join public guild", guild: guildID,
		here: func(ctx context.Context) (discord.Member, error) { return h.joinPublicGuildHere(ctx, p, guildID) }})
}

// joinPublicGuildHere carries out JoinPublicGuild on this server's own log.
func (h *Homeserver) joinPublicGuildHere(ctx context.Context, p Principal, guildID snowflake.ID) (discord.Member, error) {
	g, err := h.store.GuildByID(ctx, guildID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !g.Public) {
		return discord.Member{}, fmt.Errorf("join guild %d: %w", guildID, ErrUnknownGuild)
	}
	if err != nil {
		return discord.Member{}, storeErr("join guild", err)
	}
	return h.join(ctx, p, guildID, nil)
}

// join adds the caller to a guild (through invite when not nil), checking
// bans; joining a guild one is in already changes nothing.
func (h *Homeserver) join(ctx context.Context, p Principal, guildID snowflake.ID, invite *storage.Invite) (discord.Member, error) {
	var out discord.Member
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		// Joins of one user are serialised on their row: a second click
		// finds the first one's membership instead of colliding with it,
		// and the guild count below cannot be passed by racing joins.
		if err := tx.LockUser(ctx, p.User.ID); err != nil {
			return err
		}
		if _, err := tx.Ban(ctx, guildID, p.User.ID); err == nil {
			return fmt.Errorf("join guild %d: %w", guildID, ErrBanned)
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		u, err := tx.UserByID(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if m, err := tx.Member(ctx, guildID, p.User.ID); err == nil {
			out = discordMember(m, u)
			return nil
		}
		mine, err := tx.UserGuilds(ctx, p.User.ID)
		if err != nil {
			return err
		}
		if len(mine) >= MaxGuildsPerUser {
			return ErrMaxGuilds
		}
		m := storage.Member{GuildID: guildID, UserID: p.User.ID, JoinedAt: h.now()}
		if err := tx.AddMember(ctx, m); err != nil {
			return err
		}
		if invite != nil {
			if err := tx.UseInvite(ctx, invite.Code, h.now()); errors.Is(err, storage.ErrNotFound) {
				return fmt.Errorf("invite %q: %w", invite.Code, ErrUnknownInvite)
			} else if err != nil {
				return err
			}
			if invite.Temporary {
				if err := tx.SetTemporaryMember(ctx, guildID, p.User.ID, true); err != nil {
					return err
				}
			}
		}
		out = discordMember(m, u)
		gid := guildID
		payload := out
		payload.GuildID = &gid
		return ev.Append(ctx, guildID, "GUILD_MEMBER_ADD", payload)
	})
	return out, domainErr("join guild", err)
}

// domainErr passes domain errors through and turns anything else (a storage
// failure) into ErrUnavailable.
func domainErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var v *ValidationError
	for _, known := range []error{
		ErrUnauthorized, ErrUnknownUser, ErrNotFound, ErrMissingAccess, ErrMissingPermission,
		ErrUnknownGuild, ErrUnknownChannel, ErrUnknownRole, ErrUnknownMember, ErrUnknownInvite,
		ErrUnknownBan, ErrUnknownEmoji, ErrUnknownOverwrite, ErrBanned, ErrMaxRoles, ErrMaxEmojis,
		ErrMaxGuilds, ErrOwnerCannotLeave, ErrUnavailable, ErrMaxChannels,
		ErrMaxPins, ErrBulkDeleteTooOld, ErrUnknownMessage, ErrEmptyMessage, ErrNotAuthor, ErrTooLarge, ErrCannotDM,
		ErrThreadExists, ErrThreadArchived, ErrThreadLocked, ErrForbidden, ErrRemoteGuild, ErrGap,
		ErrUnknownApplication, ErrBotsForbidden, ErrUnknownCommand, ErrUnknownCommandPermissions, ErrMaxCommands,
		ErrUnknownInteraction, ErrInteractionAcknowledged, ErrInteractionFailed, ErrUnknownInteractionWebhook,
		ErrForumMessage, ErrUnknownWebhook, ErrWebhookThreadName, ErrWebhookForumThread, ErrWebhookThreadBoth, ErrWebhookServiceForum,
	} {
		if errors.Is(err, known) {
			return fmt.Errorf("%s: %w", op, err)
		}
	}
	var slow *SlowmodeError
	if errors.As(err, &v) || errors.As(err, &slow) {
		return err
	}
	return storeErr(op, err)
}
