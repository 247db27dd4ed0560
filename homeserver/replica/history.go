package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// ErrRefusedHistory is the refusal of a history page from an origin that
// named what it does not own, or is not the page asked for. The whole
// page is refused.
var ErrRefusedHistory = errors.New("history page refused")

// HistoryMessage is one message of a checked history page.
type HistoryMessage struct {
	// Global is its global ID, OriginID its snowflake at the origin.
	Global   string
	OriginID snowflake.ID
}

// objectKind names what kind of object id is, other than a channel or a
// message of the channel backfilled; "" for none (a placeholder that a
// reply or pin notice named). An origin's message may not also be its user,
// guild, role, emoji, attachment or another channel's message.
func objectKind(ctx context.Context, tx storage.Tx, guildID, id snowflake.ID) (string, error) {
	found := func(err error) (bool, error) {
		if err == nil {
			return true, nil
		}
		if errors.Is(err, storage.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	lookups := []struct {
		kind string
		get  func() error
	}{
		{"user", func() error { _, err := tx.UserByID(ctx, id); return err }},
		{"guild", func() error { _, err := tx.GuildByID(ctx, id); return err }},
		{"emoji", func() error { _, err := tx.Emoji(ctx, id); return err }},
		{"attachment", func() error { _, err := tx.Attachment(ctx, id); return err }},
	}
	for _, l := range lookups {
		if ok, err := found(l.get()); err != nil || ok {
			return l.kind, err
		}
	}
	roles, err := tx.GuildRoles(ctx, guildID)
	if err != nil {
		return "", err
	}
	for _, r := range roles {
		if r.ID == id {
			return "role", nil
		}
	}
	chans, err := tx.GuildChannels(ctx, guildID)
	if err != nil {
		return "", err
	}
	for _, c := range chans {
		if ok, err := found(func() error { _, err := tx.Message(ctx, c.ID, id); return err }()); err != nil || ok {
			return "message of another channel", err
		}
	}
	return "", nil
}

// ownMessage checks a history page's message that says one of this
// server's users wrote it: this server must have seen that user's act make
// it (storage.Tx.RecordAuthor).
func ownMessage(ctx context.Context, tx storage.Tx, origin string, m HistoryMessage, user snowflake.ID) error {
	author, err := tx.MessageAuthor(ctx, origin, m.OriginID.String())
	if errors.Is(err, storage.ErrNotFound) || (err == nil && author != user) {
		return fmt.Errorf("%w: message %s is said to be by user %d, who never wrote it: %w", ErrRefusedHistory, m.Global, user, ErrForbidden)
	}
	return err
}

// lowestHeld is what backfilled IDs of a channel go below: its oldest
// message, or the channel itself (which the replica made before any live
// message of it) when that is lower.
func lowestHeld(ctx context.Context, tx storage.Tx, channelID snowflake.ID) (snowflake.ID, error) {
	// No snowflake is 1 or below: After 1 is the channel's oldest message.
	oldest, err := tx.Messages(ctx, channelID, storage.MessageQuery{After: 1, Limit: 1})
	if err != nil {
		return 0, err
	}
	if len(oldest) == 1 && oldest[0].ID < channelID {
		return oldest[0].ID, nil
	}
	return channelID, nil
}

// nextBackfillID is the highest backfill snowflake below below and no later
// than at that no object has: IDs of a channel are handed out downwards,
// newest message first, so they keep the origin's order.
func nextBackfillID(ctx context.Context, tx storage.Tx, at time.Time, below snowflake.ID) (snowflake.ID, error) {
	for range 64 {
		id, ok := snowflake.Backfill(at, below)
		if !ok {
			return 0, fmt.Errorf("%w: no snowflake left below %d", ErrRefusedHistory, below)
		}
		taken, err := tx.FederatedOrigins(ctx, []snowflake.ID{id})
		if err != nil {
			return 0, err
		}
		if len(taken) == 0 {
			return id, nil
		}
		below = id
	}
	return 0, fmt.Errorf("%w: no free snowflake below %d", ErrRefusedHistory, below)
}

// CheckHistoryPage checks a history answer before anything of it is
// stored: a JSON array of at most limit messages of the asked channel,
// newest first and below before, each the origin's own; every ID in them
// is the origin's, except users (authors, mentions), who may be of any
// server. It returns the messages and the IDs of this server's (named
// server) users the page names, whose rows must exist.
func CheckHistoryPage(v any, t Target, server, channel string, before snowflake.ID, limit int) ([]HistoryMessage, []snowflake.ID, error) {
	list, ok := v.([]any)
	if !ok || len(list) > limit {
		return nil, nil, fmt.Errorf("%w: not an array of at most %d messages", ErrRefusedHistory, limit)
	}
	c := &pageCheck{server: server, origin: t.Origin}
	out := make([]HistoryMessage, 0, len(list))
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("%w: element %d is not a message", ErrRefusedHistory, i)
		}
		gid, _ := obj["id"].(string)
		raw, origin, ok := globalid.Parse(gid)
		if !ok || origin != t.Origin {
			return nil, nil, fmt.Errorf("%w: message %q is not of %s", ErrRefusedHistory, gid, t.Origin)
		}
		n, err := snowflake.Parse(raw)
		if err != nil || n.String() != raw {
			// "0123@a" would be a second name for "123@a".
			return nil, nil, fmt.Errorf("%w: message %q is not a snowflake in its shortest form", ErrRefusedHistory, gid)
		}
		if n == 0 || n >= before {
			return nil, nil, fmt.Errorf("%w: message %q is not below %d", ErrRefusedHistory, gid, before)
		}
		if len(out) > 0 && n >= out[len(out)-1].OriginID {
			return nil, nil, fmt.Errorf("%w: message %q is out of order", ErrRefusedHistory, gid)
		}
		if ch, _ := obj["channel_id"].(string); ch != channel {
			return nil, nil, fmt.Errorf("%w: message %q is in channel %q, not %q", ErrRefusedHistory, gid, ch, channel)
		}
		if g, ok := obj["guild_id"]; ok && g != nil && g != t.Global {
			return nil, nil, fmt.Errorf("%w: message %q is in guild %v, not %q", ErrRefusedHistory, gid, g, t.Global)
		}
		if err := c.value(obj, "", false); err != nil {
			return nil, nil, fmt.Errorf("%w: message %q: %w", ErrRefusedHistory, gid, err)
		}
		out = append(out, HistoryMessage{Global: gid, OriginID: n})
	}
	return out, c.ownUsers, nil
}

// pageCheck walks a message of a history page.
type pageCheck struct {
	server   string
	origin   string
	ownUsers []snowflake.ID
}

// value checks a decoded value found under key; user says that the value
// is a user object (its "id" is a user's).
func (c *pageCheck) value(v any, key string, user bool) error {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			switch {
			case k == "content":
				if s, ok := e.(string); ok {
					for _, m := range globalid.MentionsIn(s) {
						if err := c.id(m.ID, strings.HasPrefix(m.Kind, "@") && m.Kind != "@&"); err != nil {
							return err
						}
					}
					continue
				}
				if err := c.value(e, k, false); err != nil {
					return err
				}
			case globalid.IDKey(k):
				if err := c.ids(e, k, (k == "id" && user) || k == "user_id" || k == "user_ids"); err != nil {
					return err
				}
			default:
				if err := c.value(e, k, globalid.UserKey(k)); err != nil {
					return err
				}
			}
		}
	case []any:
		for _, e := range x {
			if err := c.value(e, key, user); err != nil {
				return err
			}
		}
	}
	return nil
}

// ids checks the value of an ID key: global IDs, lists of them, or
// objects (walked as any other).
func (c *pageCheck) ids(v any, key string, user bool) error {
	switch x := v.(type) {
	case string:
		if x == "" {
			return nil
		}
		if _, _, ok := globalid.Parse(x); ok {
			return c.id(x, user)
		}
		if _, err := snowflake.Parse(x); err == nil {
			// A bare number would be taken as one of this server's IDs.
			return fmt.Errorf("%s %q is not a global ID", key, x)
		}
	case json.Number:
		return fmt.Errorf("%s %s is not a global ID", key, x)
	case []any:
		for _, e := range x {
			if err := c.ids(e, key, user); err != nil {
				return err
			}
		}
	case map[string]any:
		return c.value(x, key, user)
	}
	return nil
}

// id checks one global ID: the origin's, or a user of any server.
func (c *pageCheck) id(g string, user bool) error {
	raw, origin, ok := globalid.Parse(g)
	switch {
	case !ok:
		return fmt.Errorf("%q is not a global ID", g)
	case origin == c.origin:
		return nil
	case !user:
		return fmt.Errorf("%q is not of %s", g, c.origin)
	case origin == c.server:
		n, err := snowflake.Parse(raw)
		if err != nil {
			return fmt.Errorf("%q: %w", g, err)
		}
		c.ownUsers = append(c.ownUsers, n)
	}
	return nil
}

// StoreHistory stores a checked page of an origin's history (v, decoded,
// in global IDs; page, what CheckHistoryPage made of it) in replica
// channel channelID of t, under local snowflakes of its own below every
// message the channel holds, and moves the channel's history floor (gone
// when the page was short of limit). It reports how many messages it
// stored; l is the transaction's localizer in replica mode for t.
func StoreHistory(ctx context.Context, tx storage.Tx, env Env, l *globalid.Localizer, t Target, channelID snowflake.ID, v any, page []HistoryMessage, limit int) (int, error) {
	if err := l.Preload(ctx, globalid.GlobalsIn(v)); err != nil {
		return 0, err
	}
	below, err := lowestHeld(ctx, tx, channelID)
	if err != nil {
		return 0, err
	}
	skip := map[string]bool{}
	for _, m := range page {
		id, ok := l.Cached(m.Global)
		if km, found := l.Known(m.Global); !ok && found {
			// Mapped before: only ever within this replica (a reply
			// named it), never as an object of another place.
			if km.Scope != t.ID && km.Scope != 0 {
				return 0, fmt.Errorf("%w: message %s is mapped in another place", ErrRefusedHistory, m.Global)
			}
			id, ok = km.Local, true
		}
		if ok {
			if _, err := tx.Message(ctx, channelID, id); err == nil {
				skip[m.Global] = true // held already
				continue
			} else if !errors.Is(err, storage.ErrNotFound) {
				return 0, err
			}
			// Named before it arrived: by a reply, a pin notice or a
			// reaction (a placeholder, moved below), or as a thread,
			// whose starter it is and whose ID it keeps off the page.
			if _, err := tx.ChannelByID(ctx, id); err == nil {
				skip[m.Global] = true
				continue
			}
			if kind, err := objectKind(ctx, tx, t.ID, id); err != nil {
				return 0, err
			} else if kind != "" {
				return 0, fmt.Errorf("%w: message %s is also a %s", ErrRefusedHistory, m.Global, kind)
			}
		}
		next, err := nextBackfillID(ctx, tx, m.OriginID.Time(), below)
		if err != nil {
			return 0, err
		}
		below = next
		g := storage.GlobalID{Origin: t.Origin, OriginID: m.OriginID.String()}
		if ok {
			if err := tx.RemapFederatedMessage(ctx, t.ID, g, id, next); err != nil {
				return 0, err
			}
		} else if err := tx.MapFederatedID(ctx, g, storage.Mapping{Local: next, Scope: t.ID}); err != nil {
			return 0, err
		}
		l.Assign(m.Global, next)
	}
	b, err := env.Localize(ctx, tx, l, v)
	if err != nil {
		return 0, err
	}
	var ms []discord.Message
	if err := json.Unmarshal(b, &ms); err != nil {
		return 0, fmt.Errorf("%w: %w", ErrRefusedHistory, err)
	}
	out := make([]storage.Message, 0, len(ms))
	// authors holds whether each author is one of this server's users.
	authors := map[snowflake.ID]bool{}
	for i, m := range ms {
		if skip[page[i].Global] {
			continue
		}
		if m.ChannelID != channelID || m.ID.Node() != snowflake.BackfillNode {
			return 0, fmt.Errorf("%w: message %s did not localize into the channel", ErrRefusedHistory, page[i].Global)
		}
		own, seen := authors[m.Author.ID]
		if !seen {
			// Every message has an author this server knows (a
			// remote one is mirrored from the page's user object).
			u, err := tx.UserByID(ctx, m.Author.ID)
			if err != nil {
				return 0, fmt.Errorf("%w: message %s has no author: %w", ErrRefusedHistory, page[i].Global, err)
			}
			own = u.Origin == ""
			authors[m.Author.ID] = own
		}
		if own {
			// A message of this server's user: as in a live batch, only
			// one an act of theirs made (spec/federation.md §14,
			// "Writes in a user's name").
			if err := ownMessage(ctx, tx, t.Origin, page[i], m.Author.ID); err != nil {
				return 0, err
			}
		}
		if err := checkWebhookAuthor(ctx, tx, t.Origin, m); err != nil {
			return 0, fmt.Errorf("%w: message %s: %w", ErrRefusedHistory, page[i].Global, err)
		}
		sm := messageFrom(m, t.GuildID(), env.Now())
		sm.Attachments = remoteAttachments(m, t.Origin)
		out = append(out, sm)
	}
	if len(page) < limit {
		if err := tx.DeleteHistoryFloor(ctx, channelID); err != nil {
			return 0, err
		}
	} else if err := tx.SetHistoryFloor(ctx, channelID, page[len(page)-1].OriginID-1); err != nil {
		return 0, err
	}
	return len(out), tx.CreateMessages(ctx, t.Scope(), out)
}
