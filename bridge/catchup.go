package bridge

import (
	"context"
	"errors"
	"slices"
	"strconv"

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
		if err := b.catchUp(ctx, l); err != nil && ctx.Err() == nil {
			b.log.Warn("bridge: catching up with Discord failed", "discord_guild", l.DiscordGuild, "err", err)
		}
	}
}

func (b *Bridge) onResumed(_ *discordgo.Session, _ *discordgo.Resumed) { b.metrics.connect("resume") }

// catchUp imports each mirrored channel's messages after its high-water
// mark, oldest first.
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
		if local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, dchan); errors.Is(err, homeserver.ErrBridgeUnmapped) || (err == nil && !inMirror[local]) {
			continue
		} else if err != nil {
			return err
		}
		after, n := v.Value, 0
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
			slices.SortFunc(page, func(x, y *discordgo.Message) int {
				if idLess(x.ID, y.ID) {
					return -1
				}
				return 1
			})
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
	}
	return nil
}
