package homeserver

import (
	"context"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"regexp"
	"slices"
	"strings"

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
// roles (none: everyone) are the roles that may use it.
func (h *Homeserver) CreateEmoji(ctx context.Context, p Principal, guildID snowflake.ID, name, image string, roles []snowflake.ID) (discord.Emoji, error) {
	return do(ctx, h, write[discord.Emoji]{op: "create emoji", guild: guildID,
		here: func(ctx context.Context) (discord.Emoji, error) {
			return h.createEmojiHere(ctx, p, guildID, name, image, roles)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Emoji, error) {
			if len(roles) > 0 {
				// The act carries no roles yet: refused rather than
				// made without the restriction asked for.
				return discord.Emoji{}, fmt.Errorf("emoji roles in a guild of %s: %w", g.Origin, ErrRemoteGuild)
			}
			return h.forwardEmoji(ctx, p, g, wire.ActEmojiCreate, 0, wire.ActData{EmojiName: name, EmojiImage: image})
		}})
}

// createEmojiHere carries out CreateEmoji on this server's own log.
func (h *Homeserver) createEmojiHere(ctx context.Context, p Principal, guildID snowflake.ID, name, image string, roles []snowflake.ID) (discord.Emoji, error) {
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
	hash, _, err := h.cfg.Blobs.Put(ctx, bytesReader(b), EmojiMax)
	if err != nil {
		return discord.Emoji{}, storeErr("store emoji", err)
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
		if e.Roles, err = setEmojiRoles(ctx, tx, guildID, e.ID, roles); err != nil {
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

// SetEmojiRoles replaces the roles that may use a custom emoji (none:
// everyone), with the permission RenameEmoji needs.
func (h *Homeserver) SetEmojiRoles(ctx context.Context, p Principal, guildID, emojiID snowflake.ID, roles []snowflake.ID) (discord.Emoji, error) {
	// No replica half: the act that edits an emoji carries no roles yet,
	// so in a guild of another server this is refused (REMOTE_GUILD).
	return do(ctx, h, write[discord.Emoji]{op: "set emoji roles", guild: guildID,
		here: func(ctx context.Context) (discord.Emoji, error) {
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
				old := discordEmoji(e, nil).Roles
				if e.Roles, err = setEmojiRoles(ctx, tx, guildID, e.ID, roles); err != nil {
					return err
				}
				out = discordEmoji(e, nil)
				if err := h.audit(ctx, ev, guildID, p.User.ID, AuditEmojiUpdate, e.ID,
					[]discord.AuditLogChange{change("roles", old, out.Roles)}, nil); err != nil {
					return err
				}
				all, err := tx.GuildEmojis(ctx, guildID)
				if err != nil {
					return err
				}
				return h.emojisChanged(ctx, tx, ev, guildID, all)
			})
			return out, domainErr("set emoji roles", err)
		}})
}

// setEmojiRoles writes an emoji's roles and returns them as stored
// (sorted, once each); a role not of the guild is ErrUnknownRole.
func setEmojiRoles(ctx context.Context, tx storage.Tx, guildID, emojiID snowflake.ID, roles []snowflake.ID) ([]snowflake.ID, error) {
	if len(roles) > MaxEmojiRoles {
		return nil, Invalid("roles", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmojiRoles))
	}
	for _, r := range roles {
		if r == guildID { // @everyone: no restriction is the way to say it
			return nil, fmt.Errorf("role %d: %w", r, ErrUnknownRole)
		}
	}
	err := tx.SetEmojiRoles(ctx, storage.InGuild(guildID), emojiID, roles)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("emoji roles: %w", ErrUnknownRole)
	}
	if err != nil {
		return nil, err
	}
	out := slices.Clone(roles)
	slices.Sort(out)
	return slices.Compact(out), nil
}

// MaxEmojiRoles bounds the roles of one emoji.
const MaxEmojiRoles = 250

// emojiUsable reports whether userID may use e: anyone when it has no
// roles, else a member of its guild holding one of them.
func emojiUsable(ctx context.Context, r storage.Reader, e storage.Emoji, userID snowflake.ID) (bool, error) {
	if len(e.Roles) == 0 {
		return true, nil
	}
	m, err := r.Member(ctx, e.GuildID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, role := range m.Roles {
		if slices.Contains(e.Roles, role) {
			return true, nil
		}
	}
	return false, nil
}

// customEmoji is a custom emoji's markup in message content.
var customEmoji = regexp.MustCompile(`<(a?):([A-Za-z0-9_]{2,32}):([0-9]{1,20})>`)

// maxEmojiChecks bounds the emoji of one message that are looked up.
const maxEmojiChecks = 100

// restrictEmoji turns the markup of custom emoji that the author may not
// use (their roles) into the plain ":name:" text, which is what Discord's
// clients send for an emoji one cannot use; emoji unknown here are left.
func restrictEmoji(ctx context.Context, r storage.Reader, authorID snowflake.ID, content string) (string, error) {
	if !strings.Contains(content, "<") {
		return content, nil
	}
	verdict := map[snowflake.ID]bool{}
	var failed error
	out := customEmoji.ReplaceAllStringFunc(content, func(tok string) string {
		match := customEmoji.FindStringSubmatch(tok)
		id, err := snowflake.Parse(match[3])
		if err != nil || failed != nil {
			return tok
		}
		ok, seen := verdict[id]
		if !seen {
			if len(verdict) >= maxEmojiChecks {
				return tok
			}
			e, err := r.Emoji(ctx, id)
			switch {
			case errors.Is(err, storage.ErrNotFound):
				ok = true
			case err != nil:
				failed = err
				return tok
			default:
				if ok, err = emojiUsable(ctx, r, e, authorID); err != nil {
					failed = err
					return tok
				}
			}
			verdict[id] = ok
		}
		if ok {
			return tok
		}
		return ":" + match[2] + ":"
	})
	return out, failed
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
	return h.openImage(ctx, e.Hash)
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
	return h.openImage(ctx, trimAnimated(hash))
}
