package bridge

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Custom emoji and reaction clears. A Discord guild's custom emoji is
// copied into its mirror the first time someone reacts with it (its image
// fetched from Discord's CDN), as the mirror's owner, and mapped (bridge_ids
// kind "emoji"); Hearth people's reactions with a mirrored emoji are the
// bot's with the Discord one. An emoji Discord does not have (another
// guild's) does not cross. Renaming or deleting an emoji on Discord does
// not follow yet.
//
// A moderator's clear of a message's reactions (all, or one emoji's)
// crosses both ways. A clear imported from Discord is marked
// ("clear:<local message>:<emoji key>") before it is made on Hearth, so
// that the relay does not send it back.

// bridgeEmoji is the bridge_ids kind of a custom emoji.
const bridgeEmoji = "emoji"

// emojiMax bounds a fetched emoji image (Discord's limit is 256 KiB).
const emojiMax = 1 << 20

// hearthEmoji is the mirror's form of a Discord reaction's emoji: the
// unicode emoji itself, or name:id of the mirrored custom emoji, copied on
// first sight when create is set (an add); "" when it has no mirror.
func (b *Bridge) hearthEmoji(ctx context.Context, l Link, e discordgo.Emoji, create bool) (string, error) {
	if e.ID == "" {
		return e.Name, nil
	}
	if local, err := b.dom.LocalID(ctx, bridgeEmoji, e.ID); err == nil {
		em, err := b.emojiOf(ctx, l.Guild, local)
		if err == nil {
			return em, nil
		}
		if !errors.Is(err, homeserver.ErrUnknownEmoji) {
			return "", err
		}
		// Deleted in the mirror: made again below.
		if err := b.dom.Unmap(ctx, bridgeEmoji, e.ID); err != nil {
			return "", err
		}
	} else if !errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return "", err
	}
	if !create {
		return "", nil
	}
	img, err := b.fetchEmoji(ctx, e)
	if err != nil {
		return "", err
	}
	made, err := b.hs.CreateEmoji(ctx, b.owner, l.Guild, e.Name, img, nil)
	if err != nil {
		return "", fmt.Errorf("mirror emoji %s: %w", e.ID, err)
	}
	if err := b.dom.Map(ctx, bridgeEmoji, e.ID, made.ID); err != nil {
		return "", err
	}
	b.metrics.event("EMOJI", "imported")
	return made.Name + ":" + made.ID.String(), nil
}

// emojiOf is a mirror emoji's reaction form, name:id.
func (b *Bridge) emojiOf(ctx context.Context, guild, id snowflake.ID) (string, error) {
	em, err := b.hs.Emoji(ctx, b.owner, guild, id)
	if err != nil {
		return "", err
	}
	return em.Name + ":" + id.String(), nil
}

// fetchEmoji reads a custom emoji's image from Discord's CDN as a data URI.
func (b *Bridge) fetchEmoji(ctx context.Context, e discordgo.Emoji) (string, error) {
	u := discordgo.EndpointEmoji(e.ID)
	if e.Animated {
		u = discordgo.EndpointEmojiAnimated(e.ID)
	}
	ctx, cancel := ctxDiscord(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	res, err := b.session.Client.Do(req)
	if err != nil {
		return "", fmt.Errorf("emoji %s: %w", e.ID, err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "", fmt.Errorf("emoji %s: %s", e.ID, res.Status)
	}
	data, err := io.ReadAll(io.LimitReader(res.Body, emojiMax+1))
	if err != nil {
		return "", err
	}
	if len(data) > emojiMax {
		return "", fmt.Errorf("emoji %s over %d bytes", e.ID, emojiMax)
	}
	return "data:" + http.DetectContentType(data) + ";base64," + base64.StdEncoding.EncodeToString(data), nil
}

// discordEmoji is Discord's form of a mirror reaction's emoji: the unicode
// emoji, or name:id of the Discord emoji a mirrored one copies; ok is
// false for a custom emoji Discord does not have.
func (b *Bridge) discordEmoji(ctx context.Context, e discord.ReactionEmoji) (string, bool, error) {
	if e.ID == nil {
		return e.Name, true, nil
	}
	did, err := b.dom.DiscordID(ctx, bridgeEmoji, *e.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return "", false, nil
	} else if err != nil {
		return "", false, err
	}
	return e.Name + ":" + did, true, nil
}

// hearthReactionKey is how the mirror names a reaction's emoji in its
// routes: name:id for a custom one.
func hearthReactionKey(e discord.ReactionEmoji) string {
	if e.ID != nil {
		return e.Name + ":" + e.ID.String()
	}
	return e.Name
}

func clearKey(local snowflake.ID, emoji string) string {
	return "clear:" + local.String() + ":" + emoji
}

func (b *Bridge) onReactionRemoveAll(_ *discordgo.Session, e *discordgo.MessageReactionRemoveAll) {
	if e.MessageReaction == nil {
		return
	}
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_REACTION_REMOVE_ALL", e.MessageID, func(ctx context.Context, l Link) error {
		return b.importClear(ctx, l, e.ChannelID, e.MessageID, nil)
	})
}

// onRawEvent takes the events discordgo has no type for:
// MESSAGE_REACTION_REMOVE_EMOJI.
func (b *Bridge) onRawEvent(_ *discordgo.Session, e *discordgo.Event) {
	if e.Type != "MESSAGE_REACTION_REMOVE_EMOJI" {
		return
	}
	var d discordgo.MessageReaction
	if err := json.Unmarshal(e.RawData, &d); err != nil {
		return
	}
	b.handle(d.GuildID, d.ChannelID, e.Type, d.MessageID, func(ctx context.Context, l Link) error {
		return b.importClear(ctx, l, d.ChannelID, d.MessageID, &d.Emoji)
	})
}

// importClear clears a bridged message's reactions on Hearth (one emoji's
// when emoji is set), as the mirror's owner: Discord's moderators took
// them all, the bot's among them, which stood for Hearth people's.
func (b *Bridge) importClear(ctx context.Context, l Link, dchan, dmsg string, emoji *discordgo.Emoji) error {
	typ := "MESSAGE_REACTION_REMOVE_ALL"
	key := ""
	if emoji != nil {
		typ = "MESSAGE_REACTION_REMOVE_EMOJI"
		var err error
		if key, err = b.hearthEmoji(ctx, l, *emoji, false); err != nil || key == "" {
			return err
		}
	}
	local, err := b.localMessage(ctx, dmsg)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event(typ, "ignored")
		return nil
	} else if err != nil {
		return err
	}
	channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, dchan)
	if err != nil {
		return err
	}
	// Only a clear that takes something writes an event, which the mark
	// must meet: a clear of nothing (Discord's answer to the relay's own
	// clear) leaves no mark behind.
	m, err := b.hs.Message(ctx, b.owner, channel, local)
	if errors.Is(err, homeserver.ErrUnknownMessage) {
		return nil
	} else if err != nil {
		return err
	}
	held := false
	for _, r := range m.Reactions {
		held = held || key == "" || hearthReactionKey(r.Emoji) == key
	}
	if !held {
		b.metrics.event(typ, "duplicate")
		return nil
	}
	if err := b.dom.SetValue(ctx, clearKey(local, key), "discord"); err != nil {
		return err
	}
	err = b.hs.ClearReactions(ctx, b.owner, channel, local, key)
	if errors.Is(err, homeserver.ErrUnknownMessage) || errors.Is(err, homeserver.ErrUnknownEmoji) {
		err = nil
	}
	if err == nil {
		b.metrics.event(typ, "imported")
	}
	return err
}

// relayClear clears a bridged message's reactions on Discord (one emoji's
// when the event names one), unless the clear came from Discord.
func (b *Bridge) relayClear(ctx context.Context, payload json.RawMessage) error {
	var e discord.ReactionRemoveAllEvent
	if err := json.Unmarshal(payload, &e); err != nil {
		return nil
	}
	key := ""
	if e.Emoji != nil {
		key = hearthReactionKey(*e.Emoji)
	}
	if _, ok, err := b.dom.Value(ctx, clearKey(e.MessageID, key)); err != nil {
		return err
	} else if ok {
		b.metrics.echoSuppressed()
		return b.dom.DeleteValue(ctx, clearKey(e.MessageID, key))
	}
	dchan, did, ok := b.discordPlace(ctx, e.ChannelID, e.MessageID)
	if !ok {
		return nil
	}
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	typ := "MESSAGE_REACTION_REMOVE_ALL"
	var err error
	if e.Emoji == nil {
		err = b.session.MessageReactionsRemoveAll(dchan, did, discordgo.WithContext(dctx))
	} else {
		typ = "MESSAGE_REACTION_REMOVE_EMOJI"
		emoji, ok, eerr := b.discordEmoji(ctx, *e.Emoji)
		if eerr != nil || !ok {
			return eerr
		}
		err = b.session.MessageReactionsRemoveEmoji(dchan, did, emoji, discordgo.WithContext(dctx))
	}
	if notFound(err) {
		err = nil
	}
	if err == nil {
		b.metrics.relay(typ, "ok")
	}
	return err
}
