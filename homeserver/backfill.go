package homeserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"hearth/discord"
	"hearth/homeserver/globalid"
	"hearth/snowflake"
	"hearth/storage"
)

// A replica holds what its origin's log told it since the replica began;
// the messages of a channel from before then are fetched from the origin
// page by page as readers reach them (spec/federation.md §9.5). Such a
// message gets a local snowflake of its own on snowflake.BackfillNode,
// below every message the channel holds: the origin's number is never
// taken as a local ID, so a page cannot make an origin's ID name one of
// this server's objects.

// Bounds on fetching older history.
const (
	// historyBudget is how long a history read waits for the origin
	// before it answers with what the replica holds; the fetch goes on in
	// the background, so that a later read has its messages.
	historyBudget = time.Second
	// backfillTimeout bounds one fetch, so that an origin that never
	// answers frees its channel's slot.
	backfillTimeout = 30 * time.Second
	// maxBackfills bounds the fetches in flight at once, over all
	// channels; a read past it answers from what is held.
	maxBackfills = 8
	// historyPage is how many messages a fetch asks for: the most the
	// endpoint gives, whatever the read's own limit, so that paging back
	// costs few round trips.
	historyPage = 100
)

// errRefusedHistory: a history page from an origin named what it does not
// own, or is not the page asked for. The whole page is refused.
var errRefusedHistory = errors.New("history page refused")

// backfillRuns are the fetches of older history in flight, at most one
// per channel. The zero value is ready.
type backfillRuns struct {
	mu sync.Mutex
	m  map[snowflake.ID]*backfillRun
}

// backfillRun is one fetch; done closes when it ends, after stored is set.
type backfillRun struct {
	done   chan struct{}
	stored bool
}

// olderHistory brings a replica channel's history from before the replica
// began a page further down, for a read that reached the bottom of what is
// held. It waits at most historyBudget and reports whether messages were
// stored by then.
func (h *Homeserver) olderHistory(ctx context.Context, channelID snowflake.ID) bool {
	if h.remote == nil {
		return false
	}
	if _, ok := h.replicaOfChannel(ctx, channelID); !ok {
		return false
	}
	if _, err := h.store.HistoryFloor(ctx, channelID); err != nil {
		if !errors.Is(err, storage.ErrNotFound) {
			h.log.Warn("federation: reading a history floor failed", "channel", channelID, "err", err)
		}
		return false // nothing from before the replica, or fetched already
	}
	run := h.startBackfill(channelID)
	if run == nil {
		return false
	}
	t := time.NewTimer(historyBudget)
	defer t.Stop()
	select {
	case <-run.done:
		return run.stored
	case <-t.C:
	case <-ctx.Done():
	}
	return false
}

// startBackfill joins the channel's fetch in flight or starts one on the
// background runner, which owns it: the fetch outlives the read that asked
// for it and stops with the runner. nil when none can start.
func (h *Homeserver) startBackfill(channelID snowflake.ID) *backfillRun {
	h.backfills.mu.Lock()
	defer h.backfills.mu.Unlock()
	if run, ok := h.backfills.m[channelID]; ok {
		return run
	}
	if len(h.backfills.m) >= maxBackfills {
		return nil
	}
	run := &backfillRun{done: make(chan struct{})}
	task := func(ctx context.Context) {
		h.tasks.Add(1)
		go func() {
			defer h.tasks.Done()
			fctx, cancel := context.WithTimeout(ctx, backfillTimeout)
			defer cancel()
			stored, err := h.backfill(fctx, channelID, historyPage)
			switch {
			case errors.Is(err, errRefusedHistory):
				h.log.Warn("federation: refused a history page", "channel", channelID, "err", err)
			case err != nil:
				h.log.Warn("federation: backfill failed", "channel", channelID, "err", err)
			}
			h.backfills.mu.Lock()
			delete(h.backfills.m, channelID)
			h.backfills.mu.Unlock()
			run.stored = stored
			close(run.done)
		}()
	}
	select {
	case h.background <- task:
	default:
		h.log.Warn("background work queue full; not fetching older history", "channel", channelID)
		return nil
	}
	if h.backfills.m == nil {
		h.backfills.m = map[snowflake.ID]*backfillRun{}
	}
	h.backfills.m[channelID] = run
	return run
}

// historyMessage is one message of a checked history page.
type historyMessage struct {
	global   string
	originID snowflake.ID
}

// backfill fetches from a replica channel's origin the page of messages
// below the oldest the channel holds from before the replica began, and
// stores it; it reports whether it stored any.
func (h *Homeserver) backfill(ctx context.Context, channelID snowflake.ID, limit int) (bool, error) {
	rl, ok := h.replicaOfChannel(ctx, channelID)
	if !ok || h.remote == nil || !rl.Guild {
		return false, nil
	}
	floor, err := h.store.HistoryFloor(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, domainErr("backfill", err)
	}
	channelGlobal, err := h.globalOf(ctx, channelID)
	if err != nil {
		return false, err
	}
	before, err := h.historyBefore(ctx, rl, channelID, floor)
	if err != nil {
		return false, domainErr("backfill", err)
	}
	raw, err := h.remote.History(ctx, rl.Origin, channelGlobal, before.String(), limit)
	if err != nil {
		return false, fmt.Errorf("backfill: %w", err)
	}
	v, err := globalid.Decode(raw)
	if err != nil {
		return false, fmt.Errorf("backfill: %w: %w", errRefusedHistory, err)
	}
	page, ownUsers, err := h.checkHistoryPage(v, rl, channelGlobal, before, limit)
	if err != nil {
		return false, fmt.Errorf("backfill from %s: %w", rl.Origin, err)
	}
	stored := 0
	err = h.store.Update(ctx, func(tx storage.Tx) error {
		for _, u := range ownUsers {
			if _, err := tx.UserByID(ctx, u); err != nil {
				return fmt.Errorf("%w: it names %s@%s as a user: %w", errRefusedHistory, u, h.cfg.ServerName, err)
			}
		}
		l := h.newLocalizer(tx, tx).ForReplica(rl.Origin, rl.ID)
		if err := l.Preload(ctx, globalid.GlobalsIn(v)); err != nil {
			return err
		}
		below, err := lowestHeld(ctx, tx, channelID)
		if err != nil {
			return err
		}
		skip := map[string]bool{}
		for _, m := range page {
			id, ok := l.Cached(m.global)
			if km, found := l.Known(m.global); !ok && found {
				// Mapped before: only ever within this replica (a reply
				// named it), never as an object of another place.
				if km.Scope != rl.ID && km.Scope != 0 {
					return fmt.Errorf("%w: message %s is mapped in another place", errRefusedHistory, m.global)
				}
				id, ok = km.Local, true
			}
			if ok {
				if _, err := tx.Message(ctx, channelID, id); err == nil {
					skip[m.global] = true // held already
					continue
				} else if !errors.Is(err, storage.ErrNotFound) {
					return err
				}
				// Named before it arrived: by a reply, a pin notice or a
				// reaction (a placeholder, moved below), or as a thread,
				// whose starter it is and whose ID it keeps off the page.
				if _, err := tx.ChannelByID(ctx, id); err == nil {
					skip[m.global] = true
					continue
				}
				if kind, err := objectKind(ctx, tx, rl.ID, id); err != nil {
					return err
				} else if kind != "" {
					return fmt.Errorf("%w: message %s is also a %s", errRefusedHistory, m.global, kind)
				}
			}
			next, err := nextBackfillID(ctx, tx, m.originID.Time(), below)
			if err != nil {
				return err
			}
			below = next
			g := storage.GlobalID{Origin: rl.Origin, OriginID: m.originID.String()}
			if ok {
				if err := tx.RemapFederatedMessage(ctx, rl.ID, g, id, next); err != nil {
					return err
				}
			} else if err := tx.MapFederatedID(ctx, g, storage.Mapping{Local: next, Scope: rl.ID}); err != nil {
				return err
			}
			l.Assign(m.global, next)
		}
		b, err := h.localize(ctx, tx, l, v)
		if err != nil {
			return err
		}
		var ms []discord.Message
		if err := json.Unmarshal(b, &ms); err != nil {
			return fmt.Errorf("%w: %w", errRefusedHistory, err)
		}
		out := make([]storage.Message, 0, len(ms))
		authors := map[snowflake.ID]bool{}
		for i, m := range ms {
			if skip[page[i].global] {
				continue
			}
			if m.ChannelID != channelID || m.ID.Node() != snowflake.BackfillNode {
				return fmt.Errorf("%w: message %s did not localize into the channel", errRefusedHistory, page[i].global)
			}
			if !authors[m.Author.ID] {
				// Every message has an author this server knows (a
				// remote one is mirrored from the page's user object).
				if _, err := tx.UserByID(ctx, m.Author.ID); err != nil {
					return fmt.Errorf("%w: message %s has no author: %w", errRefusedHistory, page[i].global, err)
				}
				authors[m.Author.ID] = true
			}
			if err := checkWebhookAuthor(ctx, tx, rl.Origin, m); err != nil {
				return fmt.Errorf("%w: message %s: %w", errRefusedHistory, page[i].global, err)
			}
			sm := messageFrom(m, rl.guildID(), h.now())
			sm.Attachments = remoteAttachments(m, rl.Origin)
			out = append(out, sm)
		}
		if len(page) < limit {
			if err := tx.DeleteHistoryFloor(ctx, channelID); err != nil {
				return err
			}
		} else if err := tx.SetHistoryFloor(ctx, channelID, page[len(page)-1].originID-1); err != nil {
			return err
		}
		stored = len(out)
		return tx.CreateMessages(ctx, rl.scope(), out)
	})
	if errors.Is(err, errRefusedHistory) {
		return false, fmt.Errorf("backfill from %s: %w", rl.Origin, err)
	}
	if err != nil {
		return false, domainErr("backfill", err)
	}
	return stored > 0, nil
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

// historyBefore is the origin's snowflake to ask below: the floor's next,
// or the origin's ID of the oldest message held when that is lower (a
// message backfilled before the floor moved with each page).
func (h *Homeserver) historyBefore(ctx context.Context, rl replicaLog, channelID, floor snowflake.ID) (snowflake.ID, error) {
	before := floor + 1
	oldest, err := h.store.Messages(ctx, channelID, storage.MessageQuery{After: 1, Limit: 1})
	if err != nil || len(oldest) == 0 {
		return before, err
	}
	origins, err := h.store.FederatedOrigins(ctx, []snowflake.ID{oldest[0].ID})
	if err != nil {
		return 0, err
	}
	if g, ok := origins[oldest[0].ID]; ok && g.Origin == rl.Origin {
		if n, err := snowflake.Parse(g.OriginID); err == nil && n > 0 && n < before {
			before = n
		}
	}
	return before, nil
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
			return 0, fmt.Errorf("%w: no snowflake left below %d", errRefusedHistory, below)
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
	return 0, fmt.Errorf("%w: no free snowflake below %d", errRefusedHistory, below)
}

// checkHistoryPage checks a history answer before anything of it is
// stored: a JSON array of at most limit messages of the asked channel,
// newest first and below before, each the origin's own; every ID in them
// is the origin's, except users (authors, mentions), who may be of any
// server. It returns the messages and the IDs of this server's users the
// page names, whose rows must exist.
func (h *Homeserver) checkHistoryPage(v any, rl replicaLog, channel string, before snowflake.ID, limit int) ([]historyMessage, []snowflake.ID, error) {
	list, ok := v.([]any)
	if !ok || len(list) > limit {
		return nil, nil, fmt.Errorf("%w: not an array of at most %d messages", errRefusedHistory, limit)
	}
	c := &pageCheck{h: h, origin: rl.Origin}
	out := make([]historyMessage, 0, len(list))
	for i, e := range list {
		obj, ok := e.(map[string]any)
		if !ok {
			return nil, nil, fmt.Errorf("%w: element %d is not a message", errRefusedHistory, i)
		}
		gid, _ := obj["id"].(string)
		raw, origin, ok := globalid.Parse(gid)
		if !ok || origin != rl.Origin {
			return nil, nil, fmt.Errorf("%w: message %q is not of %s", errRefusedHistory, gid, rl.Origin)
		}
		n, err := snowflake.Parse(raw)
		if err != nil || n.String() != raw {
			// "0123@a" would be a second name for "123@a".
			return nil, nil, fmt.Errorf("%w: message %q is not a snowflake in its shortest form", errRefusedHistory, gid)
		}
		if n == 0 || n >= before {
			return nil, nil, fmt.Errorf("%w: message %q is not below %d", errRefusedHistory, gid, before)
		}
		if len(out) > 0 && n >= out[len(out)-1].originID {
			return nil, nil, fmt.Errorf("%w: message %q is out of order", errRefusedHistory, gid)
		}
		if ch, _ := obj["channel_id"].(string); ch != channel {
			return nil, nil, fmt.Errorf("%w: message %q is in channel %q, not %q", errRefusedHistory, gid, ch, channel)
		}
		if g, ok := obj["guild_id"]; ok && g != nil && g != rl.Global {
			return nil, nil, fmt.Errorf("%w: message %q is in guild %v, not %q", errRefusedHistory, gid, g, rl.Global)
		}
		if err := c.value(obj, "", false); err != nil {
			return nil, nil, fmt.Errorf("%w: message %q: %w", errRefusedHistory, gid, err)
		}
		out = append(out, historyMessage{global: gid, originID: n})
	}
	return out, c.ownUsers, nil
}

// pageCheck walks a message of a history page.
type pageCheck struct {
	h        *Homeserver
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
				if err := c.value(e, k, userKeys[k]); err != nil {
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
	case origin == c.h.cfg.ServerName:
		n, err := snowflake.Parse(raw)
		if err != nil {
			return fmt.Errorf("%q: %w", g, err)
		}
		c.ownUsers = append(c.ownUsers, n)
	}
	return nil
}
