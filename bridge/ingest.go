package bridge

import (
	"context"
	"errors"
	"fmt"

	"github.com/bwmarrin/discordgo"

	"hearth/homeserver"
	"hearth/snowflake"
)

// Discord to Hearth. discordgo calls these handlers one after the other on
// its gateway reader (SyncEvents), so a channel's events are imported in
// Discord's order; each import is keyed by the Discord message ID, so a
// replay (RESUME, restart, a backfill meeting a live message) imports
// nothing twice.

func (b *Bridge) onMessageCreate(_ *discordgo.Session, e *discordgo.MessageCreate) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_CREATE", e.ID, func(ctx context.Context, l Link) error {
		return b.importMessage(ctx, l, e.Message, "live")
	})
}

// handle runs the import of one gateway event of a linked guild, holding
// its channel's lock; a failure is logged and counted (the event is not
// retried: a replay or the next catch-up brings a missed message again).
func (b *Bridge) handle(guildID, channelID, typ, id string, fn func(ctx context.Context, l Link) error) {
	ctx := b.runCtx
	l, ok := b.linkOf(guildID)
	if !ok || ctx == nil {
		return
	}
	defer b.lockChannel(channelID)()
	if err := fn(ctx, l); err != nil && ctx.Err() == nil {
		b.log.Warn("bridge: import failed", "type", typ, "discord_id", id, "channel", channelID, "err", err)
		b.metrics.event(typ, "failed")
	}
}

// importMessage imports one Discord message; how says where it came from
// (live, backfill) for the logs.
func (b *Bridge) importMessage(ctx context.Context, l Link, m *discordgo.Message, how string) error {
	if b.echo(m) {
		b.metrics.event("MESSAGE_CREATE", "echo")
		return nil
	}
	if m.Author == nil || (m.Type != discordgo.MessageTypeDefault && m.Type != discordgo.MessageTypeReply) ||
		(m.Content == "" && len(m.Attachments) == 0) {
		// System messages, and (in this slice) messages with only embeds
		// or stickers: spec/bridge.md lists what is not bridged yet.
		b.metrics.event("MESSAGE_CREATE", "ignored")
		return nil
	}
	channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, m.ChannelID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event("MESSAGE_CREATE", "ignored")
		return nil // a private channel, or one made after the link
	} else if err != nil {
		return err
	}
	p, err := b.author(ctx, l, m)
	if err != nil {
		return err
	}
	if _, err := b.dom.LocalID(ctx, homeserver.BridgeImported, m.ID); err == nil {
		// Imported before: no need to fetch its files again.
		b.metrics.event("MESSAGE_CREATE", "duplicate")
		return b.raiseHWM(ctx, m.ChannelID, m.ID)
	}
	content, err := b.mentionsToHearth(ctx, l, m.Content, m.Mentions)
	if err != nil {
		return err
	}
	content, pings, err := b.rolesToHearth(ctx, l, content, m.MentionRoles, m.MentionEveryone)
	if err != nil {
		return err
	}
	in := homeserver.MessageCreate{Content: content, DiscordPings: pings}
	for _, a := range m.Attachments {
		if len(in.Files) == homeserver.MaxFiles {
			break
		}
		up, err := b.download(ctx, a)
		if err != nil {
			// The message still comes, without the file; the log says so.
			b.log.Warn("bridge: attachment not copied", "discord_message", m.ID, "err", err)
			b.metrics.event("ATTACHMENT", "failed")
			continue
		}
		in.Files = append(in.Files, up)
	}
	if in.Content == "" && len(in.Files) == 0 {
		b.metrics.event("MESSAGE_CREATE", "ignored")
		return nil
	}
	if ref := m.MessageReference; ref != nil && ref.MessageID != "" {
		if to, err := b.localMessage(ctx, ref.MessageID); err == nil {
			in.ReplyTo = to
		}
	}
	_, dup, err := b.dom.ImportMessage(ctx, p, channel, m.ID, m.Timestamp, in)
	if err != nil {
		return fmt.Errorf("import %s message %s: %w", how, m.ID, err)
	}
	if dup {
		b.metrics.event("MESSAGE_CREATE", "duplicate")
	} else {
		b.metrics.event("MESSAGE_CREATE", "imported")
		if err := b.failpoint(ctx, "import-after-commit"); err != nil {
			return err
		}
	}
	return b.raiseHWM(ctx, m.ChannelID, m.ID)
}

// echo reports whether a Discord message is the bridge's own: posted by
// one of its webhooks (a Hearth person's, relayed) or by its bot.
func (b *Bridge) echo(m *discordgo.Message) bool {
	if m.WebhookID != "" {
		b.mu.Lock()
		ours := b.hooks[m.WebhookID]
		b.mu.Unlock()
		if ours {
			return true
		}
	}
	return m.Author != nil && b.bot != nil && m.Author.ID == b.bot.ID
}

// puppet is the local user of a Discord author, a member of the mirror.
func (b *Bridge) puppet(ctx context.Context, l Link, u *discordgo.User, member *discordgo.Member) (homeserver.Principal, error) {
	global := u.GlobalName
	if member != nil && member.Nick != "" {
		global = member.Nick
	}
	return b.puppetAs(ctx, l, u.ID, u.Username, global, u.Bot, u)
}

// author is the puppet a Discord message is by: its author's, or, for a
// foreign webhook's message (not the bridge's own, which are echoes), a
// puppet per webhook and name, named and pictured as the message shows
// it: one webhook speaks for many (an RSS feed, another bridge's people).
func (b *Bridge) author(ctx context.Context, l Link, m *discordgo.Message) (homeserver.Principal, error) {
	if m.WebhookID == "" {
		return b.puppet(ctx, l, m.Author, m.Member)
	}
	name := m.Author.Username
	key, shared, err := b.webhookKey(ctx, m.WebhookID, name)
	if err != nil {
		return homeserver.Principal{}, err
	}
	if shared {
		// Made with the first name past the bound and kept so: a rename
		// per message would be a write each, and would not reach the
		// member servers' copies anyway (a user's profile travels with
		// its changes, not with each message).
		return b.puppetAs(ctx, l, key, name, "", true, m.Author)
	}
	return b.puppetAs(ctx, l, key, name, name, true, m.Author)
}

// maxWebhookNames bounds the puppets of one foreign webhook, one per
// name. A webhook that names every post anew (a feed, another bridge's
// crowd) would otherwise add a user and a member per name without end;
// past the bound its new names share one more puppet, named as the first
// of them.
const maxWebhookNames = 50

// webhookKey is the puppet key of a foreign webhook's message under name:
// the name's own while the webhook has fewer than maxWebhookNames, else
// the webhook's shared one (shared is then true). The names are counted
// in bridge_state ("webhookname:<webhook>:<name>"), so the bound holds
// across restarts.
func (b *Bridge) webhookKey(ctx context.Context, webhook, name string) (key string, shared bool, err error) {
	key = webhookPuppetKey(webhook, name)
	_, err = b.dom.LocalID(ctx, homeserver.BridgeUser, key)
	if err == nil || !errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return key, false, err
	}
	prefix := "webhookname:" + webhook + ":"
	names, err := b.dom.Values(ctx, prefix)
	if err != nil {
		return "", false, fmt.Errorf("webhook %s's names: %w", webhook, err)
	}
	if len(names) >= maxWebhookNames {
		return webhookPuppetKey(webhook, ""), true, nil
	}
	if err := b.dom.SetValue(ctx, prefix+name, key); err != nil {
		return "", false, fmt.Errorf("webhook %s's names: %w", webhook, err)
	}
	return key, false, nil
}

// webhookPuppetKey is the Discord side of a foreign webhook's puppet
// under one name, as bridge_ids (kind user) keeps it: no Discord user ID
// has a colon, so it meets none. The webhook's ID comes last, so that the
// key ends in digits, which a clash of names takes as a suffix (Puppet).
func webhookPuppetKey(webhook, name string) string { return "webhook:" + name + ":" + webhook }

// puppetAs is the puppet of a Discord identity (key: a user's ID, or a
// webhook's and name's), made a member of the mirror; u gives its avatar.
func (b *Bridge) puppetAs(ctx context.Context, l Link, key, name, global string, bot bool, u *discordgo.User) (homeserver.Principal, error) {
	p, err := b.dom.Puppet(ctx, key, name, global, bot)
	if err != nil {
		return p, err
	}
	b.syncAvatar(ctx, p, key, u)
	joined := [2]snowflake.ID{p.User.ID, l.Guild}
	b.mu.Lock()
	in := b.members[joined]
	b.mu.Unlock()
	if !in {
		if err := b.dom.AddMember(ctx, p, l.Guild); err != nil {
			return p, fmt.Errorf("puppet %s joins the mirror: %w", key, err)
		}
		b.mu.Lock()
		b.members[joined] = true
		b.mu.Unlock()
	}
	return p, nil
}

// localMessage is the local message a Discord message is: imported from
// Discord, or a Hearth person's that the relay posted there.
func (b *Bridge) localMessage(ctx context.Context, discordID string) (snowflake.ID, error) {
	id, err := b.dom.LocalID(ctx, homeserver.BridgeImported, discordID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return b.dom.LocalID(ctx, homeserver.BridgeRelayed, discordID)
	}
	return id, err
}

func (b *Bridge) onMessageUpdate(_ *discordgo.Session, e *discordgo.MessageUpdate) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_UPDATE", e.ID, func(ctx context.Context, l Link) error {
		return b.importEdit(ctx, l, e.Message)
	})
}

// importEdit applies a Discord edit to the imported message. An edit that
// changes nothing (a replay, an embed unfurling) writes nothing.
func (b *Bridge) importEdit(ctx context.Context, l Link, m *discordgo.Message) error {
	if b.echo(m) || m.Content == "" {
		b.metrics.event("MESSAGE_UPDATE", "ignored")
		return nil
	}
	local, err := b.dom.LocalID(ctx, homeserver.BridgeImported, m.ID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event("MESSAGE_UPDATE", "ignored")
		return nil
	} else if err != nil {
		return err
	}
	channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, m.ChannelID)
	if err != nil {
		return err
	}
	cur, err := b.hs.Message(ctx, b.owner, channel, local)
	if errors.Is(err, homeserver.ErrUnknownMessage) {
		return nil // deleted meanwhile
	} else if err != nil {
		return err
	}
	content, err := b.mentionsToHearth(ctx, l, m.Content, m.Mentions)
	if err != nil {
		return err
	}
	if content, _, err = b.rolesToHearth(ctx, l, content, nil, false); err != nil {
		return err
	}
	if cur.Content == content {
		b.metrics.event("MESSAGE_UPDATE", "duplicate")
		return nil
	}
	author, err := b.hs.User(ctx, cur.Author.ID)
	if err != nil {
		return err
	}
	_, err = b.hs.EditMessage(ctx, homeserver.Principal{User: author}, channel, local,
		homeserver.MessageEdit{Content: homeserver.Optional[string]{Set: true, Value: content}})
	if err == nil {
		b.metrics.event("MESSAGE_UPDATE", "imported")
	}
	return err
}

func (b *Bridge) onMessageDelete(_ *discordgo.Session, e *discordgo.MessageDelete) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_DELETE", e.ID, func(ctx context.Context, _ Link) error {
		return b.importDelete(ctx, e.ChannelID, e.ID)
	})
}

// importDelete deletes the local message a deleted Discord message was
// (imported, or a Hearth person's that a Discord moderator removed); one
// already gone is done.
func (b *Bridge) importDelete(ctx context.Context, channelID, messageID string) error {
	local, err := b.localMessage(ctx, messageID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		b.metrics.event("MESSAGE_DELETE", "ignored")
		return nil
	} else if err != nil {
		return err
	}
	channel, err := b.dom.LocalID(ctx, homeserver.BridgeChannel, channelID)
	if err != nil {
		return err
	}
	err = b.hs.DeleteMessage(ctx, b.owner, channel, local)
	if errors.Is(err, homeserver.ErrUnknownMessage) {
		b.metrics.event("MESSAGE_DELETE", "duplicate")
		return nil
	}
	if err == nil {
		b.metrics.event("MESSAGE_DELETE", "imported")
	}
	return err
}

func (b *Bridge) onMessageDeleteBulk(_ *discordgo.Session, e *discordgo.MessageDeleteBulk) {
	b.handle(e.GuildID, e.ChannelID, "MESSAGE_DELETE_BULK", e.ChannelID, func(ctx context.Context, _ Link) error {
		var errs []error
		for _, id := range e.Messages {
			errs = append(errs, b.importDelete(ctx, e.ChannelID, id))
		}
		return errors.Join(errs...)
	})
}
