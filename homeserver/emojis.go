package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"

	"hearth/discord"
	"hearth/homeserver/media"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
)

// Emoji limits.
const (
	EmojiMax          = 256 << 10
	EmojiNameMin      = 2
	EmojiNameMax      = 32
	MaxEmojisPerGuild = 100 // of each kind: static and animated
	emojiManagePerm   = permission.ManageGuildExpressions
	emojiCreatePerm   = permission.CreateGuildExpressions
)

func validEmojiName(name string) bool {
	if len(name) < EmojiNameMin || len(name) > EmojiNameMax {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// CreateEmoji uploads a custom emoji (CREATE_GUILD_EXPRESSIONS or
// MANAGE_GUILD_EXPRESSIONS): a PNG, JPEG, GIF or WebP of at most 256 KiB,
// recognised by its bytes.
func (h *Homeserver) CreateEmoji(ctx context.Context, p Principal, guildID snowflake.ID, name, image string) (discord.Emoji, error) {
	return do(ctx, h, write[discord.Emoji]{op: "create emoji", guild: guildID,
		here: func(ctx context.Context) (discord.Emoji, error) {
			return h.createEmojiHere(ctx, p, guildID, name, image)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Emoji, error) {
			return h.forwardEmoji(ctx, p, g, wire.ActEmojiCreate, 0, wire.ActData{EmojiName: name, EmojiImage: image})
		}})
}

// createEmojiHere carries out CreateEmoji on this server's own log.
func (h *Homeserver) createEmojiHere(ctx context.Context, p Principal, guildID snowflake.ID, name, image string) (discord.Emoji, error) {
	v := &ValidationError{}
	if !validEmojiName(name) {
		v.Add("name", "BASE_TYPE_BAD_LENGTH", "Must be 2 to 32 letters, digits or underscores.")
	}
	b, err := media.DecodeDataURI(image, EmojiMax)
	var img media.Image
	switch {
	case errors.Is(err, media.ErrTooLarge):
		v.Add("image", "BINARY_TYPE_MAX_SIZE", fmt.Sprintf("File cannot be larger than %d kb.", EmojiMax>>10))
	case err != nil:
		v.Add("image", "IMAGE_INVALID", "Invalid image data.")
	default:
		if img, err = media.Sniff(b); err != nil {
			v.Add("image", "IMAGE_INVALID", "Invalid image data: must be PNG, JPEG, GIF or WebP.")
		}
	}
	if err := v.Err(); err != nil {
		return discord.Emoji{}, err
	}
	// Checked before the image is stored (and again in the transaction).
	if a, err := h.loadAccess(ctx, h.hot, guildID, p.User.ID); err != nil {
		return discord.Emoji{}, err
	} else if !a.base.Has(emojiCreatePerm) && !a.base.Has(emojiManagePerm) {
		return discord.Emoji{}, fmt.Errorf("create emoji: %w", ErrMissingPermission)
	}
	hash, _, err := h.cfg.Blobs.Put(bytesReader(b), EmojiMax)
	if err != nil {
		return discord.Emoji{}, fmt.Errorf("store emoji: %w", err)
	}
	var out discord.Emoji
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		if !a.base.Has(emojiCreatePerm) && !a.base.Has(emojiManagePerm) {
			return fmt.Errorf("create emoji: %w", ErrMissingPermission)
		}
		all, err := tx.GuildEmojis(ctx, guildID)
		if err != nil {
			return err
		}
		same := 0
		for _, e := range all {
			if e.Animated == img.Animated {
				same++
			}
		}
		if same >= MaxEmojisPerGuild {
			return ErrMaxEmojis
		}
		e := storage.Emoji{ID: h.cfg.IDs.Next(), GuildID: guildID, UserID: p.User.ID, Name: name,
			Animated: img.Animated, Hash: hash, Available: true, CreatedAt: h.now()}
		if err := tx.CreateEmoji(ctx, e); err != nil {
			return err
		}
		creator, err := tx.UserByID(ctx, p.User.ID)
		if err != nil {
			return err
		}
		out = discordEmoji(e, &creator)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditEmojiCreate, e.ID,
			[]discord.AuditLogChange{change("name", nil, name)}, nil); err != nil {
			return err
		}
		return h.emojisChanged(ctx, tx, ev, guildID, append(all, e))
	})
	return out, domainErr("create emoji", err)
}

func (h *Homeserver) emojisChanged(ctx context.Context, tx storage.Tx, ev *events, guildID snowflake.ID, all []storage.Emoji) error {
	return ev.Append(ctx, guildID, "GUILD_EMOJIS_UPDATE", discord.EmojisEvent{GuildID: guildID, Emojis: discordEmojis(all)})
}

// Emojis lists a guild's custom emoji.
func (h *Homeserver) Emojis(ctx context.Context, p Principal, guildID snowflake.ID) ([]discord.Emoji, error) {
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return nil, err
	}
	es, err := h.store.GuildEmojis(ctx, guildID)
	if err != nil {
		return nil, storeErr("emojis", err)
	}
	out := make([]discord.Emoji, 0, len(es))
	for _, e := range es {
		var creator *storage.User
		if u, err := h.store.UserByID(ctx, e.UserID); err == nil {
			creator = &u
		}
		out = append(out, discordEmoji(e, creator))
	}
	return out, nil
}

// emojiFor loads an emoji of the guild that the caller may change: any with
// MANAGE_GUILD_EXPRESSIONS, their own with CREATE_GUILD_EXPRESSIONS.
func emojiFor(ctx context.Context, tx storage.Reader, a *access, emojiID snowflake.ID) (storage.Emoji, error) {
	e, err := tx.Emoji(ctx, emojiID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && e.GuildID != a.guild.ID) {
		return e, fmt.Errorf("emoji %d: %w", emojiID, ErrUnknownEmoji)
	}
	if err != nil {
		return e, err
	}
	if a.base.Has(emojiManagePerm) || (e.UserID == a.userID && a.base.Has(emojiCreatePerm)) {
		return e, nil
	}
	return e, fmt.Errorf("emoji %d: %w", emojiID, ErrMissingPermission)
}

// Emoji returns one custom emoji.
func (h *Homeserver) Emoji(ctx context.Context, p Principal, guildID, emojiID snowflake.ID) (discord.Emoji, error) {
	if _, err := h.loadAccess(ctx, h.store, guildID, p.User.ID); err != nil {
		return discord.Emoji{}, err
	}
	e, err := h.store.Emoji(ctx, emojiID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && e.GuildID != guildID) {
		return discord.Emoji{}, ErrUnknownEmoji
	}
	if err != nil {
		return discord.Emoji{}, storeErr("emoji", err)
	}
	var creator *storage.User
	if u, err := h.store.UserByID(ctx, e.UserID); err == nil {
		creator = &u
	}
	return discordEmoji(e, creator), nil
}

// RenameEmoji changes a custom emoji's name.
func (h *Homeserver) RenameEmoji(ctx context.Context, p Principal, guildID, emojiID snowflake.ID, name string) (discord.Emoji, error) {
	return do(ctx, h, write[discord.Emoji]{op: "rename emoji", guild: guildID,
		here: func(ctx context.Context) (discord.Emoji, error) {
			return h.renameEmojiHere(ctx, p, guildID, emojiID, name)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Emoji, error) {
			return h.forwardEmoji(ctx, p, g, wire.ActEmojiEdit, emojiID, wire.ActData{EmojiName: name})
		}})
}

// renameEmojiHere carries out RenameEmoji on this server's own log.
func (h *Homeserver) renameEmojiHere(ctx context.Context, p Principal, guildID, emojiID snowflake.ID, name string) (discord.Emoji, error) {
	if !validEmojiName(name) {
		return discord.Emoji{}, Invalid("name", "BASE_TYPE_BAD_LENGTH", "Must be 2 to 32 letters, digits or underscores.")
	}
	var out discord.Emoji
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		e, err := emojiFor(ctx, tx, a, emojiID)
		if err != nil {
			return err
		}
		old := e.Name
		e.Name = name
		if err := tx.UpdateEmoji(ctx, storage.InGuild(guildID), e); err != nil {
			return err
		}
		out = discordEmoji(e, nil)
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditEmojiUpdate, e.ID,
			[]discord.AuditLogChange{change("name", old, name)}, nil); err != nil {
			return err
		}
		all, err := tx.GuildEmojis(ctx, guildID)
		if err != nil {
			return err
		}
		return h.emojisChanged(ctx, tx, ev, guildID, all)
	})
	return out, domainErr("rename emoji", err)
}

// DeleteEmoji removes a custom emoji.
func (h *Homeserver) DeleteEmoji(ctx context.Context, p Principal, guildID, emojiID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "delete emoji", guild: guildID,
		here: func(ctx context.Context) (none, error) { return nothing(h.deleteEmojiHere(ctx, p, guildID, emojiID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			_, err := h.forwardEmoji(ctx, p, g, wire.ActEmojiDelete, emojiID, wire.ActData{})
			return nothing(err)
		}})
}

// deleteEmojiHere carries out DeleteEmoji on this server's own log.
func (h *Homeserver) deleteEmojiHere(ctx context.Context, p Principal, guildID, emojiID snowflake.ID) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		a, err := h.loadAccess(ctx, tx, guildID, p.User.ID)
		if err != nil {
			return err
		}
		e, err := emojiFor(ctx, tx, a, emojiID)
		if err != nil {
			return err
		}
		if err := tx.DeleteEmoji(ctx, storage.InGuild(guildID), e.ID); err != nil {
			return err
		}
		if err := h.audit(ctx, ev, guildID, p.User.ID, AuditEmojiDelete, e.ID,
			[]discord.AuditLogChange{change("name", e.Name, nil)}, nil); err != nil {
			return err
		}
		all, err := tx.GuildEmojis(ctx, guildID)
		if err != nil {
			return err
		}
		return h.emojisChanged(ctx, tx, ev, guildID, all)
	})
	return domainErr("delete emoji", err)
}

// EmojiImage opens a custom emoji's image for serving; emoji images are
// public, as on Discord's CDN.
func (h *Homeserver) EmojiImage(ctx context.Context, emojiID snowflake.ID) (File, error) {
	e, err := h.store.Emoji(ctx, emojiID)
	if errors.Is(err, storage.ErrNotFound) {
		return File{}, fmt.Errorf("emoji %d: %w", emojiID, ErrNotFound)
	}
	if err != nil {
		return File{}, storeErr("emoji image", err)
	}
	if e.Hash == "" {
		if e, err = h.remoteEmoji(ctx, e); err != nil {
			return File{}, err
		}
	}
	return h.openImage(e.Hash)
}

// GuildIcon opens a guild's current icon for serving.
func (h *Homeserver) GuildIcon(ctx context.Context, guildID snowflake.ID, hash string) (File, error) {
	g, err := h.store.GuildByID(ctx, guildID)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && (g.Icon == "" || g.Icon != hash)) {
		return File{}, fmt.Errorf("icon: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, storeErr("icon", err)
	}
	return h.openImage(trimAnimated(hash))
}
