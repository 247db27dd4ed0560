package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"strings"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// reactionEmoji reads the emoji of a reaction route: a unicode emoji, or a
// custom one as "name:id" (Discord's form; "a:name:id" too). It returns the
// key reactions are stored under and the partial emoji events carry. A
// custom emoji restricted to roles userID lacks is unknown (userID 0: no
// such check).
func (h *Homeserver) reactionEmoji(ctx context.Context, r storage.Reader, pl *place, userID snowflake.ID, s string) (string, discord.ReactionEmoji, error) {
	s = strings.TrimPrefix(s, "a:")
	if name, idText, custom := strings.Cut(s, ":"); custom {
		id, err := snowflake.Parse(idText)
		if err != nil || !validEmojiName(name) {
			return "", discord.ReactionEmoji{}, fmt.Errorf("emoji %q: %w", clip(s, 40), ErrUnknownEmoji)
		}
		e, err := r.Emoji(ctx, id)
		if errors.Is(err, storage.ErrNotFound) {
			return "", discord.ReactionEmoji{}, fmt.Errorf("emoji %d: %w", id, ErrUnknownEmoji)
		}
		if err != nil {
			return "", discord.ReactionEmoji{}, err
		}
		if (pl.guild == nil || e.GuildID != pl.guild.guild.ID) && !pl.perms.Has(permission.UseExternalEmojis) {
			return "", discord.ReactionEmoji{}, fmt.Errorf("external emoji: %w", ErrMissingPermission)
		}
		// Emoji roles: an emoji the reactor may not use is unknown to
		// them, as on Discord. (userID is 0 for removing and listing,
		// which the roles do not restrict.)
		if userID != 0 {
			usable, err := emojiUsable(ctx, r, e, userID)
			if err != nil {
				return "", discord.ReactionEmoji{}, err
			}
			if !usable {
				return "", discord.ReactionEmoji{}, fmt.Errorf("emoji %d restricted to roles: %w", id, ErrUnknownEmoji)
			}
		}
		return e.Name + ":" + e.ID.String(), discord.ReactionEmoji{ID: &e.ID, Name: e.Name, Animated: e.Animated}, nil
	}
	if !looksLikeEmoji(s) {
		return "", discord.ReactionEmoji{}, fmt.Errorf("emoji %q: %w", clip(s, 40), ErrUnknownEmoji)
	}
	return s, discord.ReactionEmoji{Name: s}, nil
}

// looksLikeEmoji accepts one unicode emoji sequence: at most 8 runes, no
// ASCII except the digits, '#' and '*' of keycaps, and at least one rune
// from the emoji blocks. Hearth keeps no emoji table, so this is a shape
// check: text, markup and mentions are refused.
func looksLikeEmoji(s string) bool {
	if s == "" || len(s) > 32 || !utf8.ValidString(s) || utf8.RuneCountInString(s) > 8 {
		return false
	}
	symbol := false
	for _, r := range s {
		switch {
		case r < 0x80:
			if !(r >= '0' && r <= '9' || r == '#' || r == '*') || !strings.ContainsRune(s, 0x20E3) {
				return false
			}
		case r == 0x200D, r == 0xFE0F, r == 0x20E3, r >= 0x1F3FB && r <= 0x1F3FF, r >= 0xE0020 && r <= 0xE007F:
			// joiners, variation selector, keycap, skin tones, tags
		case r >= 0x2100 && r <= 0x2BFF, r >= 0x3000 && r <= 0x303F, r >= 0x1F000 && r <= 0x1FAFF, r == 0xA9, r == 0xAE:
			symbol = true
		default:
			return false
		}
	}
	return symbol
}

func renderReactions(rs []storage.ReactionCount) []discord.Reaction {
	if len(rs) == 0 {
		return nil
	}
	out := make([]discord.Reaction, 0, len(rs))
	for _, r := range rs {
		out = append(out, discord.Reaction{
			Count: r.Count, CountDetails: discord.CountDetails{Normal: r.Count}, Me: r.Me,
			Emoji: reactionEmojiOf(r.Emoji), BurstColors: []string{},
		})
	}
	return out
}

// reactionEmojiOf turns a stored key back into a partial emoji. Only a key
// in the form reactionEmoji writes (name:id, the ID in its one decimal
// form) is a custom emoji: FuzzReactionEmojiOf found ":0000" read back as
// emoji 0, a second key for what "name:0" would name.
func reactionEmojiOf(key string) discord.ReactionEmoji {
	if name, idText, custom := strings.Cut(key, ":"); custom {
		if id, err := snowflake.Parse(idText); err == nil && id != 0 && id.String() == idText {
			return discord.ReactionEmoji{ID: &id, Name: name}
		}
	}
	return discord.ReactionEmoji{Name: key}
}

// reactionPlace loads the channel and message of a reaction action.
func (h *Homeserver) reactionPlace(ctx context.Context, r storage.Reader, p Principal, channelID, messageID snowflake.ID) (*place, storage.Message, error) {
	pl, err := h.placeOf(ctx, r, channelID, p.User.ID)
	if err != nil {
		return nil, storage.Message{}, err
	}
	if err := pl.require(permission.ReadMessageHistory); err != nil {
		return nil, storage.Message{}, err
	}
	m, err := messageIn(ctx, r, channelID, messageID)
	if err != nil {
		return nil, storage.Message{}, err
	}
	return pl, m, nil
}

// React adds the caller's reaction. ADD_REACTIONS is needed to be the
// first with an emoji; joining an existing reaction needs only to read.
// Reacting twice changes nothing.
func (h *Homeserver) React(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string) error {
	return doErr(ctx, h, write[none]{op: "react", channel: channelID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.reactHere(ctx, p, channelID, messageID, emoji))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardReaction(ctx, p, g, wire.ActReact, channelID, messageID, emoji, 0))
		}})
}

// reactHere carries out React on this server's own log.
func (h *Homeserver) reactHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, m, err := h.reactionPlace(ctx, tx, p, channelID, messageID)
		if err != nil {
			return err
		}
		key, pe, err := h.reactionEmoji(ctx, tx, pl, p.User.ID, emoji)
		if err != nil {
			return err
		}
		if !pl.perms.Has(permission.AddReactions) {
			users, err := tx.ReactionUsers(ctx, messageID, key, 0, 1)
			if err != nil {
				return err
			}
			if len(users) == 0 {
				return fmt.Errorf("react: %w", ErrMissingPermission)
			}
		}
		err = tx.AddReaction(ctx, pl.scope(), storage.Reaction{MessageID: messageID, ChannelID: channelID, UserID: p.User.ID, Emoji: key, CreatedAt: h.now()})
		if errors.Is(err, storage.ErrConflict) {
			return nil
		}
		if err != nil {
			return err
		}
		author := m.AuthorID
		e := discord.ReactionEvent{UserID: p.User.ID, ChannelID: channelID, MessageID: messageID, GuildID: pl.guildID(),
			Emoji: pe, MessageAuthorID: &author}
		if pl.guild != nil {
			if u, err := tx.UserByID(ctx, p.User.ID); err == nil {
				dm := discordMember(pl.guild.member, u)
				e.Member = &dm
			}
		}
		return ev.Append(ctx, pl.logID(), "MESSAGE_REACTION_ADD", e)
	})
	return domainErr("react", err)
}

// Unreact removes a reaction: one's own, or someone else's with
// MANAGE_MESSAGES.
func (h *Homeserver) Unreact(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string, userID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "unreact", channel: channelID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.unreactHere(ctx, p, channelID, messageID, emoji, userID))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardReaction(ctx, p, g, wire.ActUnreact, channelID, messageID, emoji, userID))
		}})
}

// unreactHere carries out Unreact on this server's own log.
func (h *Homeserver) unreactHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string, userID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, _, err := h.reactionPlace(ctx, tx, p, channelID, messageID)
		if err != nil {
			return err
		}
		if userID != p.User.ID {
			if pl.guild == nil {
				return fmt.Errorf("remove another's reaction in a DM: %w", ErrMissingPermission)
			}
			if err := pl.require(permission.ManageMessages); err != nil {
				return err
			}
		}
		key, pe, err := h.reactionEmoji(ctx, tx, pl, 0, emoji)
		if err != nil {
			return err
		}
		err = tx.RemoveReaction(ctx, pl.scope(), messageID, userID, key)
		if errors.Is(err, storage.ErrNotFound) {
			return nil // removing a reaction that is not there changes nothing
		}
		if err != nil {
			return err
		}
		return ev.Append(ctx, pl.logID(), "MESSAGE_REACTION_REMOVE", discord.ReactionEvent{
			UserID: userID, ChannelID: channelID, MessageID: messageID, GuildID: pl.guildID(), Emoji: pe})
	})
	return domainErr("unreact", err)
}

// ClearReactions removes every reaction of a message, or those of one emoji
// when emoji is not "" (MANAGE_MESSAGES).
func (h *Homeserver) ClearReactions(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string) error {
	return doErr(ctx, h, write[none]{op: "clear reactions", channel: channelID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.clearReactionsHere(ctx, p, channelID, messageID, emoji))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardReaction(ctx, p, g, wire.ActClear, channelID, messageID, emoji, 0))
		}})
}

// clearReactionsHere carries out ClearReactions on this server's own log.
func (h *Homeserver) clearReactionsHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, _, err := h.reactionPlace(ctx, tx, p, channelID, messageID)
		if err != nil {
			return err
		}
		if pl.guild == nil {
			return fmt.Errorf("clear reactions in a DM: %w", ErrMissingPermission)
		}
		if err := pl.require(permission.ManageMessages); err != nil {
			return err
		}
		payload := discord.ReactionRemoveAllEvent{ChannelID: channelID, MessageID: messageID, GuildID: pl.guildID()}
		key, typ := "", "MESSAGE_REACTION_REMOVE_ALL"
		if emoji != "" {
			var pe discord.ReactionEmoji
			if key, pe, err = h.reactionEmoji(ctx, tx, pl, 0, emoji); err != nil {
				return err
			}
			payload.Emoji, typ = &pe, "MESSAGE_REACTION_REMOVE_EMOJI"
		}
		n, err := tx.RemoveReactions(ctx, pl.scope(), messageID, key)
		if err != nil || n == 0 {
			return err
		}
		return ev.Append(ctx, pl.logID(), typ, payload)
	})
	return domainErr("clear reactions", err)
}

// ReactionUsers lists who reacted with an emoji, by user ID.
func (h *Homeserver) ReactionUsers(ctx context.Context, p Principal, channelID, messageID snowflake.ID, emoji string, after snowflake.ID, limit int) ([]discord.User, error) {
	if limit < 1 || limit > 100 {
		return nil, Invalid("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
	}
	pl, _, err := h.reactionPlace(ctx, h.store, p, channelID, messageID)
	if err != nil {
		return nil, domainErr("reaction users", err)
	}
	key, _, err := h.reactionEmoji(ctx, h.store, pl, 0, emoji)
	if err != nil {
		return nil, domainErr("reaction users", err)
	}
	ids, err := h.store.ReactionUsers(ctx, messageID, key, after, limit)
	if err != nil {
		return nil, storeErr("reaction users", err)
	}
	out := make([]discord.User, 0, len(ids))
	for _, id := range ids {
		if u, err := h.store.UserByID(ctx, id); err == nil {
			out = append(out, discordUser(u))
		}
	}
	return out, nil
}
