package homeserver

import (
	"slices"
	"sort"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// The domain's guild records are storage's; these aliases keep the adapters
// off the storage package.
type (
	Guild     = storage.Guild
	Channel   = storage.Channel
	Overwrite = storage.Overwrite
	Role      = storage.Role
	Member    = storage.Member
	Ban       = storage.Ban
	Invite    = storage.Invite
	Emoji     = storage.Emoji
)

// Discord renders the user as Discord's public user object. A remote
// user's badges are their server's, not this one's: they show in the
// profile, named by that server, and never as this server's public_flags.
// The bridged mark is the one badge shown beside a name, as hearth_bridged,
// whichever server gave it: it says what the user is, not what a server
// grants.
func (u User) Discord() discord.User {
	flags := u.Flags
	if u.Origin != "" {
		flags &^= BadgeFlags
	}
	return discord.User{
		ID: u.ID, Username: u.Username, Discriminator: "0", GlobalName: discord.Nullable(u.GlobalName),
		Avatar: discord.Nullable(u.Avatar), Banner: discord.Nullable(u.Banner), Bot: u.Bot,
		AccentColor: u.AccentColor, PublicFlags: flags, Bridged: u.Flags&FlagBridged != 0,
	}
}

// SelfUser is the private user object a user gets of themselves (GET
// /users/@me, USER_UPDATE).
type SelfUser struct {
	discord.User
	Bio         string  `json:"bio"`
	Pronouns    string  `json:"pronouns"`
	MFAEnabled  bool    `json:"mfa_enabled"`
	Locale      string  `json:"locale"`
	Verified    bool    `json:"verified"`
	Email       *string `json:"email"`
	Flags       int64   `json:"flags"`
	PremiumType int     `json:"premium_type"`
}

// Self renders the user as their own private user object.
func (u User) Self() SelfUser {
	return SelfUser{User: u.Discord(), Bio: u.Bio, Pronouns: u.Pronouns, Locale: "en-US", Verified: true, Flags: u.Flags}
}

// userUpdated tells a user's sessions their account changed (USER_UPDATE).
func (h *Homeserver) userUpdated(u storage.User) {
	h.tellUser(u.ID, "USER_UPDATE", userFrom(u).Self())
}

func discordUser(u storage.User) discord.User { return userFrom(u).Discord() }

func discordRole(r storage.Role) discord.Role {
	return discord.Role{
		ID: r.ID, Name: r.Name, Color: r.Color, Hoist: r.Hoist, Icon: discord.Nullable(r.Icon),
		UnicodeEmoji: discord.Nullable(r.UnicodeEmoji), Position: r.Position,
		Permissions: permission.Set(r.Permissions).String(), Managed: r.Managed, Mentionable: r.Mentionable,
		Colors: discord.RoleColors{PrimaryColor: r.Color},
	}
}

func discordRoles(rs []storage.Role) []discord.Role {
	out := make([]discord.Role, 0, len(rs))
	for _, r := range rs {
		out = append(out, discordRole(r))
	}
	return out
}

// Channel types Hearth stores.
const (
	ChannelText         = 0
	ChannelVoice        = 2
	ChannelCategory     = 4
	ChannelAnnouncement = 5
	// ChannelForum holds no messages of its own, only threads (posts);
	// webhooks start posts in it with thread_name.
	ChannelForum = 15
)

func discordChannel(c storage.Channel) discord.Channel {
	ows := make([]discord.Overwrite, 0, len(c.Overwrites))
	for _, o := range c.Overwrites {
		ows = append(ows, discord.Overwrite{
			ID: o.TargetID, Type: o.Type,
			Allow: permission.Set(o.Allow).String(), Deny: permission.Set(o.Deny).String(),
		})
	}
	sort.Slice(ows, func(i, j int) bool { return ows[i].ID < ows[j].ID })
	out := discord.Channel{
		ID: c.ID, Type: c.Type, GuildID: c.GuildID, Position: c.Position, PermissionOverwrites: ows,
		Name: c.Name, NSFW: c.NSFW, RateLimitPerUser: c.RateLimitPerUser, ParentID: discord.NullableID(c.ParentID),
		LastMessageID: discord.NullableID(c.LastMessageID),
	}
	if c.Type == ChannelText || c.Type == ChannelAnnouncement || c.Type == ChannelForum {
		out.Topic = discord.Nullable(c.Topic)
	}
	if c.Type == ChannelVoice {
		br, ul := c.Bitrate, c.UserLimit
		out.Bitrate, out.UserLimit = &br, &ul
	}
	return out
}

func discordChannels(cs []storage.Channel) []discord.Channel {
	out := make([]discord.Channel, 0, len(cs))
	for _, c := range cs {
		out = append(out, discordChannel(c))
	}
	return out
}

func discordMember(m storage.Member, u storage.User) discord.Member {
	roles := m.Roles
	if roles == nil {
		roles = []snowflake.ID{}
	}
	du := discordUser(u)
	return discord.Member{
		User: &du, Nick: discord.Nullable(m.Nick), Roles: roles, JoinedAt: discord.Timestamp(m.JoinedAt),
		Deaf: m.Deaf, Mute: m.Mute, CommunicationDisabledUntil: discord.TimePtr(m.CommunicationDisabledUntil),
	}
}

func discordEmoji(e storage.Emoji, creator *storage.User) discord.Emoji {
	out := discord.Emoji{
		ID: e.ID, Name: e.Name, Roles: []snowflake.ID{}, RequireColons: true,
		Animated: e.Animated, Available: e.Available,
	}
	if len(e.Roles) > 0 {
		out.Roles = slices.Clone(e.Roles)
	}
	if creator != nil {
		u := discordUser(*creator)
		out.User = &u
	}
	return out
}

func discordEmojis(es []storage.Emoji) []discord.Emoji {
	out := make([]discord.Emoji, 0, len(es))
	for _, e := range es {
		out = append(out, discordEmoji(e, nil))
	}
	return out
}

func guildFeatures(g storage.Guild) []string {
	if g.Public {
		return []string{"DISCOVERABLE", "COMMUNITY"}
	}
	return []string{}
}

func discordGuild(g storage.Guild, roles []storage.Role, emojis []storage.Emoji) discord.Guild {
	return discord.Guild{
		ID: g.ID, Name: g.Name, Icon: discord.Nullable(g.Icon), OwnerID: g.OwnerID,
		AFKTimeout: 300, VerificationLevel: g.VerificationLevel, Roles: discordRoles(roles),
		Emojis: discordEmojis(emojis), Features: guildFeatures(g), SystemChannelID: discord.NullableID(g.SystemChannelID),
		MaxMembers: 500000, Description: discord.Nullable(g.Description), PreferredLocale: "en-US",
		Stickers: []any{},
	}
}

func guildPreview(g storage.Guild) discord.GuildPreview {
	return discord.GuildPreview{
		ID: g.ID, Name: g.Name, Icon: discord.Nullable(g.Icon), Description: discord.Nullable(g.Description),
		Features: guildFeatures(g), VerificationLevel: g.VerificationLevel,
	}
}
