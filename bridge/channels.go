package bridge

import (
	"context"
	"errors"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Channels made, changed or deleted on Discord after the link follow on
// the mirror. A channel that Hearth people (@everyone and the configured
// role, authority.go) may not view is never mirrored; one that becomes
// hidden from them is removed from the mirror (so no Hearth server keeps
// receiving it), and one that becomes visible is mirrored then.

func mirrored(c *discordgo.Channel) bool {
	return c.Type == discordgo.ChannelTypeGuildText || c.Type == discordgo.ChannelTypeGuildCategory
}

func (b *Bridge) onChannelCreate(_ *discordgo.Session, e *discordgo.ChannelCreate) {
	b.handle(e.GuildID, e.ID, "CHANNEL_CREATE", e.ID, func(ctx context.Context, l Link) error {
		v := b.hearthView(l.DiscordGuild, nil)
		if !mirrored(e.Channel) || !v.sees(e.Channel) {
			b.metrics.event("CHANNEL_CREATE", "ignored")
			return nil
		}
		v, err := b.denying(ctx, l.Guild, v)
		if err != nil {
			return err
		}
		return b.reconcileChannel(ctx, l, v, e.Channel)
	})
}

// addChannel mirrors a channel made after the link; its high-water mark
// starts at its own ID, below any message in it, so that a catch-up
// fetches all of them.
func (b *Bridge) addChannel(ctx context.Context, l Link, v hearthView, c *discordgo.Channel) error {
	if err := b.mirrorChannel(ctx, l.Guild, v, c); err != nil {
		return err
	}
	b.metrics.event("CHANNEL_CREATE", "imported")
	if c.Type != discordgo.ChannelTypeGuildText {
		return nil
	}
	return b.raiseHWM(ctx, c.ID, c.ID)
}

func (b *Bridge) onChannelUpdate(_ *discordgo.Session, e *discordgo.ChannelUpdate) {
	b.handle(e.GuildID, e.ID, "CHANNEL_UPDATE", e.ID, func(ctx context.Context, l Link) error {
		if !mirrored(e.Channel) {
			return nil
		}
		v, err := b.denying(ctx, l.Guild, b.hearthView(l.DiscordGuild, nil))
		if err != nil {
			return err
		}
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, e.ID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) && !v.known {
			// Roles unknown: whether Hearth people may see it waits for
			// the guild's GUILD_CREATE (reauthorize).
			return nil
		} else if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			// Revealed to Hearth people (mirrored then), or still hidden.
			return b.reconcileChannel(ctx, l, v, e.Channel)
		} else if err != nil {
			return err
		}
		if v.known && !v.sees(e.Channel) {
			return b.hideChannel(ctx, e.ID, local)
		}
		// Its overwrites may have changed what Hearth people may do.
		if v.known {
			if err := b.authorizeChannel(ctx, l.Guild, local, v, e.Channel); err != nil && !errors.Is(err, homeserver.ErrUnknownChannel) {
				return err
			}
		}
		f := homeserver.ChannelFields{
			Name:     homeserver.Optional[string]{Set: true, Value: e.Name},
			Topic:    homeserver.Optional[string]{Set: true, Value: e.Topic},
			Position: homeserver.Optional[int]{Set: true, Value: e.Position},
		}
		_, err = b.hs.UpdateChannel(ctx, b.owner, local, f)
		if errors.Is(err, homeserver.ErrUnknownChannel) {
			// Removed from the mirror while its mapping stayed (a bridge
			// before hideChannel): public again, it gets a fresh mirror.
			if err := b.dom.Unmap(ctx, homeserver.BridgeChannel, e.ID); err != nil {
				return err
			}
			return b.addChannel(ctx, l, v, e.Channel)
		}
		if err == nil {
			b.metrics.event("CHANNEL_UPDATE", "imported")
		}
		return err
	})
}

func (b *Bridge) onChannelDelete(_ *discordgo.Session, e *discordgo.ChannelDelete) {
	b.handle(e.GuildID, e.ID, "CHANNEL_DELETE", e.ID, func(ctx context.Context, _ Link) error {
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, e.ID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			return nil
		} else if err != nil {
			return err
		}
		// A channel the bot can no longer see (made private) is told as
		// deleted too: if it comes back it is mirrored afresh.
		return b.hideChannel(ctx, e.ID, local)
	})
}

// removeChannel deletes a mirror channel; one already gone is done.
func (b *Bridge) removeChannel(ctx context.Context, local snowflake.ID) error {
	_, err := b.hs.DeleteChannel(ctx, b.owner, local)
	if errors.Is(err, homeserver.ErrUnknownChannel) {
		return nil
	}
	if err == nil {
		b.metrics.event("CHANNEL_DELETE", "imported")
	}
	return err
}

// hideChannel takes a channel made private out of the mirror and forgets
// its mapping, so that made public again it is mirrored afresh (the
// deleted mirror channel cannot come back). Its messages keep their
// mappings, to a channel that is gone: a later edit of one finds nothing
// to edit.
func (b *Bridge) hideChannel(ctx context.Context, dchan string, local snowflake.ID) error {
	if err := b.removeChannel(ctx, local); err != nil {
		return err
	}
	return b.dom.Unmap(ctx, homeserver.BridgeChannel, dchan)
}
