package homeserver

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hearth/homeserver/wire"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"hearth/discord"
	"hearth/homeserver/permission"
	"hearth/snowflake"
	"hearth/storage"
	"hearth/storage/blobs"
)

// dmPermissions are what every recipient of a DM channel may do there.
const dmPermissions = permission.ViewChannel | permission.SendMessages | permission.ReadMessageHistory |
	permission.AddReactions | permission.AttachFiles | permission.EmbedLinks | permission.UseExternalEmojis |
	permission.PinMessages

// place is where a message action happens: a channel, its log, and what
// the acting user may do there.
type place struct {
	ch    storage.Channel
	guild *access // nil in DM channels
	perms permission.Set
}

func (pl *place) logID() snowflake.ID {
	if pl.guild != nil {
		return pl.guild.guild.ID
	}
	return pl.ch.ID
}

// scope is what the place's writes may reach: its guild, or its DM channel.
func (pl *place) scope() storage.Scope { return storage.ScopeOf(pl.ch) }

func (pl *place) guildID() *snowflake.ID {
	if pl.guild == nil {
		return nil
	}
	id := pl.guild.guild.ID
	return &id
}

func (pl *place) require(p permission.Set) error {
	if !pl.perms.Has(permission.ViewChannel) {
		return fmt.Errorf("channel %d: %w", pl.ch.ID, ErrMissingAccess)
	}
	if !pl.perms.Has(p) {
		return fmt.Errorf("channel %d needs %d: %w", pl.ch.ID, p, ErrMissingPermission)
	}
	return nil
}

// placeOf loads a channel for a user: a guild channel through their
// membership, a DM channel through its recipients. Channels the user cannot
// know of are ErrUnknownChannel.
func (h *Homeserver) placeOf(ctx context.Context, r storage.Reader, channelID, userID snowflake.ID) (*place, error) {
	c, err := r.ChannelByID(ctx, channelID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return nil, err
	}
	if c.GuildID == 0 {
		for _, id := range c.Recipients {
			if id == userID {
				return &place{ch: c, perms: dmPermissions}, nil
			}
		}
		return nil, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	a, err := h.loadAccess(ctx, r, c.GuildID, userID)
	if errors.Is(err, ErrUnknownGuild) {
		return nil, fmt.Errorf("channel %d: %w", channelID, ErrUnknownChannel)
	}
	if err != nil {
		return nil, err
	}
	if storage.IsThread(c.Type) {
		perms, err := h.threadPerms(ctx, r, a, c)
		if err != nil {
			return nil, err
		}
		return &place{ch: c, guild: a, perms: perms}, nil
	}
	return &place{ch: c, guild: a, perms: a.in(c)}, nil
}

// CanUpload checks, before any file of a send is stored, that the caller
// may post files in the channel at all, so that nobody can fill the disk
// with uploads to channels they cannot write in.
func (h *Homeserver) CanUpload(ctx context.Context, p Principal, channelID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "can upload", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.canUploadHere(ctx, p, channelID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			// The origin decides; here the replica can tell only that the
			// channel is in view.
			return nothing(h.forwardable(ctx, p, channelID))
		}})
}

// canUploadHere carries out CanUpload on this server's own log.
func (h *Homeserver) canUploadHere(ctx context.Context, p Principal, channelID snowflake.ID) error {
	pl, err := h.placeOf(ctx, h.hot, channelID, p.User.ID)
	if err != nil {
		return domainErr("upload", err)
	}
	if err := pl.require(permission.SendMessages); err != nil {
		return err
	}
	return pl.require(permission.AttachFiles)
}

// MessageCreate is a message to send.
type MessageCreate struct {
	Content string
	Nonce   string
	// NonceIsInt keeps the nonce's JSON type in the answer.
	NonceIsInt   bool
	EnforceNonce bool
	TTS          bool
	Embeds       []json.RawMessage
	// ReplyTo is the message replied to; 0 for none.
	ReplyTo         snowflake.ID
	FailIfNotExists bool
	// NoReplyPing keeps a reply from mentioning the replied message's
	// author (allowed_mentions without replied_user); a reply pings by
	// default, as on Discord.
	NoReplyPing bool
	// AllowedMentions is the send's allowed_mentions, nil when absent;
	// it is applied to webhook executes (whose webhook may mention
	// everyone), see ExecuteWebhook.
	AllowedMentions *AllowedMentions
	Files           []Upload
	Flags           int
	// Components are a bot's buttons and selects.
	Components []discord.Component
	// DiscordPings, for a Discord bridge's import only, are the pings
	// Discord made (bridgepings.go); every other send ignores them.
	DiscordPings *DiscordPings
	// webhook, when set, posts as a webhook (webhookOf) under this name
	// and avatar instead of as the principal (see ExecuteWebhook).
	webhook   *webhookAuthor
	webhookOf *storage.Webhook
}

// Limits of a message besides its length.
const (
	MaxEmbeds        = 10
	EmbedCharsMax    = 6000
	NonceMax         = 25
	nonceWindow      = 5 * time.Minute
	MaxPins          = 50
	bulkDeleteMaxAge = 14 * 24 * time.Hour
)

var (
	userMention = regexp.MustCompile(`<@!?(\d{1,20})>`)
	roleMention = regexp.MustCompile(`<@&(\d{1,20})>`)
	everyone    = regexp.MustCompile(`@(everyone|here)\b`)
)

// SendMessage posts a message: SEND_MESSAGES, and ATTACH_FILES for files,
// EMBED_LINKS for embeds, READ_MESSAGE_HISTORY to reply, MENTION_EVERYONE
// for @everyone and @here to count. Slowmode applies to those without
// MANAGE_MESSAGES, MANAGE_CHANNELS or BYPASS_SLOWMODE. With EnforceNonce, a
// retried send returns the first message instead of posting twice.
func (h *Homeserver) SendMessage(ctx context.Context, p Principal, channelID snowflake.ID, in MessageCreate) (out discord.Message, err error) {
	return do(ctx, h, write[discord.Message]{op: "send message", channel: channelID,
		here: func(ctx context.Context) (discord.Message, error) { return h.sendMessageHere(ctx, p, channelID, in) },
		there: func(ctx context.Context, g replicaLog) (discord.Message, error) {
			// The origin checks its users' side of a DM; this server
			// checks its own (a block is told to nobody).
			if c, err := h.hot.ChannelByID(ctx, channelID); err == nil {
				if c.Type == ChannelForum {
					// Refused here, as the origin would: its refusal has
					// no name on the federation wire.
					h.DiscardUploads(in.Files)
					return discord.Message{}, fmt.Errorf("send message: %w", ErrForumMessage)
				}
				if err := h.checkDMChannel(ctx, h.store, c, p.User.ID); err != nil {
					h.DiscardUploads(in.Files)
					return discord.Message{}, fmt.Errorf("send message: %w", err)
				}
			}
			return h.forwardSend(ctx, p, g, channelID, in)
		}})
}

// sendMessageHere carries out SendMessage on this server's own log.
func (h *Homeserver) sendMessageHere(ctx context.Context, p Principal, channelID snowflake.ID, in MessageCreate) (out discord.Message, err error) {
	// Files come staged; they stay only if the message is accepted.
	promoted := false
	defer func() {
		if !promoted {
			h.DiscardUploads(in.Files)
		}
	}()
	v := &ValidationError{}
	if n := utf8.RuneCountInString(in.Content); n > h.cfg.MaxMessageLength {
		v.Add("content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", h.cfg.MaxMessageLength))
	}
	if len(in.Nonce) > NonceMax {
		v.Add("nonce", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", NonceMax))
	}
	if len(in.Embeds) > MaxEmbeds {
		v.Add("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbeds))
	}
	if len(in.Files) > MaxFiles {
		v.Add("files", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxFiles))
	}
	embedChars := 0
	for i, e := range in.Embeds {
		var obj map[string]json.RawMessage
		if json.Unmarshal(e, &obj) != nil {
			v.Add(fmt.Sprintf("embeds.%d", i), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType.")
		}
		embedChars += len(e)
	}
	if embedChars > EmbedCharsMax*2 {
		v.Add("embeds", "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of 6000.")
	}
	var compJSON []byte
	if len(in.Components) > 0 {
		if !p.User.Bot {
			v.Add("components", "COMPONENT_NOT_ALLOWED", "Only applications send components.")
		}
		ValidateComponents(v, "components", in.Components)
		var err error
		if compJSON, err = json.Marshal(in.Components); err != nil {
			return discord.Message{}, fmt.Errorf("encode components: %w", err)
		}
	}
	if err := v.Err(); err != nil {
		return discord.Message{}, err
	}
	if strings.TrimSpace(in.Content) == "" && len(in.Embeds) == 0 && len(in.Files) == 0 && len(in.Components) == 0 {
		return discord.Message{}, ErrEmptyMessage
	}

	// Everything but the writes happens before the transaction: on
	// PostgreSQL the writes take the channel's and the guild log's row
	// locks, which every other send to the guild waits for, so the
	// transaction must hold them for as few statements as possible. A
	// permission revoked in between lets at most this one message through,
	// as on Discord.
	out, m, pl, done, err := h.prepareMessage(ctx, h.hot, p, channelID, in)
	if err != nil || done {
		return out, domainErr("send message", err)
	}
	for _, f := range in.Files {
		if err := h.cfg.Blobs.Promote(ctx, f.staged); err != nil {
			return out, storeErr("send message: keep file", err)
		}
	}
	promoted = true
	if storage.IsThread(pl.ch.Type) && in.webhook == nil {
		if err := h.reopenThread(ctx, p, pl.ch); err != nil {
			return out, err
		}
		// Writing in a thread joins it, as on Discord.
		if _, err := h.store.ThreadMember(ctx, channelID, p.User.ID); errors.Is(err, storage.ErrNotFound) {
			if err := h.JoinThread(ctx, p, channelID, p.User.ID); err != nil {
				return out, err
			}
		} else if err != nil {
			return out, storeErr("send message", err)
		}
	}
	// The message takes its snowflake in the log's queue (see logWrite):
	// the closure runs on the queue's leader and works on copies, read
	// back only once the write has committed.
	logID := pl.logID()
	var sent discord.Message
	err = h.updateLog(ctx, logID, logWrite{scope: pl.scope(), assign: func(w *logWrite) error {
		id := h.cfg.IDs.Next()
		mm, oo := m, out
		mm.ID, oo.ID = id, id
		if len(in.Components) > 0 {
			oo.Components = componentsAny(in.Components)
		}
		mm.Attachments = slices.Clone(m.Attachments)
		for i := range mm.Attachments {
			mm.Attachments[i].MessageID = id
		}
		payload, err := json.Marshal(oo)
		if err != nil {
			return fmt.Errorf("send message: %w", err)
		}
		w.messages = []storage.Message{mm}
		if compJSON != nil {
			w.components = []storage.MessageComponents{{MessageID: id, Components: compJSON}}
		}
		w.events = []storage.Event{{LogID: logID, Type: "MESSAGE_CREATE", Payload: payload, CreatedAt: mm.CreatedAt}}
		sent = oo
		return nil
	}})
	if err != nil {
		return out, domainErr("send message", err)
	}
	return sent, nil
}

// prepareMessage checks a send and builds the message and its rendering;
// done is true when a retried nonce found the message already sent (out is
// then that message).
func (h *Homeserver) prepareMessage(ctx context.Context, r storage.Reader, p Principal, channelID snowflake.ID, in MessageCreate) (out discord.Message, m storage.Message, pl *place, done bool, err error) {
	if in.webhookOf != nil {
		pl, err = h.webhookPlace(ctx, r, *in.webhookOf, channelID)
	} else {
		pl, err = h.placeOf(ctx, r, channelID, p.User.ID)
	}
	if err != nil {
		return out, m, nil, false, err
	}
	if pl.ch.Type == ChannelCategory || pl.ch.Type == ChannelVoice {
		return out, m, nil, false, Invalid("channel_id", "CHANNEL_TYPE_INVALID", "Messages cannot be sent to this kind of channel.")
	}
	if pl.ch.Type == ChannelForum {
		return out, m, nil, false, ErrForumMessage
	}
	if err := pl.require(permission.SendMessages); err != nil {
		return out, m, nil, false, err
	}
	if err := h.checkDMChannel(ctx, r, pl.ch, p.User.ID); err != nil {
		return out, m, nil, false, err
	}
	if len(in.Files) > 0 {
		if err := pl.require(permission.AttachFiles); err != nil {
			return out, m, nil, false, err
		}
	}
	if len(in.Embeds) > 0 {
		if err := pl.require(permission.EmbedLinks); err != nil {
			return out, m, nil, false, err
		}
	}
	now := h.now()
	if in.Nonce != "" && in.EnforceNonce {
		if prev, err := r.MessageByNonce(ctx, channelID, p.User.ID, in.Nonce, now.Add(-nonceWindow)); err == nil {
			out, err = h.renderMessage(ctx, r, prev, p.User.ID, true)
			return out, prev, pl, true, err
		} else if !errors.Is(err, storage.ErrNotFound) {
			return out, m, nil, false, err
		}
	}
	if err := h.checkSlowmode(ctx, r, pl, p.User.ID, now); err != nil {
		return out, m, nil, false, err
	}
	m = storage.Message{
		ID: h.cfg.IDs.Next(), ChannelID: channelID, AuthorID: p.User.ID, Content: in.Content,
		Nonce: in.Nonce, TTS: in.TTS && pl.perms.Has(permission.SendTTSMessages), CreatedAt: now,
		Flags: in.Flags & discord.FlagSuppressEmbeds,
	}
	if in.webhook != nil {
		m.Flags = in.Flags & (discord.FlagSuppressEmbeds | discord.FlagSuppressNotifications)
		m.WebhookID, m.AuthorName, m.AuthorAvatar = in.webhook.id, in.webhook.name, in.webhook.avatar
	}
	if pl.guild != nil {
		m.GuildID = pl.guild.guild.ID
	}
	if len(in.Embeds) > 0 {
		if m.Embeds, err = json.Marshal(in.Embeds); err != nil {
			return out, m, nil, false, fmt.Errorf("embeds: %w", err)
		}
	}
	for _, f := range in.Files {
		m.Attachments = append(m.Attachments, storage.Attachment{
			ID: h.cfg.IDs.Next(), MessageID: m.ID, ChannelID: channelID, Filename: f.Filename,
			Description: clipRunes(f.Description, AttachmentDescriptionMax), ContentType: f.ContentType, Size: f.Size, Hash: f.Hash,
			Width: f.Width, Height: f.Height,
		})
	}
	var replyPing snowflake.ID
	if in.ReplyTo != 0 {
		if err := pl.require(permission.ReadMessageHistory); err != nil {
			return out, m, nil, false, err
		}
		if ref, err := r.Message(ctx, channelID, in.ReplyTo); err == nil {
			m.Type, m.ReferenceID, m.ReferenceChannelID = discord.MessageReply, in.ReplyTo, channelID
			if !in.NoReplyPing {
				replyPing = ref.AuthorID
			}
		} else if !errors.Is(err, storage.ErrNotFound) {
			return out, m, nil, false, err
		} else if in.FailIfNotExists {
			return out, m, nil, false, Invalid("message_reference", "REPLIES_UNKNOWN_MESSAGE", "Unknown message")
		}
	}
	if err := h.parseMentions(ctx, r, pl, &m); err != nil {
		return out, m, nil, false, err
	}
	if in.webhook != nil {
		in.AllowedMentions.apply(&m)
	}
	m.Mentions = withReplyPing(m.Mentions, replyPing, p.User.ID)
	// Rendered before it is stored: a new message has no reactions yet.
	if out, err = h.renderMessage(ctx, r, m, p.User.ID, true); err != nil {
		return out, m, nil, false, err
	}
	if in.NonceIsInt {
		out.Nonce = json.Number(in.Nonce)
	}
	return out, m, pl, false, nil
}

func (h *Homeserver) checkSlowmode(ctx context.Context, tx storage.Reader, pl *place, userID snowflake.ID, now time.Time) error {
	if pl.ch.RateLimitPerUser == 0 || pl.perms.Has(permission.ManageMessages) || pl.perms.Has(permission.ManageChannels) ||
		pl.perms.Has(permission.BypassSlowmode) {
		return nil
	}
	last, err := tx.LastMessageBy(ctx, pl.ch.ID, userID)
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	next := last.CreatedAt.Add(time.Duration(pl.ch.RateLimitPerUser) * time.Second)
	if now.Before(next) {
		return &SlowmodeError{RetryAfter: next.Sub(now)}
	}
	return nil
}

// parseMentions fills the mention fields from the content: users that
// exist, roles of the guild that are mentionable (or any role with
// MENTION_EVERYONE), and @everyone/@here only with MENTION_EVERYONE.
func (h *Homeserver) parseMentions(ctx context.Context, tx storage.Reader, pl *place, m *storage.Message) error {
	// Custom emoji restricted to roles the author lacks go as text
	// (emoji roles), before anything else reads the content.
	content, err := restrictEmoji(ctx, tx, m.AuthorID, m.Content)
	if err != nil {
		return err
	}
	m.Content = content
	seen := map[snowflake.ID]bool{}
	for _, match := range userMention.FindAllStringSubmatch(m.Content, 100) {
		id, err := snowflake.Parse(match[1])
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		if _, err := tx.UserByID(ctx, id); err == nil {
			m.Mentions = append(m.Mentions, id)
		}
	}
	if pl.guild == nil {
		return nil
	}
	mayPingAll := pl.perms.Has(permission.MentionEveryone)
	for _, match := range roleMention.FindAllStringSubmatch(m.Content, 100) {
		id, err := snowflake.Parse(match[1])
		if err != nil || seen[id] {
			continue
		}
		seen[id] = true
		if r, ok := pl.guild.byID[id]; ok && id != pl.guild.guild.ID && (r.Mentionable || mayPingAll) {
			m.MentionRoles = append(m.MentionRoles, id)
		}
	}
	m.MentionEveryone = mayPingAll && everyone.MatchString(m.Content)
	return nil
}

// withReplyPing adds the author of a replied message to a reply's
// mentions, as Discord does when the reply pings (not one's own message,
// not twice).
func withReplyPing(mentions []snowflake.ID, author, sender snowflake.ID) []snowflake.ID {
	if author == 0 || author == sender || slices.Contains(mentions, author) {
		return mentions
	}
	return append(mentions, author)
}

// renderMessage builds Discord's message object: author, mentions,
// attachments, reactions as viewer sees them, the replied message.
func (h *Homeserver) renderMessage(ctx context.Context, r storage.Reader, m storage.Message, viewer snowflake.ID, withMember bool) (discord.Message, error) {
	out, err := h.renderBase(ctx, r, m, withMember)
	if err != nil {
		return out, err
	}
	rs, err := r.Reactions(ctx, []snowflake.ID{m.ID}, viewer)
	if err != nil {
		return out, err
	}
	out.Reactions = renderReactions(rs)
	if m.Type == discord.MessageReply || m.Type == discord.MessagePinnedMessage {
		if m.ReferenceID != 0 {
			id, ch := m.ReferenceID, m.ReferenceChannelID
			out.MessageReference = &discord.MessageReference{MessageID: &id, ChannelID: &ch, GuildID: out.GuildID}
		}
		if m.Type == discord.MessageReply {
			if ref, err := r.Message(ctx, m.ReferenceChannelID, m.ReferenceID); err == nil {
				rm, err := h.renderBase(ctx, r, ref, false)
				if err != nil {
					return out, err
				}
				out.ReferencedMessage = &rm
			}
		}
	}
	return out, nil
}

// renderBase renders a message without reactions and reference.
func (h *Homeserver) renderBase(ctx context.Context, r storage.Reader, m storage.Message, withMember bool) (discord.Message, error) {
	author, err := r.UserByID(ctx, m.AuthorID)
	if err != nil {
		return discord.Message{}, fmt.Errorf("message author %d: %w", m.AuthorID, err)
	}
	out := discord.Message{
		ID: m.ID, ChannelID: m.ChannelID, Author: discordUser(author), Content: m.Content,
		Timestamp: discord.Timestamp(m.CreatedAt), EditedTimestamp: discord.TimePtr(m.EditedAt),
		TTS: m.TTS, MentionEveryone: m.MentionEveryone, Mentions: []discord.User{}, MentionRoles: m.MentionRoles,
		Attachments: []discord.Attachment{}, Embeds: []json.RawMessage{}, Pinned: m.Pinned, Type: m.Type,
		Flags: m.Flags, Components: []any{},
	}
	if m.Nonce != "" {
		out.Nonce = m.Nonce
	}
	if m.WebhookID != 0 {
		// As Discord shows a webhook's message: the webhook as a bot
		// author, under the name and avatar of this message, no member.
		wid := m.WebhookID
		out.WebhookID = &wid
		out.Author = discord.User{ID: m.AuthorID, Username: m.AuthorName, Discriminator: "0000",
			Avatar: discord.Nullable(m.AuthorAvatar), Bot: true}
		withMember = false
	}
	if out.MentionRoles == nil {
		out.MentionRoles = []snowflake.ID{}
	}
	if m.GuildID != 0 {
		gid := m.GuildID
		out.GuildID = &gid
		if withMember {
			if mem, err := r.Member(ctx, m.GuildID, m.AuthorID); err == nil {
				dm := discordMember(mem, author)
				dm.User = nil
				out.Member = &dm
			}
		}
	}
	for _, id := range m.Mentions {
		if u, err := r.UserByID(ctx, id); err == nil {
			out.Mentions = append(out.Mentions, discordUser(u))
		}
	}
	if len(m.Embeds) > 0 {
		_ = json.Unmarshal(m.Embeds, &out.Embeds)
	}
	for _, a := range m.Attachments {
		out.Attachments = append(out.Attachments, h.renderAttachment(a))
	}
	if author.Bot {
		// Only an application's messages carry components and answer
		// interactions (interactionrespond.go).
		addMessageExtras(ctx, r, &out, m.AuthorID)
	}
	return out, nil
}

func (h *Homeserver) renderAttachment(a storage.Attachment) discord.Attachment {
	url := fmt.Sprintf("%s/attachments/%d/%d/%s?hm=%s", h.cfg.PublicURL, a.ChannelID, a.ID, url.PathEscape(a.Filename),
		h.attachmentMAC(a.ChannelID, a.ID))
	out := discord.Attachment{
		ID: a.ID, Filename: a.Filename, Description: discord.Nullable(a.Description), ContentType: a.ContentType,
		Size: a.Size, URL: url, ProxyURL: url,
	}
	if a.Width > 0 {
		w, ht := a.Width, a.Height
		out.Width, out.Height = &w, &ht
	}
	return out
}

// HistoryQuery pages a channel's messages.
type HistoryQuery = storage.MessageQuery

// Messages reads a channel's history, newest first (READ_MESSAGE_HISTORY).
func (h *Homeserver) Messages(ctx context.Context, p Principal, channelID snowflake.ID, q HistoryQuery) ([]discord.Message, error) {
	set := 0
	for _, id := range []snowflake.ID{q.Before, q.After, q.Around} {
		if id != 0 {
			set++
		}
	}
	if set > 1 {
		return nil, Invalid("around", "BASE_TYPE_CHOICES", "Only one of around, before and after may be given.")
	}
	if q.Limit < 1 || q.Limit > 100 {
		return nil, Invalid("limit", "NUMBER_TYPE_MAX", "Must be between 1 and 100.")
	}
	pl, err := h.placeOf(ctx, h.hot, channelID, p.User.ID)
	if err != nil {
		return nil, domainErr("messages", err)
	}
	if err := pl.require(permission.ReadMessageHistory); err != nil {
		return nil, err
	}
	ms, err := h.store.Messages(ctx, channelID, q)
	if err != nil {
		return nil, storeErr("messages", err)
	}
	if len(ms) < q.Limit && q.After == 0 && q.Around == 0 {
		// A replica holds what happened since it began; older pages come
		// from the origin, once, without holding the read up for long.
		if h.olderHistory(ctx, channelID) {
			if ms, err = h.store.Messages(ctx, channelID, q); err != nil {
				return nil, storeErr("messages", err)
			}
		}
	}
	return h.renderPage(ctx, ms, p.User.ID)
}

// renderPage renders messages with one reactions query for the page.
func (h *Homeserver) renderPage(ctx context.Context, ms []storage.Message, viewer snowflake.ID) ([]discord.Message, error) {
	ids := make([]snowflake.ID, len(ms))
	for i, m := range ms {
		ids[i] = m.ID
	}
	rs, err := h.store.Reactions(ctx, ids, viewer)
	if err != nil {
		return nil, storeErr("reactions", err)
	}
	byMsg := map[snowflake.ID][]storage.ReactionCount{}
	for _, r := range rs {
		byMsg[r.MessageID] = append(byMsg[r.MessageID], r)
	}
	out := make([]discord.Message, 0, len(ms))
	for _, m := range ms {
		dm, err := h.renderBase(ctx, h.hot, m, false)
		if err != nil {
			return nil, storeErr("render message", err)
		}
		dm.Reactions = renderReactions(byMsg[m.ID])
		if m.ReferenceID != 0 {
			id, ch := m.ReferenceID, m.ReferenceChannelID
			dm.MessageReference = &discord.MessageReference{MessageID: &id, ChannelID: &ch, GuildID: dm.GuildID}
			if m.Type == discord.MessageReply {
				if ref, err := h.store.Message(ctx, ch, id); err == nil {
					if rm, err := h.renderBase(ctx, h.hot, ref, false); err == nil {
						dm.ReferencedMessage = &rm
					}
				}
			}
		}
		out = append(out, dm)
	}
	return out, nil
}

// Message reads one message (READ_MESSAGE_HISTORY).
func (h *Homeserver) Message(ctx context.Context, p Principal, channelID, messageID snowflake.ID) (discord.Message, error) {
	pl, err := h.placeOf(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return discord.Message{}, domainErr("message", err)
	}
	if err := pl.require(permission.ReadMessageHistory); err != nil {
		return discord.Message{}, err
	}
	m, err := messageIn(ctx, h.store, channelID, messageID)
	if err != nil {
		return discord.Message{}, domainErr("message", err)
	}
	out, err := h.renderMessage(ctx, h.store, m, p.User.ID, false)
	return out, domainErr("message", err)
}

// MessageEdit is a PATCH of a message.
type MessageEdit struct {
	Content Optional[string]
	Embeds  Optional[[]json.RawMessage]
	Flags   Optional[int]
	// Attachments keeps only the listed attachment IDs when Set.
	Attachments Optional[[]snowflake.ID]
	// Components replaces a bot's components when Set.
	Components Optional[[]discord.Component]
}

// EditMessage changes a message: its author edits content, embeds and
// attachments; MANAGE_MESSAGES may only suppress embeds on others'. The
// earlier version is kept in the message's history.
func (h *Homeserver) EditMessage(ctx context.Context, p Principal, channelID, messageID snowflake.ID, e MessageEdit) (discord.Message, error) {
	return do(ctx, h, write[discord.Message]{op: "edit message", channel: channelID,
		here: func(ctx context.Context) (discord.Message, error) {
			return h.editMessageHere(ctx, p, channelID, messageID, e)
		},
		there: func(ctx context.Context, g replicaLog) (discord.Message, error) {
			return h.forwardEdit(ctx, p, g, channelID, messageID, e)
		}})
}

// editMessageHere carries out EditMessage on this server's own log.
func (h *Homeserver) editMessageHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID, e MessageEdit) (discord.Message, error) {
	if e.Content.Set && utf8.RuneCountInString(e.Content.Value) > h.cfg.MaxMessageLength {
		return discord.Message{}, Invalid("content", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", h.cfg.MaxMessageLength))
	}
	if e.Embeds.Set && len(e.Embeds.Value) > MaxEmbeds {
		return discord.Message{}, Invalid("embeds", "BASE_TYPE_MAX_LENGTH", fmt.Sprintf("Must be %d or fewer in length.", MaxEmbeds))
	}
	return h.editMessageAs(ctx, p, channelID, messageID, e, func(r storage.Reader) (*place, error) {
		return h.placeOf(ctx, r, channelID, p.User.ID)
	})
}

// editMessageAs is editMessageHere with the place found by placeFn (a
// webhook's is not a member's).
func (h *Homeserver) editMessageAs(ctx context.Context, p Principal, channelID, messageID snowflake.ID, e MessageEdit,
	placeFn func(storage.Reader) (*place, error)) (discord.Message, error) {
	var compJSON []byte
	if e.Components.Set && !p.User.Bot && len(e.Components.Value) == 0 {
		e.Components.Set = false // a person's empty list: nothing to change
	}
	if e.Components.Set {
		v := &ValidationError{}
		if !p.User.Bot {
			v.Add("components", "COMPONENT_NOT_ALLOWED", "Only applications send components.")
		}
		ValidateComponents(v, "components", e.Components.Value)
		if err := v.Err(); err != nil {
			return discord.Message{}, err
		}
		var err error
		if compJSON, err = json.Marshal(e.Components.Value); err != nil {
			return discord.Message{}, fmt.Errorf("encode components: %w", err)
		}
	}
	var out discord.Message
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := placeFn(tx)
		if err != nil {
			return err
		}
		if err := pl.require(permission.ReadMessageHistory); err != nil {
			return err
		}
		m, err := messageIn(ctx, tx, channelID, messageID)
		if err != nil {
			return err
		}
		own := m.AuthorID == p.User.ID
		if (e.Content.Set || e.Embeds.Set || e.Attachments.Set || e.Components.Set) && !own {
			return ErrNotAuthor
		}
		if e.Flags.Set && !own && !pl.perms.Has(permission.ManageMessages) {
			return fmt.Errorf("edit flags: %w", ErrMissingPermission)
		}
		if err := h.keepRevision(ctx, tx, pl.scope(), m, p.User.ID, false); err != nil {
			return err
		}
		if e.Content.Set {
			// A reply's ping of the replied author is not in the content:
			// it stays through an edit.
			var replyPing snowflake.ID
			if m.Type == discord.MessageReply && m.ReferenceID != 0 {
				if ref, err := tx.Message(ctx, m.ReferenceChannelID, m.ReferenceID); err == nil && slices.Contains(m.Mentions, ref.AuthorID) {
					replyPing = ref.AuthorID
				}
			}
			m.Content, m.Mentions, m.MentionRoles, m.MentionEveryone = e.Content.Value, nil, nil, false
			if err := h.parseMentions(ctx, tx, pl, &m); err != nil {
				return err
			}
			m.Mentions = withReplyPing(m.Mentions, replyPing, m.AuthorID)
		}
		if e.Embeds.Set {
			if len(e.Embeds.Value) > 0 {
				if err := pl.require(permission.EmbedLinks); err != nil {
					return err
				}
				if m.Embeds, err = json.Marshal(e.Embeds.Value); err != nil {
					return err
				}
			} else {
				m.Embeds = nil
			}
		}
		if e.Flags.Set {
			m.Flags = (m.Flags &^ discord.FlagSuppressEmbeds) | (e.Flags.Value & discord.FlagSuppressEmbeds)
		}
		if e.Attachments.Set {
			keep := map[snowflake.ID]bool{}
			for _, id := range e.Attachments.Value {
				keep[id] = true
			}
			kept := m.Attachments[:0:0]
			for _, a := range m.Attachments {
				if keep[a.ID] {
					kept = append(kept, a)
				}
			}
			m.Attachments = kept
		}
		var extras storage.MessageComponents
		if p.User.Bot {
			if extras, err = tx.MessageComponents(ctx, m.ID); err != nil && !errors.Is(err, storage.ErrNotFound) {
				return err
			}
		}
		if e.Components.Set {
			extras.MessageID, extras.Components = m.ID, compJSON
			if err := tx.SetMessageComponents(ctx, extras); err != nil {
				return err
			}
		}
		if strings.TrimSpace(m.Content) == "" && len(m.Embeds) == 0 && len(m.Attachments) == 0 && len(decodeComponents(extras.Components)) == 0 {
			return ErrEmptyMessage
		}
		m.EditedAt = h.now()
		if err := tx.UpdateMessage(ctx, pl.scope(), m); err != nil {
			return err
		}
		if out, err = h.renderMessage(ctx, tx, m, p.User.ID, false); err != nil {
			return err
		}
		return ev.Append(ctx, pl.logID(), "MESSAGE_UPDATE", out)
	})
	return out, domainErr("edit message", err)
}

// keepRevision stores the current version of a message of scope s before a
// change.
func (h *Homeserver) keepRevision(ctx context.Context, tx storage.Tx, s storage.Scope, m storage.Message, editor snowflake.ID, deleted bool) error {
	var atts []byte
	if len(m.Attachments) > 0 {
		list := make([]discord.Attachment, 0, len(m.Attachments))
		for _, a := range m.Attachments {
			list = append(list, h.renderAttachment(a))
		}
		var err error
		if atts, err = json.Marshal(list); err != nil {
			return err
		}
	}
	return tx.AddRevision(ctx, s, storage.Revision{
		ID: h.cfg.IDs.Next(), MessageID: m.ID, ChannelID: m.ChannelID, GuildID: m.GuildID, AuthorID: m.AuthorID,
		EditorID: editor, Deleted: deleted, Content: m.Content, Embeds: m.Embeds, Attachments: atts, At: h.now(),
	})
}

// DeleteMessage deletes a message: its author, or MANAGE_MESSAGES in a
// guild. Its content stays in the history.
func (h *Homeserver) DeleteMessage(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "delete message", channel: channelID,
		here: func(ctx context.Context) (none, error) {
			return nothing(h.deleteMessageHere(ctx, p, channelID, messageID))
		},
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardSimple(ctx, p, g, wire.ActDelete, channelID, messageID, nil))
		}})
}

// deleteMessageHere carries out DeleteMessage on this server's own log.
func (h *Homeserver) deleteMessageHere(ctx context.Context, p Principal, channelID, messageID snowflake.ID) error {
	return h.deleteMessageAs(ctx, p, channelID, messageID, func(r storage.Reader) (*place, error) {
		return h.placeOf(ctx, r, channelID, p.User.ID)
	})
}

// deleteMessageAs is deleteMessageHere with the place found by placeFn.
func (h *Homeserver) deleteMessageAs(ctx context.Context, p Principal, channelID, messageID snowflake.ID,
	placeFn func(storage.Reader) (*place, error)) error {
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := placeFn(tx)
		if err != nil {
			return err
		}
		if err := pl.require(permission.ViewChannel); err != nil {
			return err
		}
		m, err := messageIn(ctx, tx, channelID, messageID)
		if err != nil {
			return err
		}
		if m.AuthorID != p.User.ID && !pl.perms.Has(permission.ManageMessages) {
			return fmt.Errorf("delete message: %w", ErrMissingPermission)
		}
		if err := h.keepRevision(ctx, tx, pl.scope(), m, p.User.ID, true); err != nil {
			return err
		}
		if _, err := tx.DeleteMessages(ctx, pl.scope(), channelID, []snowflake.ID{messageID}); err != nil {
			return err
		}
		return ev.Append(ctx, pl.logID(), "MESSAGE_DELETE", discord.MessageDeleteEvent{ID: messageID, ChannelID: channelID, GuildID: pl.guildID()})
	})
	return domainErr("delete message", err)
}

// BulkDelete deletes 2 to 100 messages under 14 days old (MANAGE_MESSAGES).
// IDs of messages that do not exist are ignored, as on Discord.
func (h *Homeserver) BulkDelete(ctx context.Context, p Principal, channelID snowflake.ID, ids []snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "bulk delete", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.bulkDeleteHere(ctx, p, channelID, ids)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			var data wire.ActData
			for _, id := range ids {
				gid, err := h.globalOf(ctx, id)
				if err != nil {
					return nothing(err)
				}
				data.Messages = append(data.Messages, gid)
			}
			return nothing(h.forwardSimple(ctx, p, g, wire.ActBulkDelete, channelID, 0, data))
		}})
}

// bulkDeleteHere carries out BulkDelete on this server's own log.
func (h *Homeserver) bulkDeleteHere(ctx context.Context, p Principal, channelID snowflake.ID, ids []snowflake.ID) error {
	if len(ids) < 2 || len(ids) > 100 {
		return Invalid("messages", "BASE_TYPE_BAD_LENGTH", "Must be between 2 and 100 in length.")
	}
	oldest := h.now().Add(-bulkDeleteMaxAge)
	for _, id := range ids {
		if id.Time().Before(oldest) {
			return ErrBulkDeleteTooOld
		}
	}
	err := h.update(ctx, func(tx storage.Tx, ev *events) error {
		pl, err := h.placeOf(ctx, tx, channelID, p.User.ID)
		if err != nil {
			return err
		}
		if pl.guild == nil {
			return fmt.Errorf("bulk delete in a DM: %w", ErrMissingPermission)
		}
		if err := pl.require(permission.ManageMessages); err != nil {
			return err
		}
		var gone []snowflake.ID
		seen := map[snowflake.ID]bool{}
		for _, id := range ids {
			if seen[id] {
				continue
			}
			seen[id] = true
			m, err := tx.Message(ctx, channelID, id)
			if errors.Is(err, storage.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if err := h.keepRevision(ctx, tx, pl.scope(), m, p.User.ID, true); err != nil {
				return err
			}
			gone = append(gone, id)
		}
		if len(gone) == 0 {
			return nil
		}
		if _, err := tx.DeleteMessages(ctx, pl.scope(), channelID, gone); err != nil {
			return err
		}
		return ev.Append(ctx, pl.logID(), "MESSAGE_DELETE_BULK", discord.MessageDeleteBulkEvent{IDs: gone, ChannelID: channelID, GuildID: pl.guildID()})
	})
	return domainErr("bulk delete", err)
}

// Revision is an earlier version of a message, as the history route shows
// it.
type Revision struct {
	ID          snowflake.ID      `json:"id"`
	MessageID   snowflake.ID      `json:"message_id"`
	AuthorID    snowflake.ID      `json:"author_id"`
	EditorID    snowflake.ID      `json:"editor_id"`
	Deleted     bool              `json:"deleted"`
	Content     string            `json:"content"`
	Embeds      []json.RawMessage `json:"embeds"`
	Attachments []json.RawMessage `json:"attachments"`
	Timestamp   discord.Timestamp `json:"timestamp"`
}

// MessageHistory lists the earlier versions of a message, also of a
// deleted one (MANAGE_MESSAGES in guilds; in DMs the recipients).
func (h *Homeserver) MessageHistory(ctx context.Context, p Principal, channelID, messageID snowflake.ID) ([]Revision, error) {
	pl, err := h.placeOf(ctx, h.store, channelID, p.User.ID)
	if err != nil {
		return nil, domainErr("history", err)
	}
	if pl.guild != nil {
		if err := pl.require(permission.ManageMessages); err != nil {
			return nil, err
		}
	}
	revs, err := h.store.Revisions(ctx, messageID)
	if err != nil {
		return nil, storeErr("history", err)
	}
	out := make([]Revision, 0, len(revs))
	for _, r := range revs {
		if r.ChannelID != channelID {
			continue
		}
		rv := Revision{ID: r.ID, MessageID: r.MessageID, AuthorID: r.AuthorID, EditorID: r.EditorID, Deleted: r.Deleted,
			Content: r.Content, Embeds: []json.RawMessage{}, Attachments: []json.RawMessage{}, Timestamp: discord.Timestamp(r.At)}
		if len(r.Embeds) > 0 {
			_ = json.Unmarshal(r.Embeds, &rv.Embeds)
		}
		if len(r.Attachments) > 0 {
			_ = json.Unmarshal(r.Attachments, &rv.Attachments)
		}
		out = append(out, rv)
	}
	if len(out) == 0 {
		if _, err := h.store.Message(ctx, channelID, messageID); errors.Is(err, storage.ErrNotFound) {
			return nil, ErrUnknownMessage
		}
	}
	return out, nil
}

// Typing announces that the caller is typing (SEND_MESSAGES). It is
// ephemeral: published on the bus, never logged.
func (h *Homeserver) Typing(ctx context.Context, p Principal, channelID snowflake.ID) error {
	return doErr(ctx, h, write[none]{op: "typing", channel: channelID,
		here: func(ctx context.Context) (none, error) { return nothing(h.typingHere(ctx, p, channelID)) },
		there: func(ctx context.Context, g replicaLog) (none, error) {
			return nothing(h.forwardSimple(ctx, p, g, wire.ActTyping, channelID, 0, nil))
		}})
}

// typingHere carries out Typing on this server's own log.
func (h *Homeserver) typingHere(ctx context.Context, p Principal, channelID snowflake.ID) error {
	pl, err := h.placeOf(ctx, h.hot, channelID, p.User.ID)
	if err != nil {
		return domainErr("typing", err)
	}
	if err := pl.require(permission.SendMessages); err != nil {
		return err
	}
	ev := discord.TypingStartEvent{ChannelID: channelID, GuildID: pl.guildID(), UserID: p.User.ID, Timestamp: h.now().Unix()}
	if pl.guild != nil {
		u, err := h.hot.UserByID(ctx, p.User.ID)
		if err == nil {
			m := discordMember(pl.guild.member, u)
			ev.Member = &m
		}
	}
	b, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	h.publishEphemeral(storage.Event{LogID: pl.logID(), Type: "TYPING_START", Payload: b, CreatedAt: h.now()})
	return nil
}

// attachmentMAC is the unguessable part of an attachment URL: snowflakes
// alone are guessable (an attachment's ID is its message's plus one), so a
// URL carries an HMAC of its channel and attachment IDs, as Discord's CDN
// links carry theirs.
func (h *Homeserver) attachmentMAC(channelID, attachmentID snowflake.ID) string {
	m := hmac.New(sha256.New, h.cfg.TokenKey)
	fmt.Fprintf(m, "attachment:%d:%d", channelID, attachmentID)
	return hex.EncodeToString(m.Sum(nil)[:16])
}

// AttachmentFile opens an attachment for serving, given the mac of its URL;
// one of a deleted message is gone. Anyone who has the URL can fetch the
// file, like Discord's CDN links; nobody can make one up.
func (h *Homeserver) AttachmentFile(ctx context.Context, channelID, attachmentID snowflake.ID, mac string) (File, string, error) {
	if !hmac.Equal([]byte(mac), []byte(h.attachmentMAC(channelID, attachmentID))) {
		return File{}, "", fmt.Errorf("attachment: bad link: %w", ErrNotFound)
	}
	a, err := h.store.Attachment(ctx, attachmentID)
	if errors.Is(err, storage.ErrNotFound) {
		// A file of an interaction: an attachment option's, or an
		// ephemeral answer's, while the interaction lives.
		a, err = h.store.InteractionFile(ctx, attachmentID)
	}
	if errors.Is(err, storage.ErrNotFound) || (err == nil && a.ChannelID != channelID) {
		return File{}, "", fmt.Errorf("attachment: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, "", storeErr("attachment", err)
	}
	if a.Hash == "" {
		if a, err = h.remoteAttachment(ctx, a); err != nil {
			return File{}, "", err
		}
	}
	f, err := h.cfg.Blobs.Open(ctx, a.Hash)
	if errors.Is(err, blobs.ErrNotFound) {
		return File{}, "", fmt.Errorf("attachment blob: %w", ErrNotFound)
	}
	if err != nil {
		return File{}, "", storeErr("attachment blob", err) // the bucket is unreachable
	}
	return File{ReadSeekCloser: f, ContentType: a.ContentType, Size: a.Size}, a.Filename, nil
}

// messageIn reads a message of a channel; one that is not there is
// ErrUnknownMessage.
func messageIn(ctx context.Context, r storage.Reader, channelID, messageID snowflake.ID) (storage.Message, error) {
	m, err := r.Message(ctx, channelID, messageID)
	if errors.Is(err, storage.ErrNotFound) {
		return storage.Message{}, fmt.Errorf("message %d: %w", messageID, ErrUnknownMessage)
	}
	return m, err
}
