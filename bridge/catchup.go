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
		sortByID(page)
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
	return b.reconcile(ctx, l, dchan, local)
}

// reconcileWindow is how many of a channel's newest Discord messages a
// catch-up compares with the mirror for edits and deletes made while the
// bridge was away. Discord has no "changed since": an older message
// edited or deleted meanwhile stays as it was until its next live event.
const reconcileWindow = 100

// reconcile applies to the mirror the edits and deletes Discord made
// among a channel's newest messages while the bridge was away: an
// imported message whose Discord text differs is edited (as live edits
// are, by its puppet), and a bridged message (imported, or a Hearth
// person's relayed there) whose Discord ID lies within the window Discord
// listed and is missing from it is deleted.
func (b *Bridge) reconcile(ctx context.Context, l Link, dchan string, local snowflake.ID) error {
	dctx, cancel := ctxDiscord(ctx)
	page, err := b.session.ChannelMessages(dchan, reconcileWindow, "", "", "", discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return err
	}
	sortByID(page)
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
	// The window: from the oldest message listed (or the channel's start,
	// when Discord listed all of it) to the newest. A message newer than
	// the window came live since and is not judged.
	lo, hi := page[0].ID, page[len(page)-1].ID
	if len(page) < reconcileWindow {
		lo = "0"
	}
	mine, err := b.hs.Messages(ctx, b.owner, local, homeserver.HistoryQuery{Limit: reconcileWindow})
	if err != nil {
		return err
	}
	for _, lm := range mine {
		dids, err := b.bridgedAs(ctx, lm.ID)
		if err != nil {
			return err
		}
		for _, did := range dids {
			if on[did] || idLess(did, lo) || idLess(hi, did) {
				continue
			}
			if err := b.importDelete(ctx, dchan, did); err != nil {
				return err
			}
			b.metrics.event("MESSAGE_DELETE", "missed")
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

// sortByID puts Discord messages in the order they were written.
func sortByID(ms []*discordgo.Message) {
	slices.SortFunc(ms, func(x, y *discordgo.Message) int {
		switch {
		case idLess(x.ID, y.ID):
			return -1
		case idLess(y.ID, x.ID):
			return 1
		}
		return 0
	})
}
