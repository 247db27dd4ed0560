package bridge

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/snowflake"
)

// control carries out the link and unlink requests the admin commands
// write, until ctx ends. It polls: the commands run in another process,
// which can reach this one only through the database.
func (b *Bridge) control(ctx context.Context) {
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	for {
		if err := b.refreshLinks(ctx); err != nil && ctx.Err() == nil {
			b.log.Warn("bridge: reading links failed", "err", err)
		}
		b.retryCatchUps(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshLinks reads the links and carries out what is requested.
func (b *Bridge) refreshLinks(ctx context.Context) error {
	vs, err := b.dom.Values(ctx, "link:")
	if err != nil {
		return err
	}
	linked := map[string]Link{}
	for _, v := range vs {
		l, ok, err := readLink(ctx, b.dom, v.Key[len("link:"):])
		if err != nil || !ok {
			continue
		}
		switch l.State {
		case StateRequested:
			if b.bot == nil || time.Now().Before(l.RetryAt) {
				continue
			}
			if err := b.link(ctx, &l); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				b.log.Warn("bridge: link failed", "discord_guild", l.DiscordGuild, "err", err)
				l.Error = err.Error()
				if discordTransient(err) {
					// Rate limited, or Discord away: the link carries on
					// where it stopped once Discord's wait is over.
					wait := 5 * time.Second
					var rl *RateLimitedError
					if errors.As(err, &rl) {
						wait = rl.RetryAfter
					}
					l.RetryAt = time.Now().Add(wait)
				} else {
					l.State = StateFailed
				}
				if err := writeLink(ctx, b.dom, l); err != nil {
					return err
				}
				continue
			}
			linked[l.DiscordGuild] = l
		case StateUnlinkRequested:
			if err := b.dom.DeleteValue(ctx, linkKey(l.DiscordGuild)); err != nil {
				return err
			}
			b.log.Info("bridge: guild unlinked", "discord_guild", l.DiscordGuild, "mirror", l.Guild)
		case StateLinked:
			linked[l.DiscordGuild] = l
		}
	}
	b.mu.Lock()
	b.links = linked
	b.mu.Unlock()
	b.poke()
	return nil
}

// linkOf is the linked guild a Discord guild ID names.
func (b *Bridge) linkOf(discordGuild string) (Link, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	l, ok := b.links[discordGuild]
	return l, ok
}

// link mirrors a Discord guild: the mirror guild owned by the bot's
// puppet, its categories and text channels (those Hearth people may see), the
// newest messages of each, then the relay's cursor at the log's head.
// Each step is keyed by Discord IDs, so a link interrupted and requested
// again carries on where it stopped.
func (b *Bridge) link(ctx context.Context, l *Link) error {
	dctx, cancel := ctxDiscord(ctx)
	g, err := b.session.Guild(l.DiscordGuild, discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return fmt.Errorf("discord guild %s (is the bot in it?): %w", l.DiscordGuild, err)
	}
	dctx, cancel = ctxDiscord(ctx)
	chans, err := b.session.GuildChannels(l.DiscordGuild, discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return fmt.Errorf("discord channels of %s: %w", l.DiscordGuild, err)
	}
	// The mirror and its mapping commit together: a link interrupted
	// (a crash, a rate limit) and retried finds the mirror it made.
	guildID, _, err := b.dom.Mirror(ctx, b.owner, g.ID, g.Name)
	if err != nil {
		return fmt.Errorf("mirror guild: %w", err)
	}
	l.Guild, l.Name, l.Owner = guildID, g.Name, b.bot.ID
	// Categories first, so that channels find their parent.
	slices.SortStableFunc(chans, func(x, y *discordgo.Channel) int {
		return boolInt(x.Type != discordgo.ChannelTypeGuildCategory) - boolInt(y.Type != discordgo.ChannelTypeGuildCategory)
	})
	// What Hearth people may do is Discord's @everyone and their role's.
	// Channels are written against the mirror's @everyone before and
	// after it is set (authority.go), then narrowed to after.
	unlock := b.lockChannel("guild:" + g.ID) // against reauthorize, until the permissions are set
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	v, err := b.denying(ctx, guildID, b.hearthView(g.ID, g.Roles))
	if err != nil {
		return fmt.Errorf("permissions of the mirror: %w", err)
	}
	var text []*discordgo.Channel
	mirroredChans := map[snowflake.ID]*discordgo.Channel{}
	for _, c := range chans {
		if c.Type != discordgo.ChannelTypeGuildText && c.Type != discordgo.ChannelTypeGuildCategory {
			continue
		}
		if !v.sees(c) {
			continue
		}
		if err := b.mirrorChannel(ctx, guildID, v, c); err != nil {
			return err
		}
		local, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, c.ID)
		if err != nil {
			return err
		}
		if err := b.authorizeChannel(ctx, guildID, local, v, c); err != nil {
			return fmt.Errorf("permissions of channel %s: %w", c.ID, err)
		}
		mirroredChans[local] = c
		if c.Type == discordgo.ChannelTypeGuildText {
			text = append(text, c)
		}
	}
	if err := b.authorizeGuild(ctx, guildID, v); err != nil {
		return fmt.Errorf("permissions of the mirror: %w", err)
	}
	v.deny = mirrorSet(v.base)
	for local, c := range mirroredChans {
		if err := b.authorizeChannel(ctx, guildID, local, v, c); err != nil {
			return fmt.Errorf("permissions of channel %s: %w", c.ID, err)
		}
	}
	unlock()
	unlock = nil
	// The cursor starts at the head before the backfill: what the link
	// imports is Discord's, never relayed back, so reading past it later
	// costs nothing, while starting after it could skip a Hearth person's
	// message written meanwhile.
	if _, ok, err := readCursor(ctx, b.dom, guildID); err != nil {
		return err
	} else if !ok {
		head, err := b.hs.LogHead(ctx, guildID)
		if err != nil {
			return err
		}
		if err := b.dom.SetValue(ctx, cursorKey(guildID), strconv.FormatInt(head, 10)); err != nil {
			return err
		}
	}
	// Linked before the backfill, so that live messages are imported
	// while it runs; an import is keyed by Discord ID, so a message both
	// see is imported once.
	b.mu.Lock()
	b.links[l.DiscordGuild] = *l
	b.mu.Unlock()
	if l.Backfill > 0 {
		for _, c := range text {
			if err := b.backfill(ctx, *l, c.ID, l.Backfill); err != nil {
				return err
			}
		}
	}
	// Catching up after a restart starts at what the channel held at the
	// link (or at what the backfill imported, if newer).
	for _, c := range text {
		// A channel with no message yet starts at its own ID, below any
		// message it will have.
		mark := c.LastMessageID
		if mark == "" {
			mark = c.ID
		}
		if err := b.raiseHWM(ctx, c.ID, mark); err != nil {
			return err
		}
	}
	l.State, l.Error, l.LinkedAt = StateLinked, "", time.Now().UTC()
	if err := writeLink(ctx, b.dom, *l); err != nil {
		return err
	}
	b.log.Info("bridge: guild linked", "discord_guild", l.DiscordGuild, "mirror", guildID, "channels", len(text))
	return nil
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}

// mirrorChannel makes the mirror of a Discord channel once, with the
// overwrite that says what Hearth people may do in it (v).
func (b *Bridge) mirrorChannel(ctx context.Context, guildID snowflake.ID, v hearthView, c *discordgo.Channel) error {
	if _, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, c.ID); err == nil {
		return nil
	} else if !errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return err
	}
	f := homeserver.ChannelFields{
		Name:       homeserver.Optional[string]{Set: true, Value: c.Name},
		Type:       homeserver.Optional[int]{Set: true, Value: int(c.Type)},
		Position:   homeserver.Optional[int]{Set: true, Value: c.Position},
		Overwrites: homeserver.Optional[[]homeserver.Overwrite]{Set: true, Value: []homeserver.Overwrite{hearthOverwrite(guildID, v, c)}},
	}
	if c.Topic != "" {
		f.Topic = homeserver.Optional[string]{Set: true, Value: c.Topic}
	}
	if c.ParentID != "" {
		if parent, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, c.ParentID); err == nil {
			f.ParentID = homeserver.Optional[snowflake.ID]{Set: true, Value: parent}
		}
	}
	ch, err := b.hs.CreateChannel(ctx, b.owner, guildID, f)
	if err != nil {
		return fmt.Errorf("mirror channel %s: %w", c.ID, err)
	}
	return b.dom.Map(ctx, homeserver.BridgeChannel, c.ID, ch.ID)
}

// backfill imports the newest n messages of a Discord channel, oldest
// first, 100 a page as Discord serves them.
func (b *Bridge) backfill(ctx context.Context, l Link, channelID string, n int) error {
	var msgs []*discordgo.Message
	before := ""
	for len(msgs) < n {
		dctx, cancel := ctxDiscord(ctx)
		page, err := b.session.ChannelMessages(channelID, min(100, n-len(msgs)), before, "", "", discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return fmt.Errorf("backfill %s: %w", channelID, err)
		}
		msgs = append(msgs, page...)
		if len(page) < 100 {
			break
		}
		before = page[len(page)-1].ID
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.GuildID == "" {
			m.GuildID = l.DiscordGuild
		}
		if err := b.importMessage(ctx, l, m, "backfill"); err != nil {
			return err
		}
	}
	b.metrics.backfilled(len(msgs))
	return nil
}

// discordTransient tells Discord holding a request up (a rate limit, a
// 5xx, the network) from any other failure, which retrying will not cure.
func discordTransient(err error) bool {
	var rl *RateLimitedError
	var re *discordgo.RESTError
	var ue *url.Error
	switch {
	case errors.As(err, &rl):
		return true
	case errors.As(err, &re) && re.Response != nil:
		return re.Response.StatusCode >= 500
	case errors.As(err, &ue):
		return true
	}
	return false
}
