package bridge

import (
	"context"
	"errors"
	"strings"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/homeserver/permission"
	"hearth/snowflake"
)

// Discord decides what Hearth people see and may do in a mirror
// (spec/bridge.md "Authority"). To Discord, Hearth people are @everyone
// plus one configurable role (Config.HearthRole); what that pair may do in
// a Discord channel is what every Hearth person may do in its mirror.
// Puppets are the mirror's administrators (homeserver.Config.Mirrors), so
// the mirror's @everyone role and its channels' @everyone overwrites speak
// for Hearth people only: the bridge sets them from Discord's, and a
// channel Hearth people may not view is not mirrored at all.

// hearthPerms are the permissions the mirror's @everyone takes from
// Discord: what Hearth people do in a mirror's channels. The rest are
// Discord's to keep (homeserver's mirrorKept) or mean nothing on a
// mirror, and Hearth people never hold them there.
const hearthPerms = permission.CreateInstantInvite | permission.AddReactions | permission.ViewChannel |
	permission.SendMessages | permission.ManageMessages | permission.EmbedLinks | permission.AttachFiles |
	permission.ReadMessageHistory | permission.MentionEveryone | permission.UseExternalEmojis |
	permission.ChangeNickname | permission.ManageThreads | permission.CreatePublicThreads |
	permission.SendMessagesInThreads | permission.UseApplicationCommands | permission.PinMessages |
	permission.SendPolls

// hearthView is what Discord lets Hearth people do in one guild.
type hearthView struct {
	guild string // the Discord guild, whose ID is its @everyone role's
	role  string // the Hearth people's role; "" for @everyone only
	base  int64  // guild-wide: @everyone's permissions and the role's
	// known: the guild's roles were at hand. Unknown (the gateway's
	// state lacks the guild), the view sees nothing, and a channel
	// handler leaves the mirror's channels and permissions as they are.
	known bool
	// deny are the mirror permissions a channel's @everyone overwrite
	// denies where Hearth people lack them (see hearthOverwrite).
	deny permission.Set
}

// hearthView reads a guild's roles, from roles when given, else from the
// gateway's state. An unknown @everyone holds nothing, and a configured
// role the guild does not have adds nothing: both err on the side of
// Hearth people seeing less.
func (b *Bridge) hearthView(guildID string, roles []*discordgo.Role) hearthView {
	if roles == nil && b.session.State != nil {
		roles = b.stateRoles(guildID)
	}
	v := hearthView{guild: guildID, known: roles != nil}
	want := strings.TrimSpace(b.cfg.HearthRole)
	for _, r := range roles {
		if r.ID == guildID {
			v.base |= r.Permissions
		}
	}
	if want != "" && want != guildID && !strings.EqualFold(want, "@everyone") {
		// An ID names the role exactly; a name is matched ignoring case,
		// the first of that name in Discord's order.
		var byName *discordgo.Role
		for _, r := range roles {
			if r.ID == want {
				byName = r
				break
			}
			if byName == nil && strings.EqualFold(r.Name, want) {
				byName = r
			}
		}
		if byName != nil {
			v.role, v.base = byName.ID, v.base|byName.Permissions
		}
	}
	return v
}

// stateRoles copies a guild's roles out of the gateway's state, under its
// lock (the control loop reads while the gateway's reader writes).
func (b *Bridge) stateRoles(guildID string) []*discordgo.Role {
	s := b.session.State
	g, err := s.Guild(guildID)
	if err != nil {
		return nil
	}
	s.RLock()
	defer s.RUnlock()
	out := make([]*discordgo.Role, len(g.Roles))
	for i, r := range g.Roles {
		c := *r
		out[i] = &c
	}
	return out
}

// stateChannels copies a guild's channels out of the gateway's state.
func (b *Bridge) stateChannels(guildID string) ([]*discordgo.Channel, bool) {
	s := b.session.State
	if s == nil {
		return nil, false
	}
	g, err := s.Guild(guildID)
	if err != nil {
		return nil, false
	}
	s.RLock()
	defer s.RUnlock()
	out := make([]*discordgo.Channel, len(g.Channels))
	for i, c := range g.Channels {
		cc := *c
		cc.PermissionOverwrites = append([]*discordgo.PermissionOverwrite(nil), c.PermissionOverwrites...)
		out[i] = &cc
	}
	return out, true
}

// in is what Hearth people may do in a Discord channel, as Discord
// computes a member's permissions: the guild-wide ones, then the
// channel's @everyone overwrite, then the role's (deny, then allow).
// Discord takes a channel's own overwrites only (a category's are copied
// into its channels when synced, never inherited), and so does this.
func (v hearthView) in(c *discordgo.Channel) int64 {
	p := v.base
	if p&discordgo.PermissionAdministrator != 0 {
		return p
	}
	apply := func(id string) {
		for _, o := range c.PermissionOverwrites {
			if o.ID == id && o.Type == discordgo.PermissionOverwriteTypeRole {
				p = p&^o.Deny | o.Allow
			}
		}
	}
	apply(v.guild)
	if v.role != "" {
		apply(v.role)
	}
	return p
}

// sees reports whether Hearth people may view a Discord channel. One they
// may not is never mirrored, so it reaches no Hearth server; a
// members-only guild (@everyone without View Channel) mirrors only the
// channels the role or an overwrite opens.
func (v hearthView) sees(c *discordgo.Channel) bool {
	return v.in(c)&(discordgo.PermissionViewChannel|discordgo.PermissionAdministrator) != 0
}

// mirrorSet turns Discord permissions into the mirror's: Administrator
// becomes every permission Hearth people may hold there.
func mirrorSet(p int64) permission.Set {
	if p&discordgo.PermissionAdministrator != 0 {
		return hearthPerms
	}
	return permission.Set(p) & hearthPerms
}

// authorizeGuild sets the mirror's @everyone role to what Hearth people
// may do guild-wide on Discord; an equal one is left alone, so that a
// replay or a restart writes nothing.
func (b *Bridge) authorizeGuild(ctx context.Context, guild snowflake.ID, v hearthView) error {
	want := mirrorSet(v.base)
	if have, err := b.everyonePerms(ctx, guild); err != nil || have == want {
		return err
	}
	_, err := b.hs.UpdateRole(ctx, b.owner, guild, guild, homeserver.RoleFields{
		Permissions: homeserver.Optional[permission.Set]{Set: true, Value: want}})
	return err
}

// hearthOverwrite is the mirror channel's @everyone overwrite: it allows
// every permission Hearth people hold in the channel, and denies those of
// v.deny they lack there. v.deny is the mirror's @everyone permissions,
// and while they change (a separate write) both the old and the new: so
// no channel is hidden, or opened, for a moment between the two writes.
// A channel's permissions thus never lose what Discord allows there,
// while a mirror role a Hearth person holds besides keeps what @everyone
// does not have.
func hearthOverwrite(guild snowflake.ID, v hearthView, c *discordgo.Channel) homeserver.Overwrite {
	in := mirrorSet(v.in(c))
	return homeserver.Overwrite{TargetID: guild, Type: permission.OverwriteRole, Allow: int64(in), Deny: int64(v.deny &^ in)}
}

// denying sets v.deny for channels written while the mirror's @everyone
// may be about to change: what it holds now and what Discord says.
func (b *Bridge) denying(ctx context.Context, guild snowflake.ID, v hearthView) (hearthView, error) {
	have, err := b.everyonePerms(ctx, guild)
	if err != nil {
		return v, err
	}
	v.deny = have | mirrorSet(v.base)
	return v, nil
}

// everyonePerms are the mirror's @everyone permissions.
func (b *Bridge) everyonePerms(ctx context.Context, guild snowflake.ID) (permission.Set, error) {
	roles, err := b.hs.Roles(ctx, b.owner, guild)
	if err != nil {
		return 0, err
	}
	for _, r := range roles {
		if r.ID == guild {
			return permission.Parse(r.Permissions)
		}
	}
	return 0, nil
}

// authorizeChannel sets a mirror channel's @everyone overwrite to what
// Discord lets Hearth people do there; an equal one is left alone.
func (b *Bridge) authorizeChannel(ctx context.Context, guild, local snowflake.ID, v hearthView, c *discordgo.Channel) error {
	want := hearthOverwrite(guild, v, c)
	ch, err := b.hs.Channel(ctx, b.owner, local)
	if err != nil {
		return err
	}
	for _, o := range ch.PermissionOverwrites {
		if o.ID != guild || o.Type != permission.OverwriteRole {
			continue
		}
		a, errA := permission.Parse(o.Allow)
		d, errD := permission.Parse(o.Deny)
		if errA == nil && errD == nil && int64(a) == want.Allow && int64(d) == want.Deny {
			return nil
		}
	}
	return b.hs.SetOverwrite(ctx, b.owner, local, want)
}

// reconcileChannel brings one Discord channel's mirror in line with what
// Hearth people may do there: mirrored if they may view it and it is not
// yet, taken out of the mirror if they may not, and its overwrite set.
// The caller holds the channel's lock.
func (b *Bridge) reconcileChannel(ctx context.Context, l Link, v hearthView, c *discordgo.Channel) error {
	if !mirrored(c) {
		return nil
	}
	local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, c.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		if !v.sees(c) {
			return nil
		}
		if err := b.addChannel(ctx, l, v, c); err != nil {
			return err
		}
		if local, err = b.dom.LocalID(ctx, homeserver.BridgeChannel, c.ID); err != nil {
			return err
		}
	} else if err != nil {
		return err
	} else if !v.sees(c) {
		return b.hideChannel(ctx, c.ID, local)
	}
	err = b.authorizeChannel(ctx, l.Guild, local, v, c)
	if errors.Is(err, homeserver.ErrUnknownChannel) {
		return nil // removed from the mirror meanwhile; CHANNEL_UPDATE mends it
	}
	return err
}

// reauthorize evaluates a whole linked guild again from the gateway's
// state: the mirror's @everyone, then every channel under its own lock
// (categories first, so that a channel revealed finds its parent). It
// runs when Discord's roles change and when a gateway session brings the
// guild (GUILD_CREATE), which also catches what changed while the bridge
// was away.
func (b *Bridge) reauthorize(typ, guildID string) {
	ctx := b.runCtx
	l, ok := b.linkOf(guildID)
	if !ok || ctx == nil || l.Guild == 0 {
		return
	}
	chans, ok := b.stateChannels(guildID)
	if !ok {
		b.log.Warn("bridge: guild not in the gateway's state; permissions not evaluated", "type", typ, "discord_guild", guildID)
		return
	}
	fail := func(err error) bool {
		if err != nil && ctx.Err() == nil {
			b.log.Warn("bridge: applying Discord's permissions failed", "type", typ, "discord_guild", guildID, "err", err)
			b.metrics.event(typ, "failed")
		}
		return err != nil
	}
	// One evaluation of a guild at a time: the channels' overwrites are
	// written against the @everyone permissions it sets.
	defer b.lockChannel("guild:" + guildID)()
	v, err := b.denying(ctx, l.Guild, b.hearthView(guildID, nil))
	if fail(err) {
		return
	}
	channels := func(v hearthView) {
		for _, cats := range []bool{true, false} {
			for _, c := range chans {
				if (c.Type == discordgo.ChannelTypeGuildCategory) != cats {
					continue
				}
				unlock := b.lockChannel(c.ID)
				err := b.reconcileChannel(ctx, l, v, c)
				unlock()
				fail(err)
			}
		}
	}
	// The channels first, denying what @everyone holds before and after;
	// then @everyone; then the channels' denials narrowed to what it
	// holds now (writes that change nothing are not made).
	channels(v)
	if fail(b.authorizeGuild(ctx, l.Guild, v)) {
		return
	}
	v.deny = mirrorSet(v.base)
	channels(v)
	b.metrics.event(typ, "imported")
}

func (b *Bridge) onGuildCreate(_ *discordgo.Session, e *discordgo.GuildCreate) {
	b.reauthorize("GUILD_CREATE", e.ID)
}

func (b *Bridge) onGuildRoleCreate(_ *discordgo.Session, e *discordgo.GuildRoleCreate) {
	b.reauthorize("GUILD_ROLE_CREATE", e.GuildID)
}

func (b *Bridge) onGuildRoleUpdate(_ *discordgo.Session, e *discordgo.GuildRoleUpdate) {
	b.reauthorize("GUILD_ROLE_UPDATE", e.GuildID)
}

func (b *Bridge) onGuildRoleDelete(_ *discordgo.Session, e *discordgo.GuildRoleDelete) {
	b.reauthorize("GUILD_ROLE_DELETE", e.GuildID)
}
