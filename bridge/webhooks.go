package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bwmarrin/discordgo"
)

// hook is one of the bridge's webhooks: one per Discord channel, kept as
// the named value "webhook:<Discord channel ID>" = "<id>/<token>", so
// that it is reused across restarts.
type hook struct{ ID, Token string }

func hookKey(dchan string) string { return "webhook:" + dchan }

// loadHooks reads the bridge's webhooks, whose messages are never
// imported.
func (b *Bridge) loadHooks(ctx context.Context) error {
	vs, err := b.dom.Values(ctx, "webhook:")
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, v := range vs {
		if id, _, ok := strings.Cut(v.Value, "/"); ok {
			b.hooks[id] = true
		}
	}
	return nil
}

// webhook is the channel's webhook: the one kept, else one of the bot's
// that Discord lists for the channel (made before a crash kept it), else
// a new one.
func (b *Bridge) webhook(ctx context.Context, dchan string) (hook, error) {
	if v, ok, err := b.dom.Value(ctx, hookKey(dchan)); err != nil {
		return hook{}, err
	} else if ok {
		if id, tok, ok := strings.Cut(v, "/"); ok {
			return hook{id, tok}, nil
		}
	}
	dctx, cancel := ctxDiscord(ctx)
	list, err := b.session.ChannelWebhooks(dchan, discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return hook{}, fmt.Errorf("webhooks of %s: %w", dchan, err)
	}
	var h hook
	for _, w := range list {
		if w.User != nil && w.User.ID == b.bot.ID && w.Name == hookName && w.Token != "" {
			h = hook{w.ID, w.Token}
			break
		}
	}
	if h.ID == "" {
		dctx, cancel := ctxDiscord(ctx)
		w, err := b.session.WebhookCreate(dchan, hookName, "", discordgo.WithContext(dctx))
		cancel()
		if err != nil {
			return hook{}, fmt.Errorf("create webhook in %s: %w", dchan, err)
		}
		if w.Token == "" {
			return hook{}, errors.New("discord made a webhook without a token")
		}
		h = hook{w.ID, w.Token}
		b.metrics.webhookCreated()
	}
	// Known as ours before anything is posted through it, so that its
	// messages coming back on the gateway are never imported.
	b.mu.Lock()
	b.hooks[h.ID] = true
	b.mu.Unlock()
	if err := b.dom.SetValue(ctx, hookKey(dchan), h.ID+"/"+h.Token); err != nil {
		return hook{}, err
	}
	return h, nil
}

// forgetWebhook drops a webhook Discord no longer knows (deleted by an
// admin), so that the next post makes another. Its ID stays among the
// bridge's: old messages of it are still not imported.
func (b *Bridge) forgetWebhook(ctx context.Context, dchan, id string) error {
	return b.dom.DeleteValue(ctx, hookKey(dchan))
}
