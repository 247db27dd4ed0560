package bridge

import (
	"context"
	"encoding/json"
	"errors"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Reactions. From Discord, a user's reaction is their puppet's. To
// Discord, where a webhook cannot react, Hearth people's reactions are the
// bot's: it holds an emoji on a message while at least one Hearth person
// does (derived from the mirror's reactions, so no state of its own). The
// bot's reactions are never imported, and puppets' are never relayed.
// Custom emoji cross as the mirror's copies of Discord's (emoji.go).

func (b *Bridge) onReactionAdd(_ *discordgo.Session, e *discordgo.MessageReactionAdd) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_REACTION_ADD", e.MessageID, func(ctx context.Context, l Link) error {
		return b.importReaction(ctx, l, e.MessageReaction, e.Member, true)
	})
}

func (b *Bridge) onReactionRemove(_ *discordgo.Session, e *discordgo.MessageReactionRemove) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_REACTION_REMOVE", e.MessageID, func(ctx context.Context, l Link) error {
		return b.importReaction(ctx, l, e.MessageReaction, nil, false)
	})
}

// importReaction adds or removes a Discord user's reaction as their
// puppet's. Adding twice or removing what is not there changes nothing,
// so a replay is harmless.
func (b *Bridge) importReaction(ctx context.Context, l Link, r *discordgo.MessageReaction, member *discordgo.Member, add bool) error {
	typ := "MESSAGE_REACTION_REMOVE"
	if add {
		typ = "MESSAGE_REACTION_ADD"
	}
	if b.bot != nil && r.UserID == b.bot.ID {
		b.metrics.event(typ, "echo")
		return nil
	}
	emoji, err := b.hearthEmoji(ctx, l, r.Emoji, add)
	if err != nil {
		return err
	}
	if emoji == "" {
		b.metrics.event(typ, "ignored")
		return nil
	}
	local, err := b.localMessage(ctx, r.MessageID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event(typ, "ignored")
		return nil
	} else if err != nil {
		return err
	}
	channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, r.ChannelID)
	if err != nil {
		return err
	}
	var p homeserver.Principal
	if add {
		u := (*discordgo.User)(nil)
		if member != nil {
			u = member.User
		}
		if u == nil {
			dctx, cancel := ctxDiscord(ctx)
			u, err = b.session.User(r.UserID, discordgo.WithContext(dctx))
			cancel()
			if err != nil {
				return err
			}
		}
		if p, err = b.puppet(ctx, l, u, member); err != nil {
			return err
		}
		err = b.hs.React(ctx, p, channel, local, emoji)
	} else {
		id, err := b.dom.LocalID(ctx, homeserver.BridgeUser, r.UserID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			return nil // never reacted here
		} else if err != nil {
			return err
		}
		u, err := b.hs.User(ctx, id)
		if err != nil {
			return err
		}
		p = homeserver.Principal{User: u}
		err = b.hs.Unreact(ctx, p, channel, local, emoji, id)
		if errors.Is(err, homeserver.ErrUnknownMessage) {
			err = nil
		}
	}
	if err == nil {
		b.metrics.event(typ, "imported")
	}
	return err
}

// relayReaction makes the bot's reactions on Discord follow Hearth
// people's: it reacts when one adds an emoji, and takes its reaction back
// when the last Hearth person holding it removes theirs.
func (b *Bridge) relayReaction(ctx context.Context, payload json.RawMessage, add bool) error {
	var e discord.ReactionEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil
	}
	emoji, ok, err := b.discordEmoji(ctx, e.Emoji)
	if err != nil || !ok {
		return err // a custom emoji Discord does not have
	}
	u, err := b.hs.User(ctx, e.UserID)
	if err != nil || u.Origin == "" {
		return nil // a puppet's: from Discord
	}
	dchan, did, ok := b.discordPlace(ctx, e.ChannelID, e.MessageID)
	if !ok {
		return nil
	}
	if !add {
		held, err := b.hearthHolds(ctx, e.ChannelID, e.MessageID, hearthReactionKey(e.Emoji))
		if err != nil || held {
			return err
		}
	}
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	if add {
		err = b.session.MessageReactionAdd(dchan, did, emoji, discordgo.WithContext(dctx))
	} else {
		err = b.session.MessageReactionRemove(dchan, did, emoji, "@me", discordgo.WithContext(dctx))
		if notFound(err) {
			err = nil
		}
	}
	if err == nil {
		b.metrics.relay(map[bool]string{true: "MESSAGE_REACTION_ADD", false: "MESSAGE_REACTION_REMOVE"}[add], "ok")
	}
	return err
}

// discordMessage is the Discord message a local one is (imported from
// Discord or relayed there).
func (b *Bridge) discordMessage(ctx context.Context, local snowflake.ID) (string, error) {
	did, err := b.dom.DiscordID(ctx, homeserver.BridgeImported, local)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return b.dom.DiscordID(ctx, homeserver.BridgeRelayed, local)
	}
	return did, err
}

// discordPlace finds the Discord channel and message of a mirror message;
// ok is false when Discord has no such message (one never relayed, or a
// channel not mirrored), which the callers skip.
func (b *Bridge) discordPlace(ctx context.Context, channel, message snowflake.ID) (dchan, did string, ok bool) {
	did, err := b.discordMessage(ctx, message)
	if err != nil {
		return "", "", false
	}
	dchan, err = b.dom.DiscordID(ctx, homeserver.BridgeChannel, channel)
	if err != nil {
		return "", "", false
	}
	return dchan, did, true
}

// hearthHolds reports whether any Hearth person (a remote user) still
// holds an emoji on a mirror message.
func (b *Bridge) hearthHolds(ctx context.Context, channel, message snowflake.ID, emoji string) (bool, error) {
	var after snowflake.ID
	for {
		users, err := b.hs.ReactionUsers(ctx, b.owner, channel, message, emoji, after, 100)
		if errors.Is(err, homeserver.ErrUnknownMessage) {
			return false, nil
		} else if err != nil {
			return false, err
		}
		for _, du := range users {
			u, err := b.hs.User(ctx, du.ID)
			if err != nil {
				return false, err
			}
			if u.Origin != "" {
				return true, nil
			}
			after = du.ID
		}
		if len(users) < 100 {
			return false, nil
		}
	}
}
