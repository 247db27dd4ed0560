package bridge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bwmarrin/discordgo"

	"hearth/discord"
	"hearth/homeserver"
	"hearth/snowflake"
)

// Hearth to Discord. The relay reads each mirror's log after its cursor,
// as a peer's delivery does, and posts what Hearth people did through one
// webhook per Discord channel. A Hearth person's send is committed to the
// log before the relay sees it, so it never waits on Discord; the cursor
// moves only once Discord answered (or refused for good), so an outage
// delays and loses nothing.

// hookName is the name the bridge's webhooks are made with.
const hookName = "Hearth bridge"

// maxDiscordContent is Discord's message length.
const maxDiscordContent = 2000

func (b *Bridge) relay(ctx context.Context) error {
	t := time.NewTicker(b.cfg.Poll)
	defer t.Stop()
	// A guild whose relay failed waits until retryAt; a global rate limit
	// pauses every guild until pausedUntil.
	retryAt := map[string]time.Time{}
	backoff := map[string]time.Duration{}
	var pausedUntil time.Time
	for {
		b.mu.Lock()
		links := make([]Link, 0, len(b.links))
		for _, l := range b.links {
			links = append(links, l)
		}
		b.mu.Unlock()
		next := time.Time{}
		for _, l := range links {
			now := time.Now()
			if now.Before(pausedUntil) {
				next = pausedUntil
				break
			}
			if at := retryAt[l.DiscordGuild]; now.Before(at) {
				if next.IsZero() || at.Before(next) {
					next = at
				}
				continue
			}
			err := b.relayGuild(ctx, l)
			if err == nil {
				delete(retryAt, l.DiscordGuild)
				delete(backoff, l.DiscordGuild)
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, errFailpoint) {
				return err
			}
			wait := backoff[l.DiscordGuild]
			if wait == 0 {
				wait = time.Second
			}
			backoff[l.DiscordGuild] = min(2*wait, time.Minute)
			var rl *RateLimitedError
			if errors.As(err, &rl) {
				// Discord said how long: exactly that, and no backoff.
				wait = rl.RetryAfter
				delete(backoff, l.DiscordGuild)
				b.metrics.waited(wait)
				if rl.Global {
					pausedUntil = time.Now().Add(wait)
				}
			}
			b.log.Warn("bridge: relay to Discord waits and retries", "discord_guild", l.DiscordGuild, "err", err, "wait", wait)
			retryAt[l.DiscordGuild] = time.Now().Add(wait)
			if next.IsZero() || retryAt[l.DiscordGuild].Before(next) {
				next = retryAt[l.DiscordGuild]
			}
		}
		var timer <-chan time.Time
		var tm *time.Timer
		if !next.IsZero() {
			tm = time.NewTimer(time.Until(next))
			timer = tm.C
		}
		select {
		case <-ctx.Done():
		case <-b.wake:
		case <-t.C:
		case <-timer:
		}
		if tm != nil {
			tm.Stop()
		}
		if ctx.Err() != nil {
			return nil
		}
	}
}

// relayGuild relays a mirror's new events; an error is one to retry.
func (b *Bridge) relayGuild(ctx context.Context, l Link) error {
	for {
		cur, _, err := readCursor(ctx, b.dom, l.Guild)
		if err != nil {
			return err
		}
		if head, err := b.hs.LogHead(ctx, l.Guild); err == nil {
			b.metrics.setLag(l.DiscordGuild, max(head-cur, 0))
		}
		evs, err := b.dom.Events(ctx, l.Guild, cur, 100)
		if err != nil {
			return err
		}
		if len(evs) == 0 {
			return nil
		}
		for _, ev := range evs {
			if err := b.relayEvent(ctx, l, ev); err != nil {
				if errors.Is(err, errFailpoint) {
					return err
				}
				if transient(err) {
					b.metrics.relay(ev.Type, "retried")
					return err
				}
				// Refused for good: recorded, and the cursor moves on.
				b.metrics.relay(ev.Type, "failed")
				b.log.Warn("bridge: Discord refused a relay", "discord_guild", l.DiscordGuild, "seq", ev.Seq,
					"type", ev.Type, "err", err)
				b.recordError(ctx, l.DiscordGuild, fmt.Sprintf("seq %d %s: %v", ev.Seq, ev.Type, err))
			}
			if err := b.dom.SetValue(ctx, cursorKey(l.Guild), strconv.FormatInt(ev.Seq, 10)); err != nil {
				return err
			}
		}
	}
}

// recordError keeps a link's last error for `bridge status`.
func (b *Bridge) recordError(ctx context.Context, discordGuild, msg string) {
	l, ok, err := readLink(ctx, b.dom, discordGuild)
	if err != nil || !ok {
		return
	}
	l.Error = msg
	_ = writeLink(ctx, b.dom, l)
}

// transient tells an error worth retrying (rate limits, Discord's 5xx,
// the network) from a refusal (any other 4xx).
func transient(err error) bool {
	var rl *discordgo.RateLimitError
	var rle *RateLimitedError
	if errors.As(err, &rl) || errors.As(err, &rle) {
		return true
	}
	var re *discordgo.RESTError
	if errors.As(err, &re) && re.Response != nil {
		return re.Response.StatusCode == http.StatusTooManyRequests || re.Response.StatusCode >= 500
	}
	return true
}

// notFound tells Discord's 404 (an unknown webhook or message).
func notFound(err error) bool {
	var re *discordgo.RESTError
	return errors.As(err, &re) && re.Response != nil && re.Response.StatusCode == http.StatusNotFound
}

func (b *Bridge) relayEvent(ctx context.Context, l Link, ev homeserver.LogEvent) error {
	switch ev.Type {
	case "MESSAGE_CREATE":
		var m discord.Message
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			return nil
		}
		return b.relayCreate(ctx, l, m)
	case "MESSAGE_UPDATE":
		var m discord.Message
		if err := json.Unmarshal(ev.Payload, &m); err != nil {
			return nil
		}
		return b.relayEdit(ctx, m)
	case "MESSAGE_DELETE":
		var d discord.MessageDeleteEvent
		if err := json.Unmarshal(ev.Payload, &d); err != nil {
			return nil
		}
		return b.relayDelete(ctx, d.ChannelID.String(), d.ID.String())
	case "MESSAGE_REACTION_ADD":
		return b.relayReaction(ctx, ev.Payload, true)
	case "MESSAGE_REACTION_REMOVE":
		return b.relayReaction(ctx, ev.Payload, false)
	case "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI":
		return b.relayClear(ctx, ev.Payload)
	case "THREAD_CREATE":
		return b.relayThreadCreate(ctx, l, ev.Payload)
	case "THREAD_UPDATE":
		return b.relayThreadUpdate(ctx, ev.Payload)
	case "THREAD_DELETE":
		return b.relayThreadDelete(ctx, ev.Payload)
	case "MESSAGE_DELETE_BULK":
		var d struct {
			IDs       []string `json:"ids"`
			ChannelID string   `json:"channel_id"`
		}
		if err := json.Unmarshal(ev.Payload, &d); err != nil {
			return nil
		}
		for _, id := range d.IDs {
			if err := b.relayDelete(ctx, d.ChannelID, id); err != nil {
				return err
			}
		}
	}
	return nil
}

// relayCreate posts a Hearth person's message through the channel's
// webhook, under their name and server. A puppet's message came from
// Discord and goes nowhere: that is what keeps the bridge from echoing.
func (b *Bridge) relayCreate(ctx context.Context, l Link, m discord.Message) error {
	if m.WebhookID != nil || (m.Type != discord.MessageDefault && m.Type != discord.MessageReply) {
		return nil
	}
	author, err := b.hs.User(ctx, m.Author.ID)
	if err != nil {
		return err
	}
	if author.Origin == "" {
		b.metrics.echoSuppressed()
		return nil
	}
	dchan, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, m.ChannelID)
	if errors.Is(err, homeserver.ErrBridgeUnmapped) {
		return nil
	} else if err != nil {
		return err
	}
	if _, err := b.dom.DiscordID(ctx, homeserver.BridgeRelayed, m.ID); err == nil {
		return nil // relayed before a restart
	}
	if strings.TrimSpace(m.Content) == "" && len(m.Attachments) == 0 {
		return nil
	}
	// Only the Discord users mentioned by name may be pinged (see
	// mentionsToDiscord), and the roles and @everyone only as the mirror
	// let the author (rolementions.go).
	content, ping := b.mentionsToDiscord(ctx, m.Content)
	content, roles := b.rolesToDiscord(ctx, content, m.MentionRoles)
	params := &discordgo.WebhookParams{
		Username:        webhookUsername(author),
		AvatarURL:       b.hearthAvatarURL(ctx, author),
		AllowedMentions: allowedMentions(m, ping, roles),
	}
	if ref := m.MessageReference; ref != nil && ref.MessageID != nil && m.Type == discord.MessageReply {
		if embed := b.replyEmbed(ctx, l, dchan, *ref.MessageID, m.ReferencedMessage); embed != nil {
			params.Embeds = []*discordgo.MessageEmbed{embed}
		}
	}
	parts := splitContent(content, maxDiscordContent)
	// The intent row comes before any post: a bridge killed after
	// Discord's answer and before the mapping finds it on restart, and
	// adopts what it posted instead of posting it again.
	key := intentKey(m.ID)
	done := 0
	if v, ok, err := b.dom.Value(ctx, key); err != nil {
		return err
	} else if ok {
		if done, err = b.adopt(ctx, dchan, v, params.Username, m.ID, parts); err != nil {
			return err
		}
	} else if err := b.dom.SetValue(ctx, key, strconv.FormatInt(time.Now().UnixMilli(), 10)); err != nil {
		return err
	} else if err := b.failpoint(ctx, "relay-after-intent"); err != nil {
		return err
	}
	for i, part := range parts {
		if i < done {
			continue
		}
		params.Content = part
		if i == len(parts)-1 {
			// Files go with the last part.
			closeFiles, err := b.attach(ctx, m, params)
			if err != nil {
				return err
			}
			defer closeFiles()
		}
		if err := b.post(ctx, dchan, params, m.ID); err != nil {
			return err
		}
	}
	if err := b.dom.DeleteValue(ctx, key); err != nil {
		return err
	}
	b.metrics.relay("MESSAGE_CREATE", "ok")
	return nil
}

func intentKey(local snowflake.ID) string { return "intent:" + local.String() }

// adopt finds, after a crash, the parts of a Hearth message that reached
// Discord without their mapping: the bridge's webhook's messages under
// the same name and with the same text, posted after the intent, in
// order. It maps them and says how many of the parts (from the first) are
// on Discord.
func (b *Bridge) adopt(ctx context.Context, dchan, since, username string, local snowflake.ID, parts []string) (int, error) {
	hookChan, _, err := b.hookTarget(ctx, dchan)
	if err != nil {
		return 0, err
	}
	h, err := b.webhook(ctx, hookChan)
	if err != nil {
		return 0, err
	}
	ms, err := strconv.ParseInt(since, 10, 64)
	if err != nil {
		return 0, nil
	}
	// A Discord snowflake of a moment a minute before the intent (clocks
	// differ): every post made for it is after.
	after := strconv.FormatUint(uint64(max(ms-60_000-discordEpoch, 0))<<22, 10)
	dctx, cancel := ctxDiscord(ctx)
	page, err := b.session.ChannelMessages(dchan, 100, "", after, "", discordgo.WithContext(dctx))
	cancel()
	if err != nil {
		return 0, err
	}
	slices.SortFunc(page, func(x, y *discordgo.Message) int {
		if idLess(x.ID, y.ID) {
			return -1
		}
		return 1
	})
	done := 0
	for _, dm := range page {
		if done == len(parts) {
			break
		}
		if dm.WebhookID != h.ID || dm.Author == nil || dm.Author.Username != username || dm.Content != parts[done] {
			continue
		}
		if id, err := b.dom.LocalID(ctx, homeserver.BridgeRelayed, dm.ID); err == nil {
			if id == local {
				done++ // mapped before the crash
			}
			continue
		}
		if err := b.dom.Map(ctx, homeserver.BridgeRelayed, dm.ID, local); err != nil {
			return done, err
		}
		b.metrics.relay("MESSAGE_CREATE", "adopted")
		done++
	}
	return done, nil
}

// discordEpoch is Discord's (and Hearth's) snowflake epoch, Unix ms.
const discordEpoch = 1420070400000

// post executes the channel's webhook and maps the post to the local
// message, holding the channel's lock throughout (see chanLocks).
func (b *Bridge) post(ctx context.Context, dchan string, params *discordgo.WebhookParams, local snowflake.ID) error {
	defer b.lockChannel(dchan)()
	sent, err := b.execute(ctx, dchan, params)
	if err != nil {
		return err
	}
	if err := b.failpoint(ctx, "relay-after-execute"); err != nil {
		return err
	}
	return b.dom.Map(ctx, homeserver.BridgeRelayed, sent.ID, local)
}

// execute posts through the channel's webhook, making it again once if
// Discord no longer knows it.
func (b *Bridge) execute(ctx context.Context, dchan string, params *discordgo.WebhookParams) (*discordgo.Message, error) {
	hookChan, thread, err := b.hookTarget(ctx, dchan)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		h, err := b.webhook(ctx, hookChan)
		if err != nil {
			return nil, err
		}
		dctx, cancel := ctxDiscord(ctx)
		var sent *discordgo.Message
		if thread != "" {
			sent, err = b.session.WebhookThreadExecute(h.ID, h.Token, true, thread, params, discordgo.WithContext(dctx))
		} else {
			sent, err = b.session.WebhookExecute(h.ID, h.Token, true, params, discordgo.WithContext(dctx))
		}
		cancel()
		if notFound(err) && attempt == 0 {
			if err := b.forgetWebhook(ctx, hookChan, h.ID); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, err
		}
		return sent, nil
	}
}

// relayEdit edits a relayed message on Discord, part by part: the new
// text split again, each existing part edited to its new part, parts no
// longer needed deleted, and parts the text now needs posted.
func (b *Bridge) relayEdit(ctx context.Context, m discord.Message) error {
	dids, err := b.dom.DiscordIDs(ctx, homeserver.BridgeRelayed, m.ID)
	if err != nil || len(dids) == 0 || m.Content == "" {
		return err
	}
	dchan, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, m.ChannelID)
	if err != nil {
		return err
	}
	hookChan, thread, err := b.hookTarget(ctx, dchan)
	if err != nil {
		return err
	}
	h, err := b.webhook(ctx, hookChan)
	if err != nil {
		return err
	}
	ctx = withThread(ctx, thread)
	mapped, ping := b.mentionsToDiscord(ctx, m.Content)
	mapped, roles := b.rolesToDiscord(ctx, mapped, m.MentionRoles)
	parts := splitContent(mapped, maxDiscordContent)
	for i, did := range dids {
		dctx, cancel := ctxDiscord(ctx)
		if i < len(parts) {
			_, err = b.session.WebhookMessageEdit(h.ID, h.Token, did, &discordgo.WebhookEdit{Content: &parts[i]}, discordgo.WithContext(dctx))
		} else if err = b.dom.Unmap(ctx, homeserver.BridgeRelayed, did); err == nil {
			// Unmapped first: the gateway's word of this delete must
			// not delete the whole message on Hearth.
			err = b.session.WebhookMessageDelete(h.ID, h.Token, did, discordgo.WithContext(dctx))
			if notFound(err) {
				err = nil
			}
		}
		cancel()
		if err != nil {
			return err
		}
	}
	if len(parts) > len(dids) {
		author, err := b.hs.User(ctx, m.Author.ID)
		if err != nil {
			return err
		}
		params := &discordgo.WebhookParams{Username: webhookUsername(author), AvatarURL: b.hearthAvatarURL(ctx, author),
			AllowedMentions: allowedMentions(m, ping, roles)}
		for _, part := range parts[len(dids):] {
			params.Content = part
			if err := b.post(ctx, dchan, params, m.ID); err != nil {
				return err
			}
		}
	}
	b.metrics.relay("MESSAGE_UPDATE", "ok")
	return nil
}

// relayDelete deletes a relayed message on Discord, every part; one
// already gone there is done.
func (b *Bridge) relayDelete(ctx context.Context, channelID, messageID string) error {
	local, err := strconv.ParseUint(messageID, 10, 64)
	if err != nil {
		return nil
	}
	dids, err := b.dom.DiscordIDs(ctx, homeserver.BridgeRelayed, snowflake.ID(local))
	if err != nil || len(dids) == 0 {
		return err
	}
	ch, err := strconv.ParseUint(channelID, 10, 64)
	if err != nil {
		return nil
	}
	dchan, err := b.dom.DiscordID(ctx, homeserver.BridgeChannel, snowflake.ID(ch))
	if err != nil {
		return err
	}
	hookChan, thread, err := b.hookTarget(ctx, dchan)
	if err != nil {
		return err
	}
	h, err := b.webhook(ctx, hookChan)
	if err != nil {
		return err
	}
	ctx = withThread(ctx, thread)
	for _, did := range dids {
		dctx, cancel := ctxDiscord(ctx)
		err = b.session.WebhookMessageDelete(h.ID, h.Token, did, discordgo.WithContext(dctx))
		cancel()
		if err != nil && !notFound(err) {
			return err
		}
	}
	b.metrics.relay("MESSAGE_DELETE", "ok")
	return nil
}

// webhookUsername is how a Hearth person appears on Discord: their
// display name and server, within Discord's rules for webhook names (no
// "discord" or "clyde", no ':', 80 characters).
func webhookUsername(u homeserver.User) string {
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	s := name + " (" + u.Origin + ")"
	s = strings.ReplaceAll(s, ":", "\u2236")
	for _, bad := range []string{"discord", "clyde"} {
		for {
			i := strings.Index(strings.ToLower(s), bad)
			if i < 0 {
				break
			}
			s = s[:i+1] + "\u200b" + s[i+1:]
		}
	}
	if utf8.RuneCountInString(s) > 80 {
		s = string([]rune(s)[:80])
	}
	return s
}

// splitContent cuts text into parts of at most n characters, at a line
// break or space when one is in the second half of a part.
func splitContent(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		r := []rune(s)
		cut := n
		for i := n; i > n/2; i-- {
			if r[i] == '\n' || r[i] == ' ' {
				cut = i
				break
			}
		}
		out = append(out, string(r[:cut]))
		s = strings.TrimLeft(string(r[cut:]), " \n")
	}
	if s != "" || len(out) == 0 {
		out = append(out, s)
	}
	return out
}

// replyEmbed is how a Hearth reply shows on Discord, which has no reply by
// a webhook to a message: a quote of the replied message with a jump link
// to it, and no ping (allowed_mentions stays empty). A reply to a message
// Discord does not have goes as a plain message.
func (b *Bridge) replyEmbed(ctx context.Context, l Link, dchan string, to snowflake.ID, ref *discord.Message) *discordgo.MessageEmbed {
	did, err := b.dom.DiscordID(ctx, homeserver.BridgeImported, to)
	if err != nil {
		if did, err = b.dom.DiscordID(ctx, homeserver.BridgeRelayed, to); err != nil {
			return nil
		}
	}
	excerpt, who := "", ""
	if ref != nil {
		excerpt = ref.Content
		if r := []rune(excerpt); len(r) > 72 {
			excerpt = string(r[:72]) + "…"
		}
		who = ref.Author.Username
		if ref.Author.GlobalName != nil && *ref.Author.GlobalName != "" {
			who = *ref.Author.GlobalName
		}
	}
	jump := fmt.Sprintf("%s/channels/%s/%s/%s", strings.TrimSuffix(b.cfg.DiscordURL, "/"), l.DiscordGuild, dchan, did)
	desc := fmt.Sprintf("**[Replying to %s](%s)**", discordEscape(who), jump)
	if excerpt != "" {
		desc += "\n" + excerpt
	}
	return &discordgo.MessageEmbed{Description: desc}
}

// discordEscape keeps a name from being read as markdown in a link text.
func discordEscape(s string) string {
	return strings.NewReplacer("[", "(", "]", ")", "*", "\\*", "_", "\\_").Replace(s)
}
