package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/storage"
)

// Typing crosses both ways, as the ephemeral thing it is: never logged,
// never retried. A Discord user typing in a mirrored channel is their
// puppet typing there (a user not yet seen has no puppet, and is not made
// one for a keystroke). A Hearth person typing in a mirror channel is the
// bot typing on Discord (a webhook cannot type), at most once per channel
// every typingEvery, since Discord shows it for ten seconds; puppets'
// typing, which came from Discord, is not sent back.

// typingEvery is how often the bot types on Discord for one channel.
const typingEvery = 8 * time.Second

func (b *Bridge) onTypingStart(_ *discordgo.Session, e *discordgo.TypingStart) {
	if b.bot != nil && e.UserID == b.bot.ID {
		return
	}
	b.handle(e.GuildID, e.ChannelID, "TYPING_START", e.UserID, func(ctx context.Context, _ Link) error {
		channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, e.ChannelID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			return nil
		} else if err != nil {
			return err
		}
		id, err := b.dom.LocalID(ctx, homeserver.BridgeUser, e.UserID)
		if errors.Is(err, homeserver.ErrBridgeUnmapped) {
			b.metrics.event("TYPING_START", "ignored")
			return nil
		} else if err != nil {
			return err
		}
		u, err := b.hs.User(ctx, id)
		if err != nil {
			return err
		}
		if err := b.hs.Typing(ctx, homeserver.Principal{User: u}, channel); err != nil {
			return err
		}
		b.metrics.event("TYPING_START", "imported")
		return nil
	})
}

// typist relays Hearth people's typing to Discord, fed by the bus.
type typist struct {
	in chan storage.Event
	mu sync.Mutex
	// last is when the bot last typed in each Discord channel.
	last map[string]time.Time
}

func newTypist() *typist {
	return &typist{in: make(chan storage.Event, 64), last: map[string]time.Time{}}
}

// offer hands a bus event to the typist without waiting: typing that
// finds the typist busy is dropped, as a lost keystroke notice may be.
func (ty *typist) offer(ev storage.Event) {
	if ev.Type != "TYPING_START" || ev.Process != "" {
		return // another process's typing is bridged by that process
	}
	select {
	case ty.in <- ev:
	default:
	}
}

// runTypist relays typing until ctx ends.
func (b *Bridge) runTypist(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-b.typist.in:
			b.relayTyping(ctx, ev)
		}
	}
}

func (b *Bridge) relayTyping(ctx context.Context, ev storage.Event) {
	var e discord.TypingStartEvent
	if err := json.Unmarshal(ev.Payload, &e); err != nil {
		return
	}
	u, err := b.hs.User(ctx, e.UserID)
	if err != nil || u.Origin == "" {
		return // a puppet's: from Discord
	}
	dchan, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, e.ChannelID)
	if err != nil {
		return
	}
	now := time.Now()
	b.typist.mu.Lock()
	if now.Sub(b.typist.last[dchan]) < typingEvery {
		b.typist.mu.Unlock()
		return
	}
	b.typist.last[dchan] = now
	b.typist.mu.Unlock()
	dctx, cancel := ctxDiscord(ctx)
	defer cancel()
	if err := b.session.ChannelTyping(dchan, discordgo.WithContext(dctx)); err != nil {
		b.log.Info("bridge: typing not relayed", "channel", dchan, "err", err)
		b.metrics.relay("TYPING_START", "failed")
		return
	}
	b.metrics.relay("TYPING_START", "ok")
}
