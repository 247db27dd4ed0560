package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
)

// Renames and deletes of the Discord custom emoji and roles the mirror
// copied (emoji.go, rolementions.go) follow on their copies, as the
// mirror's owner: GUILD_EMOJIS_UPDATE (Discord's whole list of the
// guild's emoji) renames a copy whose original has another name and
// deletes one whose original is gone; GUILD_ROLE_UPDATE carries a copied
// role's name, colour and whether anyone may mention it (never its
// permissions: what Discord roles let Hearth people do is the mirror's
// authority, decided elsewhere); GUILD_ROLE_DELETE deletes the copy. An
// emoji or role never copied stays so: it is copied on first use. Each
// runs under a per-guild lock of its own ("expressions:<guild>").

func expressionsLock(discordGuild string) string { return "expressions:" + discordGuild }

func (b *Bridge) onEmojisUpdate(_ *discordgo.Session, e *discordgo.GuildEmojisUpdate) {
	b.handle(e.GuildID, expressionsLock(e.GuildID), "GUILD_EMOJIS_UPDATE", e.GuildID, func(ctx context.Context, l Link) error {
		return b.importEmojis(ctx, l, e.Emojis)
	})
}

// importEmojis brings the mirror's copies of Discord emoji to Discord's
// list: renamed, or deleted when Discord no longer has them.
func (b *Bridge) importEmojis(ctx context.Context, l Link, list []*discordgo.Emoji) error {
	byID := make(map[string]*discordgo.Emoji, len(list))
	for _, e := range list {
		if e != nil {
			byID[e.ID] = e
		}
	}
	mine, err := b.hs.Emojis(ctx, b.owner, l.Guild)
	if err != nil {
		return err
	}
	for _, em := range mine {
		did, err := b.dom.DiscordID(ctx, bridgeEmoji, em.ID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			continue // the mirror's own (none is, as Discord decides)
		} else if err != nil {
			return err
		}
		de, ok := byID[did]
		switch {
		case !ok:
			if err := b.hs.DeleteEmoji(ctx, b.owner, l.Guild, em.ID); err != nil && !errors.Is(err, homeserver.ErrUnknownEmoji) {
				return fmt.Errorf("delete mirror emoji %s: %w", did, err)
			}
			if err := b.dom.Unmap(ctx, bridgeEmoji, did); err != nil {
				return err
			}
			b.metrics.event("GUILD_EMOJIS_UPDATE", "imported")
		case de.Name != "" && de.Name != em.Name:
			if _, err := b.hs.RenameEmoji(ctx, b.owner, l.Guild, em.ID, de.Name); err != nil {
				return fmt.Errorf("rename mirror emoji %s: %w", did, err)
			}
			b.metrics.event("GUILD_EMOJIS_UPDATE", "imported")
		}
	}
	return nil
}

func (b *Bridge) onRoleUpdate(_ *discordgo.Session, e *discordgo.GuildRoleUpdate) {
	if e.GuildRole == nil || e.Role == nil {
		return
	}
	b.handle(e.GuildID, expressionsLock(e.GuildID), "GUILD_ROLE_UPDATE", e.Role.ID, func(ctx context.Context, l Link) error {
		return b.importRoleLook(ctx, l, e.Role)
	})
}

// importRoleLook carries a copied Discord role's name, colour and
// mentionable to its copy; a role never copied is left for first use.
func (b *Bridge) importRoleLook(ctx context.Context, l Link, r *discordgo.Role) error {
	local, err := b.dom.LocalID(ctx, bridgeRole, r.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event("GUILD_ROLE_UPDATE", "ignored")
		return nil
	} else if err != nil {
		return err
	}
	_, err = b.hs.UpdateRole(ctx, b.owner, l.Guild, local, homeserver.RoleFields{
		Name:        homeserver.Optional[string]{Set: true, Value: r.Name},
		Color:       homeserver.Optional[int]{Set: true, Value: r.Color},
		Mentionable: homeserver.Optional[bool]{Set: true, Value: r.Mentionable},
	})
	if errors.Is(err, homeserver.ErrUnknownRole) {
		// Deleted in the mirror: copied again on its next mention.
		return b.dom.Unmap(ctx, bridgeRole, r.ID)
	}
	if err != nil {
		return fmt.Errorf("update mirror role %s: %w", r.ID, err)
	}
	b.metrics.event("GUILD_ROLE_UPDATE", "imported")
	return nil
}

func (b *Bridge) onRoleDelete(_ *discordgo.Session, e *discordgo.GuildRoleDelete) {
	b.handle(e.GuildID, expressionsLock(e.GuildID), "GUILD_ROLE_DELETE", e.RoleID, func(ctx context.Context, l Link) error {
		local, err := b.dom.LocalID(ctx, bridgeRole, e.RoleID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			b.metrics.event("GUILD_ROLE_DELETE", "ignored")
			return nil
		} else if err != nil {
			return err
		}
		if err := b.hs.DeleteRole(ctx, b.owner, l.Guild, local); err != nil && !errors.Is(err, homeserver.ErrUnknownRole) {
			return fmt.Errorf("delete mirror role %s: %w", e.RoleID, err)
		}
		b.metrics.event("GUILD_ROLE_DELETE", "imported")
		return b.dom.Unmap(ctx, bridgeRole, e.RoleID)
	})
}
