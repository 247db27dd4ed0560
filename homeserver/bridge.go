package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"hearth/discord"
	"hearth/snowflake"
	"hearth/storage"
)

// Bridge is the domain's face for a Discord bridge (spec/bridge.md): a
// homeserver whose local users are Discord users and whose guilds mirror
// Discord guilds. It holds the few whole operations an ordinary homeserver
// has no use for: puppets made without a password, imports made
// idempotent by the Discord ID they carry, and the bridge's own records.
// Everything else the bridge does goes through the ordinary operations
// with a puppet's Principal, so that the mirror's permissions apply.
type Bridge struct{ h *Homeserver }

// Bridge returns the bridge operations. Only cmd/bridge wires a bridge;
// nothing reaches them from a client or a peer.
func (h *Homeserver) Bridge() *Bridge { return &Bridge{h: h} }

// Kinds of Discord object the bridge maps to local ones (bridge_ids).
const (
	// BridgeUser maps a Discord user ID to its puppet.
	BridgeUser = "user"
	// BridgeGuild maps a Discord guild ID to its mirror guild.
	BridgeGuild = "guild"
	// BridgeChannel maps a Discord channel ID to its mirror channel.
	BridgeChannel = "channel"
	// BridgeImported maps a Discord message ID to the local message an
	// import made of it: the key that makes an import happen once.
	BridgeImported = "message"
	// BridgeRelayed maps a Discord message ID to the local message the
	// relay posted it for (a Hearth person's message sent to Discord).
	BridgeRelayed = "relayed"
)

// Puppet is the local user mirroring a Discord user, made on first sight:
// its name is the Discord username sanitised to Hearth's rules (a clash
// takes the Discord ID's last digits), its display name Discord's global
// name, kept up to date on every call. A puppet has no password: nobody
// signs in as it.
func (b *Bridge) Puppet(ctx context.Context, discordID, username, globalName string, bot bool) (Principal, error) {
	h := b.h
	if id, err := h.store.BridgeID(ctx, BridgeUser, discordID); err == nil {
		u, err := h.store.UserByID(ctx, id)
		if err != nil {
			return Principal{}, storeErr("puppet", err)
		}
		if globalName != "" && u.GlobalName != globalName {
			u.GlobalName = globalName
			if err := h.store.Update(ctx, func(tx storage.Tx) error { return tx.UpdateUser(ctx, u) }); err != nil {
				return Principal{}, storeErr("puppet", err)
			}
		}
		return Principal{User: userFrom(u)}, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return Principal{}, storeErr("puppet", err)
	}
	base := SanitizeUsername(username)
	for attempt := 0; ; attempt++ {
		name := base
		if attempt > 0 {
			suffix := discordID
			if len(suffix) > 4 {
				suffix = suffix[len(suffix)-4:]
			}
			if attempt > 1 {
				suffix = fmt.Sprintf("%s%d", suffix, attempt)
			}
			name = truncateName(base, UsernameMax-len(suffix)-1) + "_" + suffix
		}
		// The bridged badge marks a puppet for clients (and for bridges that
		// must not loop).
		u := storage.User{ID: h.cfg.IDs.Next(), Username: name, GlobalName: globalName, Bot: bot, Flags: FlagBridged,
			CreatedAt: h.now()}
		err := h.store.Update(ctx, func(tx storage.Tx) error {
			if _, err := tx.BridgeID(ctx, BridgeUser, discordID); err == nil {
				return storage.ErrConflict
			}
			if err := tx.CreateUser(ctx, u); err != nil {
				return err
			}
			return tx.AddBridgeID(ctx, BridgeUser, discordID, u.ID)
		})
		if err == nil {
			return Principal{User: userFrom(u)}, nil
		}
		if !errors.Is(err, storage.ErrConflict) || attempt > 5 {
			return Principal{}, storeErr("puppet", err)
		}
		// Another import made this puppet meanwhile, or the name is
		// taken: look again, then try the next name.
		if id, err := h.store.BridgeID(ctx, BridgeUser, discordID); err == nil {
			u, err := h.store.UserByID(ctx, id)
			if err != nil {
				return Principal{}, storeErr("puppet", err)
			}
			return Principal{User: userFrom(u)}, nil
		}
	}
}

// SanitizeUsername turns a Discord username into a valid Hearth one:
// characters outside Hearth's set become underscores, periods are not
// doubled nor at the ends, the length is within bounds, and a reserved
// name is suffixed.
func SanitizeUsername(name string) string {
	var sb strings.Builder
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if !ok {
			c = '_'
		}
		sb.WriteRune(c)
	}
	s := sb.String()
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", "._")
	}
	s = strings.Trim(s, ".")
	s = truncateName(s, UsernameMax)
	s = strings.TrimSuffix(s, ".")
	for len(s) < UsernameMin {
		s += "_"
	}
	if reservedNames[strings.ToLower(s)] || strings.HasPrefix(strings.ToLower(s), deletedPrefix) {
		s = truncateName(s, UsernameMax-2) + "_d"
	}
	return s
}

// truncateName cuts an ASCII name to n bytes (sanitised names are ASCII).
func truncateName(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// AddMember makes a puppet a member of a mirror guild (Discord said it
// is one); a member already is no change.
func (b *Bridge) AddMember(ctx context.Context, p Principal, guildID snowflake.ID) error {
	_, err := b.h.join(ctx, p, guildID, nil)
	return err
}

// ImportMessage posts a Discord message in a mirror channel as its
// author's puppet, with Discord's time, once: the message, its event and
// the mapping of its Discord ID commit in one transaction, so that a
// replay finds the mapping and writes nothing (dup is then true and out
// holds only the local ID). The mirror's permissions apply as to any send.
func (b *Bridge) ImportMessage(ctx context.Context, p Principal, channelID snowflake.ID, discordID string, at time.Time,
	in MessageCreate) (out discord.Message, dup bool, err error) {
	h := b.h
	if id, err := h.store.BridgeID(ctx, BridgeImported, discordID); err == nil {
		return discord.Message{ID: id}, true, nil
	} else if !errors.Is(err, storage.ErrNotFound) {
		return out, false, storeErr("import message", err)
	}
	promoted := false
	defer func() {
		if !promoted {
			h.DiscardUploads(in.Files)
		}
	}()
	if strings.TrimSpace(in.Content) == "" && len(in.Embeds) == 0 && len(in.Files) == 0 {
		return out, false, ErrEmptyMessage
	}
	in.Nonce, in.EnforceNonce, in.Components, in.webhook, in.webhookOf = "", false, nil, nil, nil
	rendered, m, pl, _, err := h.prepareMessage(ctx, h.hot, p, channelID, in)
	if err != nil {
		return out, false, domainErr("import message", err)
	}
	applyDiscordPings(in.DiscordPings, pl, &m, &rendered)
	for _, f := range in.Files {
		if err := h.cfg.Blobs.Promote(ctx, f.staged); err != nil {
			return out, false, storeErr("import message: keep file", err)
		}
	}
	promoted = true
	if !at.IsZero() {
		m.CreatedAt = at.UTC()
		rendered.Timestamp = discord.Timestamp(m.CreatedAt)
	}
	logID := pl.logID()
	err = h.update(ctx, func(tx storage.Tx, ev *events) error {
		if id, err := tx.BridgeID(ctx, BridgeImported, discordID); err == nil {
			out, dup = discord.Message{ID: id}, true
			return nil
		} else if !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		// The ID is taken inside the transaction, so that IDs grow in the
		// log's order as the hot path's do (batch.go).
		id := h.cfg.IDs.Next()
		mm, oo := m, rendered
		mm.ID, oo.ID = id, id
		mm.Attachments = slices.Clone(m.Attachments)
		for i := range mm.Attachments {
			mm.Attachments[i].MessageID = id
		}
		if err := tx.CreateMessages(ctx, pl.scope(), []storage.Message{mm}); err != nil {
			return err
		}
		if err := tx.AddBridgeID(ctx, BridgeImported, discordID, id); err != nil {
			return err
		}
		out, dup = oo, false
		return ev.Append(ctx, logID, "MESSAGE_CREATE", oo)
	})
	if errors.Is(err, storage.ErrConflict) {
		// Another import of the same message won the race.
		if id, e := h.store.BridgeID(ctx, BridgeImported, discordID); e == nil {
			return discord.Message{ID: id}, true, nil
		}
	}
	if err != nil {
		return discord.Message{}, false, domainErr("import message", err)
	}
	return out, dup, nil
}

// LocalID is the local object mirroring a Discord object of a kind;
// ErrBridgeUnmapped when there is none.
func (b *Bridge) LocalID(ctx context.Context, kind, discordID string) (snowflake.ID, error) {
	id, err := b.h.store.BridgeID(ctx, kind, discordID)
	if errors.Is(err, storage.ErrNotFound) {
		return 0, fmt.Errorf("%s %s: %w", kind, discordID, ErrBridgeUnmapped)
	}
	return id, storeErrOrNil("bridge id", err)
}

// DiscordID is the Discord object a local object of a kind mirrors;
// ErrBridgeUnmapped when there is none.
func (b *Bridge) DiscordID(ctx context.Context, kind string, local snowflake.ID) (string, error) {
	s, err := b.h.store.BridgeRemote(ctx, kind, local)
	if errors.Is(err, storage.ErrNotFound) {
		return "", fmt.Errorf("%s %d: %w", kind, local, ErrBridgeUnmapped)
	}
	return s, storeErrOrNil("bridge remote", err)
}

// DiscordIDs are every Discord object of a kind a local object is (the
// parts of a message split at Discord's length), in Discord's order.
func (b *Bridge) DiscordIDs(ctx context.Context, kind string, local snowflake.ID) ([]string, error) {
	ids, err := b.h.store.BridgeRemotes(ctx, kind, local)
	return ids, storeErrOrNil("bridge remotes", err)
}

// Unmap forgets that a local object mirrors a Discord object (a part the
// bridge itself deletes on Discord, whose deletion must not come back).
func (b *Bridge) Unmap(ctx context.Context, kind, discordID string) error {
	return storeErrOrNil("bridge unmap", b.h.store.Update(ctx, func(tx storage.Tx) error {
		return tx.DeleteBridgeID(ctx, kind, discordID)
	}))
}

// Map records that a local object mirrors a Discord object; mapping an
// object again to the same local one is no error, to another is
// ErrBridgeMapped.
func (b *Bridge) Map(ctx context.Context, kind, discordID string, local snowflake.ID) error {
	err := b.h.store.Update(ctx, func(tx storage.Tx) error {
		if id, err := tx.BridgeID(ctx, kind, discordID); err == nil {
			if id == local {
				return nil
			}
			return fmt.Errorf("%s %s: %w", kind, discordID, ErrBridgeMapped)
		}
		return tx.AddBridgeID(ctx, kind, discordID, local)
	})
	if errors.Is(err, ErrBridgeMapped) {
		return err
	}
	return storeErrOrNil("bridge map", err)
}

// Errors of the bridge's records.
var (
	// ErrBridgeUnmapped: no local object mirrors that Discord object.
	ErrBridgeUnmapped = errors.New("not mirrored by the bridge")
	// ErrBridgeMapped: the Discord object is mirrored by another object.
	ErrBridgeMapped = errors.New("mirrored by another object")
)

// Value reads one of the bridge's named values; ok is false when unset.
func (b *Bridge) Value(ctx context.Context, key string) (v string, ok bool, err error) {
	v, err = b.h.store.BridgeValue(ctx, key)
	if errors.Is(err, storage.ErrNotFound) {
		return "", false, nil
	}
	return v, err == nil, storeErrOrNil("bridge value", err)
}

// Values lists the bridge's named values under a key prefix.
func (b *Bridge) Values(ctx context.Context, prefix string) ([]storage.BridgeValue, error) {
	vs, err := b.h.store.BridgeValues(ctx, prefix)
	return vs, storeErrOrNil("bridge values", err)
}

// SetValue writes one of the bridge's named values.
func (b *Bridge) SetValue(ctx context.Context, key, value string) error {
	now := b.h.now()
	return storeErrOrNil("bridge value", b.h.store.Update(ctx, func(tx storage.Tx) error {
		return tx.SetBridgeValue(ctx, key, value, now)
	}))
}

// DeleteValue removes one of the bridge's named values.
func (b *Bridge) DeleteValue(ctx context.Context, key string) error {
	return storeErrOrNil("bridge value", b.h.store.Update(ctx, func(tx storage.Tx) error {
		return tx.DeleteBridgeValue(ctx, key)
	}))
}

// LogEvent is one event of a mirror guild's log, as the relay reads it.
type LogEvent struct {
	Seq     int64
	Type    string
	Payload json.RawMessage
}

// Events reads a mirror guild's log after seq, in order: the relay's
// cursor moves over it as a peer's delivery cursor does.
func (b *Bridge) Events(ctx context.Context, guildID snowflake.ID, after int64, limit int) ([]LogEvent, error) {
	evs, err := b.h.store.Events(ctx, guildID, after, limit)
	if err != nil {
		return nil, storeErr("bridge events", err)
	}
	out := make([]LogEvent, len(evs))
	for i, e := range evs {
		out[i] = LogEvent{Seq: e.Seq, Type: e.Type, Payload: e.Payload}
	}
	return out, nil
}

// storeErrOrNil wraps a storage error as storeErr does, nil staying nil.
func storeErrOrNil(op string, err error) error {
	if err == nil {
		return nil
	}
	return storeErr(op, err)
}
