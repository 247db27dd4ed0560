package bridge

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/snowflake"
)

// What was written on Discord while the bridge was away (down, or
// between a gateway session and the next one) is fetched when the gateway
// says READY: each mirrored channel's messages after its high-water mark,
// the newest Discord message ID the bridge has imported there, kept as
// the named value "hwm:<Discord channel ID>". The READY handler runs on
// the gateway's reader, so these imports come before any live event of
// the new session; a message both fetched and received live is imported
// once (its Discord ID is its key).

// maxMissed bounds what one catch-up imports per channel.
const maxMissed = 1000

func hwmKey(dchan string) string { return "hwm:" + dchan }

// idLess compares Discord snowflakes given as decimal strings.
func idLess(a, b string) bool {
	x, _ := strconv.ParseUint(a, 10, 64)
	y, _ := strconv.ParseUint(b, 10, 64)
	return x < y
}

// raiseHWM moves a channel's high-water mark up to id.
func (b *Bridge) raiseHWM(ctx context.Context, dchan, id string) error {
	cur, ok, err := b.dom.Value(ctx, hwmKey(dchan))
	if err != nil {
		return err
	}
	if ok && !idLess(cur, id) {
		return nil
	}
	return b.dom.SetValue(ctx, hwmKey(dchan), id)
}

func (b *Bridge) onReady(_ *discordgo.Session, r *discordgo.Ready) {
	ctx := b.runCtx
	if ctx == nil {
		return
	}
	b.metrics.connect("identify")
	b.mu.Lock()
	links := make([]Link, 0, len(b.links))
	for _, l := range b.links {
		links = append(links, l)
	}
	b.mu.Unlock()
	for _, l := range links {
		b.runCatchUp(ctx, l)
	}
}

func (b *Bridge) onResumed(_ *discordgo.Session, _ *discordgo.Resumed) { b.metrics.connect("resume") }

// runCatchUp catches a guild up; one that Discord held up (a rate limit,
// a 5xx, the network) is tried again by the control loop once the
// announced wait is over (5 s otherwise), rather than at the next READY,
// which may be days away.
func (b *Bridge) runCatchUp(ctx context.Context, l Link) {
	err := b.catchUp(ctx, l)
	if err == nil || ctx.Err() != nil {
		b.mu.Lock()
		delete(b.catchUpDue, l.DiscordGuild)
		b.mu.Unlock()
		return
	}
	b.log.Warn("bridge: catching up with Discord failed", "discord_guild", l.DiscordGuild, "err", err)
	if !discordTransient(err) {
		return
	}
	wait := 5 * time.Second
	var rl *RateLimitedError
	if errors.As(err, &rl) {
		wait = rl.RetryAfter
		b.metrics.waited(wait)
	}
	b.mu.Lock()
	if b.catchUpDue == nil {
		b.catchUpDue = map[string]time.Time{}
	}
	b.catchUpDue[l.DiscordGuild] = time.Now().Add(wait)
	b.mu.Unlock()
}

// retryCatchUps runs the catch-ups held up earlier whose wait is over
// (called by the control loop).
func (b *Bridge) retryCatchUps(ctx context.Context) {
	now := time.Now()
	var due []Link
	b.mu.Lock()
	for g, at := range b.catchUpDue {
		if l, ok := b.links[g]; ok && !now.Before(at) {
			due = append(due, l)
		} else if !ok {
			delete(b.catchUpDue, g)
		}
	}
	b.mu.Unlock()
	for _, l := range due {
		b.runCatchUp(ctx, l)
	}
}

// catchUp brings each of l's mirrored channels up to Discord: the
// messages after its high-water mark, oldest first, then the edits and
// deletes of the newest ones (see reconcile).
func (b *Bridge) catchUp(ctx context.Context, l Link) error {
	vs, err := b.dom.Values(ctx, "hwm:")
	if err != nil {
		return err
	}
	// The high-water marks are every linked guild's; this catch-up takes
	// the channels of l's mirror only (Discord's messages name no guild
	// to tell them apart by).
	mine, err := b.hs.GuildChannels(ctx, b.owner, l.Guild)
	if err != nil {
		return err
	}
	inMirror := make(map[snowflake.ID]bool, len(mine))
	for _, c := range mine {
		inMirror[c.ID] = true
	}
	for _, v := range vs {
		dchan := v.Key[len("hwm:"):]
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, dchan)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) || (err == nil && !inMirror[local]) {
			continue
		} else if err != nil {
			return err
		}
		if err := b.catchUpChannel(ctx, l, dchan, local, v.Value); err != nil {
			return err
		}
	}
	return b.catchUpThreads(ctx, l)
}

// catchUpThreads brings the guild's active public threads up to Discord:
// a thread started while the bridge was away is mirrored (as its
// THREAD_CREATE would have), and each thread's messages after its
// high-water mark (from the thread's start for one never read) are
// imported and its newest reconciled, as a channel's. An archived thread
// takes no message on Discord without being unarchived, which makes it
// active again, so the active ones are all that can have missed messages.
func (b *Bridge) catchUpThreads(ctx context.Context, l Link) error {
	dctx, cancel := ctxDiscord(ctx)
	list, err := b.session.GuildThreadsActive(l.DiscordGuild, discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return err
	}
	sortByID(list.Threads, channelID)
	for _, th := range list.Threads {
		if !bridgedThread(th.Type) {
			continue
		}
		if th.GuildID == "" {
			th.GuildID = l.DiscordGuild
		}
		if _, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, th.ParentID); errors.Is(err, homeserver.ErrBridgeUnmapped) {
			continue // a private channel's
		} else if err != nil {
			return err
		}
		unlock := b.lockChannel(th.ParentID)
		err := b.importThread(ctx, l, th)
		unlock()
		if err != nil && discordTransient(err) {
			return err // the catch-up is tried again
		} else if err != nil {
			// One thread the mirror refuses (deleted there meanwhile)
			// holds up no other.
			b.log.Warn("bridge: catching up a thread failed", "thread", th.ID, "err", err)
			continue
		}
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, th.ID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			continue // the relay's, not mapped yet
		} else if err != nil {
			return err
		}
		mark, ok, err := b.dom.Value(ctx, hwmKey(th.ID))
		if err != nil {
			return err
		}
		if !ok {
			mark = th.ID
		}
		if err := b.catchUpChannel(ctx, l, th.ID, local, mark); err != nil {
			return err
		}
	}
	return nil
}

// catchUpChannel imports one channel's messages after mark, then
// reconciles its newest ones, holding the channel's lock so that a live
// event of the channel (when run from the control loop) waits.
func (b *Bridge) catchUpChannel(ctx context.Context, l Link, dchan string, local snowflake.ID, mark string) error {
	defer b.lockChannel(dchan)()
	after, n := mark, 0
	for n < maxMissed {
		dctx, cancel := ctxDiscord(ctx)
		page, err := b.session.ChannelMessages(dchan, 100, "", after, "", discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return err
		}
		if len(page) == 0 {
			break
		}
		sortByID(page, messageID)
		for _, m := range page {
			if m.GuildID == "" {
				m.GuildID = l.DiscordGuild
			}
			if m.GuildID != l.DiscordGuild {
				break
			}
			if err := b.importMessage(ctx, l, m, "missed"); err != nil {
				return err
			}
			after = m.ID
		}
		n += len(page)
		b.metrics.missed(len(page))
		if len(page) < 100 {
			break
		}
	}
	return b.reconcile(ctx, l, dchan, local, mark)
}

// The reconcile window: a catch-up compares with the mirror the
// channel's messages written since a week before the bridge last saw the
// channel (its high-water mark before the catch-up), newest first, in
// pages of 100, at most reconcileMax of them. Discord has no "changed
// since": an edit or delete made while the bridge was away may touch any
// message, and reading a whole channel on every READY would cost a
// request per hundred messages of history. Edits and deletes cluster on
// recent messages, so a week before the last one seen, within a thousand,
// covers what people touch, for at most ten requests per channel.
const (
	reconcileMax      = 1000
	reconcileLookback = 7 * 24 * time.Hour
)

// discordTime is the moment a Discord snowflake was made.
func discordTime(id string) time.Time {
	n, _ := strconv.ParseUint(id, 10, 64)
	return time.UnixMilli(int64(n>>22) + discordEpoch)
}

// discordIDAt is the smallest Discord snowflake of a moment.
func discordIDAt(t time.Time) string {
	return strconv.FormatUint(uint64(max(t.UnixMilli()-discordEpoch, 0))<<22, 10)
}

// reconcile applies to the mirror the edits and deletes Discord made
// within the reconcile window while the bridge was away: an imported
// message whose Discord text differs is edited (as live edits are, by its
// puppet), and a bridged message (imported, or a Hearth person's relayed
// there) whose Discord ID lies within the span Discord listed and is
// missing from it is deleted. mark is the channel's high-water mark
// before the catch-up.
func (b *Bridge) reconcile(ctx context.Context, l Link, dchan string, local snowflake.ID, mark string) error {
	floor := discordIDAt(discordTime(mark).Add(-reconcileLookback))
	var page []*discordgo.Message
	before, whole := "", false
	for len(page) < reconcileMax {
		dctx, cancel := ctxDiscord(ctx)
		got, err := b.session.ChannelMessages(dchan, 100, before, "", "", discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return err
		}
		page = append(page, got...)
		if len(got) < 100 {
			whole = true // the channel's start
			break
		}
		sortByID(got, messageID)
		before = got[0].ID
		if idLess(before, floor) {
			break
		}
	}
	sortByID(page, messageID)
	on := make(map[string]bool, len(page))
	for _, m := range page {
		on[m.ID] = true
		if m.GuildID == "" {
			m.GuildID = l.DiscordGuild
		}
		if m.EditedTimestamp == nil {
			continue
		}
		if err := b.importEdit(ctx, l, m); err != nil {
			return err
		}
	}
	if len(page) == 0 {
		// An empty channel: everything bridged in it was deleted, but an
		// empty answer is also what a channel the bot may no longer read
		// gives, so nothing is deleted on its word alone.
		return nil
	}
	// The span: from the oldest message listed (or the channel's start,
	// when Discord listed all of it) to the newest. A message newer than
	// the span came live since and is not judged.
	lo, hi := page[0].ID, page[len(page)-1].ID
	if whole {
		lo = "0"
	}
	// The mirror's messages, newest first, until one bridged before the
	// span (at most twice the window, for Hearth messages never relayed).
	var cursor snowflake.ID
	for read := 0; read < 2*reconcileMax; {
		mine, err := b.hs.Messages(ctx, b.owner, local, homeserver.HistoryQuery{Limit: 100, Before: cursor})
		if err != nil {
			return err
		}
		read += len(mine)
		past := false
		for _, lm := range mine {
			dids, err := b.bridgedAs(ctx, lm.ID)
			if err != nil {
				return err
			}
			for _, did := range dids {
				if idLess(did, lo) {
					past = true
				}
				if on[did] || idLess(did, lo) || idLess(hi, did) {
					continue
				}
				if err := b.importDelete(ctx, dchan, did); err != nil {
					return err
				}
				b.metrics.event("MESSAGE_DELETE", "missed")
				break
			}
			cursor = lm.ID
		}
		if len(mine) < 100 || past {
			break
		}
	}
	return nil
}

// bridgedAs is the Discord messages a local message is: the one it was
// imported from, or the parts the relay posted for it.
func (b *Bridge) bridgedAs(ctx context.Context, local snowflake.ID) ([]string, error) {
	if did, err := b.dom.DiscordID(ctx, homeserver.BridgeImported, local); err == nil {
		return []string{did}, nil
	} else if !errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return nil, err
	}
	return b.dom.DiscordIDs(ctx, homeserver.BridgeRelayed, local)
}

// sortByID puts Discord objects (messages, channels) in the order they
// were made: by their snowflake, which is a number in a string.
func sortByID[T any](xs []T, id func(T) string) {
	slices.SortFunc(xs, func(x, y T) int {
		switch {
		case idLess(id(x), id(y)):
			return -1
		case idLess(id(y), id(x)):
			return 1
		}
		return 0
	})
}

// messageID and channelID are sortByID's keys.
func messageID(m *discordgo.Message) string { return m.ID }
func channelID(c *discordgo.Channel) string { return c.ID }
