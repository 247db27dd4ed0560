package replica

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"hearth/discord"
	"hearth/homeserver/media"
	"hearth/snowflake"
	"hearth/storage"
)

func (ap *applier) applyMessage(ctx context.Context, typ string, d []byte) error {
	tx := ap.tx
	var err error
	switch typ {
	case "MESSAGE_CREATE":
		var m discord.Message
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		if err := ap.l.Owned(m.ChannelID, m.ID); err != nil {
			return err
		}
		if ok, err := ap.holds(ctx, m.ChannelID); err != nil {
			return err
		} else if !ok {
			ap.l.Unneeded(m.ID)
			return errNotHeld
		}
		if err := checkWebhookAuthor(ctx, ap.tx, ap.g.Origin, m); err != nil {
			return err
		}
		if err := ap.inNameOf(ctx, messageActor(m), didPost, 0); err != nil {
			return err
		}
		sm := messageFrom(m, ap.g.GuildID(), ap.env.Now())
		if len(m.Attachments) > 0 {
			// The files stay at the origin until someone here asks for
			// them; clients are given this server's links.
			sm.Attachments = remoteAttachments(m, ap.g.Origin)
			m.Attachments = m.Attachments[:0]
			for _, a := range sm.Attachments {
				m.Attachments = append(m.Attachments, ap.env.RenderAttachment(a))
			}
			if ap.rewrite, err = json.Marshal(m); err != nil {
				return err
			}
		}
		ap.msgs = append(ap.msgs, sm)
		if x, ok, err := ap.botExtras(ctx, m.Author.ID, m, storage.MessageComponents{}); err != nil {
			return err
		} else if ok {
			ap.extras = append(ap.extras, x)
		}
	case "MESSAGE_UPDATE":
		var m discord.Message
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		old, ok, err := ap.message(ctx, m.ChannelID, m.ID)
		if err != nil || !ok {
			return err
		}
		next := messageFrom(m, ap.g.GuildID(), ap.env.Now())
		if old.Content != next.Content || string(old.Embeds) != string(next.Embeds) {
			// Only the author changes content or embeds (EditMessage).
			if err := ap.inNameOf(ctx, old.AuthorID, didEdit, m.ID); err != nil {
				return err
			}
			if err := ap.env.KeepRevision(ctx, tx, ap.g.Scope(), old, old.AuthorID, false); err != nil {
				return err
			}
		}
		next.Attachments = old.Attachments
		if next.Pinned && !old.PinnedAt.IsZero() {
			next.PinnedAt = old.PinnedAt
		}
		if err = tx.UpdateMessage(ctx, ap.g.Scope(), next); err != nil {
			return err
		}
		kept, err := tx.MessageComponents(ctx, m.ID)
		if err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
		x, ok, err := ap.botExtras(ctx, old.AuthorID, m, kept)
		if err != nil || !ok {
			return err
		}
		return tx.SetMessageComponents(ctx, x)
	case "MESSAGE_DELETE":
		var m discord.MessageDeleteEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		old, ok, err := ap.message(ctx, m.ChannelID, m.ID)
		if err != nil || !ok {
			return err
		}
		ap.l.Unneeded(m.ID)
		if err := ap.env.KeepRevision(ctx, tx, ap.g.Scope(), old, 0, true); err != nil {
			return err
		}
		_, err = tx.DeleteMessages(ctx, ap.g.Scope(), m.ChannelID, []snowflake.ID{m.ID})
	case "MESSAGE_DELETE_BULK":
		var m discord.MessageDeleteBulkEvent
		if err := json.Unmarshal(d, &m); err != nil {
			return err
		}
		if err := ap.l.Owned(append([]snowflake.ID{m.ChannelID}, m.IDs...)...); err != nil {
			return err
		}
		ap.l.Unneeded(m.IDs...)
		if ok, err := ap.holds(ctx, m.ChannelID); err != nil || !ok {
			return err
		}
		_, err = tx.DeleteMessages(ctx, ap.g.Scope(), m.ChannelID, m.IDs)
	case "MESSAGE_REACTION_ADD", "MESSAGE_REACTION_REMOVE":
		var r discord.ReactionEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if _, ok, err := ap.message(ctx, r.ChannelID, r.MessageID); err != nil || !ok {
			return err
		}
		key := reactionKey(r.Emoji)
		if typ == "MESSAGE_REACTION_ADD" {
			if err := ap.inNameOf(ctx, r.UserID, didReact, r.MessageID); err != nil {
				return err
			}
			err = tx.AddReaction(ctx, ap.g.Scope(), storage.Reaction{MessageID: r.MessageID, ChannelID: r.ChannelID, UserID: r.UserID, Emoji: key, CreatedAt: ap.env.Now()})
			if errors.Is(err, storage.ErrConflict) {
				err = nil // there already; the insert leaves the transaction usable
			}
		} else {
			err = tx.RemoveReaction(ctx, ap.g.Scope(), r.MessageID, r.UserID, key)
		}
	case "MESSAGE_REACTION_REMOVE_ALL", "MESSAGE_REACTION_REMOVE_EMOJI":
		var r discord.ReactionRemoveAllEvent
		if err := json.Unmarshal(d, &r); err != nil {
			return err
		}
		if _, ok, err := ap.message(ctx, r.ChannelID, r.MessageID); err != nil || !ok {
			return err
		}
		key := ""
		if r.Emoji != nil {
			key = reactionKey(*r.Emoji)
		}
		_, err = tx.RemoveReactions(ctx, ap.g.Scope(), r.MessageID, key)
	}
	return err
}

// checkWebhookAuthor accepts a webhook's message only as one of the origin's
// own webhooks: the author is the webhook (same ID) and a user of the
// origin, so that no peer posts as a webhook or a person of this server
// or of a third one. Live events and history pages both ask it.
func checkWebhookAuthor(ctx context.Context, r storage.Reader, origin string, m discord.Message) error {
	if m.WebhookID == nil {
		return nil
	}
	if *m.WebhookID != m.Author.ID {
		return fmt.Errorf("%s: webhook message %d is not authored by its webhook: %w", origin, m.ID, ErrForbidden)
	}
	u, err := r.UserByID(ctx, m.Author.ID)
	if err != nil {
		return err
	}
	if u.Origin != origin {
		return fmt.Errorf("%s: webhook message %d names a webhook of another server: %w", origin, m.ID, ErrForbidden)
	}
	return nil
}

// applyGuild applies an event of a guild's state.
// reactionKey is how storage keys a reaction's emoji.
func reactionKey(e discord.ReactionEmoji) string {
	if e.ID != nil {
		return e.Name + ":" + e.ID.String()
	}
	return e.Name
}

// remoteAttachments are the attachments of an origin's message, without
// their bytes: where the origin serves each, when its link is on the
// origin itself.
func remoteAttachments(m discord.Message, origin string) []storage.Attachment {
	out := make([]storage.Attachment, 0, len(m.Attachments))
	for _, a := range m.Attachments {
		sa := storage.Attachment{ID: a.ID, MessageID: m.ID, ChannelID: m.ChannelID, Filename: media.SanitiseFilename(a.Filename),
			Description: deref(a.Description), ContentType: a.ContentType, Size: a.Size}
		if a.Width != nil && a.Height != nil {
			sa.Width, sa.Height = *a.Width, *a.Height
		}
		if u, err := url.Parse(a.URL); err == nil && u.Host == origin && strings.HasPrefix(u.Path, "/attachments/") {
			sa.OriginPath = u.EscapedPath()
			if u.RawQuery != "" {
				sa.OriginPath += "?" + u.RawQuery
			}
		}
		out = append(out, sa)
	}
	return out
}

// messageFrom is an origin's message (with local IDs) as the replica
// stores it; now is when a pinned one counts as pinned here.
func messageFrom(m discord.Message, guildID snowflake.ID, now time.Time) storage.Message {
	out := storage.Message{
		ID: m.ID, ChannelID: m.ChannelID, GuildID: guildID, AuthorID: m.Author.ID, Type: m.Type,
		Content: m.Content, TTS: m.TTS, MentionEveryone: m.MentionEveryone, MentionRoles: m.MentionRoles,
		Pinned: m.Pinned, Flags: m.Flags, CreatedAt: time.Time(m.Timestamp),
	}
	for _, u := range m.Mentions {
		out.Mentions = append(out.Mentions, u.ID)
	}
	if len(m.Embeds) > 0 {
		out.Embeds, _ = json.Marshal(m.Embeds)
	}
	if m.EditedTimestamp != nil {
		out.EditedAt = time.Time(*m.EditedTimestamp)
	}
	if m.Pinned {
		out.PinnedAt = now
	}
	if m.WebhookID != nil {
		out.WebhookID, out.AuthorName, out.AuthorAvatar = *m.WebhookID, clip(m.Author.Username, WebhookNameMax), deref(m.Author.Avatar)
	}
	if r := m.MessageReference; r != nil && r.MessageID != nil {
		out.ReferenceID = *r.MessageID
		if r.ChannelID != nil {
			out.ReferenceChannelID = *r.ChannelID
		}
	}
	return out
}

// WebhookNameMax is the longest webhook name a replica keeps, the domain's
// own bound (homeserver.WebhookNameMax; a test holds them equal).
const WebhookNameMax = 80

// clip cuts s to at most n bytes, without leaving half a UTF-8 sequence.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
