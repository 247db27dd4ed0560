package bridge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strconv"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/homeserver/permission"
	"hearth/snowflake"
)

// Role mentions and @everyone. A Discord role named in a message is
// mirrored (on first sight, as the mirror's owner: its name, colour and
// whether anyone may mention it, and no permission) and mapped (bridge_ids
// kind "role"), so that the mention crosses as the mirror role's. Who may
// ping is each side's rule, carried across as it decided: a Discord
// message pings on Hearth exactly what Discord pinged (its mention_roles
// and mention_everyone, DiscordPings), and a Hearth message pings on
// Discord exactly what the mirror let its author ping (allowed_mentions
// naming those roles, and everyone only when the message's
// mention_everyone is set). A role of the mirror that Discord does not
// have goes to Discord as plain text.

// bridgeRole is the bridge_ids kind of a role.
const bridgeRole = "role"

var roleMentionRe = regexp.MustCompile(`<@&(\d{1,20})>`)

// rolesToHearth rewrites a Discord message's role mentions as the mirror
// roles' and says what Discord pinged.
func (b *Bridge) rolesToHearth(ctx context.Context, l Link, content string, pinged []string, everyone bool) (string, *homeserver.DiscordPings, error) {
	pings := &homeserver.DiscordPings{Everyone: everyone}
	var failed error
	out := roleMentionRe.ReplaceAllStringFunc(content, func(match string) string {
		did := roleMentionRe.FindStringSubmatch(match)[1]
		local, ok, err := b.mirrorRole(ctx, l, did)
		if err != nil {
			failed = err
			return match
		}
		if !ok {
			return "@" + did // not a role of the guild: text
		}
		if slices.Contains(pinged, did) && !slices.Contains(pings.Roles, local) {
			pings.Roles = append(pings.Roles, local)
		}
		return "<@&" + local.String() + ">"
	})
	return out, pings, failed
}

// mirrorRole is the mirror's role of a Discord role, made on first sight;
// ok is false for an ID that is no role of the guild.
func (b *Bridge) mirrorRole(ctx context.Context, l Link, did string) (snowflake.ID, bool, error) {
	if local, err := b.dom.LocalID(ctx, bridgeRole, did); err == nil {
		return local, true, nil
	} else if !errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return 0, false, err
	}
	if did == l.DiscordGuild {
		return 0, false, nil // @everyone's ID is the guild's
	}
	var role *discordgo.Role
	if b.session.State != nil {
		role, _ = b.session.State.Role(l.DiscordGuild, did)
	}
	if role == nil {
		dctx, cancel := ctxDiscord(ctx)
		roles, err := b.session.GuildRoles(l.DiscordGuild, discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return 0, false, err
		}
		for _, r := range roles {
			if r.ID == did {
				role = r
			}
		}
	}
	if role == nil {
		return 0, false, nil
	}
	made, err := b.hs.CreateRole(ctx, b.owner, l.Guild, homeserver.RoleFields{
		Name:        homeserver.Optional[string]{Set: true, Value: role.Name},
		Color:       homeserver.Optional[int]{Set: true, Value: role.Color},
		Mentionable: homeserver.Optional[bool]{Set: true, Value: role.Mentionable},
		Permissions: homeserver.Optional[permission.Set]{Set: true},
	})
	if err != nil {
		return 0, false, fmt.Errorf("mirror role %s: %w", did, err)
	}
	if err := b.dom.Map(ctx, bridgeRole, did, made.ID); err != nil {
		return 0, false, err
	}
	b.metrics.event("ROLE", "imported")
	return made.ID, true, nil
}

// rolesToDiscord rewrites a Hearth message's role mentions as Discord's,
// and lists the Discord roles it may ping: those of allowed (the roles the
// mirror let the author ping) that Discord has.
func (b *Bridge) rolesToDiscord(ctx context.Context, content string, allowed []snowflake.ID) (string, []string) {
	var ping []string
	out := roleMentionRe.ReplaceAllStringFunc(content, func(match string) string {
		n, err := strconv.ParseUint(roleMentionRe.FindStringSubmatch(match)[1], 10, 64)
		if err != nil {
			return match
		}
		id := snowflake.ID(n)
		if did, err := b.dom.DiscordID(ctx, bridgeRole, id); err == nil {
			if slices.Contains(allowed, id) && !slices.Contains(ping, did) {
				ping = append(ping, did)
			}
			return "<@&" + did + ">"
		}
		return "@role"
	})
	return out, ping
}

// allowedMentions is what a relayed Hearth message may ping on Discord:
// the Discord users it names, the roles the mirror let its author ping,
// and everyone only when the mirror let them.
func allowedMentions(m discord.Message, users, roles []string) *discordgo.MessageAllowedMentions {
	am := &discordgo.MessageAllowedMentions{Parse: []discordgo.AllowedMentionType{}, Users: users, Roles: roles}
	if m.MentionEveryone {
		am.Parse = append(am.Parse, discordgo.AllowedMentionTypeEveryone)
	}
	return am
}
